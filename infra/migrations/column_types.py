"""Column types frozen for the migrations: a migration must keep creating the same schema whatever the
models later become, so the revisions use these and never import model or live infra code."""

from __future__ import annotations

import sqlalchemy as sa
from geoalchemy2 import Geometry


def utc_datetime() -> sa.DateTime:
    """A timestamp with time zone (the DDL of ``foundation.columns.UtcDateTime`` on both backends)."""
    return sa.DateTime(timezone=True)


def geometry(geometry_type: str = "GEOMETRY", srid: int = 4326) -> sa.types.TypeEngine[bytes]:
    """A PostGIS geometry on PostgreSQL (spatial indexes are created explicitly), WKB bytes elsewhere."""
    postgis = Geometry(geometry_type=geometry_type, srid=srid, spatial_index=False)
    return sa.LargeBinary().with_variant(postgis, "postgresql")
