"""Tracing a leaked file back to its delivery (溯源; SEC-3, SHR-5)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import Organization, User
from gongshu.catalog.models import CatalogEntry
from gongshu.egress import query
from gongshu.egress.marking import door_keys, unmarked_columns
from gongshu.egress.models import Delivery
from gongshu.errors import InvalidInput
from gongshu.ledger import record
from gongshu.protect.watermark import Mark
from gongshu.protect.watermark_trace import trace_file


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


def trace_leak(
    session: Session, leaked: Path, *, secret: str, entry_id: int | None = None, by: str = "cli"
) -> dict:
    """Compare ``leaked`` with every watermarked delivery; name the source if the evidence
    clears the false-attribution threshold, and record the trace in the ledger."""
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
    verdict = trace_file(leaked, marks, watermark_key(secret), unmarked=_unmarked(entries))
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
        },
    )
    return verdict
