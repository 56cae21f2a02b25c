"""What the market administrator maintains: the government-guided fee schedule
(OPR-7, versioned) and the entity kinds that may not be traded (TRD-3)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import User
from gongshu.entities import ENTITY_LABELS
from gongshu.errors import InvalidField, InvalidInput
from gongshu.ledger import record
from gongshu.market.models import FeeSchedule, ProhibitedKind
from gongshu.market.tradability import current_fee_schedule


def set_fee_schedule(session: Session, items: dict, *, basis: str, actor: User) -> FeeSchedule:
    """A new version of the fee schedule; the previous ones stay (OPR-7)."""
    if not (basis or "").strip():
        raise InvalidField("请注明收费标准的依据文件", field="basis")
    if not items:
        raise InvalidField("收费标准至少包含一个收费项目", field="lines")
    clean = {}
    for code, item in items.items():
        code = str(code).strip()
        name = str((item or {}).get("name") or "").strip()
        if not code or not name:
            raise InvalidField(f"收费项目须有编号和名称：{code}", field="lines")
        try:
            price = Decimal(str(item.get("price_yuan")))
        except InvalidOperation:
            raise InvalidField(f"收费项目“{name}”的价格无效", field="lines") from None
        if price < 0:
            raise InvalidField(f"收费项目“{name}”的价格不能为负", field="lines")
        clean[code] = {
            "name": name,
            "unit": str(item.get("unit") or "次"),
            "price_yuan": str(price.quantize(Decimal("0.01"))),
        }
    previous = current_fee_schedule(session)
    schedule = FeeSchedule(
        version_no=(previous.version_no + 1) if previous else 1,
        items=clean,
        basis=basis.strip(),
        actor=actor.actor,
    )
    session.add(schedule)
    session.flush()
    record(
        session,
        "market.fee_schedule_set",
        actor=actor.actor,
        subject=f"fee_schedule:{schedule.version_no}",
        payload={
            "items": clean,
            "basis": schedule.basis,
            "previous": previous.items if previous else None,
        },
    )
    return schedule


def fee_schedules(session: Session) -> list[FeeSchedule]:
    return list(session.scalars(select(FeeSchedule).order_by(FeeSchedule.version_no.desc())))


def prohibit(session: Session, entity_code: str, *, reason: str, actor: User) -> ProhibitedKind:
    code = (entity_code or "").strip().upper()
    if code not in ENTITY_LABELS:
        raise InvalidField(f"未知的数据类型编码：{entity_code}", field="entity_code")
    if not (reason or "").strip():
        raise InvalidField("请说明禁止交易的法律依据", field="reason")
    kind = session.scalar(select(ProhibitedKind).where(ProhibitedKind.entity_code == code))
    if kind is None:
        kind = ProhibitedKind(entity_code=code, reason=reason.strip(), actor=actor.actor)
        session.add(kind)
    else:
        kind.active, kind.reason, kind.actor = True, reason.strip(), actor.actor
    session.flush()
    record(
        session,
        "market.kind_prohibited",
        actor=actor.actor,
        subject=f"entity:{code}",
        payload={"reason": kind.reason},
    )
    return kind


def allow(session: Session, entity_code: str, *, actor: User) -> ProhibitedKind:
    code = (entity_code or "").strip().upper()
    kind = session.scalar(select(ProhibitedKind).where(ProhibitedKind.entity_code == code))
    if kind is None or not kind.active:
        raise InvalidInput(f"该数据类型不在禁止交易清单中：{code}")
    kind.active = False
    session.flush()
    record(session, "market.kind_allowed", actor=actor.actor, subject=f"entity:{code}", payload={})
    return kind


def prohibited_kinds(session: Session) -> list[ProhibitedKind]:
    return list(
        session.scalars(
            select(ProhibitedKind)
            .where(ProhibitedKind.active.is_(True))
            .order_by(ProhibitedKind.entity_code)
        )
    )
