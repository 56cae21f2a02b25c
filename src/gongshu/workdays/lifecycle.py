"""One lifecycle for every statutory clock (CLK-1..CLK-4, GOV-2).

A capability declares each clock it keeps as a ``ClockSpec``: the model, the
column (or rule) that starts it, the column holding the deadline, the period,
the statuses on which it runs, the legal basis. It then calls the functions
here instead of keeping its own copy:

- ``start_clock`` computes the deadline when the clock starts; when the period
  reaches a year without a holiday schedule the deadline stays NULL and the
  warning column says so (CLK-4, ``schedule_warning``): a year is never guessed.
- ``refresh`` fills every NULL deadline of open rows that can now be computed.
  It runs when an administrator enters a year's schedule (in that transaction)
  and periodically in the job worker, never on a GET.
- ``overdue`` lists open rows past their deadline, in an area if asked (GOV-2).

This module knows no capability: capabilities import ``gongshu.workdays``,
never the reverse. The registry gathers every capability's ``CLOCKS``
(``Capability.clocks``) for the two callers of ``refresh``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from gongshu.timeutil import as_utc, utcnow
from gongshu.workdays.calendar import Calendar
from gongshu.workdays.errors import ScheduleMissing


@dataclass(frozen=True, slots=True)
class Period:
    """A statutory period: working days (CLK-1), natural days (CLK-1, CLK-3) or hours (CLK-2)."""

    workdays: int | None = None
    days: int | None = None
    hours: float | None = None

    def __post_init__(self) -> None:
        given = [v for v in (self.workdays, self.days, self.hours) if v is not None]
        if len(given) != 1:
            raise ValueError("a period is exactly one of workdays, days or hours")

    def ends(self, calendar: Calendar, start: dt.datetime) -> dt.datetime:
        """When the period that starts with the event at ``start`` ends (aware UTC)."""
        if self.workdays is not None:
            return calendar.deadline(start, self.workdays)
        if self.days is not None:
            return calendar.natural_days_deadline(start, self.days)
        return calendar.hours_deadline(start, self.hours or 0)

    def label(self) -> str:
        if self.workdays is not None:
            return f"{self.workdays} 个工作日"
        if self.days is not None:
            return f"{self.days} 日"
        return f"{self.hours:g} 小时"


Row = Any
PeriodOf = Period | Callable[[Session, Row], Period | None]


@dataclass(frozen=True)
class ClockSpec:
    """A statutory clock kept on one model.

    ``start`` and ``period`` are a column name and a ``Period``, or callables of
    the row when they depend on it (an incident's rule, an area's setting).
    ``status``/``open_statuses``/``terminal`` say when the clock runs, and
    ``open_when`` (a query condition) for models without a status. ``refresh``
    fills the open rows that also meet ``fill_when``, and the stopped ones too
    with ``fill_terminal`` (where lateness is judged afterwards). ``region``
    turns a GB/T 2260 area prefix into a condition on the rows (the tier that
    supervises them). ``basis`` is the legal basis shown in the CLK-4 warning;
    ``what`` names the deadline ("答复期限"); ``note`` ends the warning.
    When ``refresh`` fills a deadline it records ``action`` in the ledger with
    ``subject(row)`` and ``payload(row)`` (default: the deadline column).
    """

    name: str
    model: type
    start: str | Callable[[Row], dt.datetime | None]
    deadline: str
    period: PeriodOf
    basis: str
    what: str | Callable[[Row], str] = "期限"
    warning: str | None = None
    status: str | None = None
    open_statuses: tuple[str, ...] = ()
    terminal: tuple[str, ...] = ()
    open_when: Callable[[], ColumnElement[bool]] | None = None
    fill_when: Callable[[], ColumnElement[bool]] | None = None
    fill_terminal: bool = False
    region: Callable[[str], ColumnElement[bool]] | None = None
    note: str = ""
    no_start: str | None = None
    no_period: str | None = None
    action: str = ""
    subject: Callable[[Row], str] | None = None
    payload: Callable[[Row], dict] | None = None

    def column(self, name: str):  # noqa: ANN201
        return getattr(self.model, name)

    def started_at(self, row: Row) -> dt.datetime | None:
        return self.start(row) if callable(self.start) else getattr(row, self.start)

    def period_of(self, session: Session, row: Row) -> Period | None:
        return self.period(session, row) if callable(self.period) else self.period

    def label(self, row: Row) -> str:
        return self.what(row) if callable(self.what) else self.what


def schedule_warning(year: int, *, what: str, basis: str, note: str = "") -> str:
    """The one CLK-4 warning: which deadline cannot be computed, on which basis, and why."""
    return (
        f"{year} 年节假日安排尚未录入，无法计算{what}（{basis}）；"
        f"请管理员按国务院办公厅通知录入 {year} 年放假调休安排，录入后自动计算"
        + (f"；{note}" if note else "")
        + "。"
    )


def compute(
    session: Session, spec: ClockSpec, row: Row, calendar: Calendar | None = None
) -> tuple[dt.datetime | None, str | None]:
    """The deadline of ``row`` on ``spec`` and, when it cannot be computed, why."""
    period = spec.period_of(session, row)
    if period is None:
        return None, spec.no_period
    start = spec.started_at(row)
    if start is None:
        return None, spec.no_start
    try:
        return period.ends(calendar or Calendar(session), start), None
    except ScheduleMissing as exc:  # CLK-4: recorded, deadline unknown, never guessed
        return None, schedule_warning(
            exc.year, what=spec.label(row), basis=spec.basis, note=spec.note
        )


def start_clock(
    session: Session, spec: ClockSpec, row: Row, calendar: Calendar | None = None
) -> dt.datetime | None:
    """Set the deadline (and warning) of ``row`` when its clock starts; returns the deadline."""
    due, warning = compute(session, spec, row, calendar)
    setattr(row, spec.deadline, due)
    if spec.warning is not None:
        setattr(row, spec.warning, warning)
    return due


def running(spec: ClockSpec) -> list[ColumnElement[bool]]:
    """The query conditions of the rows whose clock runs (open statuses, ``open_when``)."""
    conditions = []
    if spec.status is not None:
        conditions.append(spec.column(spec.status).in_(spec.open_statuses))
    if spec.open_when is not None:
        conditions.append(spec.open_when())
    return conditions


def pending(spec: ClockSpec) -> Select:
    """The rows whose deadline is still unknown and that ``refresh`` should fill."""
    conditions = [] if spec.fill_terminal else running(spec)
    if spec.fill_when is not None:
        conditions.append(spec.fill_when())
    stmt = select(spec.model).where(spec.column(spec.deadline).is_(None), *conditions)
    return stmt.order_by(*spec.model.__mapper__.primary_key)


@dataclass(frozen=True, slots=True)
class Filled:
    """A deadline ``refresh`` computed."""

    spec: ClockSpec
    row: Row
    deadline: dt.datetime


def refresh(session: Session, specs: Iterable[ClockSpec]) -> list[Filled]:
    """Compute every NULL deadline of open rows that a schedule now covers (CLK-4).

    Each fill is recorded in the ledger as the spec's ``action`` by ``system``;
    rows still uncovered keep NULL and their warning. Flushes, never commits.
    """
    from gongshu.ledger import record  # the ledger imports every model module

    calendar = Calendar(session)
    filled: list[Filled] = []
    for spec in specs:
        for row in session.scalars(pending(spec)).all():
            due = start_clock(session, spec, row, calendar)
            if due is None:
                continue
            filled.append(Filled(spec, row, due))
            if spec.action:
                record(
                    session,
                    spec.action,
                    actor="system",
                    subject=spec.subject(row) if spec.subject else f"{spec.name}:{row.id}",
                    payload=spec.payload(row) if spec.payload else {spec.deadline: due},
                )
    session.flush()
    return filled


def overdue_query(
    spec: ClockSpec,
    now: dt.datetime | None = None,
    *,
    area: str | None = None,
    where: Sequence[ColumnElement[bool]] = (),
) -> Select:
    """Open rows past their deadline (in ``area`` when given), earliest deadline first."""
    now = as_utc(now) if now else utcnow()
    deadline = spec.column(spec.deadline)
    stmt = select(spec.model).where(deadline.is_not(None), deadline < now, *running(spec), *where)
    if area is not None and spec.region is not None:
        stmt = stmt.where(spec.region(area))
    return stmt.order_by(deadline)


def overdue(
    session: Session,
    spec: ClockSpec,
    now: dt.datetime | None = None,
    *,
    area: str | None = None,
    where: Sequence[ColumnElement[bool]] = (),
) -> list[Row]:
    """What supervision pages list as late (GOV-2)."""
    return list(session.scalars(overdue_query(spec, now, area=area, where=where)))


def on_time(deadline: dt.datetime | None, done_at: dt.datetime | None) -> bool | None:
    """Done (or, if not yet, still) within the deadline; None when the deadline is unknown."""
    if deadline is None:
        return None
    return as_utc(done_at or utcnow()) <= as_utc(deadline)
