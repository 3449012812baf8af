"""A column type for shapely geometries: PostGIS geometry on PostgreSQL, WKB bytes on SQLite.

One model definition then serves both backends; spatial SQL (GiST, ST_* functions) is only used by
repositories that check ``is_postgres`` first.
"""

from __future__ import annotations

from typing import Any

import shapely
from geoalchemy2 import Geometry
from geoalchemy2.elements import WKBElement, WKTElement
from geoalchemy2.shape import to_shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import LargeBinary
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class GeometryType(TypeDecorator[BaseGeometry]):
    """Stores a shapely geometry (lng-lat, SRID 4326 by default) on either backend."""

    impl = LargeBinary
    cache_ok = True
    # Read by GeoAlchemy2's DDL hooks; spatial (GiST) indexes are declared explicitly instead.
    spatial_index = False

    def __init__(self, geometry_type: str = "GEOMETRY", srid: int = 4326) -> None:
        super().__init__()
        self.geometry_type = geometry_type
        self.srid = srid

    def load_dialect_impl(self, dialect: Dialect | None) -> TypeEngine[Any]:
        # GeoAlchemy2's DDL hooks call this with no dialect to ask "is this spatial?"; answering
        # "no" keeps them out of the way: spatial indexes are created explicitly in migrations.
        if dialect is not None and dialect.name == "postgresql":
            geometry = Geometry(geometry_type=self.geometry_type, srid=self.srid, spatial_index=False)
            return dialect.type_descriptor(geometry)
        return LargeBinary() if dialect is None else dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value: BaseGeometry | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "postgresql":
            return WKTElement(value.wkt, srid=self.srid)
        return shapely.to_wkb(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> BaseGeometry | None:
        if value is None:
            return None
        if isinstance(value, WKBElement | WKTElement):
            return to_shape(value)
        if isinstance(value, str):
            return shapely.from_wkb(bytes.fromhex(value))
        return shapely.from_wkb(bytes(value))
