"""Use of conditional-open data outside its agreement (OPN-5).

The data authority (county level or above) whose region is the entry's or contains
it decides: it states the finding, orders the user to correct within a number of
working days (the deadline is computed on the holiday calendar, ``clocks``), and the
decision states the penalty the regulation names. If the user does not correct by the
deadline, or the use had serious consequences, the same authority may fine within the
legal range and no other; the provider records nothing here. The breaching party sees
every decision on its agreement's page.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts import jurisdiction
from gongshu.accounts.models import Organization, User
from gongshu.errors import Conflict, Forbidden, InvalidField, InvalidInput, NotFound
from gongshu.ledger import record
from gongshu.opendata.clocks import OPEN_CORRECTION
from gongshu.opendata.entries import get_open
from gongshu.opendata.models import OpenAgreement, OpenBreach
from gongshu.opendata.service import required_text
from gongshu.timeutil import as_utc, utcnow
from gongshu.workdays import lifecycle

FINE_MIN_YUAN, FINE_MAX_YUAN = 10_000, 100_000  # OPN-5
MAX_CORRECTION_WORKDAYS = 60  # a platform bound on the limit the authority sets
PENALTY_CLAUSE = "逾期未改正或者造成严重后果的，由数据管理部门处一万元以上十万元以下的罚款"
FINE_REASONS = {"overdue": "逾期未改正", "serious": "造成严重后果"}


class NotBreachAuthority(Forbidden):
    """Only a data authority in jurisdiction decides a breach."""


class BreachNotFound(NotFound): ...


class BreachClosed(Conflict): ...


def get(session: Session, breach_id: int) -> OpenBreach:
    breach = session.get(OpenBreach, breach_id)
    if breach is None:
        raise BreachNotFound(f"违约记录不存在：{breach_id}")
    return breach


def _agreement(session: Session, agreement_id: int) -> OpenAgreement:
    agreement = session.get(OpenAgreement, agreement_id)
    if agreement is None:
        raise NotFound(f"开放利用协议不存在：{agreement_id}")
    return agreement


def _require_authority(
    session: Session, actor: User, agreement: OpenAgreement, action: str
) -> Organization:
    """A data authority's reviewer whose region is the entry's or contains it."""
    org = actor.org
    if org is None or org.kind != "data_authority" or not {"reviewer", "admin"} & set(actor.roles):
        raise NotBreachAuthority("超出开放利用协议使用数据的，由数据管理部门认定和处理")
    entry = get_open(session, agreement.entry_id)
    jurisdiction.require(
        session,
        actor,
        entry.region_code,
        reach=jurisdiction.AREA,
        action=action,
        what=f"开放数据「{entry.name}」的使用",
        law="OPN-5",
    )
    return org


def decide(
    session: Session,
    agreement_id: int,
    *,
    actor: User,
    finding: str,
    correction_order: str,
    correction_workdays: int,
    at: datetime | None = None,
) -> OpenBreach:
    """The data authority finds use outside the agreement and orders it corrected within
    ``correction_workdays`` working days; the decision states the penalty (OPN-5)."""
    agreement = _agreement(session, agreement_id)
    org = _require_authority(session, actor, agreement, "认定违约并责令限期改正")
    if agreement.signed_at is None:
        raise InvalidInput("协议尚未签署，不存在违反协议的使用")
    if (
        isinstance(correction_workdays, bool)
        or not isinstance(correction_workdays, int)
        or not 1 <= correction_workdays <= MAX_CORRECTION_WORKDAYS
    ):
        raise InvalidField(
            f"改正期限须为 1 至 {MAX_CORRECTION_WORKDAYS} 个工作日，收到：{correction_workdays}",
            field="correction_workdays",
        )
    breach = OpenBreach(
        agreement_id=agreement.id,
        authority_org_id=org.id,
        finding=required_text(finding, "违约事实", "finding"),
        correction_order=required_text(correction_order, "责令改正的要求", "correction_order"),
        correction_workdays=correction_workdays,
        penalty_clause=PENALTY_CLAUSE,
        recorded_by=actor.actor,
        created_at=as_utc(at) if at else utcnow(),
    )
    lifecycle.start_clock(session, OPEN_CORRECTION, breach)
    session.add(breach)
    session.flush()
    record(
        session,
        "open.breach_recorded",
        actor=actor.actor,
        subject=f"open-agreement:{agreement.id}",
        payload={
            "breach": breach.id,
            "authority": org.id,
            "finding": breach.finding,
            "correction_order": breach.correction_order,
            "correction_workdays": correction_workdays,
            "deadline": breach.deadline,
            "deadline_warning": breach.deadline_warning,
            "penalty": PENALTY_CLAUSE,
        },
    )
    return breach


def confirm_correction(
    session: Session, breach_id: int, *, actor: User, note: str, at: datetime | None = None
) -> OpenBreach:
    """The authority confirms the user corrected; the correction clock stops."""
    breach = get(session, breach_id)
    agreement = _agreement(session, breach.agreement_id)
    _require_authority(session, actor, agreement, "确认违约已改正")
    if breach.corrected_at is not None or breach.fined_at is not None:
        raise BreachClosed("该违约已确认改正或已作出罚款决定")
    breach.corrected_at = as_utc(at) if at else utcnow()
    breach.corrected_confirmed_by = actor.actor
    session.flush()
    record(
        session,
        "open.breach_corrected",
        actor=actor.actor,
        subject=f"open-agreement:{agreement.id}",
        payload={
            "breach": breach.id,
            "note": required_text(note, "改正情况", "note"),
            "on_time": lifecycle.on_time(breach.deadline, breach.corrected_at),
        },
    )
    return breach


def impose_fine(
    session: Session,
    breach_id: int,
    *,
    actor: User,
    amount_yuan: int,
    reason: str,
    note: str,
    now: datetime | None = None,
) -> OpenBreach:
    """A fine within the legal range, only when not corrected by the deadline or when
    the use had serious consequences (OPN-5). Anything else is refused."""
    breach = get(session, breach_id)
    agreement = _agreement(session, breach.agreement_id)
    _require_authority(session, actor, agreement, "作出罚款决定")
    now = as_utc(now) if now else utcnow()
    if breach.fined_at is not None:
        raise BreachClosed("该违约已作出罚款决定")
    if reason not in FINE_REASONS:
        raise InvalidField("罚款理由须为“逾期未改正”或“造成严重后果”", field="reason")
    if reason == "overdue":
        if breach.corrected_at is not None:
            raise BreachClosed("已在期限内确认改正，不能以逾期未改正为由罚款")
        if breach.deadline is None:
            raise InvalidField(
                "改正期限尚无法计算（节假日安排未录入），不能认定逾期未改正", field="reason"
            )
        if now <= as_utc(breach.deadline):
            raise InvalidField("改正期限尚未届满，不能以逾期未改正为由罚款", field="reason")
    if isinstance(amount_yuan, bool) or not isinstance(amount_yuan, int):
        raise InvalidField(f"罚款金额须为整数元，收到：{amount_yuan}", field="amount_yuan")
    if not FINE_MIN_YUAN <= amount_yuan <= FINE_MAX_YUAN:
        raise InvalidField(
            f"罚款金额须在一万元以上十万元以下（{FINE_MIN_YUAN} 至 {FINE_MAX_YUAN} 元），"
            f"收到：{amount_yuan} 元",
            field="amount_yuan",
        )
    breach.fine_yuan = amount_yuan
    breach.fine_reason = (
        f"{FINE_REASONS[reason]}：{required_text(note, '罚款的事实和理由', 'note')}"
    )
    breach.fined_by, breach.fined_at = actor.actor, now
    session.flush()
    record(
        session,
        "open.breach_fined",
        actor=actor.actor,
        subject=f"open-agreement:{agreement.id}",
        payload={"breach": breach.id, "amount_yuan": amount_yuan, "reason": breach.fine_reason},
    )
    return breach


def agreements_in_area(session: Session, actor: User) -> list[OpenAgreement]:
    """Signed agreements on entries in the actor's data authority's area, newest first:
    what it may decide breaches on (all of them for a platform administrator)."""
    from gongshu.catalog.models import CatalogEntry

    stmt = (
        select(OpenAgreement)
        .join(CatalogEntry, OpenAgreement.entry_id == CatalogEntry.id)
        .where(OpenAgreement.signed_at.is_not(None))
    )
    org = actor.org
    if "admin" not in actor.roles:
        if org is None or org.kind != "data_authority":
            return []
        prefix = jurisdiction.area_prefix(org.region_code)
        stmt = stmt.where(CatalogEntry.region_code.startswith(prefix))
    return list(session.scalars(stmt.order_by(OpenAgreement.signed_at.desc())))


def of_user(session: Session, user_id: int) -> list[OpenBreach]:
    """Every breach decided on the user's agreements, newest first (what the party sees)."""
    stmt = (
        select(OpenBreach)
        .join(OpenAgreement, OpenBreach.agreement_id == OpenAgreement.id)
        .where(OpenAgreement.user_id == user_id)
    )
    return list(session.scalars(stmt.order_by(OpenBreach.created_at.desc())))
