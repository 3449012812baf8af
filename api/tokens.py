"""API tokens: random bearer secrets stored only as SHA-256 hashes, one role each.

Roles are coarse on purpose (admin, dispatcher, warehouse, carrier, customer); a carrier or customer
token carries the subject id it may act for.

``issue_token``, ``lookup_principal``, ``list_token_records`` and ``revoke_token_by_id`` each own their
unit of work (the API passes the container's factory); the session-level functions beneath them work in a
caller's transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from foundation.columns import UtcDateTime
from foundation.errors import InvalidInput
from infra.db import Base
from infra.pagination import Page, PageRequest, keyset_page
from orders_core.carriers.repository import CarrierRepository
from orders_core.master_data.repository import MasterDataRepository
from orders_core.unit_of_work import UnitOfWorkFactory

ROLES = ("admin", "dispatcher", "warehouse", "carrier", "customer")
TOKEN_PREFIX = "dsp_"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's role and, for carriers and customers, the id they act for."""

    role: str
    subject: str | None
    token_id: str

    @property
    def actor(self) -> str:
        """How this caller appears on timelines and audit trails: ``role:subject`` for customers and carriers,
        ``role:token_id`` for staff tokens, so every decision names the token that made it."""
        return f"{self.role}:{self.subject or self.token_id}"


class ApiToken(Base):
    """A stored token; the plaintext is shown once at creation and never stored."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str | None] = mapped_column(String(64), nullable=True)
    label: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


def hash_token(token: str) -> str:
    """The stored form of a token (tokens are high-entropy, so a plain SHA-256 suffices)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token_value() -> str:
    """A fresh random bearer token."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _add_token(session: Session, role: str, subject: str | None, label: str | None) -> tuple[ApiToken, str]:
    """Validate and add a token row; answers the row and the plaintext."""
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if role in ("carrier", "customer") and not subject:
        raise InvalidInput(f"a {role} token needs --subject (the {role} id it acts for)")
    if subject:
        _check_subject_exists(session, role, subject)
    value = new_token_value()
    row = ApiToken(
        id=secrets.token_hex(8),
        token_sha256=hash_token(value),
        role=role,
        subject=subject,
        label=label,
        created_at=datetime.now(UTC),
    )
    session.add(row)
    return row, value


class UnknownSubject(InvalidInput):
    """A token's subject must name a resource that exists: a token for a typo would act for nobody."""

    code = "unknown_subject"


def _check_subject_exists(session: Session, role: str, subject: str) -> None:
    """A carrier or warehouse token's subject is the id of an existing carrier or warehouse (422
    ``unknown_subject`` otherwise). Customer tokens may be issued before the customer's record is written
    (they only ever see that id's orders); admin and dispatcher subjects are free labels."""
    if role == "carrier":
        exists = CarrierRepository(session).get(subject) is not None
    elif role == "warehouse":
        exists = MasterDataRepository(session).get_warehouse(subject) is not None
    else:
        return
    if not exists:
        raise UnknownSubject(f"subject: no {role} with id {subject!r}; create it first (a {role} token acts for it)")


def find_principal(session: Session, token: str) -> Principal | None:
    """The principal of a live (not revoked) token, or None."""
    row = session.scalars(
        select(ApiToken).where(ApiToken.token_sha256 == hash_token(token), ApiToken.revoked_at.is_(None))
    ).first()
    return None if row is None else Principal(role=row.role, subject=row.subject, token_id=row.id)


def revoke_token(session: Session, token_id: str) -> bool:
    """Revoke a token by id; False when no such live token exists."""
    row = session.get(ApiToken, token_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = datetime.now(UTC)
    return True


def list_tokens(session: Session) -> list[ApiToken]:
    """All tokens, newest first (hashes only)."""
    return list(session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc())))


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token just stored: who it makes the caller, and its plaintext (shown this once)."""

    principal: Principal
    value: str


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """A stored token as admins see it (never its value or hash)."""

    id: str
    role: str
    subject: str | None
    label: str | None
    created_at: datetime
    revoked_at: datetime | None


def issue_token(
    new_uow: UnitOfWorkFactory, role: str, subject: str | None = None, label: str | None = None
) -> IssuedToken:
    """Store a new token for ``role`` in its own transaction; answers its principal and plaintext."""
    with new_uow() as uow:
        row, value = _add_token(uow.session, role, subject, label)
        issued = IssuedToken(Principal(role=row.role, subject=row.subject, token_id=row.id), value)
        uow.commit()
    return issued


def lookup_principal(new_uow: UnitOfWorkFactory, token: str) -> Principal | None:
    """The principal of a live (not revoked) token, or None."""
    with new_uow() as uow:
        return find_principal(uow.session, token)


def list_token_records(new_uow: UnitOfWorkFactory) -> list[TokenRecord]:
    """All tokens, newest first (never their values)."""
    with new_uow() as uow:
        return [
            TokenRecord(row.id, row.role, row.subject, row.label, row.created_at, row.revoked_at)
            for row in list_tokens(uow.session)
        ]


def token_page(
    new_uow: UnitOfWorkFactory,
    request: PageRequest,
    *,
    roles: Collection[str] | None = None,
    subject: str | None = None,
    revoked: bool | None = None,
) -> Page[TokenRecord]:
    """Tokens by creation time (never their values), filtered by role, subject and whether revoked."""
    query = select(ApiToken)
    if roles:
        query = query.where(ApiToken.role.in_(list(roles)))
    if subject is not None:
        query = query.where(ApiToken.subject == subject)
    if revoked is not None:
        query = query.where(ApiToken.revoked_at.is_not(None) if revoked else ApiToken.revoked_at.is_(None))
    with new_uow() as uow:
        rows, next_cursor = keyset_page(uow.session, query, (ApiToken.created_at, ApiToken.id), request)
        records = [
            TokenRecord(row.id, row.role, row.subject, row.label, row.created_at, row.revoked_at) for row in rows
        ]
    return Page(records, next_cursor)


def revoke_token_by_id(new_uow: UnitOfWorkFactory, token_id: str) -> bool:
    """Revoke a token in its own transaction; False (and nothing written) when no such live token exists."""
    with new_uow() as uow:
        if not revoke_token(uow.session, token_id):
            return False
        uow.commit()
    return True
