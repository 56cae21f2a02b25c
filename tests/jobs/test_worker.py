"""The worker: handlers in their own transaction, failures recorded, no job run twice."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from gongshu.db import Base, make_engine, make_session_factory, transaction
from gongshu.jobs import (
    DONE,
    FAILED,
    QUEUED,
    DuplicateHandler,
    Job,
    JobLost,
    Worker,
    claim,
    complete,
    enqueue,
    get_job,
    handler,
    register,
    registered,
    unregister,
)


def fresh(session: Session, job_id: int) -> Job:
    session.expire_all()
    return get_job(session, job_id)


def follow_up(session: Session, payload: dict) -> dict:
    """A handler whose own writes must commit with the job (it enqueues a next step)."""
    enqueue(session, "next", {"after": payload["n"]})
    if payload.get("explode"):
        raise RuntimeError(f"第 {payload['n']} 个文件损坏")
    return {"handled": payload["n"]}


def test_handler_work_and_done_commit_together(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    job = enqueue(session, "step", {"n": 7})
    worker = Worker(session_factory, worker_id="w", handlers={"step": follow_up})
    assert worker.run_once() is True
    assert worker.run_once() is False, "the follow-up kind has no handler here"
    stored = fresh(session, job.id)
    assert stored.status == DONE and stored.result == {"handled": 7} and stored.error is None
    nxt = session.scalars(select(Job).where(Job.kind == "next")).one()
    assert nxt.payload == {"after": 7} and nxt.status == QUEUED


def test_failing_handler_is_rolled_back_and_its_failure_recorded(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    job = enqueue(session, "step", {"n": 3, "explode": True}, max_attempts=2)
    worker = Worker(session_factory, worker_id="w", handlers={"step": follow_up}, backoff_base=0)
    assert worker.run_once() is True
    stored = fresh(session, job.id)
    assert stored.status == QUEUED and stored.attempts == 1
    assert stored.error == "RuntimeError: 第 3 个文件损坏"
    assert session.scalars(select(Job).where(Job.kind == "next")).all() == []

    assert worker.run_once() is True
    stored = fresh(session, job.id)
    assert stored.status == FAILED and stored.attempts == 2 and stored.finished_at is not None
    assert "第 3 个文件损坏" in stored.error


def test_a_result_that_cannot_be_stored_is_a_failure(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    job = enqueue(session, "odd", {}, max_attempts=1)
    worker = Worker(session_factory, handlers={"odd": lambda s, p: {"x": {1, 2}}})
    worker.run_once()
    stored = fresh(session, job.id)
    assert stored.status == FAILED and "InvalidInput" in stored.error and "任务结果" in stored.error


def test_kind_without_handler_fails_at_once_when_asked_for_explicitly(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    job = enqueue(session, "mystery", {})
    Worker(session_factory, kinds=["mystery"], handlers={}).run_once()
    stored = fresh(session, job.id)
    assert stored.status == FAILED and stored.attempts == 1
    assert "UnknownJobKind" in stored.error and "mystery" in stored.error


def test_by_default_a_worker_leaves_kinds_it_cannot_run(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    job = enqueue(session, "mystery", {})
    assert Worker(session_factory, handlers={"step": follow_up}).run_once() is False
    assert fresh(session, job.id).status == QUEUED and fresh(session, job.id).attempts == 0


def test_registry_decorator_and_duplicates() -> None:
    @handler("test.registry")
    def first(session: Session, payload: dict) -> None:
        return None

    try:
        assert registered()["test.registry"] is first
        register("test.registry", first)  # the same function again is harmless
        with pytest.raises(DuplicateHandler, match="test.registry"):
            register("test.registry", lambda s, p: None)
    finally:
        unregister("test.registry")
    assert "test.registry" not in registered()


# --- real files: several threads, heartbeats, restarts -------------------------------


@pytest.fixture
def file_db(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """A SQLite file of its own: worker threads commit for real."""
    engine = make_engine(f"sqlite:///{tmp_path / 'jobs.db'}")
    Base.metadata.create_all(engine, tables=[Job.__table__])
    yield make_session_factory(engine)
    engine.dispose()


def enqueue_many(factory: sessionmaker[Session], n: int, kind: str = "count") -> None:
    with transaction(factory) as s:
        for i in range(n):
            enqueue(s, kind, {"n": i})


def run_concurrently(factory: sessionmaker[Session], threads: int) -> Counter[int]:
    """``threads`` workers drain the queue; returns how often each job ran."""
    ran: Counter[int] = Counter()
    lock = threading.Lock()
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def count(session: Session, payload: dict) -> dict:
        with lock:
            ran[payload["n"]] += 1
        return {"n": payload["n"]}

    def drain(i: int) -> None:
        worker = Worker(factory, worker_id=f"t{i}", handlers={"count": count})
        try:
            barrier.wait(5)
            while worker.run_once():
                pass
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    pool = [threading.Thread(target=drain, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(60)
    assert not errors
    return ran


def assert_all_done_once(
    factory: sessionmaker[Session], ran: Counter[int], n: int, *, shared: bool = True
) -> None:
    assert sorted(ran) == list(range(n)) and set(ran.values()) == {1}
    with factory() as s:
        jobs = s.scalars(select(Job)).all()
        assert {j.status for j in jobs} == {DONE} and {j.attempts for j in jobs} == {1}
        if shared:
            assert len({j.locked_by for j in jobs}) > 1, "both workers took part"


def test_two_sqlite_workers_run_each_job_exactly_once(file_db: sessionmaker[Session]) -> None:
    enqueue_many(file_db, 40)
    ran = run_concurrently(file_db, threads=2)
    # SQLite has one writer and its lock is not fair: one worker may run every job
    # while the other waits. What must hold is that no job runs twice or is lost.
    assert_all_done_once(file_db, ran, 40, shared=False)


def test_heartbeat_keeps_a_long_job_alive(file_db: sessionmaker[Session]) -> None:
    enqueue_many(file_db, 1, kind="slow")
    worker = Worker(
        file_db, handlers={"slow": lambda s, p: time.sleep(0.4)}, heartbeat_interval=0.05
    )
    assert worker.run_once()
    with file_db() as s:
        job = s.scalars(select(Job)).one()
        assert job.status == DONE
        assert job.heartbeat_at - job.locked_at >= timedelta(seconds=0.2)


def test_a_job_survives_its_worker_dying(file_db: sessionmaker[Session]) -> None:
    enqueue_many(file_db, 1)
    dead = claim(file_db, "dead-worker")  # claimed, then the process vanished
    ran: list[int] = []
    survivor = Worker(
        file_db,
        worker_id="new",
        stale_after=0.05,
        handlers={"count": lambda s, p: ran.append(p["n"]) or None},
    )
    assert survivor.run_once() is False, "still looks alive: not stolen"
    time.sleep(0.1)
    assert survivor.sweep() == [dead.id]
    assert survivor.run_once() is True and ran == [0]
    with file_db() as s:
        job = get_job(s, dead.id)
        assert job.status == DONE and job.locked_by == "new" and job.attempts == 2
        assert "WorkerLost" in job.error and "dead-worker" in job.error
        with pytest.raises(JobLost):
            complete(s, dead.id, "dead-worker", {"late": True})


def test_start_thread_runs_jobs_until_stopped(file_db: sessionmaker[Session]) -> None:
    done = threading.Event()
    worker = Worker(file_db, poll_interval=0.02, handlers={"count": lambda s, p: done.set()})
    thread, stop = worker.start_thread()
    try:
        enqueue_many(file_db, 1)
        assert done.wait(5), "the background worker picked the job up"
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()


@pytest.fixture
def instance_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An initialised instance (real migrations) on its own SQLite file."""
    from gongshu.app.server import init_instance
    from gongshu.runtime import Instance, load_settings

    env = {
        "GONGSHU_DATA_DIR": str(tmp_path / "var"),
        "GONGSHU_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'gongshu.db'}",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    instance = Instance.open(load_settings())
    init_instance(instance)
    instance.close()
    return env


def test_worker_command_once_runs_one_job(instance_env: dict[str, str]) -> None:
    import typer
    from typer.testing import CliRunner

    from gongshu.jobs.commands import worker

    factory = make_session_factory(make_engine(instance_env["GONGSHU_DATABASE_URL"]))
    enqueue_many(factory, 2, kind="test.cli")
    cli = typer.Typer()
    cli.command()(worker)
    register("test.cli", lambda s, p: {"n": p["n"]})
    try:
        first = CliRunner().invoke(cli, ["--once"])
    finally:
        unregister("test.cli")
    assert first.exit_code == 0, first.output
    assert "已执行一个任务" in first.output
    with factory() as s:
        assert [j.status for j in s.scalars(select(Job).order_by(Job.id))] == [DONE, QUEUED]
    assert "没有待执行的任务" in CliRunner().invoke(cli, ["--once", "--kind", "other"]).output
    factory.kw["bind"].dispose()


def test_worker_command_stops_cleanly_on_sigterm(instance_env: dict[str, str]) -> None:
    script = (  # an entry point installs the registry first, as `gongshu` does
        "import typer\nfrom gongshu.capabilities import activate\nactivate()\n"
        "from gongshu.jobs.commands import worker\ntyper.run(worker)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, "--poll-interval", "0.05"],
        env={**os.environ, **instance_env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "工作进程已启动" in proc.stdout.readline()
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "工作进程已停止" in out


# --- PostgreSQL: SKIP LOCKED under real concurrency -----------------------------------

PG_URL = os.environ.get("GONGSHU_TEST_DATABASE_URL", "")


@pytest.fixture
def pg_schema_engine() -> Iterator[Engine]:
    """Jobs tables in a throwaway schema, so worker threads can commit."""
    if not PG_URL.startswith("postgresql"):
        pytest.skip("concurrent claims need PostgreSQL (GONGSHU_TEST_DATABASE_URL)")
    schema = f"jobs_conc_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng = admin.execution_options(schema_translate_map={None: schema})
    Base.metadata.create_all(eng, tables=[Job.__table__])
    try:
        yield eng
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_four_postgres_workers_run_each_of_100_jobs_exactly_once(
    pg_schema_engine: Engine,
) -> None:
    factory = make_session_factory(pg_schema_engine)
    enqueue_many(factory, 100)
    ran = run_concurrently(factory, threads=4)
    assert_all_done_once(factory, ran, 100)
