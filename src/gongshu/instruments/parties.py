"""SEC-13 for the outside party itself: an operator or processor is cleared only with a
passed security review and a signed security and confidentiality agreement on record.

JX-D 49: an organization that entrusts an outside service provider reviews it first and,
once it passed, signs a security protection and confidentiality agreement with it. For
authorized operation (OPR-1) and entrusted processing the entrusting side is the data
authority, so both records are the authority's (``service`` kinds ``party_review`` and
``party_agreement``, recipient the party). ``require_cleared`` is the one check: the
instruments gate calls it for every grant and delivery to such a party, the operation
licence before anything is written, and the sandbox before every run.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import Organization
from gongshu.instruments import service
from gongshu.instruments.errors import InstrumentRequired
from gongshu.instruments.models import Instrument
from gongshu.timeutil import BEIJING, as_utc, utcnow

# Kinds of organization that are always an outside party (any grant to them), and the
# grant source that entrusts processing to whoever receives it.
PARTY_ORG_KINDS = ("operator",)
ENTRUSTING_SOURCES = ("operation",)
NEEDED = ("party_review", "party_agreement")


def is_party(org: Organization | None, source: str) -> bool:
    """Whether a grant of ``source`` to ``org`` goes to an outside party (SEC-13)."""
    return org is not None and (org.kind in PARTY_ORG_KINDS or source in ENTRUSTING_SOURCES)


def _day(moment: datetime) -> str:
    return f"{as_utc(moment).astimezone(BEIJING):%Y年%m月%d日}"


def _why_not(session: Session, org_id: int, kind: str, at: datetime) -> str | None:
    """None when a valid record of ``kind`` names the party at ``at``; else what is wrong
    with the newest one (or that there is none), in Chinese."""
    if service.find(
        session, kind, entry_id=None, purpose="outsourcing", recipient_org_id=org_id, at=at
    ):
        return None
    newest = session.scalars(
        select(Instrument)
        .where(Instrument.kind == kind, Instrument.recipient_org_id == org_id)
        .order_by(Instrument.valid_until.desc(), Instrument.id.desc())
        .limit(1)
    ).first()
    label = service.KINDS[kind]
    if newest is None:
        return f"没有「{label}」记录"
    if newest.revoked_at is not None:
        return f"「{label}」记录（第 {newest.id} 号）已被撤销"
    if at >= as_utc(newest.valid_until):
        return f"「{label}」记录（第 {newest.id} 号）已于{_day(newest.valid_until)}过期"
    return f"「{label}」记录（第 {newest.id} 号）自{_day(newest.valid_from)}起才生效"


def require_cleared(
    session: Session,
    org: Organization,
    *,
    action: str = "获得数据授权",
    at: datetime | None = None,
) -> None:
    """``org`` holds a passed security review and a signed confidentiality agreement,
    both in validity and not revoked, or ``InstrumentRequired`` naming every gap."""
    at = as_utc(at) if at else utcnow()
    gaps = {kind: why for kind in NEEDED if (why := _why_not(session, org.id, kind, at))}
    if gaps:
        raise InstrumentRequired(
            f"「{org.name}」{'；'.join(gaps.values())}，不能{action}。"
            "须由所在区域本级或上级数据管理部门安全审查合格并签订安全保护及保密协议，"
            "在“授权记录”页面登记后方可办理",
            detail={"org": org.id, "missing": list(gaps)},
        )
