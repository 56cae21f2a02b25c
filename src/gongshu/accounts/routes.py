"""Accounts JSON API: tokens for machines, who am I."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Request

from gongshu.accounts import service
from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import ACCOUNT_SELF, PUBLIC
from gongshu.accounts.schemas import OrgPublic, TokenCreate, TokenPublic, UserPublic
from gongshu.accounts.throttle import client_address, guard_for
from gongshu.web.bounds import Id
from gongshu.web.deps import SessionDep

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.post("/auth/token", response_model=TokenPublic)
def issue_token(
    body: TokenCreate, request: Request, session: SessionDep, _: Annotated[None, requires(PUBLIC)]
) -> TokenPublic:
    """Exchange a username and password for an API token (lockout applies)."""
    settings = request.app.state.settings
    user = service.authenticate(
        session,
        body.username,
        body.password,
        max_failed=settings.max_failed_logins,
        lockout_minutes=settings.lockout_minutes,
        address=client_address(request),
        guard=guard_for(request),
    )
    plaintext, token = service.issue_token(
        session, user, kind="api", ttl=timedelta(days=body.days), name=body.name
    )
    return TokenPublic(token=plaintext, token_id=token.id, expires_at=token.expires_at)


@router.delete("/auth/tokens/{token_id}", status_code=204)
def revoke_token(
    token_id: Id, session: SessionDep, user: Annotated[User, requires(ACCOUNT_SELF)]
) -> None:
    service.revoke_token(session, user, token_id)


@router.get("/me", response_model=UserPublic)
def me(user: Annotated[User, requires(ACCOUNT_SELF)]) -> UserPublic:
    org = user.org
    return UserPublic(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        roles=list(user.roles),
        scopes=sorted(user.scopes),
        org=OrgPublic(id=org.id, name=org.name, kind=org.kind, region_code=org.region_code)
        if org
        else None,
    )
