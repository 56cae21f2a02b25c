"""Deleting or correcting one person's rows: a new dataset version plus tombstones.

Versions are immutable (AGG-1), so a deletion (PIP-6) or a correction (PIP-5)
writes a new Parquet version of the entry without (or with corrected) rows,
atomically, and records a tombstone naming the person's hash, the entry, the
old version and its row numbers. The egress door then serves the new version
even to grants pinned to an older one (``egress.versions.version_for``). The old
file is read here, inside the platform; nothing leaves.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu import storage
from gongshu.accounts.models import User
from gongshu.errors import InvalidInput
from gongshu.ledger import record
from gongshu.privacy.models import Tombstone
from gongshu.storage.models import DatasetVersion

BATCH_ROWS = 65536


def _rewrite(
    session: Session,
    version: DatasetVersion,
    change,  # noqa: ANN001 - (batch, mask of the person's rows) -> batch
    *,
    rows: pa.Array,
    actor: User,
    reason: str,
    datasets_dir: Path,
) -> DatasetVersion:
    """Stream the old file batch by batch through ``change`` into a new version.

    pyarrow reads the stored file with its own schema, so the new version keeps
    every column type; row numbers are counted across batches.
    """
    src = storage.stream(datasets_dir, version, rows_per_batch=BATCH_ROWS)  # sealed columns too
    stem = f"entry-{version.entry_id}/r{version.version_no}-{uuid.uuid4().hex[:12]}"

    def changed():  # noqa: ANN202
        offset = 0
        for batch in src.batches:
            numbers = pa.array(np.arange(offset, offset + batch.num_rows, dtype=np.int64))
            offset += batch.num_rows
            yield change(batch, pc.is_in(numbers, value_set=rows))

    # The new version seals what the old one sealed (SEC-9), as it is written: the
    # whole table is never on disk in the clear.
    sealed = (version.sealed or {}).get("columns") or []
    stored = storage.write_version(
        session, datasets_dir, stem, storage.schema(datasets_dir, version), changed(), sealed
    )
    try:
        new = storage.derive(
            session,
            version,
            Path(stored.path),
            rows=stored.rows,
            size=stored.bytes,
            sha256=stored.sha256,
            by=actor.actor,
            reason=reason,
        )
        storage.supersede(session, version.entry_id, up_to=version.version_no, by=new)
        if stored.sealed:
            new.sealed = stored.sealed
            session.flush()
            storage.record_sealed(session, new, actor.actor)
        return new
    except BaseException:
        storage.objects.at(datasets_dir).delete(stored.path)
        if stored.sealed:
            storage.objects.at(datasets_dir).delete(stored.sealed["path"])
        raise


def _tombstone(
    session: Session,
    *,
    kind: str,
    person: str,
    request_id: int | None,
    old: DatasetVersion,
    new: DatasetVersion,
    rows: list[int],
    columns: list[str],
    actor: User,
) -> Tombstone:
    stone = Tombstone(
        person_hash=person,
        entry_id=old.entry_id,
        request_id=request_id,
        kind=kind,
        old_version_id=old.id,
        old_version_no=old.version_no,
        new_version_id=new.id,
        row_numbers=list(rows),
        columns=columns,
        actor=actor.actor,
    )
    session.add(stone)
    session.flush()
    record(
        session,
        f"privacy.rows_{kind}",
        actor=actor.actor,
        subject=f"entry:{old.entry_id}",
        payload={
            "tombstone": stone.id,
            "person": person,
            "request": request_id,
            "old_version": old.version_no,
            "new_version": new.version_no,
            "rows": len(rows),
            "columns": columns,
        },
    )
    return stone


def erase(
    session: Session,
    version: DatasetVersion,
    rows: list[int],
    *,
    person: str,
    request_id: int | None,
    actor: User,
    datasets_dir: Path,
    masker=None,  # noqa: ANN001 - batch -> batch masking mentions in text (finder)
    masked_columns: list[str] | None = None,
) -> Tombstone:
    """A new version without ``rows`` of ``version`` (PIP-6), and its tombstone.

    ``masker`` masks the person's mentions in other rows' free text and JSON
    (issue 21 item 5): those rows stay, their ``masked_columns`` are recorded."""
    if not rows and masker is None:
        raise InvalidInput("没有需要删除的记录")

    def change(batch: pa.RecordBatch, mask: pa.Array) -> pa.RecordBatch:
        kept = batch.filter(pc.invert(mask))
        return masker(kept) if masker is not None else kept

    new = _rewrite(
        session,
        version,
        change,
        rows=pa.array(sorted(rows), pa.int64()),
        actor=actor,
        reason="依个人申请删除记录",
        datasets_dir=datasets_dir,
    )
    return _tombstone(
        session,
        kind="deleted",
        person=person,
        request_id=request_id,
        old=version,
        new=new,
        rows=rows,
        columns=sorted(masked_columns or []),
        actor=actor,
    )


def correct(
    session: Session,
    version: DatasetVersion,
    rows: list[int],
    values: dict[str, str],
    *,
    person: str,
    request_id: int | None,
    actor: User,
    datasets_dir: Path,
) -> Tombstone:
    """A new version with ``values`` set in ``rows`` (PIP-5 correct/supplement)."""
    if not rows or not values:
        raise InvalidInput("须指明更正的记录和字段")
    schema = storage.schema(datasets_dir, version)
    scalars = {}
    for col, value in values.items():
        if col not in schema.names:
            raise InvalidInput(f"更正的字段不存在：{col}")
        try:
            scalars[col] = pa.scalar(value, pa.string()).cast(schema.field(col).type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise InvalidInput(f"「{col}」的更正值格式不符：{value}") from exc

    def change(batch: pa.RecordBatch, mask: pa.Array) -> pa.RecordBatch:
        if not pc.any(mask).as_py():
            return batch
        arrays = [
            pc.if_else(mask, scalars[name], batch.column(i)) if name in scalars else batch.column(i)
            for i, name in enumerate(batch.schema.names)
        ]
        return pa.RecordBatch.from_arrays(arrays, schema=batch.schema)

    new = _rewrite(
        session,
        version,
        change,
        rows=pa.array(sorted(rows), pa.int64()),
        actor=actor,
        reason="依个人申请更正记录",
        datasets_dir=datasets_dir,
    )
    return _tombstone(
        session,
        kind="corrected",
        person=person,
        request_id=request_id,
        old=version,
        new=new,
        rows=rows,
        columns=sorted(values),
        actor=actor,
    )


def erased_since(session: Session, entry_id: int, version_no: int) -> bool:
    """Did a deletion or correction supersede ``version_no`` of the entry or a later one?"""
    return (
        session.scalar(
            select(Tombstone.id)
            .where(Tombstone.entry_id == entry_id, Tombstone.old_version_no >= version_no)
            .limit(1)
        )
        is not None
    )
