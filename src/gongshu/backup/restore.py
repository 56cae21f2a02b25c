"""``gongshu restore SRC``: rebuild an instance from a backup, at any path (SEC-3).

Refuses a target that is not empty (a data directory, or a PostgreSQL database with
tables), a backup without a manifest or with a file that does not match it (a
backup killed half-way, or damaged), and a backup sealed under another instance
secret (it says so). The instance is rebuilt in a hidden directory beside the
target and renamed onto it only once it verified: the ledger against the signed
checkpoint the backup took and its head, every checkpoint it holds, and the key
store under the secret. Nothing inside depends on the old path: stored paths,
sealed-file metadata and job payloads are relative to the data directory.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from gongshu.backup import archive
from gongshu.backup.errors import (
    BackupIncomplete,
    RestoreFailed,
    TargetNotEmpty,
    WrongSecret,
)
from gongshu.config import Settings
from gongshu.ledger.keys import load_public_keys
from gongshu.ledger.models import LedgerHead
from gongshu.ledger.verification import verify, verify_against
from gongshu.migrate import head_revision, upgrade
from gongshu.protect.errors import DecryptionFailed
from gongshu.protect.keystore import FileKeyStore
from gongshu.storage import objects

Progress = Callable[[str], None]


def read_manifest(src: Path, secret: str) -> tuple[dict, dict[str, bytes]]:
    """The backup's manifest, checked under ``secret``, and its keys directory."""
    path = Path(src) / archive.MANIFEST
    if not path.is_file():
        raise BackupIncomplete(
            f"备份不完整：缺少清单 {archive.MANIFEST}，可能在备份过程中中断：{src}"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        salt = base64.b64decode(manifest["salt"])
        keys_entry = manifest["keys"]
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupIncomplete(f"备份清单无法读取：{path}") from exc
    if manifest.get("format") != archive.FORMAT:
        raise BackupIncomplete(f"不支持的备份格式：{manifest.get('format')}")
    blob_path = Path(src) / archive.KEYS
    if not blob_path.is_file() or archive.file_hash(blob_path) != _size_hash(keys_entry):
        raise BackupIncomplete(f"备份中的密钥文件缺失或损坏：{blob_path}")
    try:
        keys = archive.open_keys(blob_path.read_bytes(), secret, salt)
    except DecryptionFailed as exc:
        raise WrongSecret(
            "实例密钥与备份时不同，无法解开备份中的密钥：请使用备份时的 GONGSHU_SECRET_KEY"
        ) from exc
    if not hmac.compare_digest(str(manifest.get("mac", "")), archive.mac(manifest, secret)):
        raise BackupIncomplete("备份清单被改动，校验码不符")
    return manifest, keys


def _size_hash(entry: dict) -> dict:
    return {"sha256": entry.get("sha256"), "bytes": entry.get("bytes")}


def restore(src: Path, settings: Settings, *, progress: Progress | None = None) -> dict:
    """Rebuild the instance of ``settings`` (an empty data directory, and an empty
    database when it is PostgreSQL) from the backup in ``src``; returns the manifest."""
    say = progress or (lambda _msg: None)
    src, target = Path(src), Path(settings.data_dir)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise TargetNotEmpty(f"恢复目标须为空目录：{target}")
    manifest, keys = read_manifest(src, settings.secret_key)
    url = make_url(settings.db_url)
    dialect = manifest["database"]["dialect"]
    if url.get_backend_name() != dialect:
        raise InvalidTarget(f"备份的元数据库为 {dialect}，恢复目标为 {url.get_backend_name()}")
    _check_files(src, manifest)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.restoring-{secrets.token_hex(4)}"
    staged = settings.model_copy(update={"data_dir": staging})
    staging.mkdir(mode=0o700)
    uploaded: list[tuple[objects.ObjectStore, str]] = []
    try:
        _restore_keys(staged.keys_dir, keys)
        _restore_files(src, staging, manifest)
        _upload_files(staged, uploaded, say)
        _restore_database(src, staged, manifest)
        say("数据与元数据已恢复，正在校验")
        _verify(staged, manifest)
        if target.exists():
            target.rmdir()  # empty, checked above
        os.replace(staging, target)
    except BaseException:
        for store, rel in uploaded:  # nothing half-restored stays on object storage
            with contextlib.suppress(Exception):
                store.delete(rel)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    say(f"恢复完成：{target}")
    return manifest


class InvalidTarget(TargetNotEmpty):
    """The target's database is of another kind than the backup's."""


def _check_files(src: Path, manifest: dict) -> None:
    database = manifest["database"]
    named = [
        (database["file"], database),
        *((f"{archive.FILES}/{k}", v) for k, v in manifest["files"].items()),
    ]
    for rel, entry in named:
        path = src / rel
        if not path.is_file() or archive.file_hash(path) != _size_hash(entry):
            raise BackupIncomplete(f"备份文件缺失或与清单不符：{rel}")


def _restore_keys(keys_dir: Path, keys: dict[str, bytes]) -> None:
    keys_dir.mkdir(mode=0o700)
    for name, data in keys.items():
        fd = os.open(keys_dir / Path(name).name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)


def _restore_files(src: Path, data_dir: Path, manifest: dict) -> None:
    for rel, entry in manifest["files"].items():
        dest = data_dir / rel
        if not dest.resolve().is_relative_to(data_dir.resolve()):
            raise BackupIncomplete(f"备份清单中的路径越出数据目录：{rel}")
        with open(src / archive.FILES / rel, "rb") as fh:
            if archive.copy_hashed(fh, dest) != _size_hash(entry):
                raise BackupIncomplete(f"备份文件与清单不符：{rel}")


def _upload_files(
    settings: Settings, uploaded: list[tuple[objects.ObjectStore, str]], say: Progress
) -> None:
    """An instance on object storage (``GONGSHU_STORAGE_URL``): move the restored stored
    files of each root into its store, which must hold nothing yet."""
    for name, store in objects.stores(settings).items():
        if not store.remote:
            continue
        if store.list():
            raise TargetNotEmpty(f"恢复目标的对象存储须为空：{store.uri('')}")
        root = Path(settings.data_dir) / name
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
        for path in files:
            rel = path.relative_to(root).as_posix()
            uploaded.append((store, rel))
            store.put(path, rel)  # the local copy becomes the read cache's
        shutil.rmtree(root, ignore_errors=True)
        if files:
            say(f"已上传 {len(files)} 个数据文件到对象存储")


def _restore_database(src: Path, settings: Settings, manifest: dict) -> None:
    url = make_url(settings.db_url)
    dump = src / manifest["database"]["file"]
    if url.get_backend_name() == "sqlite":
        with open(dump, "rb") as fh:
            archive.copy_hashed(fh, Path(url.database))
        return
    engine = create_engine(url, poolclass=NullPool)
    try:
        if inspect(engine).get_table_names():
            raise TargetNotEmpty(f"恢复目标数据库须为空：{url.database}")
    finally:
        engine.dispose()
    if shutil.which("pg_restore") is None:
        raise RestoreFailed("未找到 pg_restore，无法恢复 PostgreSQL 元数据库")
    done = subprocess.run(
        [
            "pg_restore",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={url.set(drivername='postgresql').render_as_string(hide_password=False)}",
            str(dump),
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RestoreFailed(f"pg_restore 失败：{done.stderr.strip()[-500:]}")


def _verify(settings: Settings, manifest: dict) -> None:
    """The restored instance proves itself: schema at head, key store under the secret,
    ledger against the backup's signed checkpoint and head."""
    engine = create_engine(make_url(settings.db_url), poolclass=NullPool)
    try:
        if manifest["database"].get("revision") != head_revision():
            upgrade(engine)  # a backup of an earlier release: migrate as `gongshu init` would
        store = FileKeyStore.from_settings(settings)
        for key_id in store.key_ids():
            store.get(key_id)  # KeyStoreLocked under another secret
        public = load_public_keys(settings.keys_dir)
        ledger = manifest["ledger"]
        with Session(engine) as session:
            report = verify(session, public)
            if not report.ok:
                raise RestoreFailed(f"恢复后的账本校验失败：{report.problem}")
            if ledger["checkpoint"] is not None:
                against = verify_against(session, [ledger["checkpoint"]], public_key=public)
                if not against.ok:
                    raise RestoreFailed(f"恢复后的账本与备份检查点不符：{against.problem}")
            head = session.execute(select(LedgerHead.size, LedgerHead.last_hash)).first()
            size, last = (head.size, head.last_hash) if head else (0, None)
            if (size, last) != (ledger["size"], ledger["last_hash"]):
                raise RestoreFailed("恢复后的账本头与备份清单不符")
    finally:
        engine.dispose()
