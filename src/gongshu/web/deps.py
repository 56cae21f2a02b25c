"""Request dependencies: the unit of work (who is calling and what they may do:
``gongshu.accounts.deps``).

Handlers read like sentences::

    def submit(entry_id: int, session: SessionDep, user: Annotated[User, requires(CATALOG_EDIT)])

Every route declares exactly the scope it needs with ``requires``; the
permission test walks the app and fails on a route that declares none.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

from anyio import CapacityLimiter, to_thread
from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from gongshu.errors import GongshuError
from gongshu.ledger.service import LEDGER_APPENDED


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


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request (``unit_of_work``): routes marked with
    ``unit_of_work`` get the session their requests need.

    The session is made on the event loop (a ``Session`` connects on first use, in the
    permission check or the handler, on a worker thread); its end, commit or rollback,
    runs on a worker thread before the response is sent (``scope="function"``), so a
    client is never told of a change that did not commit, and SQLite's write lock is
    not held while the answer is written out. The end has a limiter of its own, as
    Starlette gives a sync dependency's exit: a commit must not wait for a handler
    thread held by a request waiting for the write lock this commit releases."""
    ending = unit(request, _unit(request))
    session = ending.__enter__()
    try:
        yield session
    except BaseException as exc:
        await to_thread.run_sync(
            ending.__exit__, type(exc), exc, exc.__traceback__, limiter=CapacityLimiter(1)
        )
        raise
    await to_thread.run_sync(ending.__exit__, None, None, None, limiter=CapacityLimiter(1))


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


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def read_form(request: Request) -> FormData:
    """The posted form, parsed on the event loop (reading the body awaits), so a page
    whose fields cannot be declared one by one (repeated checkboxes, ``tag:<column>``)
    stays a plain ``def`` handler and its database work runs on a worker thread."""
    return await request.form()


FormDep = Annotated[FormData, Depends(read_form)]
