"""The PIP-5 clock: 15 working days from the day after receipt (CLK-1), a NULL
deadline with a visible warning when a year has no holiday schedule (CLK-4),
and what is overdue for the data authority (GOV-2)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from gongshu.accounts.models import User
from gongshu.ledger import record
from gongshu.privacy.models import RightsMatch, RightsRequest
from gongshu.timeutil import as_utc, utcnow
from gongshu.workdays import Calendar, ScheduleMissing, beijing_date

ANSWER_WORKDAYS = 15  # PIP-5 (NDSMR 23), PIP-6 (NDSMR 22)


def deadline_warning(year: int) -> str:
    return (
        f"{year} 年节假日安排尚未录入，无法计算答复期限（PIP-5：收到申请后 15 个工作日，CLK-4）；"
        f"申请已受理，请管理员录入 {year} 年放假调休安排后自动计算。"
    )


def _compute_deadline(calendar: Calendar, req: RightsRequest) -> None:
    try:
        req.deadline = calendar.deadline(req.received_at, ANSWER_WORKDAYS)
        req.deadline_warning = None
    except ScheduleMissing as exc:  # CLK-4: recorded, deadline unknown, never guessed
        req.deadline = None
        req.deadline_warning = deadline_warning(exc.year)


def on_time(req: RightsRequest) -> bool | None:
    """Answered (or, if open, still) within the clock; None when the deadline is unknown."""
    if req.deadline is None:
        return None
    moment = as_utc(req.answered_at) if req.answered_at else utcnow()
    return moment <= as_utc(req.deadline)


def in_area(area: str | None):  # noqa: ANN201
    """Requests with a part for a provider in the GB/T 2260 area (None: everywhere)."""
    from gongshu.accounts.models import Organization

    if area is None:
        return true()
    return RightsRequest.id.in_(
        select(RightsMatch.request_id)
        .join(Organization, Organization.id == RightsMatch.provider_org_id)
        .where(Organization.region_code.startswith(area))
    )


def overdue(
    session: Session, now: datetime | None = None, *, area: str | None = None
) -> list[RightsRequest]:
    """Open requests past their deadline, for the data authority of ``area`` (GOV-2)."""
    now = now or utcnow()
    return list(
        session.scalars(
            select(RightsRequest)
            .where(
                RightsRequest.status == "open",
                RightsRequest.deadline.is_not(None),
                RightsRequest.deadline < now,
                in_area(area),
            )
            .order_by(RightsRequest.deadline)
        )
    )


def supervised_area(user: User) -> str | None:
    """The area a user supervises: None for an administrator (everywhere)."""
    from gongshu.exchange.supervision import area_prefix

    if "admin" in user.roles or user.org is None:
        return None
    return area_prefix(user.org)


def refresh_deadlines(session: Session) -> list[RightsRequest]:
    """Fill in deadlines left unknown once an administrator has entered the missing year."""
    calendar = Calendar(session)
    done = []
    for req in session.scalars(select(RightsRequest).where(RightsRequest.deadline.is_(None))):
        _compute_deadline(calendar, req)
        if req.deadline is not None:
            done.append(req)
            record(
                session,
                "rights.deadline_computed",
                actor="system",
                subject=f"rights:{req.id}",
                payload={"deadline": req.deadline},
            )
    session.flush()
    return done


def last_day(req: RightsRequest) -> date | None:
    """The last working day to answer (the deadline is 24:00 of it)."""
    if req.deadline is None:
        return None
    return beijing_date(req.deadline) - timedelta(days=1)


def home_counts(session: Session, user: User) -> dict | None:
    """What the home page shows: a provider's unhandled parts, the authority's overdue."""
    out = {}
    if "privacy:handle" in user.scopes and user.org_id:
        out["to_handle"] = session.scalar(
            select(func.count(RightsMatch.id)).where(
                RightsMatch.provider_org_id == user.org_id, RightsMatch.outcome.is_(None)
            )
        )
    if "privacy:supervise" in user.scopes:
        out["overdue"] = len(overdue(session, area=supervised_area(user)))
    return out or None
