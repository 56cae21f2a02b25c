"""The production layout end to end (issue 19 item 5): PostgreSQL, `gongshu serve
--workers 2` with no job worker of its own, two `gongshu worker` processes, stored files
on S3 (SeaweedFS) and the heavy kernels on the standalone Spark cluster. A clerk loads a
file through the API, a worker process runs the full scan on the cluster, and the door
delivers the version to the grant's holder.

This module runs in the SQLite pass with the other cluster tests; its instance is on
PostgreSQL (``GONGSHU_TEST_PG_URL``, default the CI server's ``test`` database, beside
which a database of its own is made and dropped)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from gongshu.accounts.models import User
from gongshu.catalog.models import CatalogEntry
from gongshu.datasets.jobs import FULL_SCAN
from gongshu.db import transaction
from gongshu.egress import service as egress
from gongshu.jobs.models import Job
from gongshu.runtime import Instance
from gongshu.storage.models import DatasetVersion
from tests.conftest import PASSWORD
from tests.instances import SECRET, new_instance, settings_for
from tests.storage.test_crashes import IDS, _entry, source_csv

GONGSHU = [sys.executable, "-m", "gongshu"]
PG = os.environ.get("GONGSHU_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def pg_url() -> Iterator[str]:
    url = make_url(PG)
    name = f"{url.database}_layout_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - no server here: say so
        admin.dispose()
        pytest.skip(f"PostgreSQL 不可用（{exc.__class__.__name__}）：生产布局测试无法运行")
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _apps(cluster) -> set[str]:  # noqa: ANN001
    """Ids of the applications the Spark master has seen (running or finished)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{cluster.web}/json/", timeout=5) as r:  # noqa: S310
        status = json.load(r)
    return {a["id"] for key in ("activeapps", "completedapps") for a in status.get(key, [])}


def _call(port: int, path: str, *, token: str = "", data: bytes | None = None, ctype: str = ""):  # noqa: ANN202
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data)  # noqa: S310
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if ctype:
        request.add_header("Content-Type", ctype)
    with urllib.request.urlopen(request, timeout=120) as r:  # noqa: S310
        return r.status, r.read()


def _multipart(path: Path) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    )
    body = head.encode() + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _wait_until(what, timeout: float, message: str):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := what():
            return found
        time.sleep(0.5)
    raise AssertionError(message)


def test_serve_two_processes_two_workers_postgres_s3_and_the_cluster(
    cluster,  # noqa: ANN001
    s3_server,  # noqa: ANN001
    pg_url: str,
    tmp_path: Path,
) -> None:
    prefix = f"layout-{uuid.uuid4().hex[:8]}"
    data_dir = tmp_path / "var"
    settings = settings_for(data_dir, pg_url, **s3_server.settings(prefix))
    instance, ids = new_instance(settings)
    with transaction(instance.session_factory) as session:
        clerk = session.get(User, ids["clerk_county"])
        entry = _entry(session, clerk, session.get(User, ids["reviewer_county"]))
        entry_id, username = entry.id, clerk.username
    instance.close()

    env = {
        **os.environ,
        **s3_server.env(prefix),
        "GONGSHU_DATA_DIR": str(data_dir),
        "GONGSHU_SECRET_KEY": SECRET,
        "GONGSHU_DATABASE_URL": pg_url,
        "GONGSHU_ENGINE": "spark",
        "GONGSHU_SPARK_MASTER": cluster.url,
        "GONGSHU_SERVER_JOBS": "false",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"),
    }
    port = _free_port()
    logs = tmp_path / "logs"
    logs.mkdir()
    procs: list[subprocess.Popen] = []

    def start(name: str, *args: str) -> None:
        with open(logs / f"{name}.log", "wb") as log:
            procs.append(
                subprocess.Popen(  # noqa: S603
                    [*GONGSHU, *args], env=env, stdout=log, stderr=subprocess.STDOUT
                )
            )

    before = _apps(cluster)
    start("serve", "serve", "--workers", "2", "--port", str(port))
    start("worker-a", "worker", "--poll-interval", "0.5")
    start("worker-b", "worker", "--poll-interval", "0.5")
    try:

        def answering() -> bool:
            assert all(p.poll() is None for p in procs), _logs(logs)
            try:
                return _call(port, "/login")[0] == 200
            except OSError:
                return False

        _wait_until(answering, 90, "the servers did not answer")
        body = json.dumps({"username": username, "password": PASSWORD, "name": "layout"}).encode()
        _, answer = _call(port, "/api/v1/auth/token", data=body, ctype="application/json")
        token = json.loads(answer)["token"]

        # The clerk loads a file through the API: it is converted, sealed and stored on S3.
        upload, ctype = _multipart(source_csv(tmp_path / "agency.csv"))
        status, answer = _call(
            port, f"/api/v1/catalog/{entry_id}/datasets", token=token, data=upload, ctype=ctype
        )
        assert status == 201, answer
        version_id = json.loads(answer)["id"]

        # A worker process takes the full scan and runs it on the cluster.
        instance = Instance.open(settings)
        try:

            def scanned() -> Job | None:
                with transaction(instance.session_factory) as session:
                    job = session.scalar(
                        select(Job).where(Job.kind == FULL_SCAN).order_by(Job.id.desc())
                    )
                    assert job is None or job.status != "failed", job.error
                    if job is not None and job.status == "done":
                        session.expunge(job)
                        return job
                    return None

            job = _wait_until(scanned, 600, "no worker did the full scan")
            assert job.locked_by and job.locked_by != ""
            assert _apps(cluster) - before, "no application ran on the Spark cluster"

            with transaction(instance.session_factory) as session:
                version = session.get(DatasetVersion, version_id)
                assert version.sealed  # resident IDs sealed
                entry = session.get(CatalogEntry, entry_id)
                grant = egress.create_grant(
                    session,
                    entry,
                    recipient_org_id=session.get(User, ids["clerk_county"]).org_id,
                    purpose="资格核查",
                    source="sharing",
                    actor=session.get(User, ids["clerk_county"]),
                    policy="share-conditional",
                )
                grant_id = grant.id
        finally:
            instance.close()
        # Nothing stored on the local disk: versions are objects.
        assert not [p for p in (data_dir / "datasets").rglob("*") if p.is_file()]

        # The door delivers the version (from the S3 objects) to the grant's holder.
        path = f"/api/v1/grants/{grant_id}/data?format=csv&limit=100000"
        status, answer = _call(port, path, token=token)
        assert status == 200
        lines = answer.decode("utf-8-sig").splitlines()
        assert len(lines) == len(IDS) + 1 and "公民身份号码" in lines[0]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _logs(where: Path) -> str:
    return "\n".join(
        f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in where.iterdir()
    )
