"""The real ``ckanapi`` client over real HTTP against a live uvicorn server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import uvicorn
from sqlalchemy.orm import sessionmaker

from gongshu.app.factory import create_app
from gongshu.capabilities import import_all_models
from gongshu.config import Settings
from gongshu.db import Base, make_engine, transaction
from gongshu.opendata import service

from ..conftest import seed_people  # noqa: TID252
from .conftest import _entry  # noqa: TID252

ckanapi = pytest.importorskip("ckanapi")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live(tmp_path: Path) -> Iterator[SimpleNamespace]:
    from datetime import timedelta

    from gongshu.accounts import service as accounts

    import_all_models()
    settings = Settings(data_dir=tmp_path / "var", secret_key="live-ckan-secret-0123456789")
    engine = make_engine(f"sqlite:///{tmp_path / 'live.db'}")
    Base.metadata.create_all(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with transaction(factory) as session:
        people = seed_people(session)
        entry = _entry(session, people, tmp_path, "360102-JT-0101", "unconditional")
        service.declare_use(session, entry.id, actor=people.citizen, use="u", scenario="s")
        token, _ = accounts.issue_token(session, people.citizen, kind="api", ttl=timedelta(hours=1))
        entry_id = entry.id
    port = _free_port()
    app = create_app(settings, session_factory=factory)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield SimpleNamespace(url=f"http://127.0.0.1:{port}", token=token, entry_id=entry_id)
    server.should_exit = True
    thread.join(10)
    engine.dispose()


def test_ckanapi_against_a_live_server(live) -> None:  # noqa: ANN001
    with ckanapi.RemoteCKAN(live.url, apikey=live.token) as api:
        found = api.action.package_search(q="公交")
        assert [p["name"] for p in found["results"]] == ["360102-jt-0101"]
        rid = found["results"][0]["resources"][0]["id"]
        rows = api.action.datastore_search(resource_id=rid, limit=100)
        assert rows["total"] == 30 and len(rows["records"]) == 30
        assert rows["records"][0]["线路"] == "001路"
    with ckanapi.RemoteCKAN(live.url) as anonymous, pytest.raises(ckanapi.NotAuthorized):
        anonymous.action.datastore_search(resource_id=rid)


def _ckanapi_cli(*args: str) -> object:
    """The ``ckanapi`` command-line program itself, as a subprocess (issue 5 check)."""
    import json
    import shutil
    import subprocess
    import sys

    exe = shutil.which("ckanapi") or str(Path(sys.executable).with_name("ckanapi"))
    if not Path(exe).exists():
        pytest.skip("the ckanapi command is not installed")
    done = subprocess.run(
        [exe, "action", *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_ckanapi_command_line_lists_open_entries_and_reads_rows(live) -> None:  # noqa: ANN001
    found = _ckanapi_cli("package_search", "-r", live.url)
    assert found["count"] == 1 and found["results"][0]["name"] == "360102-jt-0101"
    rid = found["results"][0]["resources"][0]["id"]
    assert found["results"][0]["resources"][0]["datastore_active"] is True
    rows = _ckanapi_cli(
        "datastore_search", f"resource_id={rid}", "limit=5", "-r", live.url, "-a", live.token
    )
    assert rows["total"] == 30
    assert [r["线路"] for r in rows["records"]] == [f"{i:03d}路" for i in range(1, 6)]
    narrowed = _ckanapi_cli(
        "datastore_search",
        f"resource_id={rid}",
        'filters:{"区": "西湖区"}',
        "sort=站点数 desc",
        "limit=3",
        "-r",
        live.url,
        "-a",
        live.token,
    )
    assert narrowed["total"] == 15
    assert [r["线路"] for r in narrowed["records"]] == ["030路", "028路", "026路"]
