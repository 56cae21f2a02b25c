"""Workers killed with SIGKILL: their jobs run again promptly; a live worker's never twice.

Real worker processes on a real SQLite file, and on PostgreSQL when
``GONGSHU_TEST_DATABASE_URL`` is set (a throwaway schema). Each start of a
handler appends a line to a marker file, so a job run twice shows.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

from gongshu.db import Base, make_engine, make_session_factory, transaction
from gongshu.jobs import DONE, RUNNING, Job, enqueue
from gongshu.jobs.worker import HEARTBEAT_INTERVAL, STALE_AFTER

pytestmark = pytest.mark.slow

SRC = str(Path(__file__).resolve().parents[2] / "src")
PG_URL = os.environ.get("GONGSHU_TEST_DATABASE_URL", "")

# A worker process. A job sleeps payload["first"] seconds the first time it starts and
# payload["again"] seconds on any later start; every start is one marker line.
WORKER = """
import sys, threading, time
from gongshu.db import make_engine, make_session_factory
from gongshu.jobs import Worker

url, schema, name, marker, stale, beat = sys.argv[1:7]
engine = make_engine(url)
if schema:
    engine = engine.execution_options(schema_translate_map={None: schema})

def slow(session, payload):
    with open(marker, "a+") as fh:
        fh.seek(0)
        starts = sum(1 for line in fh if line.split()[0] == str(payload["n"]))
        fh.write(f"{payload['n']} {name}\\n")
    time.sleep(payload["first"] if starts == 0 else payload["again"])
    return {"by": name}

options = {"stale_after": float(stale)} if stale else {}
if beat:
    options["heartbeat_interval"] = float(beat)
worker = Worker(make_session_factory(engine), worker_id=name, handlers={"slow": slow},
                poll_interval=0.05, **options)
print("ready", flush=True)
worker.run(threading.Event())
"""


class Cluster:
    """Worker processes sharing one database and one marker file."""

    def __init__(self, engine: Engine, url: str, schema: str, marker: Path) -> None:
        self.engine, self.url, self.schema, self.marker = engine, url, schema, marker
        self.factory = make_session_factory(engine)
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, *, stale: float | None, beat: float | None) -> None:
        args = [self.url, self.schema, name, str(self.marker), str(stale or ""), str(beat or "")]
        proc = subprocess.Popen(
            [sys.executable, "-c", WORKER, *args],
            env={**os.environ, "PYTHONPATH": SRC},
            stdout=subprocess.PIPE,
            text=True,
        )
        self.procs[name] = proc
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.kill()
            proc.wait(10)
        self.procs.clear()

    def enqueue(self, n: int, first: float, again: float = 0.0) -> int:
        with transaction(self.factory) as session:
            return enqueue(session, "slow", {"n": n, "first": first, "again": again}).id

    def job(self, job_id: int) -> Job:
        with self.factory() as session:
            return session.get_one(Job, job_id)

    def starts(self) -> list[tuple[int, str]]:
        if not self.marker.exists():
            return []
        return [(int(n), name) for n, name in (line.split() for line in self.marker.open())]

    def wait_for(self, check, timeout: float) -> float:  # noqa: ANN001
        started = time.monotonic()
        while not check():
            assert time.monotonic() - started < timeout, "timed out"
            time.sleep(0.05)
        return time.monotonic() - started


@pytest.fixture(params=["sqlite", "postgresql"])
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cluster]:
    if request.param == "sqlite":
        url, schema = f"sqlite:///{tmp_path / 'jobs.db'}", ""
        admin = engine = make_engine(url)
    else:
        if not PG_URL.startswith("postgresql"):
            pytest.skip("needs PostgreSQL (GONGSHU_TEST_DATABASE_URL)")
        url, schema = PG_URL, f"jobs_kill_{uuid.uuid4().hex[:8]}"
        admin = make_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = admin.execution_options(schema_translate_map={None: schema})
    Base.metadata.create_all(engine, tables=[Job.__table__])
    cluster = Cluster(engine, url, schema, tmp_path / "starts.txt")
    try:
        yield cluster
    finally:
        cluster.stop_all()
        if schema:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_a_killed_workers_job_runs_again_but_a_live_workers_never_twice(
    cluster: Cluster,
) -> None:
    """Two workers each run a job; one is killed with SIGKILL. A third worker takes
    the dead one's job within the stale window, and leaves the live one's alone
    though it runs four stale windows long."""
    stale, beat = 1.5, 0.25
    cluster.start("a", stale=stale, beat=beat)
    cluster.start("b", stale=stale, beat=beat)
    jobs = [cluster.enqueue(n, first=4 * stale) for n in range(2)]
    cluster.wait_for(lambda: len(cluster.starts()) == 2, timeout=10)
    holder = {n: name for n, name in cluster.starts()}
    assert set(holder.values()) == {"a", "b"}, "each worker took one job"
    victim = next(n for n, name in holder.items() if name == "b")
    cluster.kill("b")
    killed_at = time.monotonic()
    cluster.start("c", stale=stale, beat=beat)
    cluster.wait_for(lambda: all(cluster.job(j).status == DONE for j in jobs), timeout=30)
    retaken = time.monotonic() - killed_at
    starts = cluster.starts()
    assert starts.count((victim, "b")) == 1 and (victim, "c") in starts
    survivor = 1 - victim
    assert [s for s in starts if s[0] == survivor] == [(survivor, "a")], "never taken twice"
    dead, alive = cluster.job(jobs[victim]), cluster.job(jobs[survivor])
    assert dead.locked_by == "c" and dead.attempts == 2 and "WorkerLost" in dead.error
    assert alive.locked_by == "a" and alive.attempts == 1 and alive.error is None
    # Silence of ``stale`` after the last beat, then one sweep and one poll.
    assert retaken < 4 * stale + 2, f"retaken after {retaken:.1f} s"


def test_with_the_defaults_a_killed_workers_job_runs_again_within_30_seconds(
    cluster: Cluster,
) -> None:
    """The default timings (HEARTBEAT_INTERVAL, STALE_AFTER), end to end."""
    assert HEARTBEAT_INTERVAL * 3 < STALE_AFTER and STALE_AFTER * 1.25 + 1 < 30
    cluster.start("a", stale=None, beat=None)
    cluster.start("b", stale=None, beat=None)
    job = cluster.enqueue(0, first=120)
    cluster.wait_for(lambda: cluster.job(job).status == RUNNING, timeout=10)
    cluster.wait_for(lambda: len(cluster.starts()) == 1, timeout=10)
    first = cluster.starts()[0][1]
    cluster.kill(first)
    elapsed = cluster.wait_for(lambda: cluster.job(job).status == DONE, timeout=40)
    assert elapsed < 30, f"retaken after {elapsed:.1f} s"
    assert [name for _, name in cluster.starts()] == [first, "b" if first == "a" else "a"]
    with cluster.factory() as session:
        assert session.scalars(select(Job.attempts)).one() == 2
