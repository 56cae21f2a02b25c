"""Starting the one-machine cluster survives a port taken between choosing it and the
JVM binding it (the CI run of 7 December 2026: the master's web UI drifted to the next
port, where the test S3 server answered, and every cluster test failed at set-up)."""

from __future__ import annotations

import json
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gongshu.spark import cluster as cluster_module
from gongshu.spark.cluster import LocalCluster
from gongshu.spark.context import java_available


@contextmanager
def _answering(body: bytes, content_type: str) -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_another_server_on_the_status_port_counts_no_worker() -> None:
    with _answering(b"<!DOCTYPE html><html>weed</html>", "text/html") as port:
        assert LocalCluster(url="spark://127.0.0.1:1", web=port).alive_workers() == 0
    other = {"url": "spark://127.0.0.1:2", "workers": [{"state": "ALIVE"}] * 2}
    with _answering(json.dumps(other).encode(), "application/json") as port:
        assert LocalCluster(url="spark://127.0.0.1:1", web=port).alive_workers() == 0
        assert LocalCluster(url="spark://127.0.0.1:2", web=port).alive_workers() == 2


@pytest.mark.skipif(not java_available(), reason="Java is not installed (make java-deps)")
def test_a_taken_master_port_is_retried_on_fresh_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    first = [taken.getsockname()[1]]
    real = cluster_module.free_port
    # The first port handed out (the master's) is one another process holds.
    monkeypatch.setattr(cluster_module, "free_port", lambda: first.pop() if first else real())
    attempts: list[tuple[Path, bool]] = []
    once = LocalCluster._start_once

    def recorded(self: LocalCluster, timeout: float) -> bool:
        ok = once(self, timeout)
        attempts.append((self.work_dir, ok))
        return ok

    monkeypatch.setattr(LocalCluster, "_start_once", recorded)
    try:
        with LocalCluster(workers=1, cores=1, memory="512m") as running:
            assert running.alive_workers() == 1
            assert running.url != f"spark://127.0.0.1:{taken.getsockname()[1]}"
        # a failed attempt keeps its logs; a stopped cluster leaves nothing behind
        assert [ok for _, ok in attempts] == [False, True]
        assert (attempts[0][0] / "master.log").is_file()
        assert not attempts[1][0].exists()
    finally:
        taken.close()
        for work, _ in attempts:
            shutil.rmtree(work, ignore_errors=True)
