"""Backups kept on object storage: ``gongshu backup s3://bucket/prefix`` and
``gongshu restore s3://bucket/prefix`` (issue 19 item 4).

The format is the backup directory's (``archive``), each file one object under the
prefix. A backup is taken into this process's scratch directory (swept if the
process dies), then uploaded file by file with ``manifest.json`` last: a backup
killed half-way has no manifest object, and ``restore`` refuses it as it refuses a
directory without one. A restore downloads the objects into a hidden directory
beside the target and restores from there, so every file is checked against the
manifest as from a disk. The credentials are the instance's (``GONGSHU_S3_*``).
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

from gongshu.backup import archive
from gongshu.backup.errors import BackupFailed, BackupIncomplete, TargetNotEmpty
from gongshu.config import Settings
from gongshu.storage import objects, scratch

Progress = Callable[[str], None]


def is_remote(location: str) -> bool:
    return location.strip().lower().startswith("s3://")


def _where(settings: Settings, url: str):  # noqa: ANN202 - (filesystem, base key)
    bucket, prefix = objects.parse_url(url)
    return objects.filesystem(settings), "/".join(p for p in (bucket, prefix) if p)


def _listing(fs, base: str) -> list[str]:  # noqa: ANN001
    from pyarrow.fs import FileSelector, FileType

    try:
        found = fs.get_file_info(FileSelector(base, recursive=True, allow_not_found=True))
    except OSError as exc:
        raise BackupFailed(
            f"无法访问对象存储 s3://{base}：请检查 GONGSHU_S3_ENDPOINT 与访问密钥"
        ) from exc
    return sorted(i.path[len(base) + 1 :] for i in found if i.type == FileType.File)


def take(settings: Settings, url: str, *, progress: Progress | None = None) -> dict:
    """A backup of the instance, stored under ``url`` (which must hold nothing yet)."""
    from gongshu.backup import snapshot

    fs, base = _where(settings, url)
    if _listing(fs, base):
        raise TargetNotEmpty(f"备份目标须为空：{url}")
    staging = scratch.new_path(settings.datasets_dir, "backup")
    try:
        manifest = snapshot.take(settings, staging, progress=progress)
        names = [p for p in sorted(staging.rglob("*")) if p.is_file()]
        last = staging / archive.MANIFEST
        for path in [p for p in names if p != last] + [last]:  # the manifest last
            with (
                open(path, "rb") as src,
                fs.open_output_stream(f"{base}/{path.relative_to(staging).as_posix()}") as out,
            ):
                shutil.copyfileobj(src, out, objects.CHUNK)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if progress:
        progress(f"备份已上传到对象存储：{url}")
    return manifest


def restore(url: str, settings: Settings, *, progress: Progress | None = None) -> dict:
    """Restore the backup stored under ``url`` into the instance of ``settings``."""
    from gongshu.backup import restore as local

    fs, base = _where(settings, url)
    names = _listing(fs, base)
    if archive.MANIFEST not in names:
        raise BackupIncomplete(f"备份不完整：缺少清单 {archive.MANIFEST}：{url}")
    target = Path(settings.data_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.download-{secrets.token_hex(4)}"
    try:
        for name in names:
            dest = staging / name
            if not dest.resolve().is_relative_to(staging.resolve()):
                raise BackupIncomplete(f"备份中的路径无效：{name}")
            dest.parent.mkdir(parents=True, exist_ok=True)
            with fs.open_input_stream(f"{base}/{name}") as src, open(dest, "xb") as out:
                shutil.copyfileobj(src, out, objects.CHUNK)
        return local.restore(staging, settings, progress=progress)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
