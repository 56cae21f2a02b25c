"""Rewriting a stored version without some rows, keeping the version (PIP-4, PIP-6).

Versions are immutable for every purpose but one: an erased person's rows are
taken out of every stored version and quarantine (issue 16 item 7). The version
keeps its id and number; its files are replaced:

1. the version (or its quarantine of rejected rows) is streamed through the
   caller's change into new files under new names, written through scratch,
   fsynced and renamed into place (``files.write_version``; the sensitive columns
   sealed as they are written, the quarantine sealed whole);
2. the row is pointed at the new files, its row count, size and content hash
   updated, and the rewrite recorded in the ledger (``storage.erasure_rewrite``:
   old and new hash and row counts, the reason and the erasure that asked), so a
   changed hash is an erasure on record, not tampering;
3. the old files are unlinked when that transaction commits.

A process killed before the commit leaves the row on the old files; the new ones
are in its scratch journal and the start-up sweep removes them. Killed after the
commit and before the unlink, the old files are no longer referenced and the same
sweep removes them. Either way a reader sees the old version whole or the new one
whole, never a half-written file, and no copy stays in scratch.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import event
from sqlalchemy.orm import Session

from gongshu.ledger import entries, record
from gongshu.storage import objects
from gongshu.storage.atomic import COMPRESSION
from gongshu.storage.files import write_version
from gongshu.storage.models import DatasetVersion
from gongshu.storage.store import open_file, schema, seal_bytes, stream

REWRITTEN = "storage.erasure_rewrite"
BATCH_ROWS = 65536
_DOOMED = "gongshu.storage.doomed"  # session.info: [(root, rel)] to delete after commit


def _doom(session: Session, datasets_dir: Path, rels: list[str | None]) -> None:
    doomed = session.info.setdefault(_DOOMED, [])
    doomed.extend((Path(datasets_dir), rel) for rel in rels if rel)


@event.listens_for(Session, "after_commit")
def _unlink_doomed(session: Session) -> None:
    for root, rel in session.info.pop(_DOOMED, []):
        objects.at(root).delete(rel)


@event.listens_for(Session, "after_rollback")
def _keep_doomed(session: Session) -> None:
    session.info.pop(_DOOMED, None)  # the row still names them


def _stem(version: DatasetVersion) -> str:
    return f"entry-{version.entry_id}/v{version.version_no}-e{uuid.uuid4().hex[:12]}"


def rewrite_version(
    session: Session,
    datasets_dir: Path,
    version: DatasetVersion,
    change: Callable[[pa.RecordBatch, pa.Array], pa.RecordBatch],
    *,
    rows: list[int],
    by: str,
    reason: str,
    ref: str,
) -> dict:
    """Replace ``version``'s files by its rows streamed through ``change(batch, mask)``
    (``mask``: the batch's rows whose 0-based number is in ``rows``). Same id, number,
    columns and sealing. Returns what the ledger entry records."""
    wanted = pa.array(sorted(rows), pa.int64())
    src = stream(datasets_dir, version, rows_per_batch=BATCH_ROWS)

    def changed():  # noqa: ANN202
        offset = 0
        for batch in src.batches:
            numbers = pa.array(np.arange(offset, offset + batch.num_rows, dtype=np.int64))
            offset += batch.num_rows
            yield change(batch, pc.is_in(numbers, value_set=wanted))

    sealed = (version.sealed or {}).get("columns") or []
    stored = write_version(
        session, datasets_dir, _stem(version), schema(datasets_dir, version), changed(), sealed
    )
    old_files = [version.path, (version.sealed or {}).get("path")]
    facts = {
        "dataset_version": version.id,
        "version_no": version.version_no,
        "file": "version",
        "reason": reason,
        "ref": ref,
        "old_sha256": version.sha256,
        "new_sha256": stored.sha256,
        "old_rows": version.rows,
        "new_rows": stored.rows,
    }
    version.path, version.rows = stored.path, stored.rows
    version.bytes, version.sha256 = stored.bytes, stored.sha256
    if stored.sealed:
        version.sealed = stored.sealed
    session.flush()
    _doom(session, datasets_dir, old_files)
    record(session, REWRITTEN, actor=by, subject=f"entry:{version.entry_id}", payload=facts)
    return facts


def rewrite_quarantine(
    session: Session,
    datasets_dir: Path,
    version: DatasetVersion,
    change: Callable[[pa.Table], pa.Table],
    *,
    by: str,
    reason: str,
    ref: str,
) -> dict | None:
    """Replace the version's quarantine of rejected rows by ``change(table)``, sealed
    whole; None when it has none or ``change`` kept every row as it was."""
    if not version.quarantine_path:
        return None
    table = open_file(datasets_dir, version.quarantine_path)
    kept = change(table)
    if kept.num_rows == table.num_rows and kept.equals(table):
        return None
    buffer = io.BytesIO()
    pq.write_table(kept, buffer, compression=COMPRESSION)
    data = buffer.getvalue()
    new = seal_bytes(datasets_dir, f"{_stem(version)}.quarantine.parquet", data, session=session)
    facts = {
        "dataset_version": version.id,
        "version_no": version.version_no,
        "file": "quarantine",
        "reason": reason,
        "ref": ref,
        "old_rows": table.num_rows,
        "new_rows": kept.num_rows,
    }
    old = version.quarantine_path
    version.quarantine_path = new
    session.flush()
    _doom(session, datasets_dir, [old])
    record(session, REWRITTEN, actor=by, subject=f"entry:{version.entry_id}", payload=facts)
    return facts


def trail(session: Session, version: DatasetVersion) -> list[dict]:
    """The version's erasure rewrites of its stored file, from the ledger, oldest first."""
    found = entries(
        session,
        subject=f"entry:{version.entry_id}",
        action_prefix=REWRITTEN,
        limit=100000,
        newest_first=False,
    )
    return [
        e.payload
        for e in found
        if e.action == REWRITTEN
        and (e.payload or {}).get("dataset_version") == version.id
        and e.payload.get("file") == "version"
    ]


def verify(session: Session, datasets_dir: Path, version: DatasetVersion) -> list[str]:
    """Why the version's changed content hash is *not* explained by erasures on record
    (empty when it is, or when it was never rewritten): each rewrite starts from the
    hash the one before it left, the last one left the row's hash, and the stored
    file has that hash."""
    steps = trail(session, version)
    if not steps:
        return []
    problems = [
        f"rewrite {i + 2} starts from {b['old_sha256']}, not {a['new_sha256']}"
        for i, (a, b) in enumerate(zip(steps, steps[1:], strict=False))
        if a["new_sha256"] != b["old_sha256"]
    ]
    if steps[-1]["new_sha256"] != version.sha256:
        problems.append(
            f"the last rewrite left {steps[-1]['new_sha256']}, the row says {version.sha256}"
        )
    digest = hashlib.sha256()
    with objects.at(datasets_dir).open(version.path) as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    if digest.hexdigest() != version.sha256:
        problems.append(
            f"the stored file's hash is {digest.hexdigest()}, the row says {version.sha256}"
        )
    return problems
