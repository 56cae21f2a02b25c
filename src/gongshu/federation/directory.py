"""The signed directory of nodes (like X-Road's global configuration, kept small).

The province publishes ``{issuer, issued_at, valid_until, nodes: [{node_id, role,
region_code, public_key, address, valid_until}]}`` signed with its SM2 key. A lower
node fetches it, verifies it against the anchor key it was given out of band, and
caches it in ``federation_directory``; it keeps using the cached copy while the
province is away, refreshes it on every sync tick (no restart), and warns when it
is within ``WARN_HOURS`` of expiry. An expired directory is not used: the node
refuses messages and sends none until it has a fresh one (fail closed).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.errors import Conflict
from gongshu.federation import envelope
from gongshu.federation.identity import me
from gongshu.federation.models import CachedDirectory, Member, NodeSelf
from gongshu.timeutil import utcnow

VALID_HOURS = 24
WARN_HOURS = 6


class DirectoryInvalid(Conflict):
    """A directory whose signature, issuer or validity does not hold."""


def _entry(node: NodeSelf | Member, valid_until: datetime) -> dict[str, Any]:
    return {
        "node_id": node.node_id,
        "role": node.role,
        "region_code": node.region_code,
        "public_key": node.public_key,
        "address": node.address,
        "valid_until": valid_until.isoformat(),
    }


def publish(session: Session, private: bytes) -> dict[str, Any]:
    """The province's current directory, signed (``{"document": text, "signature"}``)."""
    node = me(session)
    if node.role != "province":
        raise Conflict("只有省级节点发布节点目录")
    now = utcnow()
    until = now + timedelta(hours=VALID_HOURS)
    members = session.scalars(select(Member).order_by(Member.node_id)).all()
    doc = {
        "v": envelope.VERSION,
        "issuer": node.node_id,
        "issued_at": now.isoformat(),
        "valid_until": until.isoformat(),
        "nodes": [_entry(node, until)] + [_entry(m, until) for m in members],
    }
    text, signature = envelope.sign(private, doc)
    return {"document": text, "signature": signature}


def verify(node: NodeSelf, signed: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """The directory document, once its anchor signature and validity hold."""
    text, signature = signed.get("document"), signed.get("signature")
    if not isinstance(text, str) or not isinstance(signature, str):
        raise DirectoryInvalid("节点目录格式错误：缺少正文或签名")
    if node.anchor_key is None or not envelope.signature_ok(node.anchor_key, text, signature):
        raise DirectoryInvalid("节点目录签名与信任锚中的省级公钥不符，已拒绝")
    doc = json.loads(text)
    if doc.get("issuer") != node.anchor_node:
        raise DirectoryInvalid(f"节点目录的签发者 {doc.get('issuer')} 不是信任锚中的省级节点")
    if datetime.fromisoformat(doc["valid_until"]) <= (now or utcnow()):
        raise DirectoryInvalid("节点目录已过期，已拒绝")
    return doc


def store(session: Session, signed: dict[str, Any]) -> CachedDirectory:
    """Verify and cache a fetched directory (newer issue only)."""
    node = me(session)
    doc = verify(node, signed)
    issued = datetime.fromisoformat(doc["issued_at"])
    current = cached(session)
    if current is not None and current.issued_at >= issued:
        return current
    row = CachedDirectory(
        issuer=doc["issuer"],
        document=signed["document"],
        signature=signed["signature"],
        issued_at=issued,
        valid_until=datetime.fromisoformat(doc["valid_until"]),
    )
    session.add(row)
    session.flush()
    return row


def cached(session: Session) -> CachedDirectory | None:
    return session.scalar(select(CachedDirectory).order_by(CachedDirectory.issued_at.desc()))


def lookup(session: Session, node_id: str) -> dict[str, Any] | None:
    """A peer's directory entry (public key, address), or None when it is unknown.

    The province answers from its members; a lower node from its cached, unexpired
    directory (an expired one counts as none: fail closed)."""
    node = me(session)
    if node.role in ("province", "national"):  # members: lower nodes, docked peers
        if node_id == node.node_id:
            return _entry(node, utcnow() + timedelta(hours=VALID_HOURS))
        member = session.scalar(select(Member).where(Member.node_id == node_id))
        return _entry(member, utcnow() + timedelta(hours=VALID_HOURS)) if member else None
    if node_id == node.anchor_node and node.anchor_key:
        return {"node_id": node_id, "public_key": node.anchor_key, "address": node.anchor_address}
    row = cached(session)
    if row is None or row.valid_until <= utcnow():
        return None
    for entry in json.loads(row.document)["nodes"]:
        if entry["node_id"] == node_id:
            return entry
    return None


def warning(session: Session, now: datetime | None = None) -> str | None:
    """A sentence for the operator when the cached directory is missing, expired or
    expires within ``WARN_HOURS``; None when all is well (and on the province)."""
    node = me(session)
    if node.role in ("province", "national"):
        return None
    row = cached(session)
    now = now or utcnow()
    if row is None:
        return "尚未取得省级节点目录：等待省级数据管理部门批准加入"
    if row.valid_until <= now:
        return f"节点目录已于 {row.valid_until.isoformat()} 过期：暂停收发消息，待重新取得"
    if row.valid_until - now <= timedelta(hours=WARN_HOURS):
        return f"节点目录将于 {row.valid_until.isoformat()} 过期：请确认与省级节点的连接"
    return None


def listed(session: Session) -> bool:
    """Whether this lower node appears in its cached directory (it has been approved)."""
    node = me(session)
    return lookup(session, node.node_id) is not None
