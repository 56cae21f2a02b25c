"""Handlers registry and the worker loop that runs jobs.

A handler is ``fn(session, payload) -> dict | None``. It runs inside a
transaction the worker owns: the handler's writes and the job's ``done``
commit together; on an exception they roll back and the failure is recorded
in a separate transaction, so it is never lost.

A periodic task is ``fn(session)``, registered with ``every(name, seconds)``:
each worker loop runs it when the loop starts and then every ``seconds``, in a
transaction of its own (the statutory clocks' refresh, ``gongshu.workdays.jobs``).
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

from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from gongshu.db import begin_write, read_first_factory, transaction
from gongshu.jobs.leases import Lease, lease_dir
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
Periodic = Callable[[Session], object]

#: Seconds between a running job's heartbeats, on every database.
HEARTBEAT_INTERVAL = 5.0
#: Seconds of silence after which a running job is put back. With the sweep every
#: ``STALE_AFTER / 4`` and a 1 s poll, a dead worker's job runs again within
#: 20 + 5 + 1 = 26 s; a live worker beats four times in that span.
STALE_AFTER = 20.0

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
    raise NoInstance("任务需要实例的数据目录，工作进程未提供实例配置")


_HANDLERS: dict[str, Handler] = {}
_LABELS: dict[str, str] = {}  # kind -> what the job does, in Chinese (the jobs page)
_PERIODIC: dict[str, tuple[float, Periodic]] = {}


def register(kind: str, fn: Handler) -> Handler:
    """Register ``fn`` as the handler for ``kind``; registering it again is harmless."""
    current = _HANDLERS.get(kind)
    if current is not None and current is not fn:
        raise DuplicateHandler(f"任务类型 {kind} 已有处理函数：{current.__qualname__}")
    _HANDLERS[kind] = fn
    return fn


def handler(
    kind: str, *, read_first: bool = False, label: str | None = None
) -> Callable[[Handler], Handler]:
    """Decorator form of ``register``: ``@handler("scan")``.

    ``label``: what the job does, in Chinese, as the administrator's jobs page and the
    pages that follow a job name it (``label_of``).

    ``read_first``: the handler does its long work reading (a scan of a whole version)
    and calls ``db.begin_write`` before it writes; its session is read-first
    (``db.read_first_factory``), so on SQLite it holds the one write lock only for its
    writes and the job's completion, not for the whole scan."""

    def decorate(fn: Handler) -> Handler:
        if read_first:
            fn.gongshu_read_first = True  # type: ignore[attr-defined]
        if label:
            _LABELS[kind] = label
        return register(kind, fn)

    return decorate


def label_of(kind: str) -> str:
    """The Chinese name of a job kind (a kind registered without one: 后台处理)."""
    return _LABELS.get(kind, "后台处理")


def every(name: str, seconds: float) -> Callable[[Periodic], Periodic]:
    """Register ``fn(session)`` to run when a worker loop starts and every ``seconds``."""
    if not seconds > 0:
        raise ValueError(f"periodic task {name}: seconds must be > 0")

    def decorate(fn: Periodic) -> Periodic:
        _PERIODIC[name] = (float(seconds), fn)
        return fn

    return decorate


def periodic_tasks() -> dict[str, tuple[float, Periodic]]:
    return dict(_PERIODIC)


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
    cannot do. ``heartbeat_interval=None`` means ``HEARTBEAT_INTERVAL``; on SQLite
    the beat never waits for the write lock (the handler may hold it: the beat is
    skipped and the job's lease shows the worker alive, jobs/leases.py). A
    session factory bound to a Connection (tests) gets no heartbeat on SQLite.
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
        stale_after: float = STALE_AFTER,
        backoff_base: float = BACKOFF_BASE,
        periodic: Mapping[str, tuple[float, Periodic]] | None = None,
        settings: Any = None,  # noqa: ANN401 - gongshu.config.Settings of the instance
    ) -> None:
        self.session_factory = session_factory
        self.settings = settings
        self.worker_id = worker_id or default_worker_id()
        self.kinds = None if kinds is None else sorted(set(kinds))
        self.poll_interval = poll_interval
        self.handlers = handlers
        bind = session_factory.kw.get("bind")
        self._leases = lease_dir(bind)
        if heartbeat_interval is None and (
            _dialect(session_factory) != "sqlite" or isinstance(bind, Engine)
        ):
            heartbeat_interval = HEARTBEAT_INTERVAL
        self.heartbeat_interval = heartbeat_interval
        self._beat_factory: sessionmaker[Session] | None = None
        self.stale_after = stale_after
        self.backoff_base = backoff_base
        self.periodic = periodic
        self._next_run: dict[str, float] = {}

    def _handlers(self) -> Mapping[str, Handler]:
        return _HANDLERS if self.handlers is None else self.handlers

    def run_once(self) -> bool:
        """Claim one runnable job and run it; False if there was none."""
        handlers = dict(self._handlers())
        kinds = self.kinds if self.kinds is not None else sorted(handlers)
        job = claim(self.session_factory, self.worker_id, kinds)
        if job is None:
            return False
        log.info("任务开始：%r by %s", job, self.worker_id)
        with Lease(self._leases, job.id), _Heartbeat(self, job.id):
            self._execute(job, handlers.get(job.kind))
        return True

    def _execute(self, job: Job, fn: Handler | None) -> None:
        if fn is None:
            unknown = UnknownJobKind(f"没有处理任务类型 {job.kind} 的函数")
            self._record_failure(job, unknown, retry=False)
            return
        reads_first = getattr(fn, "gongshu_read_first", False)
        session = (read_first_factory if reads_first else _same)(self.session_factory)()
        if self.settings is not None:
            attach(session, self.settings)
        try:
            result = fn(session, dict(job.payload or {}))
            begin_write(session)  # a read-first handler that wrote nothing: now, for the job
            complete(session, job.id, self.worker_id, result)
            session.commit()
            log.info("任务完成：%s", job.id)
        except JobLost as exc:
            session.rollback()
            log.warning("%s", exc.message)
        except Exception as exc:  # recorded on the job, never swallowed
            session.rollback()
            log.exception("任务失败：%r", job)
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

    def run_periodic(self, now: float | None = None) -> list[str]:
        """Run each periodic task that is due (all of them the first time), each in its
        own transaction; a failure is logged and retried at the next interval. Returns
        the names that ran successfully."""
        now = time.monotonic() if now is None else now
        tasks = _PERIODIC if self.periodic is None else self.periodic
        ran = []
        for name, (seconds, fn) in sorted(tasks.items()):
            if now < self._next_run.get(name, 0.0):
                continue
            self._next_run[name] = now + seconds
            try:
                with transaction(self.session_factory) as session:
                    if self.settings is not None:
                        attach(session, self.settings)  # tasks that need the instance's keys
                    fn(session)
                ran.append(name)
            except Exception:
                log.exception("周期任务失败：%s", name)
        return ran

    def beat_factory(self) -> sessionmaker[Session]:
        """Sessions for heartbeats. On a SQLite file, a connection of their own that
        gives up at once when the write lock is taken (busy timeout 0) instead of
        queueing behind the handler that holds it."""
        if self._beat_factory is None:
            bind = self.session_factory.kw.get("bind")
            if self._leases is not None and isinstance(bind, Engine):
                engine = create_engine(bind.url, poolclass=NullPool, connect_args={"timeout": 0})
                self._beat_factory = sessionmaker(bind=engine)
            else:
                self._beat_factory = self.session_factory
        return self._beat_factory

    def sweep(self) -> list[int]:
        """Requeue jobs whose worker went silent; returns their ids."""
        with transaction(self.session_factory) as session:
            stale = requeue_stale(session, timedelta(seconds=self.stale_after))
            ids = [job.id for job in stale]
        if ids:
            log.warning("已重新排队失联任务：%s", ids)
        return ids

    def run(self, stop_event: threading.Event) -> None:
        """Run jobs until ``stop_event`` is set; sleep ``poll_interval`` when idle.
        Periodic tasks run at the start and then when due (``run_periodic``).

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
                self.run_periodic()
                ran = self.run_once()
            except Exception:
                log.exception("工作进程出错，稍后重试")
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
        factory = self.worker.beat_factory()
        while not self.stop.wait(interval):
            try:
                with transaction(factory) as session:
                    if not heartbeat(session, self.job_id, self.worker.worker_id):
                        return  # finished or taken over; nothing left to keep alive
            except OperationalError as exc:
                if "locked" not in str(exc):  # SQLite: the write lock is busy; next time
                    log.warning("心跳写入失败：任务 %s：%s", self.job_id, exc)
            except Exception:
                log.warning("心跳写入失败：任务 %s", self.job_id, exc_info=True)

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join()


def _same(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    return factory


def _dialect(session_factory: sessionmaker[Session]) -> str:
    bind = session_factory.kw.get("bind")
    return bind.dialect.name if bind is not None else ""
