"""Handlers registry and the worker loop that runs jobs.

A handler is ``fn(session, payload) -> dict | None``. It runs inside a
transaction the worker owns: the handler's writes and the job's ``done``
commit together; on an exception they roll back and the failure is recorded
in a separate transaction, so it is never lost.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from gongshu.db import transaction
from gongshu.jobs.models import Job
from gongshu.jobs.service import (
    BACKOFF_BASE,
    DuplicateHandler,
    JobLost,
    UnknownJobKind,
    claim,
    complete,
    fail,
    heartbeat,
    requeue_stale,
)

log = logging.getLogger(__name__)

Handler = Callable[[Session, dict[str, Any]], dict[str, Any] | None]

# session.info: the settings of the instance the worker serves. Payloads hold no
# paths (a restored copy of the instance runs at another path); a handler finds
# its files under the running instance's directories (``instance_datasets_dir``).
SETTINGS = "gongshu.jobs.settings"


class NoInstance(RuntimeError):
    """A handler needs the instance's directories and the worker was given none."""


def attach(session: Session, settings: Any) -> None:  # noqa: ANN401 - gongshu.config.Settings
    """Run handlers in ``session`` for the instance of ``settings`` (the worker does this)."""
    session.info[SETTINGS] = settings


def instance_datasets_dir(session: Session, payload: dict[str, Any]) -> Path:
    """The datasets directory of the instance the job runs for.

    Payloads queued by earlier releases carry an absolute ``datasets_dir`` (or the
    file's ``path``): used only when no instance is attached."""
    settings = session.info.get(SETTINGS)
    if settings is not None:
        return Path(settings.datasets_dir)
    if payload.get("datasets_dir"):
        return Path(payload["datasets_dir"])
    if payload.get("path"):
        return Path(payload["path"]).parents[1]
    raise NoInstance("任务需要实例的数据目录，工作进程未提供实例配置 (no instance settings)")


_HANDLERS: dict[str, Handler] = {}


def register(kind: str, fn: Handler) -> Handler:
    """Register ``fn`` as the handler for ``kind``; registering it again is harmless."""
    current = _HANDLERS.get(kind)
    if current is not None and current is not fn:
        raise DuplicateHandler(f"任务类型 {kind} 已有处理函数 (handler)：{current.__qualname__}")
    _HANDLERS[kind] = fn
    return fn


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Decorator form of ``register``: ``@handler("scan")``."""

    def decorate(fn: Handler) -> Handler:
        return register(kind, fn)

    return decorate


def unregister(kind: str) -> None:
    _HANDLERS.pop(kind, None)


def registered() -> dict[str, Handler]:
    return dict(_HANDLERS)


def load_handler_modules(modules: Iterable[str]) -> None:
    """Import the modules that register handlers (the registry names them:
    ``Capability.jobs``)."""
    for name in modules:
        importlib.import_module(name)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """Claims and runs jobs one at a time.

    ``kinds=None`` claims only kinds that have a handler (in ``handlers`` or,
    by default, the registry), so a worker never burns attempts on work it
    cannot do. ``heartbeat_interval=None`` means 10 s on PostgreSQL and no
    heartbeat on SQLite, where a write from another thread would break the
    handler's own deferred transaction (one writer; see README).
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        worker_id: str | None = None,
        kinds: Iterable[str] | None = None,
        poll_interval: float = 1.0,
        handlers: Mapping[str, Handler] | None = None,
        heartbeat_interval: float | None = None,
        stale_after: float = 300.0,
        backoff_base: float = BACKOFF_BASE,
        settings: Any = None,  # noqa: ANN401 - gongshu.config.Settings of the instance
    ) -> None:
        self.session_factory = session_factory
        self.settings = settings
        self.worker_id = worker_id or default_worker_id()
        self.kinds = None if kinds is None else sorted(set(kinds))
        self.poll_interval = poll_interval
        self.handlers = handlers
        if heartbeat_interval is None and _dialect(session_factory) == "postgresql":
            heartbeat_interval = 10.0
        self.heartbeat_interval = heartbeat_interval
        self.stale_after = stale_after
        self.backoff_base = backoff_base

    def _handlers(self) -> Mapping[str, Handler]:
        return _HANDLERS if self.handlers is None else self.handlers

    def run_once(self) -> bool:
        """Claim one runnable job and run it; False if there was none."""
        handlers = dict(self._handlers())
        kinds = self.kinds if self.kinds is not None else sorted(handlers)
        job = claim(self.session_factory, self.worker_id, kinds)
        if job is None:
            return False
        log.info("任务开始 (job started)：%r by %s", job, self.worker_id)
        with _Heartbeat(self, job.id):
            self._execute(job, handlers.get(job.kind))
        return True

    def _execute(self, job: Job, fn: Handler | None) -> None:
        if fn is None:
            unknown = UnknownJobKind(f"没有处理任务类型 {job.kind} 的函数 (unknown job kind)")
            self._record_failure(job, unknown, retry=False)
            return
        session = self.session_factory()
        if self.settings is not None:
            attach(session, self.settings)
        try:
            result = fn(session, dict(job.payload or {}))
            complete(session, job.id, self.worker_id, result)
            session.commit()
            log.info("任务完成 (job done)：%s", job.id)
        except JobLost as exc:
            session.rollback()
            log.warning("%s", exc.message)
        except Exception as exc:  # recorded on the job, never swallowed
            session.rollback()
            log.exception("任务失败 (job failed)：%r", job)
            self._record_failure(job, exc)
        finally:
            session.close()

    def _record_failure(self, job: Job, exc: BaseException, *, retry: bool = True) -> None:
        try:
            with transaction(self.session_factory) as session:
                fail(
                    session,
                    job.id,
                    self.worker_id,
                    exc,
                    retry=retry,
                    backoff_base=self.backoff_base,
                )
        except JobLost as lost:
            log.warning("%s", lost.message)

    def sweep(self) -> list[int]:
        """Requeue jobs whose worker went silent; returns their ids."""
        with transaction(self.session_factory) as session:
            stale = requeue_stale(session, timedelta(seconds=self.stale_after))
            ids = [job.id for job in stale]
        if ids:
            log.warning("已重新排队失联任务 (requeued stale jobs)：%s", ids)
        return ids

    def run(self, stop_event: threading.Event) -> None:
        """Run jobs until ``stop_event`` is set; sleep ``poll_interval`` when idle.

        A database outage is logged and retried, never fatal. The job in hand
        is finished before the loop stops.
        """
        next_sweep = 0.0
        while not stop_event.is_set():
            ran = False
            try:
                if time.monotonic() >= next_sweep:
                    self.sweep()
                    next_sweep = time.monotonic() + max(self.stale_after / 4, self.poll_interval)
                ran = self.run_once()
            except Exception:
                log.exception("工作进程出错，稍后重试 (worker error)")
            if not ran:
                stop_event.wait(self.poll_interval)

    def start_thread(self) -> tuple[threading.Thread, threading.Event]:
        """Run the loop in a daemon thread (the embedded server's worker)."""
        stop_event = threading.Event()
        thread = threading.Thread(
            target=self.run,
            args=(stop_event,),
            name=f"gongshu-worker-{self.worker_id}",
            daemon=True,
        )
        thread.start()
        return thread, stop_event


class _Heartbeat:
    """Beats for one running job from a side thread, each beat its own transaction."""

    def __init__(self, worker: Worker, job_id: int) -> None:
        self.worker = worker
        self.job_id = job_id
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def __enter__(self) -> _Heartbeat:
        if self.worker.heartbeat_interval:
            self.thread = threading.Thread(
                target=self._beat, daemon=True, name=f"gongshu-heartbeat-{self.job_id}"
            )
            self.thread.start()
        return self

    def _beat(self) -> None:
        interval = float(self.worker.heartbeat_interval or 0)
        while not self.stop.wait(interval):
            try:
                with transaction(self.worker.session_factory) as session:
                    if not heartbeat(session, self.job_id, self.worker.worker_id):
                        return  # finished or taken over; nothing left to keep alive
            except Exception:
                log.warning("心跳写入失败 (heartbeat failed)：任务 %s", self.job_id, exc_info=True)

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join()


def _dialect(session_factory: sessionmaker[Session]) -> str:
    bind = session_factory.kw.get("bind")
    return bind.dialect.name if bind is not None else ""
