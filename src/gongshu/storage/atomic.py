"""Parquet files that appear whole or not at all.

A writer streams into a file of this process's scratch directory (``storage.scratch``:
``tmp/`` beside ``root``, the datasets directory or by default the destination's own
directory, so the final rename never crosses a file system), fsyncs it, then renames
it into place, journalled, and fsyncs the directory. A process killed half-way leaves
only its scratch directory, which the next sweep removes at once because the
process's lock is free (:func:`sweep_temp_files`).
"""

from __future__ import annotations

import hashlib
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from gongshu.storage import objects, scratch

TEMP_PREFIX = ".tmp-"  # temporary files of releases before scratch directories
COMPRESSION = "zstd"


class AtomicParquetWriter:
    """Stream batches to a temp file; :meth:`commit` renames it onto ``dest``.

    Used as a context manager, leaving the block with an exception (or
    without calling ``commit``) removes the temp file. ``session``: the transaction
    that will insert the row naming ``dest``; a rollback removes the file (see
    ``scratch.place``).
    """

    def __init__(
        self,
        dest: Path,
        schema: pa.Schema,
        *,
        root: Path | None = None,
        session: Session | None = None,
    ) -> None:
        self.dest = Path(dest)
        self.root = Path(root) if root is not None else self.dest.parent
        if not objects.at(self.root).remote:
            self.dest.parent.mkdir(parents=True, exist_ok=True)
        self.session = session
        self.tmp = scratch.new_path(self.root, self.dest.name)
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
        size = self.tmp.stat().st_size
        rel = self.dest.resolve().relative_to(self.root.resolve()).as_posix()
        scratch.place(self.tmp, self.root, rel, self.session)
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


def write_parquet_table(
    table: pa.Table, dest: Path, *, root: Path | None = None, session: Session | None = None
) -> tuple[int, int, str]:
    """Write ``table`` to ``dest`` atomically. Returns (rows, bytes, sha256 hex)."""
    with AtomicParquetWriter(Path(dest), table.schema, root=root, session=session) as writer:
        writer.write(table)
        return writer.commit()


def sweep_temp_files(directory: Path) -> int:
    """Remove what dead processes left for ``directory``: the scratch directories whose
    owner's lock is free, whatever their age (``scratch.sweep``), and ``.tmp-*`` files
    under ``directory`` of releases that wrote temporary files beside their destination
    (no process of this release writes one). Returns how many files went."""
    root = Path(directory)
    removed = scratch.sweep(root)
    if not root.is_dir():
        return removed
    for path in root.rglob(f"{TEMP_PREFIX}*"):
        try:
            if path.is_file():
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue  # another sweeper got there first
    return removed
