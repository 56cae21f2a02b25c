"""Peer contact: when this node last heard from each peer and why it last failed, and
the alerts of a peer unreachable longer than ``federation_alert_minutes`` (issue 18
item 7). Contact is a verified answer: a signed chain head, a signed directory, or
an accepted message."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.federation.identity import maybe_me
from gongshu.federation.models import Member, PeerContact
from gongshu.timeutil import utcnow

DEFAULT_ALERT_MINUTES = 10


def _row(session: Session, node_id: str) -> PeerContact:
    row = session.get(PeerContact, node_id)
    if row is None:
        row = PeerContact(node_id=node_id)
        session.add(row)
    return row


def reached(session: Session, node_id: str) -> None:
    _row(session, node_id).last_ok_at = utcnow()


def failed(session: Session, node_id: str, reason: str) -> None:
    row = _row(session, node_id)
    row.last_failure_at, row.last_failure = utcnow(), reason[:500]


def known(session: Session) -> list[dict[str, Any]]:
    """The peers this node talks to: the province's members, or a lower node's
    province, with their contact record."""
    node = maybe_me(session)
    if node is None:
        return []
    if node.role in ("province", "national"):
        peers = [(m.node_id, m.role, m.approved_at) for m in session.scalars(select(Member))]
    elif node.anchor_node:
        peers = [(node.anchor_node, "province", node.created_at)]
    else:
        peers = []
    contacts = {c.node_id: c for c in session.scalars(select(PeerContact))}
    out = []
    for node_id, role, since in sorted(peers):
        contact = contacts.get(node_id)
        out.append(
            {
                "node_id": node_id,
                "role": role,
                "since": since,
                "last_ok_at": contact.last_ok_at if contact else None,
                "last_failure_at": contact.last_failure_at if contact else None,
                "last_failure": contact.last_failure if contact else None,
            }
        )
    return out


def alerts(
    session: Session, minutes: int = DEFAULT_ALERT_MINUTES, now: datetime | None = None
) -> list[str]:
    """A sentence per peer not reached for longer than ``minutes`` (counted from its
    approval when it was never reached)."""
    now = now or utcnow()
    limit = timedelta(minutes=minutes)
    out = []
    for peer in known(session):
        last = peer["last_ok_at"] or peer["since"]
        if last is None or now - last <= limit:
            continue
        quiet = int((now - last).total_seconds() // 60)
        line = f"节点 {peer['node_id']} 已 {quiet} 分钟未能联系（超过 {minutes} 分钟的提醒阈值）"
        if peer["last_failure"]:
            line += f"，最近一次失败：{peer['last_failure']}"
        out.append(line)
    return out
