"""No ``async def`` handler blocks the event loop (STYLE 3). An ``async def`` endpoint or
dependency runs on the loop itself: one synchronous database call there stalls every
other request of the process. The test walks every route of the real app, reads each
``async def`` endpoint and async dependency with ``ast`` (following calls into helpers
of the same module) and fails on

- a use of a synchronous ``Session`` parameter, or of an ORM object parameter (an
  attribute read may lazy-load), outside a call handed to a worker thread
  (``run_in_threadpool``, ``anyio.to_thread.run_sync``, ``asyncio.to_thread``);
- a synchronous database call (``execute``, ``scalar``, ``flush``, ...);
- file or network IO and sleeps (``open``, ``Path.read_bytes``, ``shutil``, ...).

A plain ``def`` handler runs on a worker thread and may do all of these."""

from __future__ import annotations

import ast
import inspect
import textwrap
import time
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import PUBLIC
from gongshu.app.factory import all_routes
from gongshu.web.deps import SessionDep

# Calls that hand work to a worker thread: what they are given does not run on the loop.
OFFLOAD = {"run_in_threadpool", "run_sync", "to_thread", "run_in_executor"}
# Methods of a synchronous Session / Connection / Result, and of pathlib.Path.
BLOCKING_METHODS = {
    "execute",
    "scalar",
    "scalars",
    "scalar_one",
    "flush",
    "commit",
    "rollback",
    "refresh",
    "merge",
    "begin_nested",
    "query",
    "read_text",
    "read_bytes",
    "write_text",
    "write_bytes",
    "unlink",
    "mkdir",
    "fsync",
}
BLOCKING_FUNCTIONS = {"open", "sleep", "urlopen", "input"}
BLOCKING_MODULES = {"shutil", "subprocess", "requests", "socket", "sqlite3"}


def _source_tree(fn: Callable) -> ast.FunctionDef | ast.AsyncFunctionDef:
    node = ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]
    assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef), fn
    return node


def _is_sync_resource(hint: object) -> bool:
    """A Session, or an ORM object (its attributes may lazy-load), possibly Optional."""
    if typing.get_origin(hint) is Annotated:
        return _is_sync_resource(typing.get_args(hint)[0])
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return any(_is_sync_resource(arg) for arg in typing.get_args(hint))
    return isinstance(hint, type) and (issubclass(hint, Session) or hasattr(hint, "__mapper__"))


def _sync_params(fn: Callable) -> set[str]:
    found = set()
    for name, hint in inspect.get_annotations(fn).items():
        if name == "return":
            continue
        if isinstance(hint, str):
            try:
                hint = eval(hint, fn.__globals__)  # noqa: S307 - annotations of our own code
            except NameError:  # imported only for type checking
                found |= {name} if "Session" in hint else set()
                continue
        if _is_sync_resource(hint):
            found.add(name)
    return found


def _call_name(call: ast.Call) -> tuple[str | None, str]:
    """(the object or module it is called on, the name called)."""
    func = call.func
    if isinstance(func, ast.Name):
        return None, func.id
    if isinstance(func, ast.Attribute):
        owner = func.value.id if isinstance(func.value, ast.Name) else None
        return owner, func.attr
    return None, ""


def _problems(fn: Callable, seen: set[object] | None = None) -> list[str]:
    """What in ``fn`` (and the same-module helpers it calls) blocks the event loop."""
    seen = set() if seen is None else seen
    if fn in seen:
        return []
    seen.add(fn)
    tree = _source_tree(fn)
    asynchronous = isinstance(tree, ast.AsyncFunctionDef)
    resources = _sync_params(fn) if asynchronous else set()
    module = inspect.getmodule(fn)
    where = f"{fn.__module__}.{fn.__qualname__}"
    found: list[str] = []

    def visit(node: ast.AST, awaited: bool = False) -> None:
        if isinstance(node, ast.Call):
            owner, name = _call_name(node)
            if name in OFFLOAD:
                return  # its arguments run on a worker thread
            if not awaited:
                if name in BLOCKING_METHODS and owner not in {"self"}:
                    found.append(f"{where}: synchronous call .{name}() on the event loop")
                elif owner is None and name in BLOCKING_FUNCTIONS:
                    found.append(f"{where}: blocking call {name}() on the event loop")
                elif owner in BLOCKING_MODULES or (owner == "time" and name == "sleep"):
                    found.append(f"{where}: blocking call {owner}.{name}() on the event loop")
            helper = getattr(module, name, None) if owner is None else None
            if inspect.isfunction(helper) and helper.__module__ == fn.__module__:
                found.extend(_helper_problems(helper, seen))
        if isinstance(node, ast.Name) and node.id in resources:
            found.append(
                f"{where}: uses `{node.id}` (a synchronous session or ORM object) on the event loop"
            )
        for child in ast.iter_child_nodes(node):
            visit(child, awaited=isinstance(node, ast.Await))

    for statement in tree.body:
        visit(statement)
    return found


def _helper_problems(helper: Callable, seen: set[object]) -> list[str]:
    """A helper runs on the loop when a coroutine calls it: a sync helper is checked for
    blocking calls as if it were async (its own Session parameter included)."""
    problems = _problems(helper, seen)
    if not inspect.iscoroutinefunction(helper):
        params = _sync_params(helper)
        if params:
            problems.append(
                f"{helper.__module__}.{helper.__qualname__}: takes {sorted(params)} and is "
                "called on the event loop"
            )
    return problems


def _coroutines(route: APIRoute) -> list[Callable]:
    """The route's endpoint and dependencies that run on the event loop."""
    found, stack = [], [route.dependant]
    while stack:
        dependant = stack.pop()
        call = dependant.call
        if call is not None:
            if inspect.ismethod(call):
                target = call.__func__
            elif inspect.isfunction(call):
                target = call
            else:  # an instance with __call__ (PermissionCheck)
                target = type(call).__call__
            if inspect.iscoroutinefunction(target):
                found.append(target)
        stack.extend(dependant.dependencies)
    return found


def blocking_problems(app: FastAPI) -> list[str]:
    problems: list[str] = []
    for route in all_routes(app):
        for fn in _coroutines(route):
            problems.extend(f"{route.path}: {p}" for p in _problems(fn))
    return sorted(set(problems))


def test_no_async_handler_of_the_app_blocks(app) -> None:  # noqa: ANN001
    routes = all_routes(app)
    assert len(routes) > 100
    assert sum(1 for r in routes for _ in _coroutines(r)) >= 2  # the check has work to do
    assert blocking_problems(app) == []


# ---------------------------------------------------------------- the check itself


def _read_file(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def _count(session: Session) -> int:
    return session.scalar(select(1)) or 0


async def session_on_loop(session: SessionDep, user: Annotated[User, requires(PUBLIC)]) -> dict:
    return {"one": session.scalar(select(1))}


async def helper_reads_a_file(request: Request, user: Annotated[User, requires(PUBLIC)]) -> dict:
    return {"size": len(_read_file(str(Path(__file__))))}


async def helper_takes_the_session(
    session: SessionDep, user: Annotated[User, requires(PUBLIC)]
) -> dict:
    return {"n": await run_in_threadpool(_count, session) + _count_twice(session)}


def _count_twice(session: Session) -> int:
    return 2 * _count(session)


async def sleeps(user: Annotated[User, requires(PUBLIC)]) -> dict:
    time.sleep(0.01)
    return {}


async def lazy_loads(user: Annotated[User, requires(PUBLIC)]) -> dict:
    return {"org": user.org.name if user.org else None}


async def slow_dependency(session: SessionDep) -> int:
    return _count(session)


async def blocking_dependency(
    n: Annotated[int, Depends(slow_dependency)], user: Annotated[User, requires(PUBLIC)]
) -> dict:
    return {"n": n}


async def offloaded(
    request: Request, session: SessionDep, user: Annotated[User, requires(PUBLIC)]
) -> dict:
    form = await request.form()
    return {"n": await run_in_threadpool(_count, session), "fields": len(form), "u": 1}


def plain(session: SessionDep, user: Annotated[User, requires(PUBLIC)]) -> dict:
    time.sleep(0)
    return {"n": _count(session), "size": len(_read_file(str(Path(__file__))))}


BAD = [
    session_on_loop,
    helper_reads_a_file,
    helper_takes_the_session,
    sleeps,
    lazy_loads,
    blocking_dependency,
]


def _app_of(*endpoints: Callable) -> FastAPI:
    app = FastAPI()
    for endpoint in endpoints:
        app.add_api_route(f"/{endpoint.__name__}", endpoint, methods=["POST"])
    return app


@pytest.mark.parametrize("endpoint", BAD, ids=lambda e: e.__name__)
def test_the_check_fails_on_a_blocking_async_handler(endpoint: Callable) -> None:
    problems = blocking_problems(_app_of(endpoint))
    assert problems, endpoint.__name__
    assert all(p.startswith(f"/{endpoint.__name__}: ") for p in problems)


def test_the_check_names_what_blocks() -> None:
    assert blocking_problems(_app_of(session_on_loop)) == [
        "/session_on_loop: tests.web.test_no_blocking.session_on_loop: synchronous call "
        ".scalar() on the event loop",
        "/session_on_loop: tests.web.test_no_blocking.session_on_loop: uses `session` "
        "(a synchronous session or ORM object) on the event loop",
    ]
    (problem,) = blocking_problems(_app_of(helper_reads_a_file))
    assert "_read_file: blocking call open()" in problem
    problems = blocking_problems(_app_of(helper_takes_the_session))
    assert any("_count_twice: takes ['session']" in p for p in problems)
    assert any("_count: synchronous call .scalar()" in p for p in problems)


def test_the_check_passes_offloaded_and_plain_handlers() -> None:
    assert blocking_problems(_app_of(offloaded, plain)) == []
