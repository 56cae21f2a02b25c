"""Cross-site request forgery (issue 16 item 5): a state-changing request that the
session cookie authenticates must carry a token only a page of this site can know.

The token is an HMAC of the session token under the instance secret, so nothing is
stored: a form carries it in the hidden field ``csrf_token`` (``csrf_field()`` in every
template), script sends it in the ``X-CSRF-Token`` header, reading it from the
``gs_csrf`` cookie (double submit: another site can neither read that cookie nor set
the header without a CORS preflight this app never grants). Requests authenticated by
a bearer token carry no ambient credential and are exempt. ``Origin`` and
``Sec-Fetch-Site``, when the browser sends them, must name this site.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "gs_session"  # set at sign-in by accounts/pages.py
CSRF_COOKIE = "gs_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_PEEK_LIMIT = 64 * 1024  # a form's csrf_token comes first; never buffer an upload
REFUSED = "请求来源无法验证，已拒绝：请返回原页面刷新后重新提交。"


def token_for(secret: str, session_token: str) -> str:
    """The CSRF token bound to one session."""
    mac = hmac.new(secret.encode(), b"csrf:" + session_token.encode(), hashlib.sha256)
    return mac.hexdigest()


def request_token(request: Request) -> str:
    """The token of the caller's session ('' without one), for forms and the cookie."""
    session = request.cookies.get(SESSION_COOKIE)
    if not session:
        return ""
    return token_for(request.app.state.settings.secret_key, session)


def csrf_field(request: Request) -> Markup:
    """The hidden form field; the first child of every ``<form method="post">``."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(
        CSRF_FIELD, request_token(request)
    )


def set_csrf_cookie(response: Response, token: str, *, secure: bool, max_age: int) -> None:
    """Readable by this site's script (not HttpOnly), sent to nobody else."""
    response.set_cookie(
        CSRF_COOKIE, token, max_age=max_age, httponly=False, samesite="strict", secure=secure
    )


def _cross_site(request: Request) -> bool:
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return True
    origin = request.headers.get("origin")
    if origin is None:
        return False
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    return origin.rstrip("/") != own


def _bearer(request: Request) -> bool:
    auth = request.headers.get("authorization", "")
    return auth.lower().startswith("bearer ") or "x-ckan-api-key" in request.headers


async def _peek_field(scope: Scope, receive: Receive) -> tuple[str | None, list[Message]]:
    """The form's ``csrf_token`` (None when absent) and the body messages read to find
    it, to be replayed. A urlencoded form is read whole (a form is small); of a
    multipart body only its first part, which ``csrf_field()`` puts first."""
    request = Request(scope)
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return None, []
    multipart = ctype.startswith("multipart/")
    messages: list[Message] = []
    body = b""
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
        if multipart and (len(body) > FORM_PEEK_LIMIT or _first_part(ctype, body) is not None):
            break
        if not multipart and len(body) > 16 * FORM_PEEK_LIMIT:
            break
    if multipart:
        return _first_part(ctype, body), messages
    values = parse_qs(body.decode("latin-1"), keep_blank_values=True).get(CSRF_FIELD)
    return (values[0] if values else None), messages


def _first_part(ctype: str, body: bytes) -> str | None:
    boundary = ""
    for piece in ctype.split(";"):
        key, _, value = piece.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip('"')
    if not boundary:
        return None
    start = f"--{boundary}\r\n".encode()
    if not body.startswith(start):
        return None
    head_end = body.find(b"\r\n\r\n", len(start))
    if head_end < 0:
        return None
    headers = body[len(start) : head_end].decode("latin-1").lower()
    if f'name="{CSRF_FIELD}"' not in headers:
        return ""  # the first part is something else: no token
    end = body.find(f"\r\n--{boundary}".encode(), head_end + 4)
    if end < 0:
        return None
    return body[head_end + 4 : end].decode("latin-1")


class CsrfProtect:
    """Plain ASGI middleware: refuse a cookie-authenticated unsafe request without the
    session's token, and any unsafe page request that the browser says is cross-site."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] not in UNSAFE:
            await self.app(scope, receive, _renewing_cookie(Request(scope), send))
            return
        request = Request(scope)
        if _bearer(request):
            await self.app(scope, receive, send)
            return
        session = request.cookies.get(SESSION_COOKIE)
        api = scope.get("path", "").startswith("/api/")
        if _cross_site(request) and (session or not api):
            await self._refuse(scope, receive, send)
            return
        if not session:
            await self.app(scope, receive, send)
            return
        expected = token_for(request.app.state.settings.secret_key, session)
        given = request.headers.get(CSRF_HEADER)
        replay: list[Message] = []
        if given is None:
            given, replay = await _peek_field(scope, receive)
        if not given or not hmac.compare_digest(given.encode(), expected.encode()):
            await self._refuse(scope, receive, send)
            return
        await self.app(scope, _replaying(replay, receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        if scope.get("path", "").startswith("/api/"):
            response: Response = JSONResponse(
                {"error": "csrf", "message": REFUSED}, status_code=403
            )
        elif (templates := getattr(request.app.state, "templates", None)) is not None:
            response = templates.TemplateResponse(
                request, "error.html", {"user": None, "message": REFUSED, "status": 403}, 403
            )
        else:
            response = HTMLResponse(REFUSED, status_code=403)
        await response(scope, receive, send)


def _renewing_cookie(request: Request, send: Send) -> Send:
    """A signed-in page whose ``gs_csrf`` cookie is missing or stale (a session from
    before this check) gets it back with the response."""
    token = request_token(request)
    if not token or request.cookies.get(CSRF_COOKIE) == token:
        return send
    settings = request.app.state.settings
    cookie = Response()
    set_csrf_cookie(
        cookie, token, secure=settings.secure_cookies, max_age=settings.session_hours * 3600
    )
    header = next(v for k, v in cookie.raw_headers if k == b"set-cookie")

    async def send_with_cookie(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message["headers"], (b"set-cookie", header)]}
        await send(message)

    return send_with_cookie


def _replaying(messages: list[Message], receive: Receive) -> Callable[[], Awaitable[Message]]:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
