"""SQLite leases: a job whose worker still holds its lease is never put back."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from gongshu.db import Base, make_engine, make_session_factory, transaction
from gongshu.jobs import QUEUED, RUNNING, Job, claim, enqueue, get_job, requeue_stale
from gongshu.jobs.leases import Lease, held, lease_dir
from gongshu.timeutil import utcnow


def _factory(tmp_path: Path) -> sessionmaker:
    engine = make_engine(f"sqlite:///{tmp_path / 'jobs.db'}")
    Base.metadata.create_all(engine, tables=[Job.__table__])
    return make_session_factory(engine)


def test_leases_live_beside_a_sqlite_file_only(tmp_path: Path) -> None:
    factory = _factory(tmp_path)
    assert lease_dir(factory.kw["bind"]) == Path(f"{tmp_path / 'jobs.db'}-jobs")
    assert lease_dir(make_engine("sqlite://")) is None
    assert lease_dir(make_engine("postgresql+psycopg://u@localhost/x")) is None


def test_a_held_lease_keeps_a_silent_job_running(tmp_path: Path) -> None:
    factory = _factory(tmp_path)
    with transaction(factory) as s:
        enqueue(s, "long", {})
    job = claim(factory, "alive")
    directory = lease_dir(factory.kw["bind"])
    later = utcnow() + timedelta(minutes=10)  # far past any stale window
    with Lease(directory, job.id):
        assert held(directory, job.id)
        with transaction(factory) as s:
            assert requeue_stale(s, timedelta(seconds=20), now=later) == []
        with factory() as s:
            assert get_job(s, job.id).status == RUNNING
    assert not held(directory, job.id) and not (directory / f"{job.id}.lease").exists()
    with transaction(factory) as s:
        assert [j.id for j in requeue_stale(s, timedelta(seconds=20), now=later)] == [job.id]
    with factory() as s:
        assert get_job(s, job.id).status == QUEUED


def test_a_dead_workers_lease_file_is_not_a_hold(tmp_path: Path) -> None:
    factory = _factory(tmp_path)
    with transaction(factory) as s:
        enqueue(s, "long", {})
    job = claim(factory, "dead")
    directory = lease_dir(factory.kw["bind"])
    directory.mkdir()
    (directory / f"{job.id}.lease").write_text("")  # left behind, nobody holds it
    assert not held(directory, job.id)
    with transaction(factory) as s:
        stale = requeue_stale(s, timedelta(seconds=20), now=utcnow() + timedelta(minutes=1))
    assert [j.id for j in stale] == [job.id]
    assert not (directory / f"{job.id}.lease").exists()
