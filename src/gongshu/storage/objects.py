"""One protocol for every stored file: the data directory, or S3-compatible object
storage (issue 19 items 1 and 4).

A stored file is named by its path relative to a *root* (the datasets directory:
versions, sealed column files, quarantines, product data; ``operation`` and
``instruments`` under the data directory: reports and signed documents). Each root has
one ``ObjectStore``:

- ``LocalStore`` (the embedded default): the files under the root itself, exactly as
  before: a finished temporary file is renamed into place and the directory fsynced.
- ``S3Store``: objects under ``s3://bucket/prefix/<root name>/<path>`` through
  ``pyarrow.fs.S3FileSystem`` (any S3-compatible server: SeaweedFS in the tests,
  MinIO, Ceph RGW, a cloud's). An object is uploaded under its final key only once its
  temporary file is complete (a PUT, or a multipart upload that completes, is atomic
  per object: a process killed mid-upload leaves no object), and a version becomes
  visible only when its metadata row commits; objects no row names are orphans and
  the start-up sweep removes them (``versions.sweep_orphans``), as it removes files.

Readers that need a local file (DuckDB's ``read_parquet``: there is no ``httpfs``
extension offline) get one from ``local``: on S3, a copy in the read cache
``<root>.cache/`` beside the root, downloaded once through scratch and renamed into
place. Stored names are never reused (a rewrite, a reseal or an erasure writes new
names), so a cached copy is never stale; the sweep drops copies no row names.
Arrow readers open the object itself (``source``: a random-access stream).

Which store a root has is decided once per process by the entry points
(``configure``, called by ``store.unlock_settings``) from ``GONGSHU_STORAGE_URL``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import urlsplit

import pyarrow as pa

from gongshu.errors import InvalidInput

CACHE_SUFFIX = ".cache"
CHUNK = 8 << 20
# The data directory's roots that hold stored files (backups read them from the store).
ROOTS = ("datasets", "operation", "instruments")


class ObjectStore(Protocol):
    remote: bool

    def put(self, tmp: Path, rel: str) -> None:
        """Make the complete file ``tmp`` the stored ``rel``, whole or not at all."""

    def source(self, rel: str) -> Path | pa.NativeFile:
        """Something ``pyarrow.parquet`` reads: a path, or a random-access stream."""

    def local(self, rel: str) -> Path:
        """A local file holding ``rel``'s bytes (the file itself, or a cached copy)."""

    def read_bytes(self, rel: str) -> bytes: ...

    def open(self, rel: str) -> BinaryIO:
        """The stored bytes as a stream, from the store itself (never a cached copy)."""

    def exists(self, rel: str) -> bool: ...

    def size(self, rel: str) -> int: ...

    def delete(self, rel: str) -> None:
        """Remove ``rel``; nothing when it is already gone."""

    def list(self, prefix: str = "") -> list[str]:
        """Every stored file under ``prefix`` (a directory path, relative to the root)."""

    def uri(self, rel: str) -> str:
        """A name for ``rel`` that is unique across stores (scratch journals it)."""

    def where(self, rel: str) -> Path | Remote:
        """Where a process on another machine (a Spark executor) reads ``rel``: the
        file's path (shared storage), or the object with no credentials in it."""


@dataclass
class LocalStore:
    root: Path
    remote: bool = False

    def put(self, tmp: Path, rel: str) -> None:
        from gongshu.storage.scratch import fsync_dir

        dest = self.root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, dest)
        fsync_dir(dest.parent)

    def source(self, rel: str) -> Path:
        return self.root / rel

    def local(self, rel: str) -> Path:
        return self.root / rel

    def read_bytes(self, rel: str) -> bytes:
        return (self.root / rel).read_bytes()

    def open(self, rel: str) -> BinaryIO:
        return open(self.root / rel, "rb")  # noqa: SIM115 - the caller closes it

    def exists(self, rel: str) -> bool:
        return (self.root / rel).is_file()

    def size(self, rel: str) -> int:
        return (self.root / rel).stat().st_size

    def delete(self, rel: str) -> None:
        (self.root / rel).unlink(missing_ok=True)

    def list(self, prefix: str = "") -> list[str]:
        base = self.root / prefix if prefix else self.root
        if not base.is_dir():
            return []
        return sorted(p.relative_to(self.root).as_posix() for p in base.rglob("*") if p.is_file())

    def uri(self, rel: str) -> str:
        return str((self.root / rel).resolve())

    def where(self, rel: str) -> Path:
        return self.root / rel


@dataclass
class S3Store:
    """Objects ``bucket/prefix/<rel>`` of an S3 file system; ``root`` is the local
    root whose files these are (its cache and scratch area live beside it)."""

    filesystem: Any  # pyarrow.fs.S3FileSystem
    bucket: str
    prefix: str
    root: Path
    remote: bool = True
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def key(self, rel: str) -> str:
        rel = rel.lstrip("/")
        if ".." in Path(rel).parts:
            raise InvalidInput(f"存储路径无效：{rel}")
        return "/".join(p for p in (self.bucket, self.prefix, rel) if p)

    @property
    def cache(self) -> Path:
        return self.root.with_name(self.root.name + CACHE_SUFFIX)

    def put(self, tmp: Path, rel: str) -> None:
        out = self.filesystem.open_output_stream(self.key(rel))
        try:
            with open(tmp, "rb") as fh:
                while chunk := fh.read(CHUNK):
                    out.write(chunk)
        except BaseException:
            # pyarrow completes an upload when its stream closes, even from the
            # destructor: close it here and delete what went up, so nothing stays.
            with contextlib.suppress(Exception):
                out.close()
            with contextlib.suppress(Exception):
                self.filesystem.delete_file(self.key(rel))
            raise
        out.close()  # the object appears now, whole
        cached = self.cache / rel
        cached.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, cached)  # the writer's own copy serves this process's reads

    def source(self, rel: str) -> Path | pa.NativeFile:
        cached = self.cache / rel
        if cached.is_file():
            return cached
        return self.filesystem.open_input_file(self.key(rel))

    def local(self, rel: str) -> Path:
        from gongshu.storage import scratch

        cached = self.cache / rel
        if cached.is_file():
            return cached
        tmp = scratch.new_path(self.cache, Path(rel).name)
        try:
            with self.filesystem.open_input_stream(self.key(rel)) as src, open(tmp, "xb") as out:
                shutil.copyfileobj(src, out, CHUNK)
            cached.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, cached)
        finally:
            tmp.unlink(missing_ok=True)
        return cached

    def read_bytes(self, rel: str) -> bytes:
        cached = self.cache / rel
        if cached.is_file():
            return cached.read_bytes()
        with self.filesystem.open_input_stream(self.key(rel)) as src:
            return src.read()

    def open(self, rel: str) -> BinaryIO:
        return self.filesystem.open_input_stream(self.key(rel))

    def exists(self, rel: str) -> bool:
        from pyarrow.fs import FileType

        return self.filesystem.get_file_info(self.key(rel)).type == FileType.File

    def size(self, rel: str) -> int:
        return self.filesystem.get_file_info(self.key(rel)).size

    def delete(self, rel: str) -> None:
        try:
            self.filesystem.delete_file(self.key(rel))
        except FileNotFoundError:
            pass
        (self.cache / rel).unlink(missing_ok=True)

    def list(self, prefix: str = "") -> list[str]:
        from pyarrow.fs import FileSelector, FileType

        base = self.key(prefix).rstrip("/") if prefix else self.key("").rstrip("/")
        start = len(self.key("").rstrip("/")) + 1
        found = self.filesystem.get_file_info(
            FileSelector(base, recursive=True, allow_not_found=True)
        )
        return sorted(i.path[start:] for i in found if i.type == FileType.File)

    def uri(self, rel: str) -> str:
        return f"s3://{self.key(rel)}"

    def where(self, rel: str) -> Remote:
        options = dict(self.filesystem.__reduce__()[1][0])
        for secret in ("access_key", "secret_key", "session_token"):
            options.pop(secret, None)
        return Remote(self.key(rel), options, self.filesystem)


@dataclass(frozen=True)
class Remote:
    """An object as another process reads it: its key (``bucket/prefix/rel``) and the
    S3 file system's options (endpoint, region, scheme...) without the credentials,
    which that process takes from its own environment (``GONGSHU_S3_ACCESS_KEY`` and
    ``GONGSHU_S3_SECRET_KEY``, set on every Spark worker): a task description never
    carries a secret."""

    key: str
    options: dict
    # The store's own file system in the process that made this (the driver); it is
    # not pickled, so a task re-creates one from ``options`` and its environment.
    local: Any = field(default=None, compare=False, repr=False)

    def __reduce__(self) -> tuple:
        return (Remote, (self.key, self.options))

    def filesystem(self) -> Any:  # noqa: ANN401 - pyarrow.fs.S3FileSystem
        from pyarrow.fs import S3FileSystem

        if self.local is not None:
            return self.local
        options = dict(self.options)
        access, secret = (os.environ.get(f"GONGSHU_S3_{k}_KEY") or "" for k in ("ACCESS", "SECRET"))
        if access and secret:
            options.update(access_key=access, secret_key=secret)
        return S3FileSystem._reconstruct(options)

    def open(self) -> pa.NativeFile:
        """The object as a random-access file (what ``pyarrow.parquet`` reads)."""
        try:
            return self.filesystem().open_input_file(self.key)
        except OSError as exc:
            raise InvalidInput(
                f"无法从对象存储读取 {self.key}：{exc}；Spark 工作节点须能访问对象存储，"
                "并在其环境中设置 GONGSHU_S3_ACCESS_KEY 与 GONGSHU_S3_SECRET_KEY"
            ) from exc


# ---------------------------------------------------------------- which store


_lock = threading.Lock()
_mounts: dict[Path, ObjectStore] = {}


def mount(root: Path, store: ObjectStore) -> None:
    with _lock:
        _mounts[Path(root).resolve()] = store


def unmount(root: Path) -> None:
    with _lock:
        _mounts.pop(Path(root).resolve(), None)


def at(root: Path) -> ObjectStore:
    """The store of ``root``: the one mounted for it, else its local files."""
    return _mounts.get(Path(root).resolve()) or LocalStore(Path(root))


def parse_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` as (bucket, prefix); a clear message otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme != "s3" or not parts.netloc:
        raise InvalidInput(
            f"存储位置 GONGSHU_STORAGE_URL 无效：{url}，应为 s3://存储桶/前缀，或不设置（本地目录）"
        )
    return parts.netloc, parts.path.strip("/")


def filesystem(settings: Any) -> Any:  # noqa: ANN401 - gongshu.config.Settings
    """The S3 file system of ``settings``."""
    from pyarrow.fs import S3FileSystem

    endpoint = settings.s3_endpoint
    kwargs: dict[str, Any] = {"region": settings.s3_region}
    if endpoint:
        scheme = urlsplit(endpoint).scheme
        if scheme not in ("http", "https"):
            raise InvalidInput(
                f"对象存储地址 GONGSHU_S3_ENDPOINT 无效：{endpoint}，应以 http:// 或 https:// 开头"
            )
        kwargs.update(endpoint_override=endpoint, scheme=scheme)
    if settings.s3_access_key or settings.s3_secret_key:
        if not (settings.s3_access_key and settings.s3_secret_key):
            raise InvalidInput("对象存储须同时设置 GONGSHU_S3_ACCESS_KEY 与 GONGSHU_S3_SECRET_KEY")
        kwargs.update(access_key=settings.s3_access_key, secret_key=settings.s3_secret_key)
    return S3FileSystem(**kwargs)


def stores(settings: Any) -> dict[str, ObjectStore]:  # noqa: ANN401
    """The store of each root of the instance of ``settings``, by root name."""
    roots = {name: Path(settings.data_dir) / name for name in ROOTS}
    if not settings.storage_url:
        return {name: LocalStore(root) for name, root in roots.items()}
    bucket, prefix = parse_url(settings.storage_url)
    fs = filesystem(settings)
    return {
        name: S3Store(fs, bucket, "/".join(p for p in (prefix, name) if p), root)
        for name, root in roots.items()
    }


def configure(settings: Any) -> None:  # noqa: ANN401 - gongshu.config.Settings
    """Mount the instance's roots on the store its settings name (entry points)."""
    for name, store in stores(settings).items():
        root = Path(settings.data_dir) / name
        if store.remote:
            mount(root, store)
        else:
            unmount(root)


def remove_cache(root: Path, keep: set[str]) -> int:
    """Drop cached copies under ``root``'s read cache that ``keep`` does not name."""
    store = at(root)
    if not isinstance(store, S3Store) or not store.cache.is_dir():
        return 0
    removed = 0
    for path in store.cache.rglob("*"):
        if path.is_file() and path.relative_to(store.cache).as_posix() not in keep:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
