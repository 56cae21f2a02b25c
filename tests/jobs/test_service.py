"""Enqueue, claim, complete, fail with backoff, dedupe and stale requeue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from gongshu.errors import InvalidInput
from gongshu.jobs import (
    DONE,
    FAILED,
    QUEUED,
    RUNNING,
    JobLost,
    claim,
    complete,
    counts,
    enqueue,
    fail,
    get_job,
    list_jobs,
    requeue_stale,
)
from gongshu.timeutil import utcnow


def fresh(session: Session, job_id: int):  # noqa: ANN201
    """Read the job as another transaction left it."""
    session.expire_all()
    return get_job(session, job_id)


def test_enqueued_job_is_claimed_once_and_completed(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    job = enqueue(session, "scan", {"dataset_version": 12, "名称": "人口"})
    assert job.id is not None and job.status == QUEUED and job.attempts == 0

    claimed = claim(session_factory, "w1")
    assert claimed is not None and claimed.id == job.id
    assert claimed.status == RUNNING and claimed.locked_by == "w1" and claimed.attempts == 1
    assert claimed.payload == {"dataset_version": 12, "名称": "人口"}
    assert claim(session_factory, "w2") is None, "a running job is not handed out twice"

    complete(session, job.id, "w1", {"columns": 3})
    stored = fresh(session, job.id)
    assert stored.status == DONE and stored.result == {"columns": 3}
    assert stored.finished_at is not None and stored.finished_at.tzinfo is not None
    assert counts(session) == {"queued": 0, "running": 0, "done": 1, "failed": 0}


def test_claim_takes_oldest_first_and_honours_kinds_and_run_after(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    later = enqueue(session, "scan", {"n": 0}, run_after=utcnow() + timedelta(hours=1))
    mail = enqueue(session, "mail", {"n": 1})
    scan = enqueue(session, "scan", {"n": 2})
    assert claim(session_factory, "w", kinds=["export"]) is None
    assert claim(session_factory, "w", kinds=[]) is None
    assert claim(session_factory, "w", kinds=["scan"]).id == scan.id
    assert claim(session_factory, "w").id == mail.id
    assert claim(session_factory, "w") is None, "the delayed job is not due yet"
    due = claim(session_factory, "w", now=utcnow() + timedelta(hours=2))
    assert due is not None and due.id == later.id


def test_failure_retries_with_exponential_backoff_then_fails(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    job = enqueue(session, "scan", {}, max_attempts=3)
    now = utcnow()
    for attempt, wait in ((1, 20), (2, 40)):
        assert claim(session_factory, "w", now=now).attempts == attempt
        failed = fail(session, job.id, "w", ValueError("列 3 编码错误"), backoff_base=10, now=now)
        assert failed.status == QUEUED and failed.locked_by is None
        assert failed.run_after == now + timedelta(seconds=wait)  # 2**attempts * base
        assert failed.error == "ValueError: 列 3 编码错误"
        assert claim(session_factory, "w", now=now + timedelta(seconds=wait - 1)) is None
        now += timedelta(seconds=wait)
    assert claim(session_factory, "w", now=now).attempts == 3
    final = fail(session, job.id, "w", InvalidInput("文件不是 UTF-8"), now=now)
    assert final.status == FAILED and final.finished_at == now
    assert final.error == "InvalidInput: 文件不是 UTF-8"
    assert claim(session_factory, "w", now=now + timedelta(days=1)) is None


def test_a_permanent_failure_does_not_retry(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    job = enqueue(session, "scan", {})
    claim(session_factory, "w")
    assert fail(session, job.id, "w", "没有处理函数", retry=False).status == FAILED
    assert fresh(session, job.id).error == "没有处理函数"


def test_dedupe_key_returns_the_active_job_until_it_finishes(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    key = "scan:dataset_version:12"
    first = enqueue(session, "scan", {"v": 12}, dedupe_key=key)
    assert enqueue(session, "scan", {"v": 12}, dedupe_key=key).id == first.id
    claim(session_factory, "w")
    assert enqueue(session, "scan", {"v": 12}, dedupe_key=key).id == first.id, "still running"
    assert len(list_jobs(session, kind="scan")) == 1

    complete(session, first.id, "w", None)
    again = enqueue(session, "scan", {"v": 12}, dedupe_key=key)
    assert again.id != first.id and again.status == QUEUED
    assert fresh(session, first.id).dedupe_key is None
    assert enqueue(session, "scan", {"v": 13}, dedupe_key="scan:dataset_version:13").id not in (
        first.id,
        again.id,
    )


def test_failed_retry_keeps_its_dedupe_key(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    job = enqueue(session, "scan", {}, dedupe_key="k", max_attempts=2)
    claim(session_factory, "w")
    fail(session, job.id, "w", RuntimeError("boom"), backoff_base=0)
    assert enqueue(session, "scan", {}, dedupe_key="k").id == job.id
    claim(session_factory, "w")
    fail(session, job.id, "w", RuntimeError("boom"))
    assert fresh(session, job.id).status == FAILED
    assert enqueue(session, "scan", {}, dedupe_key="k").id != job.id


def test_stale_job_of_a_dead_worker_is_requeued_and_its_worker_cannot_finish_it(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    job = enqueue(session, "scan", {"v": 1})
    claimed_at = utcnow()
    claim(session_factory, "dead", now=claimed_at)
    assert requeue_stale(session, timedelta(minutes=5), now=claimed_at + timedelta(minutes=1)) == []

    requeued = requeue_stale(session, timedelta(minutes=5), now=claimed_at + timedelta(minutes=6))
    assert [j.id for j in requeued] == [job.id]
    stored = fresh(session, job.id)
    assert stored.status == QUEUED and stored.locked_by is None
    assert "WorkerLost" in stored.error and "dead" in stored.error

    with pytest.raises(JobLost):
        complete(session, job.id, "dead", {"late": True})
    with pytest.raises(JobLost):
        fail(session, job.id, "dead", RuntimeError("late"))
    again = claim(session_factory, "alive", now=claimed_at + timedelta(minutes=7))
    assert again.id == job.id and again.attempts == 2


def test_a_job_that_keeps_killing_its_worker_ends_failed(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    job = enqueue(session, "scan", {}, max_attempts=1)
    t0 = utcnow()
    claim(session_factory, "dead", now=t0)
    requeue_stale(session, timedelta(seconds=30), now=t0 + timedelta(minutes=1))
    stored = fresh(session, job.id)
    assert stored.status == FAILED and "WorkerLost" in stored.error


@pytest.mark.parametrize(
    ("kind", "payload", "match"),
    [
        ("  ", {}, "任务类型不能为空"),
        ("scan", {"x": float("nan")}, "任务参数"),
        ("scan", {"x": object()}, "任务参数"),
        ("scan", [1, 2], "任务参数"),
    ],
)
def test_bad_jobs_are_refused(session: Session, kind: str, payload, match: str) -> None:  # noqa: ANN001
    with pytest.raises(InvalidInput, match=match):
        enqueue(session, kind, payload)


def test_a_result_that_is_not_json_is_refused(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    job = enqueue(session, "scan", {})
    claim(session_factory, "w")
    with pytest.raises(InvalidInput, match="任务结果"):
        complete(session, job.id, "w", {"when": object()})
    assert fresh(session, job.id).status == RUNNING
