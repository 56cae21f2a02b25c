"""Tracing a leaked file back to its delivery (溯源; SEC-3, SHR-5)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import Organization, User
from gongshu.catalog.models import CatalogEntry
from gongshu.egress import query
from gongshu.egress.marking import door_keys, unmarked_columns
from gongshu.egress.models import Delivery
from gongshu.egress.service import reference_rows
from gongshu.errors import InvalidInput
from gongshu.ledger import record
from gongshu.protect.watermark import Mark
from gongshu.protect.watermark_trace import read_leak, trace_file


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
