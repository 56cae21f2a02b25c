"""A real instance served by uvicorn in a thread, and real Chromium driving it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from gongshu.app.factory import create_app
from gongshu.app.server import init_instance
from gongshu.config import Settings
from gongshu.db import transaction
from gongshu.runtime import Instance

from ..conftest import seed_people  # noqa: TID252

CHROMIUM = Path("/usr/bin/chromium")
E2E_SECRET = "e2e-secret-key-0123456789"


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Instance]:
    """A real instance (SQLite file built by the migrations) with the test people."""
    settings = Settings(data_dir=tmp_path / "var", secret_key=E2E_SECRET)
    inst = Instance.open(settings)
    init_instance(inst)
    with transaction(inst.session_factory) as session:
        seed_people(session)
    yield inst
    inst.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(instance: Instance) -> Iterator[str]:
    port = _free_port()
    app = create_app(instance.settings, session_factory=instance.session_factory)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def page(live_server: str):  # noqa: ANN201
    if not CHROMIUM.exists():
        pytest.fail("Debian chromium is missing: `make test` installs it (make browser-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        pg = browser.new_page(base_url=live_server)
        pg.set_default_timeout(15000)
        yield pg
        browser.close()
