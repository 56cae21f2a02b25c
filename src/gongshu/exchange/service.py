"""Sharing applications on the statutory clock (SHR-1..SHR-4, CLK-1, CLK-4, GOV-2).

An agency applies for a conditional-share entry stating reason, legal basis,
use and a concrete scenario (SHR-3). The provider answers within 10 working
days of receipt (SHR-4): approves with conditions, refuses with reasons and a
legal basis (SHR-1), or refers the case to the data authority of its own tier,
which then decides. An approval creates a grant through the egress door; the
applicant reads only through ``egress.deliver``. Every change is in the ledger.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import User
from gongshu.catalog import search as catalog_search
from gongshu.catalog import service as catalog
from gongshu.egress import service as egress
from gongshu.errors import InvalidField
from gongshu.exchange.clocks import CLOCKS, SHARING_ANSWER
from gongshu.exchange.errors import (
    ApplicationNotFound,
    NotApplicable,
    NotAuthority,
    NotProvider,
    WrongStatus,
)
from gongshu.exchange.models import STATUS_LABELS, SharingApplication
from gongshu.exchange.supervision import area_prefix
from gongshu.ledger import record
from gongshu.timeutil import as_utc, utcnow
from gongshu.workdays import Calendar, ScheduleMissing, beijing_date, lifecycle

MAX_TERM_DAYS = 3650  # the answer clock (SHR-4) is declared in exchange/clocks.py
REQUIRED_TEXT = {
    "reason": "申请理由",
    "legal_basis": "申请依据",
    "use": "数据用途",
    "scenario": "具体应用场景",
}


def _subject(app: SharingApplication) -> str:
    return f"application:{app.id}"


# ---------------------------------------------------------------- applying


def apply(
    session: Session,
    entry_id: int,
    *,
    actor: User,
    reason: str,
    legal_basis: str,
    use: str,
    scenario: str,
    requested_fields: list[str],
    term_days: int,
    received_at: dt.datetime | None = None,
) -> SharingApplication:
    """Record an application for a conditional-share entry (SHR-3) and start its clock.

    The application is recorded even when the answer deadline cannot be computed
    because a year has no holiday schedule: then ``deadline`` is None and
    ``deadline_warning`` says why (CLK-4).
    """
    entry = catalog.get(session, entry_id)
    if entry.published_version is None or not catalog_search.can_see(entry, actor):
        raise NotApplicable(f"目录尚未发布，不能申请共享：{entry.name}")
    if entry.sharing_attr == "none":
        raise NotApplicable(
            f"“{entry.name}”为不予共享目录，不能申请；依据：{entry.no_share_basis or '未注明'}",
            detail={"no_share_basis": entry.no_share_basis},
        )
    if entry.sharing_attr == "unconditional":
        raise NotApplicable(
            f"“{entry.name}”为无条件共享目录，无需申请，说明应用场景后直接获取即可",
            detail={"take": f"/catalog/{entry.id}/take"},
        )
    if actor.org is None or actor.org.kind != "agency":
        raise NotApplicable("共享数据仅向公共管理和服务机构提供")
    if actor.org_id == entry.provider_org_id:
        raise NotApplicable("不能申请本单位提供的数据")
    # Every problem of the application at once, each by its form field (issue 17 item 6).
    problems: dict[str, str] = {}
    texts = {"reason": reason, "legal_basis": legal_basis, "use": use, "scenario": scenario}
    missing = [label for key, label in REQUIRED_TEXT.items() if not (texts[key] or "").strip()]
    for key in REQUIRED_TEXT:
        if not (texts[key] or "").strip():
            problems[key] = "有条件共享申请必须填写"
    known = [f["name"] for f in entry.fields]
    wanted = list(dict.fromkeys(f.strip() for f in requested_fields or [] if f.strip()))
    unknown = [f for f in wanted if f not in known]
    if not wanted:
        problems["requested_fields"] = "请至少选择一个申请的字段"
    elif unknown:
        problems["requested_fields"] = f"申请的字段不在目录“{entry.name}”中：{'、'.join(unknown)}"
    if isinstance(term_days, bool) or not isinstance(term_days, int):
        problems["term_days"] = "使用期限必须是整数天"
    elif not 1 <= term_days <= MAX_TERM_DAYS:
        problems["term_days"] = f"使用期限须在 1 至 {MAX_TERM_DAYS} 天之间，收到 {term_days}"
    if problems:
        error = InvalidField.of(problems)
        # The API's one message names the missing texts together.
        said = [v for k, v in problems.items() if k not in REQUIRED_TEXT]
        if missing:
            said.insert(0, f"有条件共享申请必须填写：{'、'.join(missing)}")
        error.message = "；".join(said)
        raise error
    app = SharingApplication(
        entry_id=entry.id,
        provider_org_id=entry.provider_org_id,
        applicant_org_id=actor.org_id,
        applicant_user_id=actor.id,
        requested_fields=[f for f in known if f in wanted],
        term_days=term_days,
        status="submitted",
        received_at=as_utc(received_at) if received_at else utcnow(),
        **{k: v.strip() for k, v in texts.items()},
    )
    lifecycle.start_clock(session, SHARING_ANSWER, app)
    session.add(app)
    session.flush()
    record(
        session,
        "sharing.applied",
        actor=actor.actor,
        subject=_subject(app),
        payload={
            "entry": entry.id,
            "applicant_org": actor.org_id,
            "provider_org": entry.provider_org_id,
            "fields": app.requested_fields,
            "term_days": term_days,
            "scenario": app.scenario,
            "received_at": app.received_at,
            "deadline": app.deadline,
            "deadline_warning": app.deadline_warning,
        },
    )
    return app


def get(session: Session, application_id: int) -> SharingApplication:
    app = session.get(SharingApplication, application_id)
    if app is None:
        raise ApplicationNotFound(f"共享申请不存在：{application_id}")
    return app


def refresh_deadlines(session: Session) -> list[SharingApplication]:
    """The applications whose deadline a newly covered year let us compute (CLK-4)."""
    return [f.row for f in lifecycle.refresh(session, CLOCKS)]


# ---------------------------------------------------------------- answering


def _check_answerer(app: SharingApplication, actor: User) -> str:
    """Who may act now: the provider while submitted, the authority of its tier once referred."""
    if app.status == "submitted":
        if actor.org_id != app.provider_org_id:
            raise NotProvider("只有数据提供单位可以答复该申请")
        return "provider"
    if app.status == "referred":
        org = actor.org
        if (
            org is None
            or org.kind != "data_authority"
            or not ({"reviewer", "admin"} & set(actor.roles))
            or org.region_code != app.referred_region_code
        ):
            raise NotAuthority("该申请已报同级数据管理部门，由其决定")
        return "authority"
    raise WrongStatus(f"该申请{STATUS_LABELS.get(app.status, app.status)}，不能再次处理")


def _answered(app: SharingApplication, actor: User, role: str, now: dt.datetime) -> None:
    if role == "provider":
        app.answered_at, app.answered_by = now, actor.actor
    else:
        app.decided_at, app.decided_by = now, actor.actor


def approve(
    session: Session,
    application_id: int,
    *,
    actor: User,
    conditions: str,
    policy: str | None = None,
    row_filter: list[dict] | None = None,
    now: dt.datetime | None = None,
) -> SharingApplication:
    """Approve with conditions and create the grant: requested fields, purpose = scenario,
    expiry = term, masking policy ``share-conditional`` unless another is named (SHR-4, SHR-5)."""
    app = get(session, application_id)
    role = _check_answerer(app, actor)
    if not (conditions or "").strip():
        raise InvalidField("同意共享须写明共享条件，如用途限制、安全要求", field="conditions")
    grant = egress.create_grant(
        session,
        app.entry,
        recipient_org_id=app.applicant_org_id,
        purpose=app.scenario,
        source="sharing",
        actor=actor,
        days=app.term_days,
        policy=policy,  # None: the shipped default for the entry's grade
        columns=list(app.requested_fields),
        row_filter=row_filter,
        source_ref=_subject(app),
    )
    now = as_utc(now) if now else utcnow()  # another moment only where a history is replayed
    app.status, app.answer, app.grant_id = "approved", conditions.strip(), grant.id
    _answered(app, actor, role, now)
    session.flush()
    record(
        session,
        "sharing.approved",
        actor=actor.actor,
        subject=_subject(app),
        payload={"by": role, "conditions": app.answer, "grant": grant.id, "late": _late(app, now)},
    )
    return app


def refuse(
    session: Session,
    application_id: int,
    *,
    actor: User,
    reasons: str,
    legal_basis: str,
    now: dt.datetime | None = None,
) -> SharingApplication:
    """Refuse with reasons and a legal basis: sharing is the rule (SHR-1, SHR-4)."""
    app = get(session, application_id)
    role = _check_answerer(app, actor)
    missing = {
        field: f"不予共享须说明{what}"
        for field, what, v in (
            ("reasons", "理由", reasons),
            ("legal_basis", "法律依据", legal_basis),
        )
        if not (v or "").strip()
    }
    if missing:
        raise InvalidField.of(missing)
    now = as_utc(now) if now else utcnow()  # another moment only where a history is replayed
    app.status, app.answer, app.refusal_basis = "refused", reasons.strip(), legal_basis.strip()
    _answered(app, actor, role, now)
    session.flush()
    record(
        session,
        "sharing.refused",
        actor=actor.actor,
        subject=_subject(app),
        payload={"by": role, "reasons": app.answer, "legal_basis": app.refusal_basis},
    )
    return app


def refer(session: Session, application_id: int, *, actor: User, note: str) -> SharingApplication:
    """The provider, unsure, reports to the data authority of its own tier (SHR-4)."""
    app = get(session, application_id)
    if _check_answerer(app, actor) != "provider":
        raise WrongStatus("该申请已报数据管理部门")
    if not (note or "").strip():
        raise InvalidField("报数据管理部门时须说明不能确定能否共享的原因", field="note")
    now = utcnow()
    app.status = "referred"
    app.referred_region_code = app.provider.region_code
    app.referred_at, app.referral_note = now, note.strip()
    _answered(app, actor, "provider", now)
    session.flush()
    record(
        session,
        "sharing.referred",
        actor=actor.actor,
        subject=_subject(app),
        payload={"region": app.referred_region_code, "note": app.referral_note},
    )
    return app


def _late(app: SharingApplication, now: dt.datetime) -> bool | None:
    return None if app.deadline is None else as_utc(app.deadline) < now


# ---------------------------------------------------------------- queues


def _ordered(stmt):  # noqa: ANN001, ANN202
    return stmt.order_by(SharingApplication.deadline, SharingApplication.received_at)


def mine(session: Session, actor: User) -> list[SharingApplication]:
    """Applications made by the actor's agency, newest first."""
    if actor.org_id is None:
        return []
    stmt = select(SharingApplication).where(SharingApplication.applicant_org_id == actor.org_id)
    return list(session.scalars(stmt.order_by(SharingApplication.received_at.desc())))


def to_answer(session: Session, actor: User) -> list[SharingApplication]:
    """The provider's queue: unanswered applications for its entries, earliest deadline first."""
    if actor.org_id is None:
        return []
    stmt = select(SharingApplication).where(
        SharingApplication.provider_org_id == actor.org_id,
        SharingApplication.status == "submitted",
    )
    return list(session.scalars(_ordered(stmt)))


def referred_to(session: Session, actor: User) -> list[SharingApplication]:
    """The data authority's queue of referred applications at its tier (SHR-4)."""
    if actor.org is None or actor.org.kind != "data_authority":
        return []
    stmt = select(SharingApplication).where(
        SharingApplication.status == "referred",
        SharingApplication.referred_region_code == actor.org.region_code,
    )
    return list(session.scalars(stmt.order_by(SharingApplication.referred_at)))


def overdue(session: Session, now: dt.datetime | None = None) -> list[SharingApplication]:
    """Applications past their deadline and still unanswered by the provider (SHR-4, GOV-2)."""
    stmt = lifecycle.overdue_query(SHARING_ANSWER, now)
    return list(session.scalars(stmt.order_by(SharingApplication.received_at)))


def workdays_left(session: Session, app: SharingApplication, today: dt.date) -> int | None:
    """Working days left to answer, today included (the day of receipt never counts,
    CLK-1); negative when overdue; None when the deadline is unknown (CLK-4)."""
    if app.deadline is None:
        return None
    last = beijing_date(app.deadline) - dt.timedelta(days=1)  # deadline is 24:00 of ``last``
    calendar = Calendar(session)
    try:
        if today > last:
            return -calendar.workdays_between(last, today)
        start = max(today - dt.timedelta(days=1), beijing_date(app.received_at))
        return calendar.workdays_between(start, last)
    except ScheduleMissing:
        return None


def can_view(app: SharingApplication, actor: User) -> bool:
    """Applicant, provider, the authority it was referred to, or a supervising authority."""
    if "admin" in actor.roles or actor.org_id in (app.applicant_org_id, app.provider_org_id):
        return True
    org = actor.org
    return (
        org is not None
        and org.kind == "data_authority"
        and app.provider.region_code.startswith(area_prefix(org))
    )


def get_visible(session: Session, application_id: int, actor: User) -> SharingApplication:
    app = get(session, application_id)
    if not can_view(app, actor):
        raise ApplicationNotFound(f"共享申请不存在：{application_id}")
    return app
