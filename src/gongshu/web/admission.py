"""Admission control: a server process serves at most ``limit`` requests at once and
sheds the rest early, with 503 and ``Retry-After``, instead of letting them pile up on
its threads and its connection pool until they fail after 30 s.

Every request admitted holds one of ``limit`` slots until its response is sent. The
handler threads (anyio's default limiter, set to ``limit`` here) and the connection
pool (``Settings.pool_size``: ``limit`` plus the threads beside the requests) are
sized to the same number, so an admitted request never waits on a thread or a
connection that cannot come. A request that finds every slot taken waits in a queue
on the event loop (a coroutine: no thread, no connection), first come first served,
for at most ``queue_seconds``. It is turned away at once when the queue ahead of it
could not be served within half that time at the rate requests have been finishing
(``Retry-After``: when that queue should have been served), and after
``queue_seconds`` if it is still waiting. A client that goes away while queued
leaves the queue.

Plain ASGI (no BaseHTTPMiddleware task group): it runs for every request.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import weakref
from collections import deque
from collections.abc import Callable

import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

EXEMPT_PREFIXES = ("/static/",)
CKAN_PREFIXES = ("/api/3/", "/api/action/")
MESSAGE = "服务繁忙，请稍后重试：请 {seconds} 秒后再试"
# The completion rate is measured over windows of this many seconds, smoothed.
WINDOW = 1.0
SMOOTHING = 0.5
# A request joins the queue only if the queue ahead should be served within this share
# of queue_seconds: the rate moves, and a request that waits queue_seconds only to be
# refused has been kept waiting for nothing.
MARGIN = 0.5


def busy_answer(path: str, seconds: int, page: Callable[[str], bytes] | None = None):  # noqa: ANN201
    """(content type, body) of a 503 for ``path``: CKAN's envelope on the CKAN API, JSON
    on other ``/api/`` paths, an HTML page otherwise."""
    message = MESSAGE.format(seconds=seconds)
    if path.startswith(CKAN_PREFIXES):
        body = {"success": False, "error": {"__type": "Service Unavailable", "message": message}}
        return b"application/json", _json(body)
    if path.startswith("/api/"):
        return b"application/json", _json({"error": "overloaded", "message": message})
    if page is not None:
        return b"text/html; charset=utf-8", page(message)
    html = (
        '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>服务繁忙</title>'
        f"<h1>服务繁忙（503）</h1><p>{message}</p></html>"
    )
    return b"text/html; charset=utf-8", html.encode()


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


async def send_busy(
    scope: Scope, send: Send, seconds: int, page: Callable[[str], bytes] | None = None
) -> None:
    content_type, body = busy_answer(scope.get("path", ""), seconds, page)
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(seconds).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class Admission:
    """At most ``limit`` requests in the app at once; a bounded, early-shedding queue."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int,
        queue_seconds: float,
        page: Callable[[str], bytes] | None = None,
    ) -> None:
        self.app = app
        self.limit = max(1, limit)
        self.queue_seconds = queue_seconds
        self.page = page
        self.in_flight = 0
        self.waiting: deque[asyncio.Future[bool]] = deque()
        self.shed = 0  # answered 503, for tests and logs
        # Requests finished a second, smoothed; until measured, assume each slot frees
        # once a second (a cautious guess that only decides the first second's queue).
        self.rate = float(self.limit)
        self._finished = 0
        self._window_start = time.monotonic()
        self._sized: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()

    # ------------------------------------------------------------ the queue

    def expected_wait(self, ahead: int) -> float:
        """Seconds until ``ahead`` queued requests have been let in."""
        return (ahead + 1) / max(self.rate, 0.1)

    def _finish(self) -> None:
        self._finished += 1
        now = time.monotonic()
        elapsed = now - self._window_start
        if elapsed >= WINDOW:
            measured = self._finished / elapsed
            self.rate = SMOOTHING * self.rate + (1 - SMOOTHING) * measured
            self._finished, self._window_start = 0, now

    def _release(self) -> None:
        """Hand the slot to the first live waiter, or free it."""
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(True)  # the slot passes on: in_flight unchanged
                return
        self.in_flight -= 1

    async def _enter(self) -> int:
        """0 when admitted, else the Retry-After seconds of a 503."""
        if self.in_flight < self.limit and not self.waiting:
            self.in_flight += 1
            return 0
        wait = self.expected_wait(len(self.waiting))
        if wait > self.queue_seconds * MARGIN:
            return _seconds(wait)  # come back once the queue ahead has been served
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        self.waiting.append(waiter)
        timer = loop.call_later(self.queue_seconds, _expire, waiter)
        try:
            admitted = await waiter
        except asyncio.CancelledError:  # the client went away while queued
            if waiter.done() and not waiter.cancelled() and waiter.result():
                self._release()
            else:
                _remove(self.waiting, waiter)
            raise
        finally:
            timer.cancel()
        if admitted:
            return 0
        _remove(self.waiting, waiter)
        return _seconds(self.expected_wait(len(self.waiting)))

    # ------------------------------------------------------------ ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith(EXEMPT_PREFIXES):
            if scope["type"] == "lifespan":
                self._size_threads()
            await self.app(scope, receive, send)
            return
        self._size_threads()
        retry = await self._enter()
        if retry:
            self.shed += 1
            await send_busy(scope, send, retry, self.page)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._finish()
            self._release()

    def _size_threads(self) -> None:
        """Handler threads = slots, once per event loop (a server process has one)."""
        loop = asyncio.get_running_loop()
        if loop not in self._sized:
            anyio.to_thread.current_default_thread_limiter().total_tokens = self.limit
            self._sized.add(loop)


def _expire(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)


def _remove(waiting: deque, waiter: asyncio.Future[bool]) -> None:
    try:
        waiting.remove(waiter)
    except ValueError:
        pass


def _seconds(wait: float) -> int:
    return max(1, min(60, math.ceil(wait)))
