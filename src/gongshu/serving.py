"""Several server processes on one port, each with a listening socket of its own.

uvicorn's own ``workers`` share one listening socket, and whichever process wakes
first accepts a whole burst of connections: 200 keep-alive clients connecting at once
all landed on one of two processes (counted with ``ss``), so the second served
nothing. Here every process binds the port with ``SO_REUSEPORT`` and the kernel
spreads new connections across the sockets by address hash, the way nginx's
``reuseport`` and gunicorn's ``--reuse-port`` do. Where the option does not exist
(not Linux or BSD) the caller falls back to uvicorn's workers.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import time
from collections.abc import Callable
from types import FrameType

PROCESS_SETTINGS = "GONGSHU_WORKER_SETTINGS_JSON"  # the settings of every server process


def available() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` that other processes may bind too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _process_main(settings_json: str, options: dict) -> None:
    """One server process: its own socket, the app built by ``runtime.worker_app``."""
    import uvicorn

    os.environ[PROCESS_SETTINGS] = settings_json
    sock = listening_socket(options["host"], options["port"])
    config = uvicorn.Config("gongshu.app.server:worker_app", factory=True, **options)
    uvicorn.Server(config).run(sockets=[sock])


def run(settings_json: str, processes: int, options: dict) -> None:
    """Start ``processes`` server processes and wait; stopping this process (SIGINT,
    SIGTERM) stops them all, and one that dies stops the rest (a supervisor restarts
    the whole service, as with any other crash)."""
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=_process_main, args=(settings_json, options), daemon=True)
        for _ in range(processes)
    ]

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous: dict[int, Callable | int | None] = {
        s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        for child in children:
            child.start()
        while all(child.is_alive() for child in children):
            time.sleep(0.5)
    finally:
        for child in children:
            if child.is_alive():
                child.terminate()  # uvicorn shuts down gracefully on SIGTERM
        for child in children:
            child.join(10)
            if child.is_alive():
                child.kill()
        for s, handler in previous.items():
            signal.signal(s, handler)
