"""Backup and restore of a whole instance (issue 20 item 4; SEC-3).

A running instance with loaded versions (sensitive columns sealed), a ledger and
queued jobs is backed up, restored at another path (a fresh database on
PostgreSQL), and serves the same rows; the restored ledger verifies against the
checkpoint the backup signed; its queued jobs run at the new path. A backup taken
during a burst of writes holds every write acknowledged before it began; a backup
killed half-way is refused; a restore under another secret says so.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from gongshu import storage
from gongshu.accounts.models import User
from gongshu.backup import archive
from gongshu.backup.errors import BackupIncomplete, TargetNotEmpty, WrongSecret
from gongshu.backup.restore import restore
from gongshu.backup.snapshot import take
from gongshu.datasets import service as datasets
from gongshu.db import transaction
from gongshu.jobs import Job, Worker, load_handler_modules
from gongshu.ledger import verify
from gongshu.ledger.keys import load_public_key
from gongshu.runtime import Instance
from gongshu.storage.models import DatasetVersion
from tests.instances import fresh_database, new_instance, settings_for
from tests.storage.test_crashes import IDS, _entry, plaintext_ids, source_csv

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    base = tmp_path_factory.mktemp("source")
    with fresh_database("bsrc") as url:
        settings = settings_for(base / "var", url)
        instance, ids = new_instance(settings)
        with transaction(instance.session_factory) as session:
            clerk = session.get(User, ids["clerk_county"])
            entry = _entry(session, clerk, session.get(User, ids["reviewer_county"]))
            csv = source_csv(base / "agency.csv")
            datasets.load(session, entry.id, csv, actor=clerk, datasets_dir=settings.datasets_dir)
        yield instance, settings, {"entry": entry.id, "clerk": ids["clerk_county"]}, base
        instance.close()


@pytest.fixture
def target(tmp_path: Path):  # noqa: ANN201
    with fresh_database("btgt") as url:
        yield settings_for(tmp_path / "elsewhere" / "restored", url)


def _load(instance, settings, state, name: str, rows: list[str]) -> int:  # noqa: ANN001
    csv = settings.data_dir.parent / name
    csv.write_text("姓名,公民身份号码,认定日期\n" + "".join(rows), encoding="utf-8")
    with transaction(instance.session_factory) as session:
        clerk = session.get(User, state["clerk"])
        version = datasets.load(
            session, state["entry"], csv, actor=clerk, datasets_dir=settings.datasets_dir
        )
        return version.id


def _tables(instance, settings) -> dict[int, list]:  # noqa: ANN001
    with transaction(instance.session_factory) as session:
        return {
            v.id: storage.read_table(settings.datasets_dir, v).to_pylist()
            for v in session.scalars(select(DatasetVersion).order_by(DatasetVersion.id))
        }


def test_a_restored_instance_serves_the_same_data_at_another_path(
    source, target, tmp_path: Path
) -> None:
    instance, settings, _, _ = source
    manifest = take(settings, tmp_path / "backup")
    assert manifest["ledger"]["checkpoint"]["tree_size"] == manifest["ledger"]["size"] > 0
    assert plaintext_ids(tmp_path / "backup") == {}  # sealed columns stay sealed in the copy
    restore(tmp_path / "backup", target)
    before = _tables(instance, settings)
    # The original is moved away: nothing in the restored instance may point at it.
    moved = settings.data_dir.with_name("moved-away")
    os.replace(settings.data_dir, moved)
    try:
        restored = Instance.open(target)
        try:
            assert _tables(restored, target) == before
            with transaction(restored.session_factory) as session:
                assert verify(session, load_public_key(target.keys_dir)).ok
                queued = session.scalars(select(Job).where(Job.status == "queued")).all()
                assert queued and all("path" not in j.payload for j in queued)
            load_handler_modules(["gongshu.datasets.jobs", "gongshu.quality.jobs"])
            worker = Worker(restored.session_factory, settings=target)
            while worker.run_once():
                pass
            with transaction(restored.session_factory) as session:
                statuses = {j.kind: j.status for j in session.scalars(select(Job))}
            assert statuses == {"dataset.full_scan": "done", "quality.report": "done"}
        finally:
            restored.close()
    finally:
        os.replace(moved, settings.data_dir)


def test_a_restore_with_the_wrong_secret_says_so(source, target, tmp_path: Path) -> None:
    _, settings, _, _ = source
    take(settings, tmp_path / "backup")
    wrong = target.model_copy(update={"secret_key": "another-secret-entirely"})
    with pytest.raises(WrongSecret, match="实例密钥与备份时不同"):
        restore(tmp_path / "backup", wrong)
    assert not target.data_dir.exists()


def test_targets_must_be_empty_and_a_damaged_backup_is_refused(
    source, target, tmp_path: Path
) -> None:
    _, settings, _, _ = source
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(TargetNotEmpty, match="备份目标须为空目录"):
        take(settings, tmp_path / "full")
    manifest = take(settings, tmp_path / "backup")
    with pytest.raises(TargetNotEmpty, match="恢复目标须为空目录"):
        restore(tmp_path / "backup", target.model_copy(update={"data_dir": tmp_path / "full"}))
    victim = tmp_path / "backup" / archive.FILES / next(iter(manifest["files"]))
    victim.write_bytes(victim.read_bytes()[:-1])
    with pytest.raises(BackupIncomplete, match="与清单不符"):
        restore(tmp_path / "backup", target)
    assert not target.data_dir.exists()


CHILD = r"""
import sys, time
from pathlib import Path
from gongshu import capabilities
capabilities.activate()
from gongshu.backup import archive, snapshot
from tests.instances import settings_for

data_dir, db_url, dest, marker = sys.argv[1:5]
original = archive.copy_hashed
calls = []

def parked(*args, **kwargs):
    result = original(*args, **kwargs)
    calls.append(1)
    if len(calls) == 2:
        Path(marker).write_text("parked")
        time.sleep(120)  # killed here, half-way through the files
    return result

archive.copy_hashed = parked
snapshot.take(settings_for(Path(data_dir), db_url or None), Path(dest))
"""


def test_a_backup_killed_half_way_is_never_taken_for_a_complete_one(
    source, target, tmp_path: Path
) -> None:
    instance, settings, state, _ = source
    _load(instance, settings, state, "more.csv", [f"乙{k},{IDS[k]},2024-02-01\n" for k in range(9)])
    dest, marker = tmp_path / "backup", tmp_path / "parked"
    args = [str(settings.data_dir), settings.database_url or "", str(dest), str(marker)]
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    child = subprocess.Popen([sys.executable, "-c", CHILD, *args], env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), f"the backup never got half-way (exit {child.poll()})"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert (dest / archive.KEYS).exists() is False and any((dest / archive.FILES).rglob("*"))
    with pytest.raises(BackupIncomplete, match="缺少清单"):
        restore(dest, target)
    assert not target.data_dir.exists()


def test_a_backup_during_a_burst_holds_every_acknowledged_write(
    source, target, tmp_path: Path
) -> None:
    instance, settings, state, _ = source
    acked: list[tuple[int, float]] = []
    stop = threading.Event()
    failures: list[BaseException] = []

    def burst() -> None:
        k = 0
        try:
            while not stop.is_set():
                rows = [f"丙{k}-{j},{IDS[(k * 7 + j) % len(IDS)]},2024-03-01\n" for j in range(5)]
                version_id = _load(instance, settings, state, f"burst-{k}.csv", rows)
                acked.append((version_id, time.monotonic()))  # committed: acknowledged
                k += 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    writer = threading.Thread(target=burst)
    writer.start()
    try:
        deadline = time.monotonic() + 60
        while len(acked) < 3 and time.monotonic() < deadline and not failures:
            time.sleep(0.02)
        started = time.monotonic()
        take(settings, tmp_path / "backup")
        after = len(acked)
        while len(acked) < after + 2 and not failures:
            time.sleep(0.02)  # the burst goes on past the snapshot
    finally:
        stop.set()
        writer.join(60)
    assert not failures, failures
    before = [v for v, at in acked if at < started]
    assert len(before) >= 3 and len(acked) > len(before)
    restore(tmp_path / "backup", target)
    restored = Instance.open(target)
    try:
        tables = _tables(restored, target)  # every version's files present and readable
        present = [v for v, _ in acked if v in tables]
        assert set(before) <= set(present)
        # A snapshot, not a blur: the writes it holds are a prefix of the acknowledged ones.
        assert present == [v for v, _ in acked][: len(present)]
        with transaction(restored.session_factory) as session:
            assert verify(session, load_public_key(target.keys_dir)).ok
    finally:
        restored.close()
    shutil.rmtree(tmp_path / "backup")
