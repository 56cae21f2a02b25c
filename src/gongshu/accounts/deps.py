"""Who is calling: the session cookie or bearer token resolved to a ``User``, and the
permission scope every route declares with ``requires`` (SEC-3)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from gongshu.accounts import service as accounts
from gongshu.accounts.models import User
from gongshu.accounts.permissions import PUBLIC, ROLE_LABELS
from gongshu.errors import Forbidden, Unauthorized
from gongshu.web.csrf import SESSION_COOKIE
from gongshu.web.deps import SessionDep


def current_user(request: Request, session: Session) -> User | None:
    if hasattr(request.state, "user"):
        return request.state.user
    user = None
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        user = accounts.resolve_token(session, auth[7:].strip(), kind="api")
        if user is None:
            raise Unauthorized("API 令牌无效、已过期或已撤销")
    elif cookie := request.cookies.get(SESSION_COOKIE):
        user = accounts.resolve_token(session, cookie, kind="session")
    request.state.user = user
    request.state.viewer = Viewer.of(user) if user is not None else None
    return user


@dataclass(frozen=True)
class ViewerOrg:
    id: int
    name: str
    kind: str


@dataclass(frozen=True)
class Viewer:
    """A plain copy of who is signed in, for pages rendered after the session is gone
    (error pages: a rolled-back session expires the ORM user)."""

    id: int
    username: str
    display_name: str
    roles: tuple[str, ...]
    scopes: frozenset[str]
    org_id: int | None
    org: ViewerOrg | None

    @classmethod
    def of(cls, user: User) -> Viewer:
        org = user.org
        return cls(
            user.id,
            user.username,
            user.display_name,
            tuple(user.roles),
            user.scopes,
            user.org_id,
            ViewerOrg(org.id, org.name, org.kind) if org else None,
        )


class PermissionCheck:
    """A route's declared scope; also the marker the permission test looks for."""

    def __init__(self, scope: str) -> None:
        self.scope = scope

    def __call__(self, request: Request, session: SessionDep) -> User | None:
        user = current_user(request, session)
        if self.scope == PUBLIC:
            return user
        if user is None:
            raise Unauthorized("请先登录")
        if self.scope not in user.scopes:
            roles = "、".join(ROLE_LABELS.get(r, r) for r in user.roles)
            raise Forbidden(f"当前角色（{roles}）无权执行此操作", detail={"scope": self.scope})
        return user

    def __repr__(self) -> str:
        return f"requires({self.scope!r})"


class CallerInside(PermissionCheck):
    """PUBLIC, for an endpoint that resolves its caller itself, inside the one unit of
    work it runs whole on a worker thread (the CKAN actions: one thread hop a call
    instead of one per dependency, on a small pool of their own)."""

    def __init__(self) -> None:
        super().__init__(PUBLIC)

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        return None


def requires(scope: str):  # noqa: ANN201
    """``Depends`` on a permission scope; returns the user (None only for PUBLIC)."""
    return Depends(PermissionCheck(scope))
