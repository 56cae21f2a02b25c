"""The unit of work of a request (gongshu.web.deps): it ends, committed or rolled back,
before the answer leaves, so a client is never told of a change that did not commit."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from sqlalchemy import event
from sqlalchemy.orm import Session

from gongshu.accounts import service as accounts


def _drive(app, method: str, path: str, headers: dict, body: bytes = b"") -> list[str]:  # noqa: ANN001
    """One request straight through ASGI; what happened, in order: the unit of work's
    commit or rollback and the response's messages."""
    happened: list[str] = []

    def committed(_session: Session) -> None:
        happened.append("commit")

    def rolled_back(_session: Session) -> None:
        happened.append("rollback")

    raw = [(b"host", b"testserver"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    delivered = [False]

    async def receive() -> dict:
        if not delivered[0]:
            delivered[0] = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            happened.append(f"response {message['status']}")

    event.listen(Session, "after_commit", committed)
    event.listen(Session, "after_rollback", rolled_back)
    try:
        asyncio.run(app(scope, receive, send))
    finally:
        event.remove(Session, "after_commit", committed)
        event.remove(Session, "after_rollback", rolled_back)
    return happened


def _token(session, user) -> dict:  # noqa: ANN001
    plaintext, _ = accounts.issue_token(session, user, kind="api", ttl=timedelta(hours=1))
    session.flush()
    return {"authorization": f"Bearer {plaintext}", "content-type": "application/json"}


def test_a_write_commits_before_its_answer_leaves(app, session, people) -> None:  # noqa: ANN001
    body = json.dumps({"resource_code": "360102-MZ-0301", "name": "婚姻登记信息"}).encode()
    happened = _drive(app, "POST", "/api/v1/catalog", _token(session, people.clerk_county), body)
    assert "commit" in happened  # the draft, then the ledger's checkpoint question
    assert happened[-1] == "response 201"  # nothing ended after the answer started


def test_a_refused_write_rolls_back_before_its_answer_leaves(app, session, people) -> None:  # noqa: ANN001
    body = json.dumps({"resource_code": "360102-MZ-0302", "name": "婚姻登记信息"}).encode()
    happened = _drive(app, "POST", "/api/v1/catalog", _token(session, people.citizen), body)
    assert "rollback" in happened
    assert happened[-1] == "response 403"
