"""Crashes leave nothing behind (issue 20 item 3; SEC-9).

A real child process loads a file, takes an upload or makes an export, and is
killed with SIGKILL at several points (it parks there: a test wraps one function of
the child, nothing in the product waits for tests). Then no file under the data
directory holds a resident ID in the clear, and a restart (the server's start-up
sweep) leaves no orphan: no scratch directory of a dead process, no stored file
without a version row, whatever their age.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from gongshu import storage
from gongshu.app.server import start_up_sweep
from gongshu.catalog import service as catalog
from gongshu.datasets import service as datasets
from gongshu.db import transaction
from gongshu.egress import service as egress
from gongshu.identifiers import id_check_char
from gongshu.storage import scratch
from gongshu.storage.models import DatasetVersion
from tests.instances import fresh_database, new_instance, settings_for

ROOT = Path(__file__).resolve().parents[2]
ROWS = 6000


def rid(i: int) -> str:
    body = f"360102{1950 + i % 50}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
    return body + id_check_char(body)


IDS = [rid(i) for i in range(ROWS)]
ID_SET = {i.encode() for i in IDS}
ID_PATTERN = re.compile(rb"\d{17}[\dX]")


def source_csv(path: Path) -> Path:
    lines = ["姓名,公民身份号码,认定日期"] + [
        f"居民{k},{v},2024-01-{1 + k % 28:02d}" for k, v in enumerate(IDS)
    ]
    # two rejected rows: the quarantine (every column as text) is written too
    lines += [
        f"坏行{k},{IDS[k][:17]}{'0' if IDS[k][17] != '0' else '1'},2024-01-01" for k in (1, 2)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    base = tmp_path_factory.mktemp("crash")
    with fresh_database("crash") as url:
        settings = settings_for(base / "var", url)
        instance, ids = new_instance(settings)
        with transaction(instance.session_factory) as session:
            from gongshu.accounts.models import User

            clerk = session.get(User, ids["clerk_county"])
            entry = _entry(session, clerk, session.get(User, ids["reviewer_county"]))
            csv = source_csv(base / "agency.csv")
            datasets.load(session, entry.id, csv, actor=clerk, datasets_dir=settings.datasets_dir)
            # Conditional sharing keeps resident IDs in the clear: an export worth killing.
            grant = egress.create_grant(
                session,
                entry,
                recipient_org_id=clerk.org_id,
                purpose="资格核查",
                source="sharing",
                actor=clerk,
                policy="share-conditional",
            )
            state = {"entry": entry.id, "grant": grant.id, "clerk": ids["clerk_county"]}
        yield instance, settings, state, csv
        instance.close()


def _entry(session, clerk, reviewer):  # noqa: ANN001, ANN202
    entry = catalog.create(
        session,
        {
            "resource_code": "360102-MZ-CRASH",
            "name": "低保对象名单",
            "summary": "低保对象",
            "fields": [
                {"name": "姓名", "type": "string"},
                {"name": "公民身份号码", "type": "string", "kind": "resident_id", "required": True},
                {"name": "认定日期", "type": "date"},
            ],
            "update_frequency": "每月",
            "security_grade": "一般数据-3级",
            "sharing_attr": "conditional",
            "sharing_conditions": "资格核查",
            "opening_attr": "none",
            "load_policy": "quarantine",
        },
        actor=clerk,
    )
    catalog.submit(session, entry.id, actor=clerk)
    catalog.approve(session, entry.id, actor=reviewer)
    return entry


CHILD = r"""
import functools, sys, time
from pathlib import Path

mode, point, marker, data_dir, db_url, entry_id, grant_id, clerk_id, csv = sys.argv[1:10]

from gongshu import capabilities
capabilities.activate()
from gongshu import storage
from gongshu.accounts.models import User
from gongshu.datasets import service as datasets
from gongshu.db import transaction
from gongshu.egress import formats, service as egress
from gongshu.runtime import Instance
from gongshu.storage import ephemeral
from gongshu.web import uploads
from tests.instances import settings_for

settings = settings_for(Path(data_dir), db_url or None)
instance = Instance.open(settings)


def park():
    Path(marker).write_text(point)
    time.sleep(120)  # killed here


def after(owner, name, calls=1):
    original = getattr(owner, name)
    seen = []

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        result = original(*args, **kwargs)
        seen.append(1)
        if len(seen) >= calls:
            park()
        return result

    setattr(owner, name, wrapper)


def before(owner, name):
    setattr(owner, name, lambda *a, **k: park())


# small batches, so a load is killed part-way through its rows
datasets.ingest_file = functools.partial(datasets.ingest_file, block_size=16384)
if point == "converting":
    after(ephemeral.EphemeralParquetWriter, "write", calls=2)
elif point == "classifying":
    before(datasets, "classify_sample")
elif point == "placed":
    after(storage, "add")
elif point == "receiving":
    after(uploads.SealedSpool, "write")
elif point == "writing":
    after(formats._CSV, "write")
elif point == "recording":
    before(egress, "begin_write")

if mode == "load":
    with transaction(instance.session_factory) as session:
        clerk = session.get(User, int(clerk_id))
        datasets.load(session, int(entry_id), Path(csv), actor=clerk,
                      datasets_dir=settings.datasets_dir)
elif mode == "upload":
    from datetime import timedelta
    from fastapi.testclient import TestClient
    from gongshu.accounts import service as accounts
    from gongshu.app.factory import create_app

    with transaction(instance.session_factory) as session:
        token, _ = accounts.issue_token(session, session.get(User, int(clerk_id)), kind="api",
                                        ttl=timedelta(hours=1))
    with TestClient(create_app(settings, session_factory=instance.session_factory)) as client:
        client.post(f"/api/v1/catalog/{entry_id}/datasets",
                    headers={"Authorization": f"Bearer {token}"},
                    files={"file": ("名单.csv", Path(csv).read_bytes(), "text/csv")})
elif mode == "export":
    with transaction(instance.session_factory) as session:
        out = egress.deliver(session, int(grant_id), actor=session.get(User, int(clerk_id)),
                             fmt="csv", datasets_dir=settings.datasets_dir,
                             work_dir=settings.data_dir / "egress", secret=settings.secret_key)
    park()  # "sending": recorded and committed, the download not yet streamed
"""


def run_and_kill(world, tmp_path: Path, mode: str, point: str) -> None:  # noqa: ANN001
    _, settings, state, csv = world
    marker = tmp_path / "parked"
    args = [mode, point, str(marker), str(settings.data_dir), settings.database_url or ""]
    args += [str(state["entry"]), str(state["grant"]), str(state["clerk"]), str(csv)]
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    child = subprocess.Popen([sys.executable, "-c", CHILD, *args], env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), f"the child never reached {point} (exit {child.poll()})"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def plaintext_ids(data_dir: Path) -> dict[str, int]:
    """Files under the data directory holding any resident ID in the clear."""
    found = {}
    for path in data_dir.rglob("*"):
        if path.is_file():
            hits = {m for m in ID_PATTERN.findall(path.read_bytes()) if m in ID_SET}
            if hits:
                found[str(path.relative_to(data_dir))] = len(hits)
    return found


def dead_scratch(settings) -> list[str]:  # noqa: ANN001
    area = scratch.area(settings.datasets_dir)
    if not area.is_dir():
        return []
    return [
        p.name
        for p in area.iterdir()
        if p.is_dir() and not scratch._alive(area / f"{p.name}{scratch.LOCK_SUFFIX}")
    ]


def orphans(instance, settings) -> list[str]:  # noqa: ANN001
    with transaction(instance.session_factory) as session:
        known = set()
        for v in session.scalars(select(DatasetVersion)):
            known |= set(storage.store.stored_files(v))
    stored = [p for p in settings.datasets_dir.rglob("*") if p.is_file()]
    return [
        p.relative_to(settings.datasets_dir).as_posix()
        for p in stored
        if p.relative_to(settings.datasets_dir).as_posix() not in known
    ]


POINTS = [
    ("load", "converting"),
    ("load", "classifying"),
    ("load", "placed"),
    ("upload", "receiving"),
    ("upload", "converting"),
    ("upload", "placed"),
    ("export", "writing"),
    ("export", "recording"),
    ("export", "sending"),
]


@pytest.mark.parametrize(("mode", "point"), POINTS)
def test_a_killed_process_leaves_no_plaintext_and_no_orphan(
    world, tmp_path: Path, mode: str, point: str
) -> None:
    instance, settings, _, _ = world
    run_and_kill(world, tmp_path, mode, point)
    assert plaintext_ids(settings.data_dir) == {}
    assert dead_scratch(settings), "the killed process left its scratch directory"
    if point == "placed":  # its stored files were renamed into place, their row not committed
        assert orphans(instance, settings)
    start_up_sweep(instance)  # what a restart runs first
    assert dead_scratch(settings) == []
    assert orphans(instance, settings) == []
    assert plaintext_ids(settings.data_dir) == {}
