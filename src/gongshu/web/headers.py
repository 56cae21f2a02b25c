"""Security headers on every response (issue 16 item 5).

The CSP allows script only from this site's files (``script-src 'self'``, no inline
script: pages hand data to ``/static/gongshu.js`` in ``data-*`` attributes and
``<script type="application/json">`` blocks, which are not executed), no framing, no
plugins; styles may stay inline (``style=`` attributes). HSTS only when the cookies
are marked Secure, i.e. the instance is served over HTTPS.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# FastAPI's Swagger UI is an inline script loading from a CDN; it alone keeps no CSP.
NO_CSP_PATHS = ("/api/docs",)
HSTS = "max-age=31536000; includeSubDomains"


def security_headers(*, hsts: bool) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-security-policy", CSP.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"x-frame-options", b"DENY"),
    ]
    if hsts:
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers


class SecurityHeaders:
    """Plain ASGI middleware; a header the endpoint set itself is kept."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.headers = security_headers(hsts=hsts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        headers = self.headers
        if scope.get("path", "").startswith(NO_CSP_PATHS):
            headers = [(k, v) for k, v in headers if k != b"content-security-policy"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in headers if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
