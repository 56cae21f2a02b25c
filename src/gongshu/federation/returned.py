"""Data returned down (AGG-7; issue 18 item 5): the province returns an entry it holds,
or its rows for a lower node's region, to a city or county node as a standing grant;
a vertical system registered at the province provides its data downward the same way.

The state is a cross-node sharing row on both nodes (``federation_sharing``, the
``request`` saying ``{"kind": "returned", ...}``), so revocation, delivery and the
fetch are the sharing machinery's: the provincial data authority chooses the entry, the
target node (a member city or county inside the province) and optionally a region
column; the province creates a grant for the target node's stand-in organization
(``sharing._proxy``; ``RETURN_DAYS`` long, revocable) with a row filter keeping only
the rows whose region value starts with the target's area code (a range on the text:
``>= "3601"`` and ``< "3602"``), and sends a signed ``sharing.returned`` message on its
``sharing`` chain. The target node records it for its own data authority, whose users
fetch through the existing signed fetch (``sharing.fetch``): masked and watermarked
for the stand-in, in both ledgers. The grant reads the entry's newest version, so a
new version needs no new grant: the province's tick sends ``sharing.refresh`` with
the new version number and the target node shows that a newer version waits (the
delivery note names the version served).
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import Organization, Region, User
from gongshu.catalog import service as catalog
from gongshu.egress import service as egress
from gongshu.egress.models import Grant
from gongshu.errors import Conflict, InvalidField, NotFound
from gongshu.federation import chain, identity, members, sharing
from gongshu.federation.models import CrossSharing, Member, Message
from gongshu.ledger import record
from gongshu.storage import versions
from gongshu.timeutil import as_utc, utcnow

KIND = "returned"
RETURNED = "sharing.returned"
REFRESH = "sharing.refresh"
RETURN_DAYS = 3650  # a standing grant: ten years unless revoked
PURPOSE = "省级平台按需回流数据，供下级平台履行法定职责"


def is_returned(row: CrossSharing) -> bool:
    return (row.request or {}).get("kind") == KIND


def region_filter(column: str, region_code: str) -> list[dict[str, Any]]:
    """Rows whose ``column`` starts with the area code of ``region_code`` (360100 →
    "3601"): a range on the text, so the door's ordinary operators express it."""
    area = sharing._area(region_code)
    upper = area[:-1] + chr(ord(area[-1]) + 1)
    return [
        {"column": column, "op": ">=", "value": area},
        {"column": column, "op": "<", "value": upper},
    ]


def targets(session: Session) -> list[Member]:
    """The province's member cities and counties (where data can be returned)."""
    return list(
        session.scalars(
            select(Member).where(Member.role.in_(("city", "county"))).order_by(Member.node_id)
        )
    )


def returnable(session: Session) -> dict[int, str]:
    """Entries held at the province that can be returned (published, shared, with data)."""
    from gongshu.catalog.models import CatalogEntry

    held = versions.newest_numbers().subquery()
    rows = session.execute(
        select(CatalogEntry.id, CatalogEntry.name)
        .join(held, held.c.entry_id == CatalogEntry.id)
        .where(
            CatalogEntry.published_version.is_not(None),
            CatalogEntry.scope == "public",
            CatalogEntry.sharing_attr != "none",  # not shared: not returned either
        )
        .order_by(CatalogEntry.id)
        .limit(500)
    )
    return {i: f"{name}（编号 {i}）" for i, name in rows}


def _newest_no(session: Session, entry_id: int) -> int:
    version = versions.newest(session, entry_id)
    return version.version_no if version is not None else 0


# ---------------------------------------------------------------- province


def return_down(
    session: Session,
    *,
    actor: User,
    entry_id: int,
    target_node: str,
    region_column: str = "",
    private: bytes,
) -> CrossSharing:
    """The provincial data authority returns ``entry_id`` (all of it, or the rows of
    ``region_column`` inside the target's region) to ``target_node``."""
    node = identity.me(session)
    if node.role != "province":
        raise Conflict("只有省级节点可以向下级节点回流数据")
    problems: dict[str, str] = {}
    member = session.scalar(select(Member).where(Member.node_id == target_node))
    if member is None or member.role not in ("city", "county"):
        problems["target_node"] = f"本省成员中没有市级或县级节点 {target_node or '（未选择）'}"
    entry = None
    try:
        entry = catalog.get(session, entry_id)
    except NotFound:
        problems["entry_id"] = f"目录不存在：{entry_id}"
    column = (region_column or "").strip()
    if entry is not None:
        if entry.published_version is None or versions.newest(session, entry.id) is None:
            problems["entry_id"] = "该目录尚未发布或尚无数据，不能回流"
        elif column and column not in [f["name"] for f in entry.fields]:
            problems["region_column"] = f"目录中没有字段：{column}"
        elif column and _field_type(entry, column) not in ("string", "text", None):
            problems["region_column"] = "地区字段须为文本类型（按地区代码的前缀筛选）"
    if problems:
        raise InvalidField.of(problems)
    members.require_provincial_authority(
        session, actor, member.region_code, action="向下级节点回流数据", what=target_node
    )
    if session.scalar(
        select(CrossSharing.id).where(
            CrossSharing.side == "provider",
            CrossSharing.consumer_node == target_node,
            CrossSharing.entry_id == entry.id,
            CrossSharing.state == "granted",
            CrossSharing.request["kind"].as_string() == KIND,
        )
    ):
        raise InvalidField("该目录已回流给这个节点，如需更改请先撤销", field="entry_id")
    region = session.get(Region, member.region_code)
    name = f"{region.name if region else member.region_code}数据管理部门"
    proxy = sharing._proxy(
        session, target_node, {"id": 0, "name": name, "region_code": member.region_code}
    )
    row_filter = region_filter(column, member.region_code) if column else []
    ref = secrets.token_hex(8)
    grant = egress.create_grant(
        session,
        entry,
        recipient_org_id=proxy.org_id,
        purpose=PURPOSE,
        source="sharing",
        source_ref=f"returned:{target_node}/{ref}",
        actor=actor,
        days=RETURN_DAYS,
        row_filter=row_filter,
    )
    provider = session.get(Organization, entry.provider_org_id)
    version = _newest_no(session, entry.id)
    now = utcnow()
    row = CrossSharing(
        side="provider",
        ref=ref,
        consumer_node=target_node,
        provider_node=node.node_id,
        entry_id=entry.id,
        entry_name=entry.name,
        org_ref=0,
        org_name=proxy.org.name,
        org_region=member.region_code,
        applicant=actor.actor,
        request={
            "kind": KIND,
            "region_column": column,
            "row_filter": row_filter,
            "provider_org": provider.name if provider else "",
            "vertical": bool(provider and provider.kind == "vertical"),
            "version": version,
        },
        state="granted",
        submitted_at=now,
        proxy_user_id=proxy.id,
        grant_id=grant.id,
        grant_expires_at=as_utc(grant.expires_at),
        deadline=as_utc(grant.expires_at),
        history=[],
    )
    sharing._step(row, "granted", now)
    session.add(row)
    session.flush()
    record(
        session,
        "federation.returned_down",
        actor=actor.actor,
        subject=sharing._subject(row),
        payload={"target_node": target_node, "entry": entry.id, "grant": grant.id,
                 "region_column": column, "row_filter": row_filter, "version": version,
                 "stand_in": proxy.org_id},
    )  # fmt: skip
    chain.queue(
        session,
        private,
        receiver=target_node,
        channel=sharing.CHANNEL,
        kind=RETURNED,
        payload={
            "ref": ref,
            "entry_id": entry.id,
            "entry_name": entry.name,
            "grant_expires_at": row.grant_expires_at.isoformat(),
            "by": actor.actor,
            "at": now.isoformat(),
            **{k: row.request[k] for k in ("region_column", "provider_org", "vertical", "version")},
        },
    )
    row.reported_state = "granted"
    return row


def _field_type(entry: Any, column: str) -> str | None:  # noqa: ANN401
    for f in entry.fields:
        if f["name"] == column:
            return f.get("type")
    return None


def revoke(session: Session, sharing_id: int, *, actor: User, reason: str) -> CrossSharing:
    """The provincial data authority stops returning: the grant is revoked at once (the
    door refuses the next fetch); the sharing tick reports ``revoked`` down."""
    row = sharing.get(session, sharing_id)
    if row.side != "provider" or not is_returned(row):
        raise NotFound(f"回流记录不存在：{sharing_id}")
    members.require_provincial_authority(
        session, actor, row.org_region, action="撤销回流", what=row.consumer_node
    )
    if not (reason or "").strip():
        raise InvalidField("撤销回流须说明理由", field="reason")
    grant = session.get(Grant, row.grant_id)
    if grant.revoked_at is not None:
        raise Conflict("该回流已撤销")
    grant.revoked_at, grant.revoke_reason = utcnow(), reason.strip()
    session.flush()
    record(
        session,
        "grant.revoked",
        actor=actor.actor,
        subject=f"grant:{grant.id}",
        payload={"reason": grant.revoke_reason, "returned": row.ref},
    )
    return row


def refresh(session: Session, private: bytes) -> int:
    """Province: for every standing return whose entry has a newer version than the
    target was told, a signed ``sharing.refresh`` with the new number; the count."""
    queued = 0
    rows = session.scalars(
        select(CrossSharing).where(
            CrossSharing.side == "provider",
            CrossSharing.state == "granted",
            CrossSharing.request["kind"].as_string() == KIND,
        )
    ).all()
    for row in rows:
        version = _newest_no(session, row.entry_id)
        if version <= int(row.request.get("version") or 0):
            continue
        row.request = {**row.request, "version": version}
        record(
            session,
            "federation.returned_refreshed",
            actor="system",
            subject=sharing._subject(row),
            payload={"version": version},
        )
        chain.queue(
            session,
            private,
            receiver=row.consumer_node,
            channel=sharing.CHANNEL,
            kind=REFRESH,
            payload={"ref": row.ref, "version": version},
        )
        queued += 1
    return queued


def listing(session: Session, side: str) -> list[CrossSharing]:
    rows = session.scalars(
        select(CrossSharing)
        .where(CrossSharing.side == side, CrossSharing.request["kind"].as_string() == KIND)
        .order_by(CrossSharing.id.desc())
    )
    return list(rows)


# ---------------------------------------------------------------- target node


def _receive_returned(session: Session, env: dict[str, Any], message: Message) -> None:
    p = env["payload"]
    me = identity.me(session)
    sender = env["from"]
    if me.anchor_node != sender:
        raise chain.Refused("malformed", detail=f"只有本省节点可以回流数据，{sender} 不是")
    try:
        ref, entry_id, name = str(p["ref"]), int(p["entry_id"]), str(p["entry_name"])
        expires = sharing._when(p["grant_expires_at"])
        version = int(p.get("version") or 0)
    except (KeyError, TypeError, ValueError) as exc:
        raise chain.Refused("malformed", detail=f"回流消息缺少字段：{exc}") from exc
    if session.scalar(
        select(CrossSharing.id).where(
            CrossSharing.side == "consumer",
            CrossSharing.consumer_node == me.node_id,
            CrossSharing.ref == ref,
        )
    ):
        raise chain.Refused("malformed", detail=f"回流记录 {ref} 已收到过")
    # The data is returned to this node's own data authority (its users fetch it).
    org = session.scalar(
        select(Organization)
        .where(Organization.kind == "data_authority", Organization.region_code == me.region_code)
        .order_by(Organization.id)
    )
    row = CrossSharing(
        side="consumer",
        ref=ref,
        consumer_node=me.node_id,
        provider_node=sender,
        entry_id=entry_id,
        entry_name=name,
        org_ref=org.id if org else 0,
        org_name=org.name if org else "",
        org_region=me.region_code,
        applicant=str(p.get("by") or ""),
        request={
            "kind": KIND,
            "region_column": str(p.get("region_column") or ""),
            "provider_org": str(p.get("provider_org") or ""),
            "vertical": bool(p.get("vertical")),
            "version": version,
            "fetched_version": 0,
        },
        state="granted",
        submitted_at=utcnow(),
        grant_expires_at=expires,
        deadline=expires,
        history=[],
    )
    sharing._step(row, "granted", row.submitted_at)
    session.add(row)
    session.flush()
    record(
        session,
        "federation.returned_received",
        actor=f"node:{sender}",
        subject=sharing._subject(row),
        payload={"entry": entry_id, "org": row.org_ref, "version": version,
                 "region_column": row.request["region_column"], "message": message.hash},
    )  # fmt: skip


def _receive_refresh(session: Session, env: dict[str, Any], message: Message) -> None:
    p = env["payload"]
    row = session.scalar(
        select(CrossSharing).where(
            CrossSharing.side == "consumer",
            CrossSharing.consumer_node == env["to"],
            CrossSharing.ref == str(p.get("ref")),
        )
    )
    if row is None or row.provider_node != env["from"] or not is_returned(row):
        raise chain.Refused(
            "malformed", detail=f"本节点没有来自 {env['from']} 的回流 {p.get('ref')}"
        )
    try:
        version = int(p["version"])
    except (KeyError, TypeError, ValueError) as exc:
        raise chain.Refused("malformed", detail=f"回流更新缺少版本号：{exc}") from exc
    if version <= int(row.request.get("version") or 0):
        return
    row.request = {**row.request, "version": version}
    row.updated_at = utcnow()
    record(
        session,
        "federation.returned_refreshed",
        actor=f"node:{env['from']}",
        subject=sharing._subject(row),
        payload={"version": version, "message": message.hash},
    )


def stale(row: CrossSharing) -> bool:
    """Target node: has the province a newer version than the one last fetched?"""
    req = row.request or {}
    return row.state == "granted" and int(req.get("version") or 0) > int(
        req.get("fetched_version") or 0
    )


def waiting(session: Session) -> list[str]:
    """Target node: a line for each return whose newer version is not fetched yet."""
    return [
        f"省级回流的目录“{row.entry_name}”有第 {row.request['version']} 版待取得"
        f"（已取得第 {row.request.get('fetched_version') or 0} 版）"
        for row in listing(session, "consumer")
        if stale(row)
    ]


APPLIERS = {RETURNED: _receive_returned, REFRESH: _receive_refresh}
