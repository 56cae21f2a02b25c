"""The national registry as a node role (issue 18 item 6): registrations of public
data resources and products that provinces submit, through the 2025 steps 申请
(applied), 受理 (accepted, or refused with a reason), 形式审核 (a formal check of the
required fields, refused naming the field), 公示 (a publicity period of
``national_publicity_days`` working days, during which anyone may object) and 赋码
(a unified code, deterministic and never reused).

A province submits on the ``registration`` channel (``registration.apply``); every
change of a record's state is queued back, signed, on the ``registration-status``
channel (``registration.status``) and pushed by this node's sync tick with the
shared ``delivery.deliver``. Records are keyed by (province, the province's
registration id): a resend of the same revision changes nothing, a newer revision
(a change registered at the province) is checked again and keeps its code.

The unified code reads ``CN-360000-2026-R000001-7``: ``CN``, the submitting
province's GB/T 2260 code, the Beijing year of coding, ``R`` (data resource) or
``P`` (data product) with a six-digit running number per province, year and kind,
and a check character over every letter and digit before it by ISO 7064 MOD 37,36
(the same check as the provincial codes, ``registration/codes.py``).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu.accounts import jurisdiction
from gongshu.accounts.models import User
from gongshu.errors import Conflict, Forbidden, InvalidInput, NotFound
from gongshu.federation import chain, delivery, identity
from gongshu.federation.models import (
    NATIONAL_LABELS,
    Member,
    Message,
    NationalObjection,
    NationalRecord,
)
from gongshu.ledger import record as ledger
from gongshu.registration import codes
from gongshu.registration.models import KINDS, PRICE_MODES, RIGHTS
from gongshu.timeutil import BEIJING, as_utc, utcnow
from gongshu.workdays.calendar import Calendar
from gongshu.workdays.errors import ScheduleMissing

log = logging.getLogger(__name__)

CHANNEL = "registration"  # province -> national
KIND = "registration.apply"
STATUS_CHANNEL = "registration-status"  # national -> province
STATUS_KIND = "registration.status"
CODE_PREFIX = "CN"
CODE_PATTERN = re.compile(r"^CN-(\d{6})-(\d{4})-([RP])(\d{6})-([0-9A-Z])$")
STEPS = {
    "apply": "申请",
    "accept": "受理",
    "check": "形式审核",
    "publicity": "公示",
    "objection": "异议",
    "code": "赋码",
}
# 形式审核: the fields the provincial registration requires (registration/service.py
# _clean, REG-2, REG-4), named in Chinese when missing.
REQUIRED = (
    ("name", "名称"),
    ("description", "描述"),
    ("registrant", "登记主体"),
    ("province_code", "省级登记编码"),
    ("price_mode", "定价方式"),
)
MAX_REASON = 500
PER_MESSAGE = 20


def make_code(region_code: str, year: int, kind: str, seq: int) -> str:
    body = f"{CODE_PREFIX}-{region_code}-{year:04d}-{codes.KIND_LETTERS[kind]}{seq:06d}"
    return f"{body}-{codes.check_char(body)}"


def code_valid(code: str) -> bool:
    code = (code or "").strip().upper()
    return bool(CODE_PATTERN.match(code)) and codes.check_char(code[:-2]) == code[-1]


def _text(value: Any) -> str:  # noqa: ANN401
    return value.strip() if isinstance(value, str) else ""


def formal_check(item: dict[str, Any]) -> tuple[str, str] | None:
    """(field, Chinese label) of the first required field missing or invalid; None
    when the record passes 形式审核."""
    for key, label in REQUIRED:
        if not _text(item.get(key)):
            return key, label
    if item.get("price_mode") not in PRICE_MODES:
        return "price_mode", "定价方式"
    if item.get("kind") == "product" and not _text(item.get("processing_summary")):
        return "processing_summary", "加工处理说明"
    rights = item.get("rights") or []
    if not isinstance(rights, list) or any(r not in RIGHTS for r in rights):
        return "rights", "所持权利"
    acting_for = _text(item.get("acting_for"))
    if bool(acting_for) == bool(rights):  # REG-4: a processor holds none; others some
        return "rights", "所持权利"
    if item.get("price_mode") == "self" and not _text(item.get("price_yuan")):
        return "price_yuan", "价格（元）"
    if item.get("price_mode") == "guided" and not _text(item.get("fee_item")):
        return "fee_item", "指导价收费项目"
    return None


def _acceptance(member: Member, item: dict[str, Any]) -> str | None:
    """受理: why the record is refused, or None."""
    if item.get("kind") not in KINDS:
        return f"登记类型无效：{item.get('kind')}，应为数据资源或数据产品"
    region = str(item.get("registrant_region") or "")
    if not re.fullmatch(r"\d{6}", region) or not jurisdiction.covers(
        member.region_code, region, jurisdiction.AREA
    ):
        return f"登记主体所在区划 {region or '（空）'} 不在报送省份 {member.region_code} 辖区内"
    if not codes.is_valid(str(item.get("province_code") or "")):
        return f"省级登记编码无效：{item.get('province_code') or '（空）'}"
    return None


def _step(row: NationalRecord, step: str, status: str, note: str = "") -> None:
    entry = {"step": step, "status": status, "at": utcnow().isoformat(), "note": note}
    row.history = [*(row.history or []), entry]
    row.status, row.updated_at, row.unreported = status, utcnow(), True


def _status_of(row: NationalRecord, steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "province_ref": row.province_ref,
        "revision": row.revision,
        "national_id": row.id,
        "status": row.status,
        "reason": row.reason,
        "field": row.field,
        "publicity_until": row.publicity_until.isoformat() if row.publicity_until else None,
        "code": row.code,
        "steps": steps,
    }


def report(session: Session, private: bytes) -> int:
    """Queue, signed on each province's status channel, the steps its records went
    through since the last report (one message per province and round)."""
    rows = session.scalars(
        select(NationalRecord)
        .where(NationalRecord.unreported.is_(True))
        .order_by(NationalRecord.id)
    ).all()
    by_province: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        steps = list(row.history or [])[row.reported_steps :]
        by_province.setdefault(row.province, []).append(_status_of(row, steps))
        row.reported_steps, row.unreported = len(row.history or []), False
    for province, statuses in by_province.items():
        for start in range(0, len(statuses), PER_MESSAGE):
            chain.queue(
                session,
                private,
                receiver=province,
                channel=STATUS_CHANNEL,
                kind=STATUS_KIND,
                payload={"statuses": statuses[start : start + PER_MESSAGE]},
            )
    session.flush()
    return len(rows)


def _log(session: Session, row: NationalRecord, action: str, actor: str) -> None:
    ledger(
        session,
        f"national.{action}",
        actor=actor,
        subject=f"national-record:{row.id}",
        payload={
            "province": row.province,
            "province_ref": row.province_ref,
            "revision": row.revision,
            "status": row.status,
            "reason": row.reason,
            "code": row.code,
        },
    )


def publicity_end(session: Session, days: int, now: datetime) -> datetime:
    """The end of a publicity period of ``days`` working days from ``now`` (24:00
    Beijing time of the last one; ``now`` itself when the setting is 0)."""
    if days <= 0:
        return now
    return Calendar(session).deadline(now, days)


def receive(session: Session, member: Member, item: dict[str, Any]) -> NationalRecord | None:
    """申请, 受理 and 形式审核 of one submitted registration (公示 starts on the next
    tick). None when this revision was already received (idempotent)."""
    try:
        ref, revision = int(item["province_ref"]), int(item["revision"])
    except (KeyError, TypeError, ValueError) as exc:
        raise chain.Refused("malformed", detail=f"登记报送缺少字段：{exc}") from exc
    row = session.scalar(
        select(NationalRecord).where(
            NationalRecord.province == member.node_id, NationalRecord.province_ref == ref
        )
    )
    if row is not None and revision <= row.revision:
        return None
    actor = f"node:{member.node_id}"
    fields = {
        "revision": revision,
        "kind": str(item.get("kind") or "")[:16],
        "name": _text(item.get("name"))[:200],
        "registrant": _text(item.get("registrant"))[:200],
        "registrant_region": str(item.get("registrant_region") or "")[:12],
        "province_code": str(item.get("province_code") or "")[:32],
        "payload": item,
        "reason": None,
        "field": None,
        "publicity_until": None,
    }
    if row is None:
        row = NationalRecord(province=member.node_id, province_ref=ref, history=[], **fields)
        session.add(row)
        note = ""
    else:
        for key, value in fields.items():
            setattr(row, key, value)
        note = f"变更登记（省级第 {revision} 版）"
    _step(row, "apply", "applied", note)
    session.flush()
    _log(session, row, "applied", actor)
    refusal = _acceptance(member, item)
    if refusal is not None:
        row.reason = refusal
        _step(row, "accept", "refused", refusal)
        _log(session, row, "refused", actor)
        return row
    _step(row, "accept", "accepted")
    missing = formal_check(item)
    if missing is not None:
        row.field = missing[0]
        row.reason = f"形式审核未通过：必填项“{missing[1]}”缺失或无效"
        _step(row, "check", "check_failed", row.reason)
        _log(session, row, "check_failed", actor)
        return row
    _step(row, "check", "accepted", "形式审核通过")
    _log(session, row, "checked", actor)
    return row


def apply(session: Session, env: dict[str, Any], message: Message) -> None:
    """National node: a province's ``registration.apply`` message."""
    node = identity.me(session)
    if node.role != "national":
        raise chain.Refused("malformed", detail="只有国家级登记节点受理登记报送")
    member = session.scalar(select(Member).where(Member.node_id == env["from"]))
    if member is None or member.role != "province":
        raise chain.Refused("malformed", detail="只有省级节点可以报送登记")
    items = env["payload"].get("registrations")
    if not isinstance(items, list) or not items:
        raise chain.Refused("malformed", detail="payload.registrations 应为非空列表")
    for item in items:
        if not isinstance(item, dict):
            raise chain.Refused("malformed", detail="登记报送应为 JSON 对象")
        receive(session, member, item)
    session.flush()


APPLIERS = {KIND: apply}


def _next_code(session: Session, region: str, kind: str, now: datetime) -> str:
    """The next unified code of (province, Beijing year, kind): one above the highest
    issued (codes are never cleared and records never deleted: never reused)."""
    year = as_utc(now).astimezone(BEIJING).year
    prefix = f"{CODE_PREFIX}-{region}-{year:04d}-{codes.KIND_LETTERS[kind]}"
    last = session.scalar(
        select(func.max(NationalRecord.code)).where(NationalRecord.code.like(f"{prefix}%"))
    )
    match = CODE_PATTERN.match(last) if last else None
    return make_code(region, year, kind, int(match.group(4)) + 1 if match else 1)


def _open_objections(session: Session, row: NationalRecord) -> int:
    return session.scalar(
        select(func.count())
        .select_from(NationalObjection)
        .where(NationalObjection.record_id == row.id, NationalObjection.status == "open")
    )


def advance(session: Session, publicity_days: int, now: datetime | None = None) -> int:
    """公示 and 赋码: records that passed 形式审核 go on publicity for
    ``publicity_days`` working days; those whose period ended with no open objection
    get their unified code (a record re-registered after a change keeps its code)."""
    now = now or utcnow()
    moved = 0
    for row in session.scalars(
        select(NationalRecord)
        .where(NationalRecord.status == "accepted")
        .order_by(NationalRecord.id)
    ).all():
        if row.field is None and row.reason is None:
            try:
                row.publicity_until = publicity_end(session, publicity_days, now)
            except ScheduleMissing as exc:  # waits, named, until the year is entered
                log.warning("公示期无法计算，登记 %s 暂缓公示：%s", row.id, exc)
                continue
            _step(row, "publicity", "publicity", f"公示至 {row.publicity_until.isoformat()}")
            _log(session, row, "publicity", "node:national")
            moved += 1
    due = session.scalars(
        select(NationalRecord)
        .where(NationalRecord.status == "publicity", NationalRecord.publicity_until <= now)
        .order_by(NationalRecord.id)
    ).all()
    for row in due:
        if _open_objections(session, row):
            continue
        kept = row.code is not None
        if not kept:
            region = session.scalar(
                select(Member.region_code).where(Member.node_id == row.province)
            )
            row.code = _next_code(session, region or "000000", row.kind, now)
            row.coded_at = now
        _step(row, "code", "coded", "沿用原统一编码" if kept else "")
        session.flush()
        _log(session, row, "coded", "node:national")
        moved += 1
    session.flush()
    return moved


def object_(session: Session, record_id: int, *, actor: User, reason: str) -> NationalObjection:
    """An objection during the publicity period: the code waits until it is decided."""
    row = session.get(NationalRecord, record_id)
    if row is None:
        raise NotFound(f"国家登记记录不存在：{record_id}")
    if row.status not in ("publicity", "objected"):
        raise Conflict(f"该登记当前为“{NATIONAL_LABELS[row.status]}”，不在公示期，不能提出异议")
    reason = _text(reason)
    if not reason:
        raise InvalidInput("请填写异议理由", detail={"field": "reason"})
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"异议理由不超过 {MAX_REASON} 字", detail={"field": "reason"})
    objector = actor.org.name if actor.org else actor.actor
    objection = NationalObjection(record_id=row.id, objector=objector, reason=reason)
    session.add(objection)
    _step(row, "objection", "objected", f"{objector}：{reason}")
    session.flush()
    _log(session, row, "objected", actor.actor)
    return objection


def _require_national_authority(session: Session, actor: User) -> None:
    node = identity.me(session)
    org = actor.org
    if (
        node.role != "national"
        or org is None
        or org.kind != "data_authority"
        or not {"reviewer", "admin"} & set(actor.roles)
    ):
        raise Forbidden("只有国家级登记节点的数据管理部门可以处理公示异议")


def decide_objection(
    session: Session,
    objection_id: int,
    *,
    actor: User,
    upheld: bool,
    note: str,
) -> NationalRecord:
    """Upheld: the record is not coded (terminal for this revision). Dismissed: the
    publicity goes on, and the code follows once it ended and no objection is open."""
    objection = session.get(NationalObjection, objection_id)
    if objection is None:
        raise NotFound(f"异议不存在：{objection_id}")
    _require_national_authority(session, actor)
    if objection.status != "open":
        raise Conflict(f"异议 {objection_id} 已处理")
    note = _text(note)
    if upheld and not note:
        raise InvalidInput("认定异议成立须说明理由", detail={"field": "note"})
    objection.status = "upheld" if upheld else "dismissed"
    objection.decided_by, objection.decided_at, objection.note = actor.actor, utcnow(), note
    row = session.get(NationalRecord, objection.record_id)
    session.flush()
    if upheld and row.status != "rejected":
        row.reason = f"公示异议成立：{note}"
        _step(row, "objection", "rejected", row.reason)
    elif row.status == "objected" and not _open_objections(session, row):
        _step(row, "objection", "publicity", f"异议不成立：{note}" if note else "异议不成立")
    session.flush()
    _log(session, row, "objection_" + objection.status, actor.actor)
    return row


def push(session: Session) -> dict[str, Any]:
    """National node: deliver each province's queued status messages."""
    return delivery.push_queued(session, identity.me(session).node_id, STATUS_CHANNEL)


def sync(session: Session, settings: Any) -> dict[str, Any]:  # noqa: ANN401
    """One round of the national node: code what is due, push statuses down."""
    private = identity.private_key(settings)
    moved = advance(session, int(settings.national_publicity_days))
    reported = report(session, private)
    session.commit()
    return {"state": "ok", "moved": moved, "reported": reported, "peers": push(session)}


def records(session: Session, limit: int = 200) -> list[NationalRecord]:
    return list(
        session.scalars(select(NationalRecord).order_by(NationalRecord.id.desc()).limit(limit))
    )
