"""Rate limits and quotas on the open API (issue 5 item 6), per token and per address.

A token bucket per caller: ``rate`` requests a minute refill continuously up to
``burst``. A caller with a token is limited by its token (so a shared address,
a company's NAT, does not starve its users); a caller without one by address.
Buckets live in this process: with several server processes each enforces its
own share; a shared store (Redis) is the step for that deployment.
"""

from __future__ import annotations

import hashlib
import threading
import time

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

LIMITED_PREFIXES = ("/api/3/", "/api/action/", "/api/v1/open/", "/catalog.")


class TokenBuckets:
    def __init__(self, rate_per_minute: int, burst: int) -> None:
        self.rate = rate_per_minute / 60.0
        self.burst = float(burst)
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        """0.0 if allowed, else seconds until the next request would be."""
        now = time.monotonic() if now is None else now
        with self.lock:
            tokens, last = self.buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self.buckets[key] = (tokens - 1.0, now)
                return 0.0
            self.buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate if self.rate > 0 else 3600.0


def caller_key(request: Request) -> str:
    auth = request.headers.get("authorization") or request.headers.get("x-ckan-api-key") or ""
    token = auth.removeprefix("Bearer ").removeprefix("bearer ").strip()
    if token:
        return "token:" + hashlib.sha256(token.encode()).hexdigest()[:16]
    return "addr:" + (request.client.host if request.client else "unknown")


class OpenApiRateLimit:
    """Plain ASGI middleware (Starlette's BaseHTTPMiddleware re-streams every response
    through a task group: measurable on every request of the open API)."""

    def __init__(self, app: ASGIApp, *, rate_per_minute: int, burst: int) -> None:
        self.app = app
        self.buckets = TokenBuckets(rate_per_minute, burst)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith(LIMITED_PREFIXES):
            wait = self.buckets.take(caller_key(Request(scope)))
            if wait > 0:
                message = f"请求过于频繁，请 {wait:.0f} 秒后重试"
                body = (
                    {"success": False, "error": {"__type": "Rate Limit Error", "message": message}}
                    if path.startswith(("/api/3/", "/api/action/"))
                    else {"error": "rate_limited", "message": message}
                )
                response = JSONResponse(
                    body, status_code=429, headers={"Retry-After": str(max(1, round(wait)))}
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
