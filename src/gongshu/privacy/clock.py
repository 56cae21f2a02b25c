"""The PIP-5 clock: 15 working days from the day after receipt (CLK-1), a NULL
deadline with a visible warning when a year has no holiday schedule (CLK-4),
and what is overdue for the data authority (GOV-2)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from gongshu.accounts.models import User
from gongshu.privacy.models import RightsMatch, RightsRequest
from gongshu.workdays import ClockSpec, Period, beijing_date, lifecycle

ANSWER_WORKDAYS = 15  # PIP-5 (NDSMR 23), PIP-6 (NDSMR 22)


def on_time(req: RightsRequest) -> bool | None:
    """Answered (or, if open, still) within the clock; None when the deadline is unknown."""
    return lifecycle.on_time(req.deadline, req.answered_at)


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


RIGHTS_ANSWER = ClockSpec(
    name="rights",
    model=RightsRequest,
    start="received_at",
    deadline="deadline",
    warning="deadline_warning",
    period=Period(workdays=ANSWER_WORKDAYS),
    basis=f"收到申请后 {ANSWER_WORKDAYS} 个工作日",
    what="答复期限",
    note="申请已受理",
    status="status",
    open_statuses=("open",),
    terminal=("answered",),
    fill_terminal=True,  # an answered request's deadline still tells whether it was late
    region=in_area,
    action="rights.deadline_computed",
)

CLOCKS = (RIGHTS_ANSWER,)


def overdue(
    session: Session, now: datetime | None = None, *, area: str | None = None
) -> list[RightsRequest]:
    """Open requests past their deadline, for the data authority of ``area`` (GOV-2)."""
    return lifecycle.overdue(session, RIGHTS_ANSWER, now, area=area)


def supervised_area(user: User) -> str | None:
    """The area a user supervises: None for an administrator (everywhere)."""
    from gongshu.exchange.supervision import area_prefix

    if "admin" in user.roles or user.org is None:
        return None
    return area_prefix(user.org)


def refresh_deadlines(session: Session) -> list[RightsRequest]:
    """The requests whose deadline a newly covered year let us compute (CLK-4)."""
    return [f.row for f in lifecycle.refresh(session, CLOCKS)]


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
