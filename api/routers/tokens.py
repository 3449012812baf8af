"""Token management for admins: create (shown once), list, revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth import require_roles
from api.container import Container
from api.deps import get_container
from api.pagination import MultiValue, Page, one_of, page_request
from api.schemas.master_data import ID_PATTERN, PathId
from api.schemas.tokens import TokenCreate, TokenCreated, TokenInfo
from api.tokens import ROLES, issue_token, revoke_token_by_id, token_page
from foundation.errors import NotFound
from infra.pagination import PageRequest

router = APIRouter(prefix="/v1/tokens", tags=["auth"])
admin_only = require_roles("admin")


@router.post("", status_code=201, response_model=TokenCreated)
def create(body: TokenCreate, container: Container = Depends(get_container), _=Depends(admin_only)) -> TokenCreated:
    """Issue a token for a role; the plaintext appears only in this answer."""
    issued = issue_token(container.uow, body.role, body.subject, body.label)
    return TokenCreated(id=issued.principal.token_id, role=body.role, subject=body.subject, token=issued.value)


@router.get("", response_model=Page[TokenInfo])
def list_all(
    role: MultiValue = None,
    subject: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    revoked: bool | None = None,
    page: PageRequest = Depends(page_request),
    container: Container = Depends(get_container),
    _=Depends(admin_only),
) -> Page[TokenInfo]:
    """Tokens (never their values), oldest first (``order=desc``: newest first), by role, subject, revoked."""
    found = token_page(container.uow, page, roles=one_of(role, ROLES, name="role"), subject=subject, revoked=revoked)
    items = [TokenInfo.model_validate(record, from_attributes=True) for record in found.items]
    return Page[TokenInfo](items=items, next_cursor=found.next_cursor)


@router.delete("/{token_id}", status_code=204)
def revoke(token_id: PathId, container: Container = Depends(get_container), _=Depends(admin_only)) -> None:
    """Revoke a token; it stops working within the auth cache's TTL."""
    if not revoke_token_by_id(container.uow, token_id):
        raise NotFound(f"no live token with id {token_id!r}")
    container.principal_cache = type(container.principal_cache)()
