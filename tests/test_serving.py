"""Several server processes on one port (gongshu/serving.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from gongshu import serving

pytestmark = pytest.mark.skipif(not serving.available(), reason="needs SO_REUSEPORT")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_kernel_spreads_connections_over_the_processes_sockets() -> None:
    """What uvicorn's shared socket did not do: every listening socket gets its share
    (64 connections all on one of two sockets: odds of 2^-63)."""
    port = _free_port()
    socks = [serving.listening_socket("127.0.0.1", port) for _ in range(2)]
    clients = []
    try:
        for s in socks:
            s.listen(128)
            s.setblocking(False)
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(64)]
        time.sleep(0.2)
        accepted = [0, 0]
        for i, s in enumerate(socks):
            while True:
                try:
                    conn, _ = s.accept()
                except BlockingIOError:
                    break
                conn.close()
                accepted[i] += 1
        assert sum(accepted) == 64 and min(accepted) > 0, accepted
    finally:
        for c in clients:
            c.close()
        for s in socks:
            s.close()


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ")[1][0] != "Z"


def test_serve_with_two_processes_answers_and_stops_them_all(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "GONGSHU_DATA_DIR": str(tmp_path / "var"),
        "GONGSHU_SECRET_KEY": "s" * 32,
    }
    env.pop("GONGSHU_DATABASE_URL", None)
    gongshu = [sys.executable, "-m", "gongshu"]
    subprocess.run([*gongshu, "init"], env=env, check=True, capture_output=True, timeout=120)
    server = subprocess.Popen(
        [*gongshu, "serve", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    children: list[int] = []
    try:
        deadline = time.monotonic() + 60
        answered = 0
        while answered < 5:
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
            assert time.monotonic() < deadline, "the server processes did not answer"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as r:
                    answered += r.status == 200
            except OSError:
                time.sleep(0.2)
        children = [c for c in _children(server.pid) if _alive(c)]
        assert len(children) >= 2  # two server processes (and multiprocessing's helper)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    deadline = time.monotonic() + 15
    while any(_alive(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(c) for c in children), "a server process outlived its parent"
    with socket.socket() as s:  # nobody listens on the port any more
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past closed connections
        s.bind(("127.0.0.1", port))
