"""The application factory. Nothing is built at import time."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException

from gongshu import capabilities, web
from gongshu.config import Settings
from gongshu.db import read_first_factory, read_only_factory
from gongshu.errors import GongshuError, Unauthorized
from gongshu.storage import unlock_settings
from gongshu.web.admission import Admission, busy_answer
from gongshu.web.problems import say
from gongshu.web.render import make_templates, render

log = logging.getLogger(__name__)
# Retry-After of a 503 for a database that was busy (pool or lock wait timed out).
BUSY_RETRY_SECONDS = 2


def create_app(
    settings: Settings, *, session_factory: sessionmaker[Session] | None = None
) -> FastAPI:
    """Build the app for ``settings``; tests may pass their own session factory."""
    from gongshu.runtime import Instance

    settings.check_secret()
    app = FastAPI(
        title="公数 Gongshu",
        description="省级公共数据平台 API",
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
        swagger_ui_oauth2_redirect_url="/api/docs/oauth2-redirect",
    )
    instance = None
    if session_factory is None:
        instance = Instance.open(settings)
        session_factory = instance.session_factory
    else:
        unlock_settings(settings)
    app.state.settings = settings
    app.state.session_factory = session_factory
    app.state.session_factories = {
        "write": session_factory,
        "read": read_only_factory(session_factory),
        "read_first": read_first_factory(session_factory),
    }
    app.state.instance = instance
    capabilities.activate()
    app.state.templates = make_templates(capabilities.template_dirs(), capabilities.labels())
    _install_identity(app, settings)
    app.state.after_commit = _checkpointer(
        settings, session_factory, app.state.session_factories["read"]
    )

    for router in capabilities.routers():  # the registry's order (gongshu.capabilities)
        app.include_router(router)

    from gongshu.web.ratelimit import OpenApiRateLimit

    app.add_middleware(
        OpenApiRateLimit,
        rate_per_minute=settings.open_rate_per_minute,
        burst=settings.open_rate_burst,
    )
    _install_web_security(app, settings)
    # Outermost (added last): a request turned away costs nothing further down.
    app.state.busy_page = _busy_page(app.state.templates)
    app.add_middleware(
        Admission,
        limit=settings.threads,
        queue_seconds=settings.queue_seconds,
        page=app.state.busy_page,
    )
    static = Path(web.__file__).parent / "static"
    app.mount("/static", StaticFiles(directory=static), name="static")
    _install_error_handlers(app)
    from gongshu.app import openapi

    openapi.install(app)
    return app


def _install_identity(app: FastAPI, settings: Settings) -> None:
    """Real-name checks (OPN-2, PIP-5) against the resident register through the door's
    verification service; a verifier a deployment plugged in
    (``accounts.identity.set_verifier``) wins at request time."""
    from gongshu.egress.verify import Checker, RegisterVerifier

    app.state.identity_checker = Checker.from_settings(settings)
    app.state.identity_verifier = RegisterVerifier(app.state.identity_checker)


def _install_web_security(app: FastAPI, settings: Settings) -> None:
    """CSRF tokens and security headers (issue 16 item 5); headers outermost, so a
    refused request carries them too."""
    from gongshu.web.csrf import CsrfProtect
    from gongshu.web.headers import SecurityHeaders

    app.add_middleware(CsrfProtect)
    app.add_middleware(SecurityHeaders, hsts=settings.secure_cookies)


def all_routes(app: FastAPI) -> list[APIRoute]:
    """Every endpoint route of the app, looking inside included routers."""
    found: list[APIRoute] = []
    stack = list(app.routes)
    while stack:
        route = stack.pop()
        if isinstance(route, APIRoute):
            found.append(route)
        elif (inner := getattr(route, "original_router", None)) is not None:
            stack.extend(inner.routes)  # FastAPI >= 0.160 keeps included routers lazy
    return found


def _checkpointer(
    settings: Settings, factory: sessionmaker[Session], reader: sessionmaker[Session]
):  # noqa: ANN202
    """After a request appended to the ledger (``size``: the tree size it left), sign
    a checkpoint when one is due. Checkpoints only grow, so the newest one this
    process has seen answers most requests without a query; only when that looks
    due is the database asked (without the write lock), then the checkpoint signed."""
    from gongshu.ledger import checkpoint_if_due
    from gongshu.ledger.keys import InstanceKey
    from gongshu.ledger.service import signed_size

    key_holder: list[InstanceKey] = []
    covered = [0]  # the largest checkpointed tree size seen in this process
    every = max(settings.checkpoint_every, 1)

    def after_commit(size: int) -> None:
        if size - covered[0] < every:
            return
        with reader() as session:
            covered[0] = signed_size(session)
        if size - covered[0] < every:
            return
        session = factory()
        try:
            if not key_holder:  # never created here: a missing key is logged, loudly
                key_holder.append(InstanceKey.require(settings.keys_dir))
            signed = checkpoint_if_due(session, key_holder[0], settings.checkpoint_every)
            session.commit()
            if signed is not None:
                covered[0] = max(covered[0], signed.tree_size)
        except Exception:  # a missed checkpoint is retried after the next commit
            session.rollback()
            log.exception("ledger checkpoint failed")
        finally:
            session.close()

    return after_commit


def _busy_page(templates):  # noqa: ANN001, ANN202
    """The site's error page for a 503, rendered once per message (shedding is cheap)."""

    @functools.lru_cache(maxsize=64)
    def page(message: str) -> bytes:
        template = templates.env.get_template("error.html")
        return template.render(user=None, message=message, status=503).encode()

    return page


def _database_busy(exc: Exception) -> bool:
    """The pool had no connection in time, or SQLite's write lock stayed taken past
    its busy timeout: the server is past capacity, not broken."""
    if isinstance(exc, SATimeoutError):
        return True
    text = str(getattr(exc, "orig", exc)).lower()
    return "database is locked" in text or "database is busy" in text


# Machine interfaces: errors answer in JSON whatever the Accept header says.
JSON_PREFIXES = ("/api/", "/federation/v1/")


def _wants_json(request: Request) -> bool:
    return (
        request.url.path.startswith(JSON_PREFIXES)
        or "application/json" in request.headers.get("accept", "").split(",")[0]
    )


def _install_error_handlers(app: FastAPI) -> None:
    def domain_error(request: Request, exc: GongshuError) -> Response:
        if _wants_json(request):
            body = {"error": exc.code, "message": exc.message}
            if exc.detail is not None:
                body["detail"] = exc.detail
            return JSONResponse(body, status_code=exc.status)
        if isinstance(exc, Unauthorized) and request.method == "GET":
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return render(
            request,
            "error.html",
            user=getattr(request.state, "viewer", None),
            status_code=exc.status,
            message=exc.message,
            status=exc.status,
        )

    def validation_error(request: Request, exc: RequestValidationError) -> Response:
        message = "输入有误：" + "；".join(say(err) for err in exc.errors())
        if not _wants_json(request):
            message = "输入有误：" + "；".join(say(err, people=True) for err in exc.errors())
        if _wants_json(request):
            return JSONResponse(
                {
                    "error": "invalid_input",
                    "message": message,
                    # ``ctx`` may hold the validator's exception object: not JSON.
                    "detail": [{k: v for k, v in e.items() if k != "ctx"} for e in exc.errors()],
                },
                status_code=422,
            )
        return render(
            request,
            "error.html",
            user=getattr(request.state, "viewer", None),
            status_code=422,
            message=message,
            status=422,
        )

    def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = {404: "页面不存在", 405: "不支持的请求方法"}.get(exc.status_code, str(exc.detail))
        if _wants_json(request):
            return JSONResponse({"error": "http", "message": message}, status_code=exc.status_code)
        return render(
            request,
            "error.html",
            user=getattr(request.state, "viewer", None),
            status_code=exc.status_code,
            message=message,
            status=exc.status_code,
        )

    def database_error(request: Request, exc: Exception) -> Response:
        if not _database_busy(exc):
            raise exc  # a real fault: Starlette's server error handling answers 500
        log.warning("database busy, answered 503: %s %s: %s", request.method, request.url.path, exc)
        page = getattr(request.app.state, "busy_page", None)
        content_type, body = busy_answer(request.url.path, BUSY_RETRY_SECONDS, page)
        return Response(
            body,
            status_code=503,
            media_type=content_type.decode(),
            headers={"Retry-After": str(BUSY_RETRY_SECONDS), "Cache-Control": "no-store"},
        )

    app.add_exception_handler(GongshuError, domain_error)  # type: ignore[arg-type]
    app.add_exception_handler(SATimeoutError, database_error)
    app.add_exception_handler(OperationalError, database_error)
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
