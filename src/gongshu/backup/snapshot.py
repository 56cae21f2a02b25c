"""``gongshu backup DEST``: an online, consistent snapshot of a running instance (SEC-3).

The snapshot point is the metadata database's: SQLite's backup API copies the whole
database in one step under one read transaction (WAL: writers go on), PostgreSQL's
``pg_dump`` runs on a snapshot this process exported from a REPEATABLE READ
transaction it holds open meanwhile. Everything else is read from that snapshot:
the version rows name the stored files to copy (they never change once written: a
new version, a reseal or an erasure writes new files, and files go only at start-up
when no row names them); the ledger head is read from it and a checkpoint over
exactly its entries is signed with the instance key. Writes acknowledged before the
snapshot are in the backup; later ones are not, in the database or the files.
"""

from __future__ import annotations

import base64
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from gongshu.backup import archive
from gongshu.backup.errors import BackupFailed, TargetNotEmpty
from gongshu.config import Settings
from gongshu.ledger.keys import KEY_FILE, InstanceKey
from gongshu.ledger.models import LedgerCheckpoint, LedgerHead
from gongshu.ledger.service import exported, sign_head
from gongshu.storage import objects, scratch
from gongshu.storage.models import DatasetVersion
from gongshu.storage.store import stored_files
from gongshu.timeutil import utcnow

SQLITE_FILES = ("-wal", "-shm", "-journal")
# Directories of the data directory that are not the instance's data: temporary
# files (the scratch area, the egress work directory) and the keys (sealed apart).
SKIPPED = (scratch.SCRATCH, "egress", "keys")

Progress = Callable[[str], None]


def take(settings: Settings, dest: Path, *, progress: Progress | None = None) -> dict:
    """Write a complete backup of the instance of ``settings`` to the empty ``dest``;
    returns its manifest. Safe while the server runs."""
    say = progress or (lambda _msg: None)
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise TargetNotEmpty(f"备份目标须为空目录：{dest}")
    dest.mkdir(parents=True, exist_ok=True)
    key = InstanceKey.load(settings.keys_dir / KEY_FILE)
    url = make_url(settings.db_url)
    with _snapshot(settings, dest) as (session, database):
        say(f"元数据快照已完成：{database['file']}")
        revision = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        head = session.execute(select(LedgerHead.size, LedgerHead.last_hash)).first()
        signed = (
            sign_head(session, key)
            or session.scalars(
                select(LedgerCheckpoint).order_by(LedgerCheckpoint.tree_size.desc()).limit(1)
            ).first()
        )
        referenced: set[str] = set()
        for version in session.scalars(select(DatasetVersion)):
            referenced |= set(stored_files(version))
    database.update(archive.file_hash(dest / database["file"]))
    files = _copy_files(settings, dest, referenced)
    say(f"已复制 {len(files)} 个数据文件")
    salt = os.urandom(16)
    sealed_keys = archive.seal_keys(settings.keys_dir, settings.secret_key, salt)
    with open(dest / archive.KEYS, "xb") as fh:
        fh.write(sealed_keys)
        fh.flush()
        os.fsync(fh.fileno())
    manifest = {
        "format": archive.FORMAT,
        "created_at": utcnow().isoformat(),
        "salt": base64.b64encode(salt).decode(),
        "database": {**database, "dialect": url.get_backend_name(), "revision": revision},
        "ledger": {
            "size": head.size if head else 0,
            "last_hash": head.last_hash if head else None,
            "checkpoint": exported(signed) if signed is not None else None,
        },
        "keys": {"file": archive.KEYS, **archive.file_hash(dest / archive.KEYS)},
        "files": files,
        "versions": len(referenced),
    }
    for directory in [dest, *(p for p in (dest / archive.FILES).rglob("*") if p.is_dir())]:
        archive.fsync_dir(directory)
    archive.write_manifest(dest, manifest, settings.secret_key)
    say(f"备份完成：{dest}")
    return manifest


@contextmanager
def _snapshot(settings: Settings, dest: Path) -> Iterator[tuple[Session, dict]]:
    """A session on the snapshot, and the database file written into ``dest``."""
    url = make_url(settings.db_url)
    if url.get_backend_name() == "sqlite":
        copy = dest / archive.SQLITE
        source = sqlite3.connect(url.database, timeout=30)
        target = sqlite3.connect(copy)
        try:
            source.backup(target)  # one step: a consistent copy under one read transaction
        finally:
            source.close()
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        target.close()
        with open(copy, "rb+") as fh:
            os.fsync(fh.fileno())
        engine = create_engine(f"sqlite:///{copy}", poolclass=NullPool)
        try:
            with Session(engine) as session:
                yield session, {"file": archive.SQLITE}
        finally:
            engine.dispose()
        for suffix in SQLITE_FILES:
            Path(f"{copy}{suffix}").unlink(missing_ok=True)
        return
    if url.get_backend_name() != "postgresql":
        raise BackupFailed(f"不支持备份此类元数据库：{url.drivername}")
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin() as trans:
                snapshot_id = conn.execute(text("SELECT pg_export_snapshot()")).scalar()
                _pg_dump(url, str(snapshot_id), dest / archive.PGDUMP)
                with Session(bind=conn) as session:
                    yield session, {"file": archive.PGDUMP}
                trans.rollback()
    finally:
        engine.dispose()


def _libpq(url) -> str:  # noqa: ANN001 - sqlalchemy URL
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_dump(url, snapshot_id: str, out: Path) -> None:  # noqa: ANN001
    if shutil.which("pg_dump") is None:
        raise BackupFailed("未找到 pg_dump，无法备份 PostgreSQL 元数据库")
    done = subprocess.run(
        [
            "pg_dump",
            f"--snapshot={snapshot_id}",
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            f"--file={out}",
            f"--dbname={_libpq(url)}",
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise BackupFailed(f"pg_dump 失败：{done.stderr.strip()[-500:]}")


def _copy_files(settings: Settings, dest: Path, referenced: set[str]) -> dict[str, dict]:
    """Copy the stored files: those of versions only when the snapshot's rows name them
    (no orphan travels), everything else of the data directory's own (reports,
    sandbox results) whole; on object storage, read from it (``storage.objects``).
    Returns {path in the data directory: size and hash}."""
    data_dir = settings.data_dir.resolve()
    datasets = settings.datasets_dir.resolve()
    db_file = _sqlite_file(settings)
    stores = objects.stores(settings)
    remote = {name for name, store in stores.items() if store.remote}
    # (path in the data directory, its store, its path in the store)
    wanted: list[tuple[str, objects.ObjectStore, str]] = [
        (f"{datasets.relative_to(data_dir).as_posix()}/{rel}", stores["datasets"], rel)
        for rel in sorted(referenced)
    ]
    for path in sorted(data_dir.rglob("*")):
        rel = path.relative_to(data_dir)
        if not path.is_file() or rel.parts[0] in SKIPPED or path.name.startswith(".tmp-"):
            continue
        if rel.parts[0] in remote or rel.parts[0].endswith(objects.CACHE_SUFFIX):
            continue  # on object storage: listed below; a read cache is no data
        if db_file is not None and path.name.startswith(db_file.name):
            continue
        if path.is_relative_to(datasets) and path.relative_to(datasets).parts[0].startswith(
            "entry-"
        ):
            continue  # version files: only the referenced ones, above
        wanted.append((rel.as_posix(), objects.LocalStore(data_dir), rel.as_posix()))
    for name in sorted(remote):
        for rel in stores[name].list():
            if name == "datasets" and rel.startswith("entry-"):
                continue
            wanted.append((f"{name}/{rel}", stores[name], rel))
    copied: dict[str, dict] = {}
    for rel, store, name in wanted:
        try:
            with store.open(name) as fh:
                copied[rel] = archive.copy_hashed(fh, dest / archive.FILES / rel)
        except OSError as exc:  # gone, or the object store did not answer
            raise BackupFailed(f"快照所引用的数据文件缺失或无法读取：{rel}") from exc
    return copied


def _sqlite_file(settings: Settings) -> Path | None:
    url = make_url(settings.db_url)
    return Path(url.database).resolve() if url.get_backend_name() == "sqlite" else None
