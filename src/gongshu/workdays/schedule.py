"""Entering a year's State Council schedule, and what the platform covers (CLK-4)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.timeutil import utcnow
from gongshu.workdays.calendar import PACKAGE_SOURCE, PACKAGE_YEARS
from gongshu.workdays.errors import InvalidSchedule
from gongshu.workdays.lifecycle import ClockSpec, refresh
from gongshu.workdays.models import (
    HOLIDAY,
    KINDS,
    WORKDAY,
    HolidayScheduleDay,
    HolidayScheduleYear,
)

_WEEKDAYS = "一二三四五六日"
_MAX_NAME = 64


def _check_days(year: int, days: Iterable[Sequence[object]]) -> list[tuple[dt.date, str, str]]:
    problems: list[str] = []
    clean: list[tuple[dt.date, str, str]] = []
    seen: set[dt.date] = set()
    for position, item in enumerate(days, start=1):
        if not isinstance(item, Sequence) or isinstance(item, str) or len(item) != 3:
            problems.append(f"第 {position} 项应为（日期, 类型, 名称）三元组")
            continue
        day, kind, name = item
        if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
            problems.append(f"第 {position} 项的日期 {day!r} 不是日期")
            continue
        label = day.isoformat()
        if day.year != year:
            problems.append(f"{label} 不在 {year} 年内")
        if day in seen:
            problems.append(f"{label} 重复登记")
        seen.add(day)
        if kind not in KINDS:
            problems.append(
                f"{label} 的类型 {kind!r} 无效，应为 holiday（放假）或 workday（调休上班）"
            )
        elif kind == WORKDAY and day.weekday() < 5:
            weekday = _WEEKDAYS[day.weekday()]
            problems.append(f"{label} 是星期{weekday}，本就是工作日，不能登记为调休上班日")
        if not isinstance(name, str) or len(name.strip()) > _MAX_NAME:
            problems.append(f"{label} 的名称应为不超过 {_MAX_NAME} 字的文字")
            continue
        clean.append((day, str(kind), name.strip()))
    if problems:
        raise InvalidSchedule(
            f"{year} 年节假日安排有 {len(problems)} 处错误：" + "；".join(problems) + "。",
            detail={"year": year, "problems": problems},
        )
    return sorted(clean)


def enter_year(
    session: Session,
    year: int,
    days: Iterable[Sequence[object]],
    *,
    source: str,
    actor: str,
    clocks: Iterable[ClockSpec] = (),
) -> HolidayScheduleYear:
    """Record one year's schedule from the State Council notice (CLK-4).

    ``days`` lists every departure from the Monday-to-Friday week as
    ``(date, kind, name)``: ``kind`` is ``"holiday"`` (放假) or ``"workday"``
    (调休上班, only on a Saturday or Sunday). Entering a year again replaces it;
    an entered year overrides the package for that year. Validates everything
    before writing, flushes, and records ``workdays.year_entered`` (or
    ``workdays.year_replaced``) in the ledger. Then, in the same transaction,
    fills the NULL deadlines of ``clocks`` the new year lets us compute
    (``lifecycle.refresh``; the caller passes every capability's specs, see
    ``gongshu.workdays.jobs``). Never commits.
    """
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise InvalidSchedule(f"年份 {year!r} 无效，应为 2000 至 2100 之间的整数。")
    if not isinstance(source, str) or not source.strip():
        raise InvalidSchedule(f"请填写 {year} 年安排的依据，例如国务院办公厅通知文号。")
    if not isinstance(actor, str) or not actor.strip():
        raise InvalidSchedule("缺少录入人。")
    checked = _check_days(year, days)
    if not any(kind == HOLIDAY for _, kind, _ in checked):
        raise InvalidSchedule(f"{year} 年安排中没有任何放假日，请核对通知后再录入。")

    # Import here: the ledger imports every model module, which imports this package.
    from gongshu.ledger import record

    row = session.scalar(select(HolidayScheduleYear).where(HolidayScheduleYear.year == year))
    action = "workdays.year_replaced" if row is not None else "workdays.year_entered"
    if row is None:
        row = HolidayScheduleYear(year=year, source="", entered_by="")
        session.add(row)
    else:
        # Delete the old days before inserting new ones: the unit of work inserts
        # before it deletes, which would trip the unique date constraint.
        row.days.clear()
        session.flush()
    row.source = source.strip()
    row.entered_by = actor
    row.entered_at = utcnow()
    row.days.extend(HolidayScheduleDay(date=d, kind=k, name=n) for d, k, n in checked)
    session.flush()
    record(
        session,
        action,
        actor=actor,
        subject=f"holiday_year:{year}",
        payload={
            "year": year,
            "source": row.source,
            "days": [[d.isoformat(), k, n] for d, k, n in checked],
        },
    )
    refresh(session, clocks)
    return row


def coverage(session: Session | None = None) -> dict[int, str]:
    """Every year with a schedule and its source: the package, or the notice an admin entered."""
    found = {year: PACKAGE_SOURCE for year in PACKAGE_YEARS}
    if session is not None:
        for year, source in session.execute(
            select(HolidayScheduleYear.year, HolidayScheduleYear.source)
        ):
            found[year] = f"录入：{source}"
    return dict(sorted(found.items()))


def coverage_warning(
    session: Session | None, today: dt.date, *, horizon_days: int = 92
) -> str | None:
    """A message for administrators when a year within ``horizon_days`` has no schedule.

    Deadlines reaching into that year will raise ``ScheduleMissing`` (CLK-4), so
    the gap should be closed before the first such period starts.
    """
    covered = coverage(session)
    last = today + dt.timedelta(days=horizon_days)
    for year in range(today.year, last.year + 1):
        if year not in covered:
            return (
                f"{year} 年节假日安排尚未录入；"
                f"跨入 {year} 年的期限将无法计算，请按国务院办公厅通知尽快录入。"
            )
    return None
