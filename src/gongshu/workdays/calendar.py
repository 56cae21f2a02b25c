"""The working-day calendar and the statutory clocks built on it (CLK-1..CLK-4).

A year's schedule comes from the administrators' table when they entered that
year, otherwise from the ``chinese_calendar`` package, otherwise nowhere: then
``ScheduleMissing`` is raised rather than guessing (CLK-4). Each year is turned
once into a sorted tuple of working-day ordinals, so counting is a bisection,
not a walk over days or a query per day.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from dataclasses import dataclass
from functools import cache

import chinese_calendar
from chinese_calendar import constants as _cc
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.errors import InvalidInput
from gongshu.timeutil import BEIJING, as_utc
from gongshu.workdays.errors import ScheduleMissing
from gongshu.workdays.models import WORKDAY, HolidayScheduleDay, HolidayScheduleYear

PACKAGE_SOURCE = f"chinese_calendar {getattr(chinese_calendar, '__version__', '')}".strip()
PACKAGE_YEARS = range(min(_cc.holidays).year, max(_cc.holidays).year + 1)


@dataclass(frozen=True, slots=True)
class YearSchedule:
    """The working days of one calendar year and where the schedule came from."""

    year: int
    source: str
    workdays: tuple[int, ...]  # sorted ordinals
    workday_set: frozenset[int]

    @classmethod
    def build(
        cls, year: int, source: str, holidays: set[dt.date], workdays: set[dt.date]
    ) -> YearSchedule:
        """Mon-Fri work, Sat-Sun rest, except ``holidays`` (rest) and ``workdays`` (调休上班)."""
        first = dt.date(year, 1, 1).toordinal()
        last = dt.date(year, 12, 31).toordinal()
        days = []
        for ordinal in range(first, last + 1):
            day = dt.date.fromordinal(ordinal)
            if day in workdays or (day.weekday() < 5 and day not in holidays):
                days.append(ordinal)
        return cls(year, source, tuple(days), frozenset(days))


@cache
def _package_year(year: int) -> YearSchedule | None:
    if year not in PACKAGE_YEARS:
        return None
    holidays = {d for d in _cc.holidays if d.year == year}
    workdays = {d for d in _cc.workdays if d.year == year}
    return YearSchedule.build(year, PACKAGE_SOURCE, holidays, workdays)


def _table_year(session: Session, row_id: int, year: int, source: str) -> YearSchedule:
    rows = session.execute(
        select(HolidayScheduleDay.date, HolidayScheduleDay.kind).where(
            HolidayScheduleDay.year_id == row_id
        )
    ).all()
    holidays = {d for d, kind in rows if kind != WORKDAY}
    workdays = {d for d, kind in rows if kind == WORKDAY}
    return YearSchedule.build(year, source, holidays, workdays)


def _as_date(value: dt.date) -> dt.date:
    # A datetime is a date subclass; silently taking its UTC date would shift
    # evening events in Beijing to the wrong day, so callers must say which day.
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise TypeError(f"expected a date, got {type(value).__name__}")
    return value


def _count(n: int, what: str, *, minimum: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < minimum:
        raise InvalidInput(f"期限天数必须是不小于 {minimum} 的整数 ({what})，收到 {n!r}。")
    return n


def beijing_date(moment: dt.datetime) -> dt.date:
    """The calendar day in Beijing on which ``moment`` happened (naive means UTC)."""
    return as_utc(moment).astimezone(BEIJING).date()


def end_of_day(day: dt.date) -> dt.datetime:
    """24:00 Beijing time of ``day`` (the next day's 00:00 +08:00), as an aware UTC datetime."""
    midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=BEIJING)
    return midnight.astimezone(dt.UTC)


class Calendar:
    """Working days by the State Council holiday schedule.

    With a ``session`` the administrators' table is consulted and overrides the
    package for the years it holds; without one only the package is used. An
    instance caches what it has read, so make one per request or job (or call
    ``refresh()`` after ``enter_year``).
    """

    def __init__(self, session: Session | None = None) -> None:
        self._session = session
        self._years: dict[int, YearSchedule] = {}
        self._table: dict[int, tuple[int, str]] | None = None

    def refresh(self) -> None:
        """Forget cached years so newly entered schedules are read."""
        self._years.clear()
        self._table = None

    def _table_index(self) -> dict[int, tuple[int, str]]:
        if self._table is None:
            self._table = {}
            if self._session is not None:
                rows = self._session.execute(
                    select(
                        HolidayScheduleYear.year, HolidayScheduleYear.id, HolidayScheduleYear.source
                    )
                ).all()
                self._table = {year: (row_id, source) for year, row_id, source in rows}
        return self._table

    def schedule(self, year: int) -> YearSchedule:
        """The schedule of ``year``; raises ``ScheduleMissing`` when nobody holds it (CLK-4)."""
        found = self._years.get(year)
        if found is not None:
            return found
        entered = self._table_index().get(year)
        if entered is not None and self._session is not None:
            found = _table_year(self._session, entered[0], year, entered[1])
        else:
            found = _package_year(year)
            if found is None:
                raise ScheduleMissing(year)
        self._years[year] = found
        return found

    def covers(self, year: int) -> bool:
        """Whether ``year`` has a schedule (table or package)."""
        return year in self._table_index() or year in PACKAGE_YEARS

    def is_workday(self, day: dt.date) -> bool:
        """True on a working day, including a weekend day worked in exchange (调休上班, CLK-3)."""
        day = _as_date(day)
        return day.toordinal() in self.schedule(day.year).workday_set

    def add_workdays(self, start: dt.date, n: int) -> dt.date:
        """The ``n``-th working day after ``start``; ``start`` itself never counts (CLK-1).

        Raises ``ScheduleMissing`` when the count reaches a year without a schedule.
        """
        start = _as_date(start)
        remaining = _count(n, "working days", minimum=0)
        if remaining == 0:
            return start
        year = start.year
        days = self.schedule(year).workdays
        index = bisect_right(days, start.toordinal())
        while remaining > len(days) - index:
            remaining -= len(days) - index
            year += 1
            days = self.schedule(year).workdays
            index = 0
        return dt.date.fromordinal(days[index + remaining - 1])

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to and including ``end``; negative if ``end`` is earlier.

        So ``add_workdays(start, workdays_between(start, end)) <= end`` and a deadline
        is met while ``workdays_between(received, today)`` is at most the period.
        """
        start, end = _as_date(start), _as_date(end)
        if end < start:
            return -self.workdays_between(end, start)
        total = 0
        for year in range(start.year, end.year + 1):
            days = self.schedule(year).workdays
            lo = bisect_right(days, start.toordinal()) if year == start.year else 0
            hi = bisect_right(days, end.toordinal()) if year == end.year else len(days)
            total += hi - lo
        return total

    def next_workday(self, day: dt.date) -> dt.date:
        """``day`` itself if it is a working day, else the first working day after it."""
        day = _as_date(day)
        return day if self.is_workday(day) else self.add_workdays(day, 1)

    def deadline(self, start: dt.datetime, workdays: int) -> dt.datetime:
        """When a period of ``workdays`` working days from the event at ``start`` ends.

        "Within 10 working days of receipt" ends at 24:00 Beijing time of the 10th
        working day after the day of receipt (CLK-1; SHR-4, QUA-3, PIP-5, AUD-2 ...).
        Returned as an aware UTC datetime: the next day's 00:00 +08:00.
        """
        _count(workdays, "working days", minimum=1)
        return end_of_day(self.add_workdays(beijing_date(start), workdays))

    def natural_days_deadline(self, start: dt.datetime, days: int) -> dt.datetime:
        """When a period of ``days`` calendar days from the event at ``start`` ends (PIP-4).

        Counted from the next day (CLK-1); if the last day is a rest day (a statutory
        holiday or a weekend not worked in exchange) the period ends at 24:00 of the
        first working day after it (CLK-3, 民法典 art. 203).
        """
        _count(days, "natural days", minimum=1)
        last = beijing_date(start) + dt.timedelta(days=days)
        return end_of_day(self.next_workday(last))

    @staticmethod
    def hours_deadline(start: dt.datetime, hours: float) -> dt.datetime:
        """``hours`` clock hours after the moment of the event (CLK-2; SEC-11 1/8/24/72 hours).

        Incident clocks run through nights, weekends and holidays; no schedule is needed.
        """
        if isinstance(hours, bool) or not isinstance(hours, int | float) or not hours > 0:
            raise InvalidInput(f"小时数必须大于 0，收到 {hours!r}。")
        return as_utc(start) + dt.timedelta(hours=hours)


_PACKAGE_CALENDAR: Calendar | None = None


def add_workdays(start: dt.date, n: int) -> dt.date:
    """``Calendar().add_workdays`` using the package schedule only (no database)."""
    global _PACKAGE_CALENDAR
    if _PACKAGE_CALENDAR is None:
        _PACKAGE_CALENDAR = Calendar()
    return _PACKAGE_CALENDAR.add_workdays(start, n)
