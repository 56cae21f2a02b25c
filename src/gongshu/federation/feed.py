"""The catalog change feed (CAT-2, AGG-8): a lower node's catalog changes flow up to
the province as signed, numbered messages; the province applies them idempotently.

Lower node: ``enqueue`` compares each public entry's ``version_no`` (every catalog
change, review decision included, makes a new version in the same transaction as
the change: catalog/versions.py) with the version already queued (``FeedMark``) and
queues the entry's newest state; up to 100 changes ride in one message, kept
well under the wire limit by size. Nothing hooks
the catalog: a version committed late, in any order, is still found on the next
tick. A marked entry that is gone (a draft deleted: catalog/drafts.py), no longer
public, or whose id now belongs to a later entry (SQLite reuses the highest id; the
mark keeps the entry's creation time) is sent as a tombstone ``{"entry_id",
"deleted": true, "version_no"}`` ahead of any change, and its mark is dropped.
``sync`` refreshes the directory, asks the province for the last number it
accepted on the chain, and sends everything after it, in order, until one is refused.

Province: ``apply`` upserts ``FederatedEntry`` by (home node, entry id) when the
incoming version is newer, so a resent or re-synced change changes nothing; a
tombstone removes the entry (again a no-op when resent). The chain applies each
message once and in order, so nothing older can bring a removed entry back.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from gongshu.accounts import jurisdiction
from gongshu.catalog.models import CatalogEntry
from gongshu.federation import chain, client, delivery, directory, envelope, identity, peers
from gongshu.federation.models import FederatedEntry, FeedMark, Message
from gongshu.timeutil import utcnow

log = logging.getLogger(__name__)

CHANNEL = "catalog"
KIND = "catalog.changes"
PER_MESSAGE = 100
# A message's changes stay under half the wire limit as ASCII-escaped JSON (the wire
# escapes the envelope text again): room for the envelope, the quotes and the signature.
BUDGET = envelope.MAX_MESSAGE_BYTES // 2
PER_TICK = 500
FIELDS = (
    "resource_code",
    "name",
    "tier",
    "region_code",
    "status",
    "version_no",
    "published_version",
    "provincial",
    "sharing_attr",
    "opening_attr",
)


class OutsideNode(Exception):
    pass


def _change(entry: CatalogEntry) -> dict[str, Any]:
    return {"entry_id": entry.id, **{k: getattr(entry, k) for k in FIELDS}}


def _tombstones(session: Session) -> list[dict[str, Any]]:
    """The marked entries gone since they were queued (deleted, not public any more, or
    their id reused by a later entry); their marks are dropped."""
    rows = session.execute(
        select(FeedMark)
        .outerjoin(CatalogEntry, CatalogEntry.id == FeedMark.entry_id)
        .where(
            or_(
                CatalogEntry.id.is_(None),
                CatalogEntry.scope != "public",
                CatalogEntry.created_at != FeedMark.entry_created_at,
            )
        )
        .order_by(FeedMark.entry_id)
        .limit(PER_TICK)
    ).scalars()
    gone = []
    for mark in list(rows):
        gone.append({"entry_id": mark.entry_id, "deleted": True, "version_no": mark.version_no})
        session.delete(mark)
    session.flush()
    return gone


def _batches(changes: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """The changes in order, in messages of at most ``PER_MESSAGE`` changes and
    ``BUDGET`` bytes (a 200-character name escapes to 1,200 bytes)."""
    batch: list[dict[str, Any]] = []
    size = 0
    for change in changes:
        n = len(json.dumps(change, default=str))
        if batch and (len(batch) >= PER_MESSAGE or size + n > BUDGET):
            yield batch
            batch, size = [], 0
        batch.append(change)
        size += n
    if batch:
        yield batch


def enqueue(session: Session, private: bytes) -> int:
    """Queue the tombstones of entries gone, then the public entries changed since they
    were last queued; the count."""
    node = identity.me(session)
    changes = _tombstones(session)
    rows = session.execute(
        select(CatalogEntry, FeedMark)
        .outerjoin(FeedMark, FeedMark.entry_id == CatalogEntry.id)
        .where(
            CatalogEntry.scope == "public",
            or_(FeedMark.entry_id.is_(None), CatalogEntry.version_no > FeedMark.version_no),
        )
        .order_by(CatalogEntry.updated_at, CatalogEntry.id)
        .limit(PER_TICK)
    ).all()
    for entry, mark in rows:
        if not jurisdiction.covers(node.region_code, entry.region_code, jurisdiction.AREA):
            continue  # not this node's to publish (e.g. a provincial entry seeded locally)
        changes.append(_change(entry))
        if mark is None:
            session.add(
                FeedMark(
                    entry_id=entry.id,
                    version_no=entry.version_no,
                    entry_created_at=entry.created_at,
                )
            )
        else:
            mark.version_no, mark.entry_created_at = entry.version_no, entry.created_at
    for batch in _batches(changes):
        chain.queue(
            session,
            private,
            receiver=node.anchor_node,
            channel=CHANNEL,
            kind=KIND,
            payload={"changes": batch},
        )
    session.flush()
    return len(changes)


def apply(session: Session, env: dict[str, Any], message: Message) -> None:
    """Province: upsert each change of a ``catalog.changes`` message (newer versions
    only). A change outside the sender's region refuses the whole message."""
    if identity.me(session).role != "province":
        raise chain.Refused("malformed", detail="只有省级节点接收下级目录变更")
    sender = directory.lookup(session, env["from"])
    changes = env["payload"].get("changes")
    if not isinstance(changes, list):
        raise chain.Refused("malformed", detail="payload.changes 应为列表")
    for change in changes:
        if isinstance(change, dict) and change.get("deleted") is True:
            _remove(session, env["from"], change)
            continue
        try:
            entry_id, version = int(change["entry_id"]), int(change["version_no"])
            region = str(change["region_code"])
        except (KeyError, TypeError, ValueError) as exc:
            raise chain.Refused("malformed", detail=f"目录变更缺少字段：{exc}") from exc
        if not jurisdiction.covers(sender["region_code"], region, jurisdiction.AREA):
            raise chain.Refused(
                "malformed",
                detail=f"目录 {change.get('resource_code')} 的区划 {region} 不在发送节点辖区内",
            )
        row = session.scalar(
            select(FederatedEntry).where(
                FederatedEntry.home_node == env["from"], FederatedEntry.home_entry_id == entry_id
            )
        )
        if row is not None and row.version_no >= version:
            continue
        if row is None:
            row = FederatedEntry(home_node=env["from"], home_entry_id=entry_id)
            session.add(row)
        for key in FIELDS:
            setattr(row, key, change.get(key))
        row.seq, row.updated_at = message.seq, utcnow()
        row.review_status = "pending"  # a new version waits for the province's review
    session.flush()


def _remove(session: Session, home_node: str, change: dict[str, Any]) -> None:
    """A tombstone: the sender's entry is gone; only the sender's own row is touched,
    and a resent tombstone finds nothing to remove."""
    try:
        entry_id = int(change["entry_id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise chain.Refused("malformed", detail=f"目录删除缺少字段：{exc}") from exc
    session.execute(
        delete(FederatedEntry)
        .where(FederatedEntry.home_node == home_node, FederatedEntry.home_entry_id == entry_id)
        .execution_options(synchronize_session="fetch")
    )


APPLIERS = {KIND: apply}


def chain_head(
    session: Session, sender: str, private: bytes, channel: str = CHANNEL
) -> dict[str, Any]:
    """The last number and hash this node accepted from ``sender`` on ``channel``,
    signed (the sender resends from there after a partition)."""
    return delivery.head_document(session, sender, channel, private)


def sync(session: Session, settings: Any) -> dict[str, Any]:  # noqa: ANN401
    """One round of a lower node: directory, queue, resend from the province's last
    acknowledged number. Commits as it goes (a partition loses nothing acknowledged)."""
    node = identity.maybe_me(session)
    if node is None or node.role == "province" or node.anchor_address is None:
        return {"state": "not-a-lower-node"}
    private = identity.private_key(settings)
    base = node.anchor_address + "/federation/v1"
    try:
        directory.store(session, client.get(base + "/directory"))
        peers.reached(session, node.anchor_node)
        session.commit()
    except client.Unreachable as exc:  # keep using the cached copy
        peers.failed(session, node.anchor_node, f"无法取得节点目录：{exc}")
        session.commit()
    except (client.PeerRefused, directory.DirectoryInvalid) as exc:
        log.warning("节点目录未更新：%s", exc)
        peers.failed(session, node.anchor_node, f"节点目录未更新：{exc}")
        session.commit()
    if not directory.listed(session):
        return {"state": "not-joined", "warning": directory.warning(session)}
    queued = enqueue(session, private)
    session.commit()
    result = delivery.deliver(
        session,
        sender=node.node_id,
        peer=node.anchor_node,
        peer_key=node.anchor_key or "",
        base=base,
        channel=CHANNEL,
    )
    if result["state"] == "peer-away":
        result["state"] = "province-away"
    return {**result, "queued": queued}


def entries(session: Session, home_node: str | None = None) -> list[FederatedEntry]:
    query = select(FederatedEntry).order_by(FederatedEntry.home_node, FederatedEntry.resource_code)
    if home_node:
        query = query.where(FederatedEntry.home_node == home_node)
    return list(session.scalars(query))


def overview(session: Session) -> dict[str, Any]:
    """For the node page and ``gongshu node status``: per chain, the last number each
    way, the backlog not yet acknowledged and the last refusal."""
    from sqlalchemy import func

    chains = session.execute(
        select(
            Message.direction,
            Message.sender,
            Message.receiver,
            Message.channel,
            func.max(Message.seq),
            func.max(Message.created_at),
        ).group_by(Message.direction, Message.sender, Message.receiver, Message.channel)
    ).all()
    rows = []
    for direction, sender, receiver, channel, last_seq, last_at in chains:
        backlog, error = 0, None
        if direction == "out":
            pending = session.scalars(
                select(Message)
                .where(
                    Message.direction == "out",
                    Message.sender == sender,
                    Message.receiver == receiver,
                    Message.channel == channel,
                    Message.acked.is_(False),
                )
                .order_by(Message.seq)
            ).all()
            backlog = len(pending)
            error = next((m.last_error for m in pending if m.last_error), None)
        rows.append(
            {
                "direction": direction,
                "peer": receiver if direction == "out" else sender,
                "channel": channel,
                "last_seq": last_seq,
                "last_at": last_at,
                "backlog": backlog,
                "error": error,
            }
        )
    return {"chains": rows}
