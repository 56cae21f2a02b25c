"""The province's docking with the national registry (issue 18 item 6).

The province knows the national node from its anchor file (``gongshu node dock
--anchor``): it becomes a member of role ``national``. A registration certified by
the provincial data authority (its code issued in the province's own region) is
queued by the province's sync tick; any other approved registration (certified by
a city or county authority) is queued when the provincial data authority submits it
explicitly. Each is sent once per approved version (its revision), signed on the
``registration`` channel and delivered with the shared ``delivery.deliver``. The
national registry answers down the ``registration-status`` channel; ``apply``
records each step, the reason of a refusal and the unified code on the
registration's ``NationalSubmission`` and in the ledger, shown on its page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import User
from gongshu.errors import Conflict, InvalidInput
from gongshu.federation import chain, delivery, identity, members, national
from gongshu.federation.models import NATIONAL_LABELS, Member, Message, NationalSubmission
from gongshu.ledger import record
from gongshu.registration import service as registrations
from gongshu.registration.models import Registration
from gongshu.timeutil import utcnow

PER_TICK = 200


def national_member(session: Session) -> Member | None:
    return session.scalar(select(Member).where(Member.role == "national"))


def payload_of(reg: Registration) -> dict[str, Any]:
    """What the national registry receives: the approved version, as certified."""
    snap = reg.approved_snapshot or {}
    return {
        "province_ref": reg.id,
        "revision": reg.approved_version_no,
        "province_code": reg.code,
        "kind": snap.get("kind"),
        "name": snap.get("name"),
        "description": snap.get("description"),
        "processing_summary": snap.get("processing_summary") or "",
        "registrant": snap.get("registrant"),
        "registrant_region": reg.registrant.region_code if reg.registrant else None,
        "rights": snap.get("rights") or [],
        "acting_for": snap.get("acting_for"),
        "price_mode": snap.get("price_mode"),
        "price_yuan": snap.get("price_yuan"),
        "price_unit": snap.get("price_unit"),
        "fee_item": snap.get("fee_item"),
        "sources": snap.get("sources") or [],
        "issuer": snap.get("issuer"),
        "approved_at": reg.approved_at.isoformat() if reg.approved_at else None,
    }


def _submission(session: Session, reg_id: int) -> NationalSubmission | None:
    return session.scalar(
        select(NationalSubmission).where(NationalSubmission.registration_id == reg_id)
    )


def _queue(session: Session, private: bytes, reg: Registration, by: str) -> NationalSubmission:
    peer = national_member(session)
    if peer is None:
        raise Conflict("本省级节点尚未对接国家登记平台：请管理员运行 gongshu node dock")
    chain.queue(
        session,
        private,
        receiver=peer.node_id,
        channel=national.CHANNEL,
        kind=national.KIND,
        payload={"registrations": [payload_of(reg)]},
    )
    sub = _submission(session, reg.id)
    step = {"step": "submit", "status": "queued", "at": utcnow().isoformat(), "note": ""}
    if sub is None:
        sub = NationalSubmission(registration_id=reg.id, history=[])
        session.add(sub)
    sub.revision, sub.status, sub.submitted_by = reg.approved_version_no, "queued", by
    sub.reason = sub.field = None
    sub.publicity_until = None
    sub.history, sub.updated_at = [*(sub.history or []), step], utcnow()
    session.flush()
    record(
        session,
        "registration.national_submitted",
        actor=by,
        subject=f"registration:{reg.id}",
        payload={"revision": reg.approved_version_no, "code": reg.code, "to": peer.node_id},
    )
    return sub


def submit(session: Session, reg_id: int, *, actor: User, private: bytes) -> NationalSubmission:
    """The provincial data authority submits an approved registration explicitly."""
    reg = registrations.get(session, reg_id)
    members.require_provincial_authority(
        session,
        actor,
        reg.registrant.region_code,
        action="报送国家登记平台",
        what=f"登记 {reg.code or reg.name}",
    )
    if identity.me(session).role != "province":
        raise Conflict("只有省级节点向国家登记平台报送")
    if reg.approved_snapshot is None or reg.approved_version_no is None:
        raise InvalidInput("登记尚未审核通过，不能报送国家登记平台")
    sub = _submission(session, reg.id)
    if sub is not None and sub.revision >= reg.approved_version_no:
        raise Conflict(
            f"登记第 {reg.approved_version_no} 版已报送国家登记平台"
            f"（{NATIONAL_LABELS[sub.status]}），变更通过审核后再报送"
        )
    return _queue(session, private, reg, actor.actor)


def enqueue(session: Session, private: bytes) -> int:
    """Province tick: queue registrations certified by the provincial authority whose
    approved version has not been submitted yet; the count."""
    node = identity.me(session)
    if national_member(session) is None:
        return 0
    regs = session.scalars(
        select(Registration)
        .where(
            Registration.approved_version_no.is_not(None),
            Registration.issued_region_code == node.region_code,
        )
        .order_by(Registration.id)
    ).all()
    held = {
        s.registration_id: s.revision
        for s in session.scalars(
            select(NationalSubmission).where(
                NationalSubmission.registration_id.in_([r.id for r in regs])
            )
        )
    }
    queued = 0
    for reg in regs:
        if held.get(reg.id, 0) >= reg.approved_version_no:
            continue
        _queue(session, private, reg, reg.approved_by or f"node:{node.node_id}")
        queued += 1
        if queued >= PER_TICK:
            break
    return queued


def apply(session: Session, env: dict[str, Any], message: Message) -> None:
    """Province: a ``registration.status`` message from the national node it docked."""
    node = identity.me(session)
    peer = national_member(session)
    if node.role != "province" or peer is None or env["from"] != peer.node_id:
        raise chain.Refused("malformed", detail="只有对接的国家级登记节点可以下发登记进度")
    statuses = env["payload"].get("statuses")
    if not isinstance(statuses, list) or not statuses:
        raise chain.Refused("malformed", detail="payload.statuses 应为非空列表")
    for item in statuses:
        try:
            ref, revision, status = int(item["province_ref"]), int(item["revision"]), item["status"]
            steps = list(item.get("steps") or [])
        except (KeyError, TypeError, ValueError) as exc:
            raise chain.Refused("malformed", detail=f"登记进度缺少字段：{exc}") from exc
        if status not in NATIONAL_LABELS:
            raise chain.Refused("malformed", detail=f"未知的登记状态：{status}")
        sub = _submission(session, ref)
        if sub is None:
            raise chain.Refused("malformed", detail=f"登记 {ref} 未向国家登记平台报送")
        if revision < sub.revision:
            continue  # the answer for an older version, already superseded
        code = item.get("code")
        if code is not None and not national.code_valid(str(code)):
            raise chain.Refused("malformed", detail=f"统一编码格式或校验位不正确：{code}")
        until = item.get("publicity_until")
        sub.status, sub.reason, sub.field = status, item.get("reason"), item.get("field")
        sub.publicity_until = datetime.fromisoformat(until) if until else None
        sub.national_code = code or sub.national_code
        sub.history = [*(sub.history or []), *steps]
        sub.updated_at = utcnow()
        record(
            session,
            "registration.national_status",
            actor=f"node:{env['from']}",
            subject=f"registration:{ref}",
            payload={"revision": revision, "status": status, "code": code, "seq": message.seq},
        )
    session.flush()


APPLIERS = {national.STATUS_KIND: apply}


def sync(session: Session, settings: Any) -> dict[str, Any]:  # noqa: ANN401
    """Province tick: queue what is due and deliver the chain to the national node."""
    peer = national_member(session)
    if peer is None:
        return {"state": "not-docked"}
    queued = enqueue(session, identity.private_key(settings))
    session.commit()
    result = delivery.deliver(
        session,
        sender=identity.me(session).node_id,
        peer=peer.node_id,
        peer_key=peer.public_key,
        base=peer.address + "/federation/v1",
        channel=national.CHANNEL,
    )
    return {**result, "queued": queued}


def section(session: Session, reg: Registration, user: User) -> dict[str, Any] | None:
    """The national registration section of a registration's page (province only)."""
    node = identity.maybe_me(session)
    if node is None or node.role != "province":
        return None
    sub = _submission(session, reg.id)
    history = [{**s, "at": datetime.fromisoformat(s["at"])} for s in (sub.history if sub else [])]
    return {
        "template": "_national_registration.html",
        "data": {
            "sub": sub,
            "history": history,
            "docked": national_member(session) is not None,
            "reg": reg,
            "labels": NATIONAL_LABELS,
            "steps": national.STEPS | {"submit": "报送"},
        },
    }
