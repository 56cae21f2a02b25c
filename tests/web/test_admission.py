"""Past capacity a server process sheds load early with 503 and Retry-After
(web/admission.py), and a database that stays busy answers 503, not 500 (issue 20)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from datetime import timedelta
from pathlib import Path

import anyio.to_thread
import pytest

from gongshu.web.admission import Admission

# ------------------------------------------------------------ the queue, alone


class Gate:
    """An ASGI app whose requests stay in until released, one by one or all."""

    def __init__(self) -> None:
        self.inside = 0
        self.release = asyncio.Event()

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        self.inside += 1
        await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def call(app, path: str = "/api/v1/x") -> tuple[int, dict, bytes]:  # noqa: ANN001
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b""}

    async def send(message: dict) -> None:
        sent.append(message)

    await app({"type": "http", "path": path, "method": "GET", "headers": []}, receive, send)
    headers = {k.decode(): v.decode() for k, v in sent[0].get("headers", [])}
    return sent[0]["status"], headers, sent[1]["body"]


def test_requests_past_the_limit_queue_then_go_in_first_come_first_served() -> None:
    async def run() -> None:
        gate = Gate()
        app = Admission(gate, limit=2, queue_seconds=5)
        tasks = [asyncio.create_task(call(app)) for _ in range(4)]
        await asyncio.sleep(0.05)
        assert gate.inside == 2 and len(app.waiting) == 2  # two in, two queued
        assert anyio.to_thread.current_default_thread_limiter().total_tokens == 2
        gate.release.set()
        answers = await asyncio.gather(*tasks)
        assert [status for status, _, _ in answers] == [200] * 4
        assert app.in_flight == 0 and not app.waiting

    asyncio.run(run())


@pytest.mark.parametrize(
    ("path", "kind"),
    [("/api/v1/catalog", "json"), ("/api/3/action/package_search", "ckan"), ("/open", "html")],
)
def test_a_queue_that_cannot_be_served_in_time_is_refused_at_once(path: str, kind: str) -> None:
    async def run() -> None:
        gate = Gate()
        app = Admission(gate, limit=1, queue_seconds=4, page=lambda m: f"<p>{m}</p>".encode())
        app.rate = 1.0  # a request a second: two may wait (half of 4 s), the third may not
        held = [asyncio.create_task(call(app, path)) for _ in range(3)]
        await asyncio.sleep(0.05)
        started = time.monotonic()
        status, headers, body = await call(app, path)
        assert time.monotonic() - started < 0.1  # at once, not after a timeout
        assert status == 503 and int(headers["retry-after"]) == 3  # the queue, served
        if kind == "html":
            assert headers["content-type"].startswith("text/html")
            assert "服务繁忙" in body.decode()
        else:
            answer = json.loads(body)
            message = answer["error"]["message"] if kind == "ckan" else answer["message"]
            assert "服务繁忙" in message and (kind != "ckan" or answer["success"] is False)
        gate.release.set()
        assert [s for s, _, _ in await asyncio.gather(*held)] == [200, 200, 200]

    asyncio.run(run())


def test_a_request_queued_past_queue_seconds_gets_503() -> None:
    async def run() -> None:
        gate = Gate()
        app = Admission(gate, limit=1, queue_seconds=0.2)
        app.rate = 100.0  # the queue looks short: the request waits, and times out
        first = asyncio.create_task(call(app))
        await asyncio.sleep(0.02)
        started = time.monotonic()
        status, headers, _ = await call(app)
        assert status == 503 and headers["retry-after"]
        assert 0.15 < time.monotonic() - started < 1.0
        assert not app.waiting
        gate.release.set()
        await first
        assert app.in_flight == 0

    asyncio.run(run())


def test_a_client_that_leaves_the_queue_gives_up_its_place() -> None:
    async def run() -> None:
        gate = Gate()
        app = Admission(gate, limit=1, queue_seconds=5)
        first = asyncio.create_task(call(app))
        await asyncio.sleep(0.02)
        leaving = asyncio.create_task(call(app))
        await asyncio.sleep(0.02)
        leaving.cancel()
        await asyncio.sleep(0.02)
        assert not app.waiting
        gate.release.set()
        await first
        assert app.in_flight == 0
        assert (await call(app))[0] == 200

    asyncio.run(run())


# ------------------------------------------------------------ a real server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_small_server_under_100_concurrent_requests_answers_2xx_or_a_quick_503(
    tmp_path: Path,
) -> None:
    """Two handler threads, and a pool of one connection (smaller than the threads, as
    a misconfigured deployment would have it), under 100 requests at once, reads and
    writes: each is served or refused fast with Retry-After, never a 500."""
    import httpx2 as httpx
    import uvicorn

    from gongshu.accounts import service as accounts
    from gongshu.app.factory import create_app
    from gongshu.capabilities import import_all_models
    from gongshu.config import Settings
    from gongshu.db import Base, make_engine, make_session_factory, transaction
    from gongshu.ledger.keys import InstanceKey
    from tests.conftest import seed_people

    settings = Settings(
        data_dir=tmp_path / "var",
        secret_key="test-secret-key-not-for-production",
        threads=2,
        queue_seconds=0.5,
        db_pool_size=1,
        db_pool_timeout=0.2,
        open_rate_per_minute=100000,
        open_rate_burst=100000,
    )
    engine = make_engine(settings.db_url)
    import_all_models()
    Base.metadata.create_all(engine)
    InstanceKey.load_or_create(settings.keys_dir)  # as `gongshu init` makes it
    with transaction(make_session_factory(engine)) as s:
        people = seed_people(s)
        token, _ = accounts.issue_token(s, people.clerk_county, kind="api", ttl=timedelta(hours=1))
    engine.dispose()
    app = create_app(settings)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline
        time.sleep(0.02)
    auth = {"Authorization": f"Bearer {token}"}

    async def one(client: httpx.AsyncClient, i: int) -> tuple[int, float, str | None]:
        started = time.monotonic()
        if i % 5 == 0:
            r = await client.post(
                "/api/v1/catalog",
                json={"resource_code": f"Q-{i}", "name": f"草稿{i}"},
                headers=auth,
            )
        elif i % 5 == 1:
            r = await client.get("/api/v1/catalog?q=低保", headers=auth)
        elif i % 5 == 2:
            r = await client.get("/open")
        else:
            r = await client.get("/api/3/action/package_search?q=数据")
        return r.status_code, time.monotonic() - started, r.headers.get("retry-after")

    async def burst() -> list[tuple[int, float, str | None]]:
        limits = httpx.Limits(max_connections=100)
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
            return await asyncio.gather(*(one(client, i) for i in range(100)))

    try:
        answers = asyncio.run(burst())
    finally:
        server.should_exit = True
        thread.join(30)
        app.state.instance.close()
    statuses = sorted({status for status, _, _ in answers})
    assert set(statuses) <= {200, 201, 503}, statuses
    refused = [(took, retry) for status, took, retry in answers if status == 503]
    assert refused, "100 requests at once on 2 threads: some must be turned away"
    assert all(retry and int(retry) >= 1 for _, retry in refused)
    assert max(took for took, _ in refused) < 3.0, refused  # fast, never after 30 s
    assert sum(status < 300 for status, _, _ in answers) >= 2
