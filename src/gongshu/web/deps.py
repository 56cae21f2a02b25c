"""Request dependencies: the unit of work, the current user, declared permissions.

Handlers read like sentences::

    def submit(entry_id: int, session: SessionDep, user: Annotated[User, requires(CATALOG_EDIT)])

Every route declares exactly the scope it needs with ``requires``; the
permission test walks the app and fails on a route that declares none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from gongshu.accounts import service as accounts
from gongshu.accounts.models import User
from gongshu.accounts.permissions import PUBLIC, ROLE_LABELS
from gongshu.errors import Forbidden, GongshuError, Unauthorized
from gongshu.ledger.service import LEDGER_APPENDED

SESSION_COOKIE = "gs_session"


def unit_of_work(choose: Callable[[Request], str]):  # noqa: ANN201
    """Mark a route with the kind of unit of work its requests need: "read" (takes no
    write lock and may not write: db.read_only_factory), "read_first" (reads without a
    lock, then ``db.begin_write`` before its one record: db.read_first_factory) or
    "write" (the default: the write lock from the start on SQLite)."""

    def mark(endpoint: Callable) -> Callable:
        endpoint.gongshu_unit = choose
        return endpoint

    return mark


def read_only():  # noqa: ANN201
    """The public catalog and CKAN metadata are served this way, so many readers run
    at once on SQLite too."""
    return unit_of_work(lambda _request: "read")


def read_first():  # noqa: ANN201
    """Deliveries through the egress door: a long export must not hold SQLite's one
    write lock while it reads, masks and writes its file."""
    return unit_of_work(lambda _request: "read_first")


def _unit(request: Request) -> str:
    choose = getattr(request.scope.get("endpoint"), "gongshu_unit", None)
    return "write" if choose is None else choose(request)


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request (``unit_of_work``): routes marked with
    ``unit_of_work`` get the session their requests need."""
    with unit(request, _unit(request)) as session:
        yield session


@contextmanager
def unit(request: Request, kind: str) -> Iterator[Session]:
    """A unit of work of ``kind`` ("read", "read_first" or "write"): commit on
    success, roll back on error. Errors marked ``commit_anyway`` (a failed login's
    counter) still commit. A ledger checkpoint is considered only after a unit that
    appended to the ledger."""
    session: Session = request.app.state.session_factories[kind]()
    try:
        yield session
        session.commit()
    except GongshuError as exc:
        if getattr(exc, "commit_anyway", False):
            session.commit()
        else:
            session.rollback()
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    if size := session.info.get(LEDGER_APPENDED):
        request.app.state.after_commit(size)


SessionDep = Annotated[Session, Depends(get_session)]


async def read_form(request: Request) -> FormData:
    """The posted form, parsed on the event loop (reading the body awaits), so a page
    whose fields cannot be declared one by one (repeated checkboxes, ``tag:<column>``)
    stays a plain ``def`` handler and its database work runs on a worker thread."""
    return await request.form()


FormDep = Annotated[FormData, Depends(read_form)]


def current_user(request: Request, session: Session) -> User | None:
    if hasattr(request.state, "user"):
        return request.state.user
    user = None
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        user = accounts.resolve_token(session, auth[7:].strip(), kind="api")
        if user is None:
            raise Unauthorized("API 令牌无效、已过期或已撤销 (invalid token)")
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
            raise Unauthorized("请先登录 (login required)")
        if self.scope not in user.scopes:
            roles = "、".join(ROLE_LABELS.get(r, r) for r in user.roles)
            raise Forbidden(f"当前角色（{roles}）无权执行此操作 (permission {self.scope})")
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
