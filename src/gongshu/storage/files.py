"""Writing a version's stored files: the plain columns, and the sensitive ones sealed.

One pass over the batches writes the ordinary columns to a Parquet file (through the
process's scratch directory, renamed into place) and the sensitive columns, frame by
frame, each frame sealed with SM4-GCM under the key store before it touches the disk
(SEC-9; ``store.SealedWriter``). Loads, erasures and the sealing of older versions all write
through here, so the whole table never lies on disk in the clear, not even in a
temporary file (issue 20 item 3).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from gongshu.storage import objects, scratch
from gongshu.storage.atomic import AtomicParquetWriter
from gongshu.storage.models import DatasetVersion
from gongshu.storage.store import SEALED_SUFFIX, SealedWriter, keystore, record_sealed


@dataclass
class StoredFiles:
    path: str  # the plain file, relative to the datasets directory
    sealed: dict | None  # the sealed companion's metadata (DatasetVersion.sealed)
    rows: int
    bytes: int  # of the plain file
    sha256: str  # of the plain file


def write_version(
    session: Session | None,
    datasets_dir: Path,
    stem: str,
    schema: pa.Schema,
    batches: Iterable[pa.RecordBatch | pa.Table],
    sealed: list[str],
) -> StoredFiles:
    """Write ``batches`` as ``<stem>.parquet``, or, when ``sealed`` names columns, as
    ``<stem>-p.parquet`` (the rest) and ``<stem>.sealed`` (those columns, encrypted).

    ``stem`` is relative to ``datasets_dir`` (``entry-3/v2-ab12``). ``session``: the
    transaction that will insert the row; a rollback removes the files.
    """
    sealed = [c for c in schema.names if c in set(sealed)]
    if not sealed:
        rel = f"{stem}.parquet"
        with AtomicParquetWriter(
            datasets_dir / rel, schema, root=datasets_dir, session=session
        ) as w:
            for batch in batches:
                w.write(batch)
            rows, size, sha = w.commit()
        return StoredFiles(rel, None, rows, size, sha)
    store = keystore(datasets_dir)  # fail before writing anything when it is locked
    keep = [c for c in schema.names if c not in sealed]
    rel, sealed_rel = f"{stem}-p.parquet", f"{stem}{SEALED_SUFFIX}"
    plain_schema = pa.schema([schema.field(c) for c in keep])
    with AtomicParquetWriter(
        datasets_dir / rel, plain_schema, root=datasets_dir, session=session
    ) as plain:
        # Sealed frame by frame as the rows come (one frame in memory at a time).
        secret = SealedWriter(
            datasets_dir,
            sealed_rel,
            pa.schema([schema.field(c) for c in sealed]),
            store,
            session=session,
        )
        try:
            for batch in batches:
                table = (
                    pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
                )
                plain.write(table.select(keep))
                secret.write(table.select(sealed))
        except BaseException:
            secret.abort()
            raise
        # The sealed file is durable before the plain file appears.
        info = secret.close()
        rows, size, sha = plain.commit()
    info.update(columns=sealed, order=list(schema.names))
    return StoredFiles(rel, info, rows, size, sha)


def write_file(
    chunks: Iterable[bytes], dest: Path, *, root: Path, session: Session | None = None
) -> tuple[int, str]:
    """Write ``chunks`` to ``dest`` through scratch, renamed into place. (bytes, sha256)."""
    tmp = scratch.new_path(root, dest.name)
    digest, size = hashlib.sha256(), 0
    try:
        with open(tmp, "xb") as fh:
            for chunk in chunks:
                fh.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        scratch.place(
            tmp, root, dest.resolve().relative_to(Path(root).resolve()).as_posix(), session
        )
    finally:
        tmp.unlink(missing_ok=True)
    return size, digest.hexdigest()


def seal(
    session: Session,
    version: DatasetVersion,
    columns: Iterable[str],
    *,
    datasets_dir: Path,
    by: str,
) -> DatasetVersion:
    """Move ``columns`` of a version stored in the clear (before sealing existed) into
    its sealed companion file.

    Both new files (the sealed columns, and the plain remainder under a new name) are
    written and fsynced before the row points at them, so a failed commit leaves the
    row on the old, whole file; the start-up sweep removes that once unreferenced.
    """
    names = {col["name"] for col in version.columns}
    columns = [c for c in columns if c in names]
    if not columns or version.sealed:
        return version
    source = pq.ParquetFile(objects.at(datasets_dir).source(version.path), pre_buffer=False)
    try:
        stored = write_version(
            session,
            datasets_dir,
            version.path.removesuffix(".parquet"),
            source.schema_arrow,
            source.iter_batches(batch_size=65536),
            columns,
        )
    finally:
        source.close()
    version.sealed, version.path = stored.sealed, stored.path
    session.flush()
    record_sealed(session, version, by)
    return version
