"""Deleting or correcting one person's rows: a new dataset version plus tombstones.

Versions are immutable (AGG-1), so a deletion (PIP-6) or a correction (PIP-5)
writes a new Parquet version of the entry without (or with corrected) rows,
atomically, and records a tombstone naming the person's hash, the entry, the
old version and its row numbers. The egress door then serves the new version
even to grants pinned to an older one (``egress.service._version``). The old
file is read here, inside the platform; nothing leaves.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import User
from gongshu.datasets import service as datasets
from gongshu.datasets.atomic import write_parquet_table
from gongshu.datasets.models import DatasetVersion
from gongshu.errors import InvalidInput
from gongshu.ledger import record
from gongshu.privacy.models import Tombstone


def _read(path: Path) -> pa.Table:
    con = duckdb.connect()
    try:
        return con.sql(
            "SELECT * FROM read_parquet(?, file_row_number = true) ORDER BY file_row_number",
            params=[str(path)],
        ).to_arrow_table()
    finally:
        con.close()


def _mask(table: pa.Table, rows: list[int]) -> pa.Array:
    return pc.is_in(table.column("file_row_number"), value_set=pa.array(rows, pa.int64()))


def _write(
    session: Session,
    version: DatasetVersion,
    table: pa.Table,
    *,
    actor: User,
    reason: str,
    datasets_dir: Path,
) -> DatasetVersion:
    table = table.drop_columns(["file_row_number"])
    rel = (
        Path(f"entry-{version.entry_id}") / f"r{version.version_no}-{uuid.uuid4().hex[:12]}.parquet"
    )
    dest = datasets_dir / rel
    rows, size, sha = write_parquet_table(table, dest)
    try:
        return datasets.insert_derived(
            session, version, rel, rows=rows, size=size, sha256=sha, actor=actor, reason=reason
        )
    except BaseException:
        dest.unlink(missing_ok=True)
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
) -> Tombstone:
    """A new version without ``rows`` of ``version`` (PIP-6), and its tombstone."""
    if not rows:
        raise InvalidInput("没有需要删除的记录 (rows)")
    table = _read(datasets_dir / version.path)
    kept = table.filter(pc.invert(_mask(table, rows)))
    new = _write(
        session, version, kept, actor=actor, reason="依个人申请删除记录", datasets_dir=datasets_dir
    )
    return _tombstone(
        session,
        kind="deleted",
        person=person,
        request_id=request_id,
        old=version,
        new=new,
        rows=rows,
        columns=[],
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
        raise InvalidInput("须指明更正的记录和字段 (rows, values)")
    table = _read(datasets_dir / version.path)
    mask = _mask(table, rows)
    for col, value in values.items():
        if col not in table.column_names or col == "file_row_number":
            raise InvalidInput(f"更正的字段不存在 (column)：{col}")
        idx = table.column_names.index(col)
        kind = table.schema.field(idx).type
        try:
            scalar = pa.scalar(value, pa.string()).cast(kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise InvalidInput(f"「{col}」的更正值格式不符 (value)：{value}") from exc
        column = pc.if_else(mask, scalar, table.column(col))
        table = table.set_column(idx, table.schema.field(idx), column)
    new = _write(
        session, version, table, actor=actor, reason="依个人申请更正记录", datasets_dir=datasets_dir
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
