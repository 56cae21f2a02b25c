"""Tracing a leaked file back to its delivery (溯源; SEC-3, SHR-5)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu import storage
from gongshu.accounts.models import Organization, User
from gongshu.catalog.models import CatalogEntry
from gongshu.egress import masking, query
from gongshu.egress.marking import door_keys, unmarked_columns
from gongshu.egress.models import Delivery, MaskingPolicy, MaskingPolicyVersion
from gongshu.egress.policies import plan
from gongshu.egress.versions import column_tags
from gongshu.errors import InvalidInput
from gongshu.ledger import record
from gongshu.protect.watermark import Mark
from gongshu.protect.watermark_trace import read_leak, trace_file
from gongshu.storage.models import DatasetVersion

BATCH_ROWS = 65536


def watermark_key(secret: str) -> bytes:
    """The key the egress door embeds with; tracing must use the same one."""
    return door_keys(secret).watermark


def _unmarked(entries: list[CatalogEntry]) -> set[str]:
    """Columns the door never marks in any of ``entries`` (``marking.unmarked_columns``)."""
    exact: set[str] = {query.ROW_ID}
    markable: set[str] = set()
    for entry in entries:
        never = set(unmarked_columns(entry.fields))
        exact |= never
        markable |= {f["name"] for f in entry.fields} - never
    return exact - markable


def _delivered_as(deliveries: list[Delivery], leaked: list[str]) -> Delivery | None:
    """The delivery standing for the way ``leaked`` was most likely delivered: its entry,
    version, columns and policy version cover the most of the leak's columns, add the
    fewest it lacks (a column the delivery never had would move its anchors), and were
    delivered most often."""
    have = set(leaked)
    shape = Counter(
        (d.entry_id, d.dataset_version_id, tuple(d.columns), d.policy_name, d.policy_version)
        for d in deliveries
    )

    def score(d: Delivery) -> tuple:
        cols = set(d.columns)
        key = (d.entry_id, d.dataset_version_id, tuple(d.columns), d.policy_name, d.policy_version)
        return (len(cols & have), -len(cols - have), shape[key], d.id)

    best = max(deliveries, key=score, default=None)
    return best if best is not None and set(best.columns) & have else None


def reference_rows(
    session: Session, like: Delivery, *, datasets_dir: Path, secret: str, row_ids: bool
) -> pa.Table | None:
    """The rows of ``like``'s entry version as the door delivered them in ``like`` (its
    columns, masked by its policy version; ``_id`` first with ``row_ids``), unmarked.

    Tracing uses them to give a leak back the columns a leaker dropped and repair
    exact values he altered (``watermark_trace.restore``); only canonical values are
    read, so the marks of any delivery would do as well. Pseudonyms are keyed per
    recipient: they come out under another purpose and simply never match. None
    when the version or the policy version is gone."""
    version = session.get(DatasetVersion, like.dataset_version_id)
    entry = session.get(CatalogEntry, like.entry_id)
    rules = session.scalar(
        select(MaskingPolicyVersion.rules)
        .join(MaskingPolicy, MaskingPolicy.id == MaskingPolicyVersion.policy_id)
        .where(MaskingPolicy.name == like.policy_name)
        .where(MaskingPolicyVersion.version_no == like.policy_version)
    )
    if version is None or entry is None or rules is None:
        return None
    available = {c["name"] for c in version.columns}
    columns = [c for c in like.columns if c in available]
    if not columns:
        return None
    actions = plan(columns, column_tags(entry, version), rules)
    local = storage.objects.at(datasets_dir).local(version.path)
    q = query.Query(str(local), columns, row_ids=row_ids)
    pseudonyms = door_keys(secret).pseudonyms
    distinct = masking.Distinct()
    batches = []
    con = query.connection()
    try:
        q.source = storage.relation(con, datasets_dir, version, row_numbers=row_ids)
        q.sealed = frozenset((version.sealed or {}).get("columns") or [])
        sql, args = q.select(0, None)
        for batch in con.sql(sql, params=args).to_arrow_reader(BATCH_ROWS):
            masked = masking.decoded(masking.mask(batch, actions, pseudonyms, "trace", distinct))
            if row_ids:
                masked = pa.RecordBatch.from_arrays(
                    [batch.column(0), *masked.columns], names=[query.ROW_ID, *masked.schema.names]
                )
            batches.append(masked)
    finally:
        con.close()
    return pa.Table.from_batches(batches) if batches else None


def trace_leak(
    session: Session,
    leaked: Path,
    *,
    secret: str,
    entry_id: int | None = None,
    by: str = "cli",
    datasets_dir: Path | None = None,
) -> dict:
    """Compare ``leaked`` with every watermarked delivery; name the source if the evidence
    clears the false-attribution threshold, and record the trace in the ledger.

    With ``datasets_dir`` the leak is traced with the rows of the entry it most likely
    comes from as the door delivers them (``reference_rows``): columns the leaker
    dropped are given back, so the cells they anchored count again."""
    if not leaked.is_file():
        raise InvalidInput(f"文件不存在：{leaked}")
    stmt = select(Delivery).where(Delivery.watermarked.is_(True))
    if entry_id is not None:
        stmt = stmt.where(Delivery.entry_id == entry_id)
    deliveries = {d.token: d for d in session.scalars(stmt)}
    if not deliveries:
        raise InvalidInput("没有带水印的交付记录可供比对")
    marks = [Mark(d.recipient, d.token, d.entry_id) for d in deliveries.values()]
    entries = session.scalars(
        select(CatalogEntry).where(CatalogEntry.id.in_({m.entry_id for m in marks}))
    ).all()
    table = read_leak(leaked)
    reference = None
    like = _delivered_as(list(deliveries.values()), table.column_names)
    if datasets_dir is not None and like is not None:
        reference = reference_rows(
            session,
            like,
            datasets_dir=datasets_dir,
            secret=secret,
            row_ids=query.ROW_ID in table.column_names,
        )
    verdict = trace_file(
        table, marks, watermark_key(secret), unmarked=_unmarked(entries), reference=reference
    )
    verdict["reference_rows"] = 0 if reference is None else reference.num_rows
    if verdict["attributed"]:
        d = deliveries[verdict["delivery_id"]]
        kind, _, ident = d.recipient.partition(":")
        holder = session.get(User if kind == "user" else Organization, int(ident))
        verdict["recipient_name"] = getattr(holder, "display_name", None) or getattr(
            holder, "name", None
        )
        verdict["delivery"] = {
            "delivered_at": d.created_at.isoformat(),
            "grant": d.grant_id,
            "purpose": d.purpose,
            "rows": d.rows,
            "format": d.format,
            "sha256": d.sha256,
        }
    record(
        session,
        "egress.traced",
        actor=by,
        subject=f"file:{leaked.name}",
        payload={
            "attributed": verdict["attributed"],
            "delivery": verdict["delivery_id"],
            "recipient": verdict["recipient"],
            "p_value": verdict["p_value"],
            "candidates": len(marks),
            "reference_rows": verdict["reference_rows"],
        },
    )
    return verdict
