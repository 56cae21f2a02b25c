"""Stored files on S3-compatible object storage (issue 19 items 1 and 4).

A real SeaweedFS server (``s3_server``). An instance with ``GONGSHU_STORAGE_URL``
loads a version (resident IDs sealed): its files are objects, none on the local disk
but the read cache, and every reader (Arrow, DuckDB, the door's query) serves the
rows loaded. A child process killed after its objects went up and before its row
committed leaves no visible version, and the start-up sweep removes its objects. A
backup of the S3 instance restored into a local one, and back onto S3, verifies and
serves the same rows.
"""

from __future__ import annotations

import shutil

import duckdb
import pytest
from sqlalchemy import func, select

from gongshu import storage
from gongshu.accounts.models import User
from gongshu.app.server import start_up_sweep
from gongshu.backup.errors import BackupIncomplete, TargetNotEmpty
from gongshu.backup.restore import restore
from gongshu.backup.snapshot import take
from gongshu.datasets import service as datasets
from gongshu.db import transaction
from gongshu.egress import service as egress
from gongshu.errors import InvalidInput
from gongshu.ledger import verify
from gongshu.ledger.keys import load_public_key
from gongshu.runtime import Instance
from gongshu.storage import objects
from gongshu.storage.models import DatasetVersion
from tests.instances import fresh_database, new_instance, settings_for
from tests.storage.test_crashes import ID_SET, IDS, _entry, run_and_kill, source_csv


def _objects(server, prefix: str) -> dict[str, bytes]:  # noqa: ANN001
    from pyarrow.fs import FileSelector, FileType

    fs = server.filesystem()
    found = fs.get_file_info(FileSelector(f"{server.bucket}/{prefix}", recursive=True))
    out = {}
    for info in found:
        if info.type == FileType.File:
            with fs.open_input_stream(info.path) as fh:
                out[info.path.removeprefix(f"{server.bucket}/{prefix}/")] = fh.read()
    return out


def _tables(instance, settings) -> dict[int, list]:  # noqa: ANN001
    with transaction(instance.session_factory) as session:
        return {
            v.version_no: storage.read_table(settings.datasets_dir, v).to_pylist()
            for v in session.scalars(select(DatasetVersion).order_by(DatasetVersion.id))
        }


@pytest.fixture(scope="module")
def world(s3_server, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN001, ANN201
    base = tmp_path_factory.mktemp("s3")
    with fresh_database("s3src") as url:
        settings = settings_for(base / "var", url, **s3_server.settings("src"))
        instance, ids = new_instance(settings)
        with transaction(instance.session_factory) as session:
            clerk = session.get(User, ids["clerk_county"])
            entry = _entry(session, clerk, session.get(User, ids["reviewer_county"]))
            csv = source_csv(base / "agency.csv")
            datasets.load(session, entry.id, csv, actor=clerk, datasets_dir=settings.datasets_dir)
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


def test_a_version_on_s3_is_objects_and_reads_back_whole(world, s3_server) -> None:  # noqa: ANN001
    instance, settings, state, _ = world
    stored = _objects(s3_server, "src/datasets")
    with transaction(instance.session_factory) as session:
        version = session.scalars(select(DatasetVersion)).one()
        assert set(stored) == set(storage.store.stored_files(version))
        assert version.sealed and version.quarantine_path
        # nothing stored on the local disk; the resident IDs are sealed in the objects
        assert not [p for p in settings.datasets_dir.rglob("*") if p.is_file()]
        # another process, or a restart: nothing cached, every reader reads the objects
        shutil.rmtree(objects.at(settings.datasets_dir).cache)
        assert all(not (ID_SET & set(blob.split(b","))) for blob in stored.values())
        assert not any(i.encode() in blob for blob in stored.values() for i in IDS[:50])
        table = storage.read_table(settings.datasets_dir, version)
        assert table.column("公民身份号码").to_pylist() == IDS
        con = duckdb.connect()
        try:
            rel = storage.relation(con, settings.datasets_dir, version, row_numbers=True)
            count, last = con.execute(
                f"SELECT count(*), max(file_row_number) FROM {rel}"
            ).fetchone()
        finally:
            con.close()
        assert (count, last) == (len(IDS), len(IDS) - 1)
        batches = list(storage.stream(settings.datasets_dir, version, rows_per_batch=1000).batches)
        assert sum(b.num_rows for b in batches) == len(IDS)
        quarantine = storage.open_file(settings.datasets_dir, version.quarantine_path)
        assert quarantine.num_rows == 2
    with transaction(instance.session_factory) as session:  # the door reads it too
        out = egress.deliver(
            session,
            state["grant"],
            actor=session.get(User, state["clerk"]),
            fmt="csv",
            datasets_dir=settings.datasets_dir,
            work_dir=settings.data_dir / "egress",
            secret=settings.secret_key,
        )
        try:
            lines = out.read_text("utf-8-sig").splitlines()
        finally:
            out.discard()
    assert len(lines) == len(IDS) + 1 and "公民身份号码" in lines[0]


def test_a_load_killed_after_its_upload_leaves_no_version_and_no_object(
    world,
    s3_server,
    tmp_path,
    monkeypatch,  # noqa: ANN001
) -> None:
    instance, settings, _, _ = world
    for key, value in s3_server.env("src").items():
        monkeypatch.setenv(key, value)  # the child's settings come from its environment
    with transaction(instance.session_factory) as session:
        before = session.scalar(select(func.count()).select_from(DatasetVersion))
    kept = set(_objects(s3_server, "src/datasets"))
    run_and_kill(world, tmp_path, "load", "placed")  # objects up, the row not committed
    with transaction(instance.session_factory) as session:
        assert session.scalar(select(func.count()).select_from(DatasetVersion)) == before
    assert set(_objects(s3_server, "src/datasets")) > kept  # orphans on the object store
    assert start_up_sweep(instance) >= 2
    assert set(_objects(s3_server, "src/datasets")) == kept


def test_an_s3_backup_restores_into_a_local_instance_and_back(
    world,
    s3_server,
    tmp_path,  # noqa: ANN001
) -> None:
    instance, settings, _, _ = world
    before = _tables(instance, settings)
    manifest = take(settings, tmp_path / "backup")
    assert len(manifest["files"]) >= 3  # the plain file, the sealed one, the quarantine
    with fresh_database("s3local") as url:
        local = settings_for(tmp_path / "local", url)
        restore(tmp_path / "backup", local)
        assert any((local.datasets_dir).rglob("*.sealed"))  # the files are local now
        restored = Instance.open(local)
        try:
            assert _tables(restored, local) == before
            with transaction(restored.session_factory) as session:
                assert verify(session, load_public_key(local.keys_dir)).ok
            take(local, tmp_path / "from-local")
        finally:
            restored.close()
    with fresh_database("s3back") as url:
        back = settings_for(tmp_path / "back", url, **s3_server.settings("back"))
        restore(tmp_path / "from-local", back)
        assert set(_objects(s3_server, "back/datasets")) == set(_objects(s3_server, "src/datasets"))
        again = Instance.open(back)
        try:
            assert _tables(again, back) == before
        finally:
            again.close()
        # a second restore onto the same, no longer empty, object store is refused
        with pytest.raises(TargetNotEmpty, match="对象存储须为空"):
            restore(tmp_path / "from-local", back.model_copy(update={"data_dir": tmp_path / "x"}))
        assert not (tmp_path / "x").exists()


def test_a_bad_storage_url_is_named() -> None:
    with pytest.raises(InvalidInput, match="GONGSHU_STORAGE_URL"):
        objects.parse_url("http://bucket/prefix")


def test_a_backup_kept_on_s3_restores_the_same_rows(world, s3_server, tmp_path) -> None:  # noqa: ANN001
    from gongshu.backup import remote

    instance, settings, _, _ = world
    before = _tables(instance, settings)
    url = f"s3://{s3_server.bucket}/backups/one"
    manifest = remote.take(settings, url)
    kept = _objects(s3_server, "backups/one")
    assert "manifest.json" in kept and len(kept) == len(manifest["files"]) + 3
    assert not any(i.encode() in blob for blob in kept.values() for i in IDS[:50])
    with fresh_database("s3remote") as url_db:
        account = {k: v for k, v in s3_server.settings("x").items() if k != "storage_url"}
        local = settings_for(tmp_path / "restored", url_db, **account)
        assert not local.storage_url  # a local instance, reading the backup from S3
        remote.restore(url, local)
        restored = Instance.open(local)
        try:
            assert _tables(restored, local) == before
        finally:
            restored.close()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no download left
    with pytest.raises(TargetNotEmpty, match="备份目标须为空"):
        remote.take(settings, url)
    with pytest.raises(BackupIncomplete, match="缺少清单"):
        remote.restore(f"s3://{s3_server.bucket}/backups/none", local)


def test_an_upload_that_fails_leaves_no_object(s3_server, tmp_path) -> None:  # noqa: ANN001
    fs = s3_server.filesystem()

    class Breaks:  # the server goes away after the first part
        def __init__(self) -> None:
            self.inner = fs

        def open_output_stream(self, key: str):  # noqa: ANN202
            out = fs.open_output_stream(key)

            class Stream:
                def write(self, data: bytes) -> None:
                    out.write(data)
                    raise OSError("connection reset")

                def close(self) -> None:
                    out.close()

            return Stream()

        def __getattr__(self, name: str):  # noqa: ANN204
            return getattr(fs, name)

    store = objects.S3Store(Breaks(), s3_server.bucket, "broken", tmp_path / "datasets")
    tmp = tmp_path / "v1.parquet"
    tmp.write_bytes(b"x" * 1000)
    with pytest.raises(OSError, match="connection reset"):
        store.put(tmp, "entry-1/v1.parquet")
    assert not store.exists("entry-1/v1.parquet") and store.list() == []


def test_a_rolled_back_write_deletes_its_objects_and_the_sweep_spares_live_ones(
    world,
    s3_server,  # noqa: ANN001
) -> None:
    import pyarrow as pa

    instance, settings, _, _ = world
    table = pa.table({"a": list(range(100))})
    with instance.session_factory() as session:
        stored = storage.write_version(
            session, settings.datasets_dir, "entry-99/v1-live", table.schema, [table], []
        )
        assert stored.path in _objects(s3_server, "src/datasets")
        with instance.session_factory() as other:  # a restart's sweep while the load runs
            storage.sweep_orphans(other, settings.datasets_dir)
        assert stored.path in _objects(s3_server, "src/datasets")  # journalled by a live process
        session.scalar(select(func.count()).select_from(DatasetVersion))  # its transaction
        session.rollback()
    assert stored.path not in _objects(s3_server, "src/datasets")


UPLOADER = r"""
import sys, time
from pathlib import Path
from tests import seaweed
from gongshu.storage import objects

endpoint, bucket, tmp, marker = sys.argv[1:5]
server = seaweed.S3Server(endpoint, bucket, seaweed.ACCESS_KEY, seaweed.SECRET_KEY, None)
fs = server.filesystem()


class Parks:
    def open_output_stream(self, key):
        out = fs.open_output_stream(key)

        class Stream:
            def write(self, data):
                out.write(data)
                Path(marker).write_text("parked")
                time.sleep(120)  # killed here, half of the file sent

        return Stream()


store = objects.S3Store(Parks(), bucket, "killed", Path(tmp).parent / "datasets")
store.put(Path(tmp), "entry-1/v1.parquet")
"""


def test_a_process_killed_mid_upload_leaves_no_object(s3_server, tmp_path) -> None:  # noqa: ANN001
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    tmp, marker = tmp_path / "v1.parquet", tmp_path / "parked"
    tmp.write_bytes(os.urandom(objects.CHUNK + 4096))  # two parts: a multipart upload
    args = [s3_server.endpoint, s3_server.bucket, str(tmp), str(marker)]
    env = {**os.environ, "PYTHONPATH": f"{root / 'src'}{os.pathsep}{root}"}
    child = subprocess.Popen([sys.executable, "-c", UPLOADER, *args], env=env, cwd=root)
    try:
        deadline = time.monotonic() + 30
        while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), f"the upload never started (exit {child.poll()})"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    store = objects.S3Store(s3_server.filesystem(), s3_server.bucket, "killed", tmp_path)
    assert not store.exists("entry-1/v1.parquet") and store.list() == []
