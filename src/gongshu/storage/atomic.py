"""Parquet files that appear whole or not at all.

A writer streams into ``.tmp-<name>.<pid>.<random>`` in the destination's
own directory (so the final rename never crosses a file system), fsyncs it,
then ``os.replace``-s it into place and fsyncs the directory. A process
killed half-way leaves only the ``.tmp-`` file, which
:func:`sweep_temp_files` removes at the next start.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.parquet as pq

TEMP_PREFIX = ".tmp-"
COMPRESSION = "zstd"


class AtomicParquetWriter:
    """Stream batches to a temp file; :meth:`commit` renames it onto ``dest``.

    Used as a context manager, leaving the block with an exception (or
    without calling ``commit``) removes the temp file.
    """

    def __init__(self, dest: Path, schema: pa.Schema) -> None:
        self.dest = Path(dest)
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        token = f"{os.getpid()}.{secrets.token_hex(4)}"
        self.tmp = self.dest.parent / f"{TEMP_PREFIX}{self.dest.name}.{token}"
        self.rows = 0
        self._writer: pq.ParquetWriter | None = pq.ParquetWriter(
            self.tmp, schema, compression=COMPRESSION
        )
        self._done = False
        # One background thread encodes and writes while the caller prepares
        # the next batch; at most one batch is in flight, so memory stays bounded.
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending: Future | None = None

    def write(self, data: pa.RecordBatch | pa.Table) -> None:
        if self._writer is None:
            raise RuntimeError("writer already closed")
        if data.num_rows:
            self._wait()
            self._pending = self._pool.submit(self._writer.write, data)
            self.rows += data.num_rows

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def commit(self) -> tuple[int, int, str]:
        """Close, fsync and rename into place. Returns (rows, bytes, sha256 hex)."""
        if self._writer is None:
            raise RuntimeError("writer already closed")
        self._wait()
        self._pool.shutdown()
        self._writer.close()
        self._writer = None
        digest = hashlib.sha256()
        with open(self.tmp, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
            os.fsync(fh.fileno())
        size = self.tmp.stat().st_size
        os.replace(self.tmp, self.dest)
        _fsync_dir(self.dest.parent)
        self._done = True
        return self.rows, size, digest.hexdigest()

    def abort(self) -> None:
        """Drop everything written so far; idempotent."""
        if self._writer is not None:
            try:
                self._wait()
            except Exception:  # noqa: BLE001 - the file is being thrown away anyway
                pass
            self._pool.shutdown()
            try:
                self._writer.close()
            except Exception:  # noqa: BLE001 - the file is being thrown away anyway
                pass
            self._writer = None
        if not self._done:
            self.tmp.unlink(missing_ok=True)
            self._done = True

    def __enter__(self) -> AtomicParquetWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.abort()


def write_parquet_table(table: pa.Table, dest: Path) -> tuple[int, int, str]:
    """Write ``table`` to ``dest`` atomically. Returns (rows, bytes, sha256 hex)."""
    with AtomicParquetWriter(Path(dest), table.schema) as writer:
        writer.write(table)
        return writer.commit()


def sweep_temp_files(directory: Path, older_than_seconds: float = 0) -> int:
    """Remove ``.tmp-*`` files left under ``directory`` (recursively) by killed loads.

    Only files at least ``older_than_seconds`` old are removed, so a sweep
    running beside a live load can leave its temp file alone. Returns how
    many were removed.
    """
    root = Path(directory)
    if not root.is_dir():
        return 0
    cutoff = time.time() - older_than_seconds
    removed = 0
    for path in root.rglob(f"{TEMP_PREFIX}*"):
        try:
            if path.is_file() and path.stat().st_mtime <= cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue  # another sweeper or the load itself got there first
    return removed


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
