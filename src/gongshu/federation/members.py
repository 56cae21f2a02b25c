"""Joining (province side): a lower node's signed join request, the data authority's
approval, and the members the directory lists (AGG-8)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts import jurisdiction
from gongshu.accounts.models import User
from gongshu.errors import Conflict, Forbidden, InvalidInput, NotFound
from gongshu.federation import envelope
from gongshu.federation.identity import me, node_id
from gongshu.federation.models import JoinRequest, Member
from gongshu.ledger import record
from gongshu.timeutil import utcnow


def join_document(node: Any) -> dict[str, Any]:  # noqa: ANN401 - NodeSelf
    return {
        "v": envelope.VERSION,
        "kind": "join",
        "node_id": node.node_id,
        "role": node.role,
        "region_code": node.region_code,
        "public_key": node.public_key,
        "address": node.address,
        "to": node.anchor_node,
        "requested_at": utcnow().isoformat(),
    }


def receive_join(session: Session, signed: dict[str, Any]) -> JoinRequest:
    """Store a join request signed with the key it names (proof of possession)."""
    province = me(session)
    if province.role != "province":
        raise Conflict("只有省级节点受理加入申请")
    text, signature = signed.get("document"), signed.get("signature")
    if not isinstance(text, str) or not isinstance(signature, str):
        raise InvalidInput("加入申请格式错误：缺少正文或签名")
    try:
        doc = json.loads(text)
        key = doc["public_key"]
        ok = envelope.signature_ok(key, text, signature)
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"加入申请格式错误：{exc}") from exc
    if not ok:
        raise Forbidden("加入申请的签名与其中的公钥不符，已拒绝")
    if doc.get("to") != province.node_id:
        raise InvalidInput(f"加入申请的对象 {doc.get('to')} 不是本省级节点")
    if doc.get("role") not in ("city", "county") or doc.get("node_id") != node_id(
        str(doc.get("role")), str(doc.get("region_code"))
    ):
        raise InvalidInput("加入申请的角色或节点标识无效：应为市级或县级节点")
    pending = session.scalar(
        select(JoinRequest).where(
            JoinRequest.node_id == doc["node_id"], JoinRequest.status == "pending"
        )
    )
    if pending is not None and pending.public_key == key:
        return pending
    request = JoinRequest(
        node_id=doc["node_id"],
        role=doc["role"],
        region_code=doc["region_code"],
        address=doc["address"],
        public_key=key,
        document=text,
        signature=signature,
    )
    session.add(request)
    session.flush()
    record(
        session,
        "federation.join_requested",
        actor=f"node:{doc['node_id']}",
        subject=f"federation-join:{request.id}",
        payload={"region_code": doc["region_code"], "role": doc["role"], "key": key[:18]},
    )
    return request


def _require_authority(session: Session, request: JoinRequest, actor: User) -> None:
    require_provincial_authority(
        session, actor, request.region_code, action="批准节点加入", what=f"节点 {request.node_id}"
    )


def require_provincial_authority(
    session: Session, actor: User, region_code: str, *, action: str, what: str
) -> None:
    """The province's data authority (reviewer or administrator), acting on a region
    of its own province (AGG-8, CAT-2)."""
    org = actor.org
    if org is None or org.kind != "data_authority" or not {"reviewer", "admin"} & set(actor.roles):
        raise Forbidden(f"只有省级数据管理部门可以{action}")
    if org.region.parent_code is not None:
        raise Forbidden(f"只有省级数据管理部门可以{action}，本机构为 {org.name}")
    jurisdiction.require(
        session,
        actor,
        region_code,
        reach=jurisdiction.AREA,
        action=action,
        what=what,
        law="AGG-8",
    )


def decide(session: Session, request_id: int, *, actor: User, approve: bool) -> JoinRequest:
    request = session.get(JoinRequest, request_id)
    if request is None:
        raise NotFound(f"加入申请不存在：{request_id}")
    _require_authority(session, request, actor)
    if request.status != "pending":
        raise Conflict(f"加入申请 {request_id} 已处理（{request.status}）")
    request.status = "approved" if approve else "refused"
    request.decided_by, request.decided_at = actor.actor, utcnow()
    if approve:
        member = session.scalar(select(Member).where(Member.node_id == request.node_id))
        if member is None:
            member = Member(node_id=request.node_id)
            session.add(member)
        member.role, member.region_code = request.role, request.region_code
        member.address, member.public_key = request.address, request.public_key
        member.approved_at = utcnow()
    session.flush()
    record(
        session,
        f"federation.join_{request.status}",
        actor=actor.actor,
        subject=f"federation-join:{request.id}",
        payload={"node_id": request.node_id, "region_code": request.region_code},
    )
    return request


def pending(session: Session) -> list[JoinRequest]:
    return list(
        session.scalars(select(JoinRequest).order_by(JoinRequest.status, JoinRequest.id.desc()))
    )


def members(session: Session) -> list[Member]:
    return list(session.scalars(select(Member).order_by(Member.node_id)))


def dock(session: Session, anchor: dict[str, Any]) -> Member:
    """Trust a peer from its out-of-band anchor file: the province docks the national
    registry, the national registry admits a province (no approval step: the operator
    who holds both the file and this node's shell is the decision)."""
    member = session.scalar(select(Member).where(Member.node_id == anchor["node_id"]))
    if member is None:
        member = Member(node_id=anchor["node_id"])
        session.add(member)
    member.role, member.region_code = anchor["role"], anchor["region_code"]
    member.address, member.public_key = anchor["address"].rstrip("/"), anchor["public_key"]
    member.approved_at = utcnow()
    session.flush()
    record(
        session,
        "federation.docked",
        actor=f"node:{me(session).node_id}",
        subject=f"federation-peer:{member.node_id}",
        payload={"role": member.role, "key": member.public_key[:18]},
    )
    return member
