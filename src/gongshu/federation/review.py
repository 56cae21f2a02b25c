"""The province's review of the lower nodes' catalogs (CAT-2), and its way back down.

Province: ``decide`` takes the data authority's decision on the newest version of a
federated entry (merged into the provincial catalog, or returned with a reason),
records it in the ledger and queues it, signed, on the ``review`` channel to the
entry's home node. A newer version of the entry arriving up the feed makes it
pending again (feed.apply). ``push`` (the province's sync tick) delivers each
member's queue from the number that member last accepted, as the lower nodes do
upward, so a member that was away catches up with no manual step.

Lower node: ``apply`` accepts decisions only from its province, only on its own
entries, idempotently (one decision per entry version); the clerk reads them on the
node page.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts import jurisdiction
from gongshu.accounts.models import User
from gongshu.catalog.models import CatalogEntry
from gongshu.errors import Conflict, InvalidInput, NotFound
from gongshu.federation import chain, delivery, identity, members
from gongshu.federation.models import (
    REVIEW_LABELS,
    FederatedEntry,
    Message,
    ProvincialReview,
)
from gongshu.ledger import record
from gongshu.timeutil import utcnow

log = logging.getLogger(__name__)

CHANNEL = "review"
KIND = "catalog.review"
DECISIONS = {"merged": "并入省级目录", "returned": "退回修改"}
REVIEW_STATUSES = REVIEW_LABELS
MAX_REASON = 500


def decide(
    session: Session,
    federated_id: int,
    *,
    actor: User,
    decision: str,
    reason: str,
    private: bytes,
) -> FederatedEntry:
    """The province's decision on the newest version of a lower node's entry."""
    row = session.get(FederatedEntry, federated_id)
    if row is None:
        raise NotFound(f"下级节点目录不存在：{federated_id}")
    members.require_provincial_authority(
        session, actor, row.region_code, action="审核下级目录", what=f"目录 {row.resource_code}"
    )
    if decision not in DECISIONS:
        raise InvalidInput("请选择审核结论：并入省级目录或退回修改", detail={"field": "decision"})
    reason = (reason or "").strip()
    if decision == "returned" and not reason:
        raise InvalidInput("退回修改须填写退回原因", detail={"field": "reason"})
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"原因不超过 {MAX_REASON} 字", detail={"field": "reason"})
    if row.review_status != "pending":
        raise Conflict(
            f"目录 {row.resource_code} 第 {row.version_no} 版已审核"
            f"（{REVIEW_STATUSES[row.review_status]}），有新版本时再审核"
        )
    now = utcnow()
    row.review_status, row.review_reason = decision, reason or None
    row.reviewed_version, row.reviewed_by, row.reviewed_at = row.version_no, actor.actor, now
    reviewer = actor.org.name if actor.org else actor.actor
    chain.queue(
        session,
        private,
        receiver=row.home_node,
        channel=CHANNEL,
        kind=KIND,
        payload={
            "decisions": [
                {
                    "entry_id": row.home_entry_id,
                    "version_no": row.version_no,
                    "decision": decision,
                    "reason": reason,
                    "reviewer": reviewer,
                    "decided_at": now.isoformat(),
                }
            ]
        },
    )
    record(
        session,
        "federation.review_decided",
        actor=actor.actor,
        subject=f"federated-entry:{row.home_node}/{row.home_entry_id}",
        payload={"version_no": row.version_no, "decision": decision, "reason": reason},
    )
    session.flush()
    return row


def apply(session: Session, env: dict[str, Any], message: Message) -> None:
    """Lower node: store each decision of a ``catalog.review`` message. Only the
    province may send one, and only on this node's own entries."""
    node = identity.me(session)
    if env["from"] != node.anchor_node:
        raise chain.Refused("malformed", detail="只有省级节点可以下发目录审核结论")
    decisions = env["payload"].get("decisions")
    if not isinstance(decisions, list) or not decisions:
        raise chain.Refused("malformed", detail="payload.decisions 应为非空列表")
    for item in decisions:
        try:
            entry_id, version = int(item["entry_id"]), int(item["version_no"])
            decision, decided_at = str(item["decision"]), datetime.fromisoformat(item["decided_at"])
            reviewer = str(item["reviewer"])[:200]
        except (KeyError, TypeError, ValueError) as exc:
            raise chain.Refused("malformed", detail=f"审核结论缺少字段：{exc}") from exc
        if decision not in DECISIONS:
            raise chain.Refused("malformed", detail=f"未知的审核结论：{decision}")
        entry = session.get(CatalogEntry, entry_id)
        if entry is None:
            # Deleted here (a draft) while the decision travelled: nothing to apply, and
            # refusing would stop every later decision on the channel.
            continue
        if not jurisdiction.covers(node.region_code, entry.region_code, jurisdiction.AREA):
            raise chain.Refused("malformed", detail=f"目录 {entry_id} 不是本节点的目录")
        held = session.scalar(
            select(ProvincialReview).where(
                ProvincialReview.entry_id == entry_id, ProvincialReview.version_no == version
            )
        )
        if held is not None:
            continue
        session.add(
            ProvincialReview(
                entry_id=entry_id,
                version_no=version,
                decision=decision,
                reason=str(item.get("reason") or "")[:MAX_REASON] or None,
                reviewer=reviewer,
                decided_at=decided_at,
                seq=message.seq,
            )
        )
        record(
            session,
            "federation.review_received",
            actor=f"node:{env['from']}",
            subject=f"entry:{entry_id}",
            payload={"version_no": version, "decision": decision},
        )
    session.flush()


APPLIERS = {KIND: apply}


def push(session: Session, settings: Any) -> dict[str, Any]:  # noqa: ANN401
    """Province: deliver each member's queued review decisions."""
    node = identity.maybe_me(session)
    if node is None or node.role != "province":
        return {"state": "not-the-province"}
    results = delivery.push_queued(session, node.node_id, CHANNEL)
    return {"state": "ok", "peers": results}


def received(session: Session, limit: int = 200) -> list[tuple[ProvincialReview, CatalogEntry]]:
    """Lower node: the province's decisions on this node's entries, newest first."""
    rows = session.execute(
        select(ProvincialReview, CatalogEntry)
        .join(CatalogEntry, CatalogEntry.id == ProvincialReview.entry_id)
        .order_by(ProvincialReview.decided_at.desc(), ProvincialReview.id.desc())
        .limit(limit)
    ).all()
    return [(held, entry) for held, entry in rows]
