"""Token management for admins: create (shown once), list, revoke."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.auth import require_roles
from api.container import Container
from api.deps import get_container
from api.schemas.tokens import TokenCreate, TokenCreated, TokenInfo
from api.tokens import create_token, find_principal, list_tokens, revoke_token
from foundation.errors import NotFound

router = APIRouter(prefix="/v1/tokens", tags=["auth"])
admin_only = require_roles("admin")


@router.post("", status_code=201, response_model=TokenCreated)
def create(body: TokenCreate, container: Container = Depends(get_container), _=Depends(admin_only)) -> TokenCreated:
    """Issue a token for a role; the plaintext appears only in this answer."""
    with container.uow() as uow:
        value = create_token(uow.session, body.role, body.subject, body.label)
        uow.session.flush()
        principal = find_principal(uow.session, value)
        uow.commit()
    assert principal is not None
    return TokenCreated(id=principal.token_id, role=body.role, subject=body.subject, token=value)


@router.get("", response_model=list[TokenInfo])
def list_all(container: Container = Depends(get_container), _=Depends(admin_only)) -> list[TokenInfo]:
    """All tokens (never their values)."""
    with container.uow() as uow:
        return [TokenInfo.model_validate(row, from_attributes=True) for row in list_tokens(uow.session)]


@router.delete("/{token_id}", status_code=204)
def revoke(token_id: str, container: Container = Depends(get_container), _=Depends(admin_only)) -> None:
    """Revoke a token; it stops working within the auth cache's TTL."""
    with container.uow() as uow:
        if not revoke_token(uow.session, token_id):
            raise NotFound(f"no live token with id {token_id!r}")
        uow.commit()
    container.principal_cache = type(container.principal_cache)()
