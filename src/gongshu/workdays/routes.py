"""The clock for administrators: which years have a schedule, entering the next one,
and a deadline calculator that refuses to guess (CLK-1..4)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import ACCOUNT_SELF, CALENDAR_ADMIN
from gongshu.capability import installed
from gongshu.errors import InvalidInput
from gongshu.timeutil import BEIJING, utcnow
from gongshu.web.bounds import Code, Days, Name, Year
from gongshu.web.deps import SessionDep
from gongshu.web.render import render
from gongshu.workdays.calendar import Calendar
from gongshu.workdays.schedule import coverage, coverage_warning, enter_year

router = APIRouter(prefix="/api/v1/calendar", tags=["calendar"])
pages = APIRouter(include_in_schema=False)


def _clocks():  # noqa: ANN202
    """Every capability's clocks (``Capability.clocks``, from the registry), refreshed in
    the transaction that enters a year (CLK-4): ``gongshu.workdays`` knows no capability."""
    return installed().clocks()


class ScheduleYearUpdate(BaseModel):
    source: Name
    days: Annotated[list[tuple[dt.date, Code, Name]], Field(max_length=366)]


def parse_lines(text: str) -> list[tuple[dt.date, str, str]]:
    """``2027-01-01,holiday,元旦`` per line; errors name the line."""
    days, problems = [], []
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.replace("，", ",").split(",")]
        if len(parts) != 3:
            problems.append(f"第 {n} 行应为「日期,类型,名称」三项")
            continue
        try:
            day = dt.date.fromisoformat(parts[0])
        except ValueError:
            problems.append(f"第 {n} 行的日期无效：{parts[0]}")
            continue
        kind = {"放假": "holiday", "调休": "workday", "上班": "workday"}.get(parts[1], parts[1])
        days.append((day, kind, parts[2]))
    if problems:
        raise InvalidInput("；".join(problems))
    return days


@router.get("/coverage")
def get_coverage(session: SessionDep, user: Annotated[User, requires(ACCOUNT_SELF)]) -> dict:
    """Years with a schedule and where each came from; a warning when the next is missing."""
    today = utcnow().astimezone(BEIJING).date()
    return {
        "years": {str(y): s for y, s in coverage(session).items()},
        "warning": coverage_warning(session, today),
    }


@router.get("/deadline", responses={409: {}})
def deadline(
    session: SessionDep,
    user: Annotated[User, requires(ACCOUNT_SELF)],
    received: dt.datetime,
    workdays: Days = 10,
) -> dict:
    """24:00 Beijing time of the last working day; 409 when a year has no schedule."""
    due = Calendar(session).deadline(received, workdays)
    return {"received": received.isoformat(), "workdays": workdays, "deadline": due.isoformat()}


@router.put("/years/{year}")
def put_year(
    year: Year,
    body: ScheduleYearUpdate,
    session: SessionDep,
    user: Annotated[User, requires(CALENDAR_ADMIN)],
) -> dict:
    """Enter (or replace) a year from the State Council notice; deadlines it lets us
    compute are filled in the same transaction."""
    row = enter_year(
        session, year, body.days, source=body.source, actor=user.actor, clocks=_clocks()
    )
    return {"year": row.year, "source": row.source, "days": len(row.days)}


@pages.get("/calendar")
def calendar_page(
    request: Request, session: SessionDep, user: Annotated[User, requires(CALENDAR_ADMIN)]
) -> Response:
    today = utcnow().astimezone(BEIJING).date()
    return render(
        request,
        "calendar.html",
        years=coverage(session),
        warning=coverage_warning(session, today),
        next_year=today.year + 1,
    )


@pages.post("/calendar")
def calendar_enter(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(CALENDAR_ADMIN)],
    year: Annotated[int, Form()],
    source: Annotated[str, Form()] = "",
    days: Annotated[str, Form()] = "",
) -> Response:
    from gongshu.errors import GongshuError

    try:
        with session.begin_nested():
            enter_year(
                session,
                year,
                parse_lines(days),
                source=source,
                actor=user.actor,
                clocks=_clocks(),
            )
    except GongshuError as exc:
        today = utcnow().astimezone(BEIJING).date()
        return render(
            request,
            "calendar.html",
            status_code=exc.status,
            years=coverage(session),
            warning=coverage_warning(session, today),
            next_year=year,
            error=exc.message,
            source=source,
            days=days,
        )
    return RedirectResponse("/calendar", status_code=303)
