"""Token management for admins: create (shown once), list, revoke."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.auth import require_roles
from api.container import Container
from api.deps import get_container
from api.schemas.tokens import TokenCreate, TokenCreated, TokenInfo
from api.tokens import issue_token, list_token_records, revoke_token_by_id
from foundation.errors import NotFound

router = APIRouter(prefix="/v1/tokens", tags=["auth"])
admin_only = require_roles("admin")


@router.post("", status_code=201, response_model=TokenCreated)
def create(body: TokenCreate, container: Container = Depends(get_container), _=Depends(admin_only)) -> TokenCreated:
    """Issue a token for a role; the plaintext appears only in this answer."""
    issued = issue_token(container.uow, body.role, body.subject, body.label)
    return TokenCreated(id=issued.principal.token_id, role=body.role, subject=body.subject, token=issued.value)


@router.get("", response_model=list[TokenInfo])
def list_all(container: Container = Depends(get_container), _=Depends(admin_only)) -> list[TokenInfo]:
    """All tokens (never their values)."""
    return [TokenInfo.model_validate(record, from_attributes=True) for record in list_token_records(container.uow)]


@router.delete("/{token_id}", status_code=204)
def revoke(token_id: str, container: Container = Depends(get_container), _=Depends(admin_only)) -> None:
    """Revoke a token; it stops working within the auth cache's TTL."""
    if not revoke_token_by_id(container.uow, token_id):
        raise NotFound(f"no live token with id {token_id!r}")
    container.principal_cache = type(container.principal_cache)()
