"""Enqueue, claim, complete and fail durable jobs.

``enqueue``, ``complete``, ``fail``, ``heartbeat`` and ``requeue_stale`` take
the caller's Session and flush; the caller commits. ``claim`` is the exception:
it runs its own short transaction, because a claim must be visible to every
other worker the moment it is made.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from gongshu.errors import Conflict, GongshuError, InvalidInput, NotFound
from gongshu.jobs.leases import clear, held, lease_dir
from gongshu.jobs.models import (
    DEFAULT_MAX_ATTEMPTS,
    DONE,
    FAILED,
    QUEUED,
    RUNNING,
    STATUSES,
    Job,
)
from gongshu.timeutil import utcnow

#: Seconds; a job that failed its n-th attempt waits ``2**n * BACKOFF_BASE``.
BACKOFF_BASE = 5.0
MAX_ERROR_CHARS = 4000

# --- errors ------------------------------------------------------------------------


class JobNotFound(NotFound):
    """No job with that id."""


class JobLost(Conflict):
    """The worker no longer holds the job (it was requeued as stale or finished)."""


class UnknownJobKind(InvalidInput):
    """No handler is registered for the job's kind."""


class DuplicateHandler(Conflict):
    """Two different handlers were registered for one kind."""


# --- enqueue -----------------------------------------------------------------------


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    dedupe_key: str | None = None,
    run_after: datetime | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> Job:
    """Add a queued job and flush. The caller commits, so the job appears
    together with the change that asked for it (or not at all).

    With ``dedupe_key``, if a job holding that key is still queued or running,
    that job is returned instead and nothing is added.
    """
    kind = (kind or "").strip()
    if not kind:
        raise InvalidInput("任务类型不能为空")
    if max_attempts < 1:
        raise InvalidInput(f"最大尝试次数必须至少为 1：{max_attempts}")
    payload = {} if payload is None else payload
    if not isinstance(payload, dict):
        raise InvalidInput(f"任务参数必须是 JSON 对象：{type(payload).__name__}")
    _require_json(payload, "任务参数")
    if dedupe_key is not None:
        dedupe_key = dedupe_key.strip() or None
    job = Job(
        kind=kind,
        payload=payload,
        status=QUEUED,
        attempts=0,
        max_attempts=max_attempts,
        run_after=run_after or utcnow(),
        created_at=utcnow(),
        dedupe_key=dedupe_key,
    )
    if dedupe_key is None:
        session.add(job)
        session.flush()
        return job
    existing = _holding(session, dedupe_key)
    if existing is not None:
        return existing
    try:
        # A concurrent enqueue of the same key loses on the unique constraint;
        # the savepoint keeps the caller's transaction usable.
        with session.begin_nested():
            session.add(job)
    except IntegrityError:
        existing = _holding(session, dedupe_key)
        if existing is None:
            raise
        return existing
    return job


def _holding(session: Session, dedupe_key: str) -> Job | None:
    # Only queued/running jobs hold a key: finishing releases it.
    query = select(Job).where(Job.dedupe_key == dedupe_key)
    return session.scalar(query.execution_options(populate_existing=True))


def _require_json(value: Any, what: str) -> None:
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{what}无法保存为 JSON：{exc}") from exc


# --- claim -------------------------------------------------------------------------


def claim(
    bind: Engine | Connection | sessionmaker[Session],
    worker_id: str,
    kinds: Iterable[str] | None = None,
    *,
    now: datetime | None = None,
) -> Job | None:
    """Take the oldest runnable queued job for ``worker_id``, in a transaction
    of its own, and return it (detached, already ``running``) or None.

    PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED LIMIT 1`` so concurrent
    workers pass over each other's rows. SQLite (one writer): one atomic
    ``UPDATE ... WHERE id = (SELECT ...) AND status = 'queued' RETURNING id``.
    Each claim counts as an attempt.
    """
    kinds = None if kinds is None else sorted(set(kinds))
    if kinds == []:
        return None
    now = now or utcnow()
    runnable = [Job.status == QUEUED, Job.run_after <= now]
    if kinds is not None:
        runnable.append(Job.kind.in_(kinds))
    claimed = {
        "status": RUNNING,
        "locked_by": worker_id,
        "locked_at": now,
        "heartbeat_at": now,
        "attempts": Job.attempts + 1,
    }
    session = bind() if isinstance(bind, sessionmaker) else Session(bind)
    with session:
        with session.begin():
            if session.get_bind().dialect.name == "postgresql":
                job_id = session.scalar(
                    select(Job.id)
                    .where(*runnable)
                    .order_by(Job.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
                if job_id is None:
                    return None
                session.execute(
                    update(Job).where(Job.id == job_id).values(**claimed),
                    execution_options={"synchronize_session": False},
                )
            else:
                first = select(Job.id).where(*runnable).order_by(Job.id).limit(1)
                job_id = session.scalar(
                    update(Job)
                    .where(Job.id == first.scalar_subquery(), Job.status == QUEUED)
                    .values(**claimed)
                    .returning(Job.id),
                    execution_options={"synchronize_session": False},
                )
                if job_id is None:
                    return None
            job = session.get_one(Job, job_id, populate_existing=True)
            session.expunge(job)
    return job


# --- finish ------------------------------------------------------------------------


def heartbeat(
    session: Session, job_id: int, worker_id: str, *, now: datetime | None = None
) -> bool:
    """Record that ``worker_id`` is still working on the job; False if it lost it."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == RUNNING, Job.locked_by == worker_id)
        .values(heartbeat_at=now or utcnow()),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount == 1


def complete(
    session: Session,
    job_id: int,
    worker_id: str,
    result: dict[str, Any] | None = None,
    *,
    now: datetime | None = None,
) -> None:
    """Mark the job done with ``result`` and flush. Raises JobLost if
    ``worker_id`` no longer holds it, so the caller can roll its work back.

    The worker calls this inside the handler's own transaction: the handler's
    writes and ``done`` commit together or not at all.
    """
    if result is not None and not isinstance(result, dict):
        raise InvalidInput(f"任务结果必须是 JSON 对象：{type(result).__name__}")
    _require_json(result, "任务结果")
    session.flush()
    done = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == RUNNING, Job.locked_by == worker_id)
        .values(status=DONE, result=result, finished_at=now or utcnow(), dedupe_key=None),
        execution_options={"synchronize_session": False},
    )
    if done.rowcount != 1:
        raise JobLost(f"任务 {job_id} 已不由 {worker_id} 持有，本次结果不予提交")
    _refresh_if_loaded(session, job_id)


def fail(
    session: Session,
    job_id: int,
    worker_id: str,
    error: BaseException | str,
    *,
    retry: bool = True,
    backoff_base: float = BACKOFF_BASE,
    now: datetime | None = None,
) -> Job:
    """Record a failed attempt and flush.

    While attempts remain (and ``retry``), the job goes back to ``queued``
    with ``run_after = now + 2**attempts * backoff_base`` seconds; otherwise it
    ends ``failed``. Either way ``error`` keeps the reason. Raises JobLost if
    ``worker_id`` no longer holds the job.
    """
    now = now or utcnow()
    job = session.scalar(
        select(Job)
        .where(Job.id == job_id, Job.status == RUNNING, Job.locked_by == worker_id)
        .with_for_update()
        .execution_options(populate_existing=True)  # claim ran in another session
    )
    if job is None:
        raise JobLost(f"任务 {job_id} 已不由 {worker_id} 持有，失败未记录")
    job.error = describe_error(error)
    if retry and job.attempts < job.max_attempts:
        job.status = QUEUED
        job.run_after = now + timedelta(seconds=backoff_base * 2**job.attempts)
        job.locked_by = job.locked_at = job.heartbeat_at = None
    else:
        _finish_failed(job, now)
    session.flush()
    return job


def requeue_stale(
    session: Session, older_than: timedelta, *, now: datetime | None = None
) -> list[Job]:
    """Put back running jobs whose worker stopped beating for ``older_than``
    (the process died or the machine restarted) and flush.

    On SQLite a job whose lease a live process still holds (jobs/leases.py) is
    never put back, however old its last heartbeat: its worker is alive and may
    simply be unable to write while its own handler holds the write lock.

    The lost claim counts as an attempt: a job that kills its worker every
    time ends ``failed`` after ``max_attempts`` instead of looping forever.
    """
    now = now or utcnow()
    last_sign = func.coalesce(Job.heartbeat_at, Job.locked_at)
    query = (
        select(Job)
        .where(Job.status == RUNNING, last_sign < now - older_than)
        .execution_options(populate_existing=True)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    leases = lease_dir(session.get_bind())
    stale = [job for job in session.scalars(query.order_by(Job.id)) if not held(leases, job.id)]
    for job in stale:
        seen = job.heartbeat_at or job.locked_at
        job.error = (
            f"WorkerLost: 工作进程 {job.locked_by} 失联，"
            f"最后心跳 {seen.isoformat() if seen else '无'}"
        )
        clear(leases, job.id)
        if job.attempts < job.max_attempts:
            job.status = QUEUED
            job.run_after = now
            job.locked_by = job.locked_at = job.heartbeat_at = None
        else:
            _finish_failed(job, now)
    session.flush()
    return stale


def _finish_failed(job: Job, now: datetime) -> None:
    job.status = FAILED
    job.finished_at = now
    job.dedupe_key = None


def _refresh_if_loaded(session: Session, job_id: int) -> None:
    loaded = session.identity_map.get((Job, (job_id,), None))
    if loaded is not None:
        session.refresh(loaded)


def describe_error(error: BaseException | str) -> str:
    """``ClassName: message``; domain errors keep their Chinese message."""
    if isinstance(error, str):
        text = error
    else:
        message = error.message if isinstance(error, GongshuError) else str(error)
        text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return text[:MAX_ERROR_CHARS]


# --- reading -----------------------------------------------------------------------


def get_job(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise JobNotFound(f"任务不存在：{job_id}")
    return job


def list_jobs(
    session: Session, *, status: str | None = None, kind: str | None = None, limit: int = 100
) -> list[Job]:
    """Newest first."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"未知的任务状态：{status}")
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Job.status == status)
    if kind is not None:
        query = query.where(Job.kind == kind)
    return list(session.scalars(query))


def about_version(session: Session, version_id: int, *, kinds: tuple[str, ...]) -> list[Job]:
    """The jobs of these kinds whose payload names this dataset version, oldest first."""
    query = (
        select(Job)
        .where(Job.kind.in_(kinds), Job.payload["version_id"].as_integer() == version_id)
        .order_by(Job.id)
    )
    return list(session.scalars(query))


def counts(session: Session) -> dict[str, int]:
    """Number of jobs in each state (every state present, zero if none)."""
    rows = session.execute(select(Job.status, func.count()).group_by(Job.status))
    found = {status: int(n) for status, n in rows}
    return {status: found.get(status, 0) for status in STATUSES}
