"""Liveness of the worker running a job, on SQLite.

On SQLite a handler's transaction holds the database's one write lock (db.py
begins every writing transaction IMMEDIATE) for as long as it runs, so a
heartbeat in the ``jobs`` table cannot be written then, and a live worker's job
could look silent. SQLite's workers all run on the machine that holds the file,
so the kernel can tell instead: while it runs a job, the worker holds an
exclusive ``flock`` on a lease file beside the database (``<db>-jobs/<id>.lease``).
The kernel drops it the moment the process dies, ``kill -9`` included, and
``requeue_stale`` leaves alone any job whose lease is still held.

PostgreSQL workers may run on other machines: there the heartbeat column decides.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

from sqlalchemy import Connection, Engine

log = logging.getLogger(__name__)


def lease_dir(bind: Engine | Connection | None) -> Path | None:
    """Where the leases of a SQLite file database live; None on other databases."""
    if bind is None:
        return None
    engine = bind.engine if isinstance(bind, Connection) else bind
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(f"{database}-jobs")


def _path(directory: Path, job_id: int) -> Path:
    return directory / f"{job_id}.lease"


class Lease:
    """The running worker's hold on one job: ``with Lease(directory, job_id): ...``."""

    def __init__(self, directory: Path | None, job_id: int) -> None:
        self.directory = directory
        self.job_id = job_id
        self._fd: int | None = None

    def __enter__(self) -> Lease:
        if self.directory is None:
            return self
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(_path(self.directory, self.job_id), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            # Someone alive holds it: the job was taken from a live worker, which the
            # sweep never does. Run anyway; ``complete`` refuses the loser's result.
            os.close(fd)
            log.warning("任务 %s 的租约已被占用", self.job_id)
            return self
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            # Unlink while still holding it: whoever opens the path later gets a new file.
            _path(self.directory, self.job_id).unlink(missing_ok=True)  # type: ignore[arg-type]
            os.close(self._fd)
            self._fd = None


def held(directory: Path | None, job_id: int) -> bool:
    """Does a live process hold the lease of ``job_id``?"""
    if directory is None:
        return False
    try:
        fd = os.open(_path(directory, job_id), os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops a lock we may have taken
    return False


def clear(directory: Path | None, job_id: int) -> None:
    """Remove a dead worker's lease file (the sweep, once it put the job back)."""
    if directory is not None:
        _path(directory, job_id).unlink(missing_ok=True)
