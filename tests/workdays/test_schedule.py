"""Administrators' holiday schedules: override, coverage, validation, ledger (CLK-4)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from gongshu.errors import InvalidInput
from gongshu.workdays import (
    PACKAGE_SOURCE,
    Calendar,
    HolidayScheduleDay,
    HolidayScheduleYear,
    InvalidSchedule,
    ScheduleMissing,
    coverage,
    coverage_warning,
    enter_year,
)

# A made-up 2027 schedule for tests (not the real notice, which is not yet published).
DAYS_2027 = [
    (date(2027, 1, 1), "holiday", "元旦"),
    (date(2027, 1, 31), "workday", "春节"),  # Sunday worked
    *[(date(2027, 2, d), "holiday", "春节") for d in range(5, 14)],  # Feb 5-13
    (date(2027, 2, 20), "workday", "春节"),  # Saturday worked
    (date(2027, 10, 1), "holiday", "国庆节"),
]
SOURCE_2027 = "测试用 2027 年安排（非真实通知）"


def insert_year(session: Session, year: int, days: list[tuple[date, str, str]]) -> None:
    row = HolidayScheduleYear(year=year, source=SOURCE_2027, entered_by="user:admin")
    row.days = [HolidayScheduleDay(date=d, kind=k, name=n) for d, k, n in days]
    session.add(row)
    session.flush()


def test_entered_year_extends_coverage(session: Session) -> None:
    with pytest.raises(ScheduleMissing):
        Calendar(session).add_workdays(date(2026, 12, 25), 10)
    assert Calendar(session).covers(2027) is False
    insert_year(session, 2027, DAYS_2027)
    cal = Calendar(session)
    assert cal.covers(2027) is True
    # Dec 28-31 (4), Jan 1 off, Jan 4-8 (9), Jan 11 (10).
    assert cal.add_workdays(date(2026, 12, 25), 10) == date(2027, 1, 11)
    assert cal.is_workday(date(2027, 2, 10)) is False
    assert cal.is_workday(date(2027, 2, 15)) is True
    # A weekend day worked in exchange counts (CLK-3): Sat Feb 20 is day 1.
    assert cal.add_workdays(date(2027, 2, 19), 2) == date(2027, 2, 22)
    assert cal.add_workdays(date(2027, 1, 29), 1) == date(2027, 1, 31)
    # The package-only calendar still refuses to guess.
    with pytest.raises(ScheduleMissing):
        Calendar().is_workday(date(2027, 2, 15))


def test_entered_year_overrides_package_for_that_year(session: Session) -> None:
    # Suppose the State Council amends 2026 so Dec 31 is a day off.
    insert_year(session, 2026, [(date(2026, 12, 31), "holiday", "元旦")])
    assert Calendar(session).is_workday(date(2026, 12, 31)) is False
    assert Calendar().is_workday(date(2026, 12, 31)) is True
    # The whole year comes from the table: Oct 5 2026 is no longer off.
    assert Calendar(session).is_workday(date(2026, 10, 5)) is True
    assert Calendar(session).is_workday(date(2025, 10, 6)) is False  # 2025 untouched


def test_counting_reads_the_table_once_per_year(session: Session) -> None:
    insert_year(session, 2027, DAYS_2027)
    cal = Calendar(session)
    cal.add_workdays(date(2026, 12, 25), 10)
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    conn = session.connection()
    event.listen(conn, "before_cursor_execute", count)
    try:
        for day in range(1, 28):
            cal.add_workdays(date(2027, 2, day), 15)
            cal.is_workday(date(2026, 12, day))
    finally:
        event.remove(conn, "before_cursor_execute", count)
    assert statements == []
    # Sanity check that the listener sees queries at all: a fresh calendar must read.
    event.listen(conn, "before_cursor_execute", count)
    try:
        Calendar(session).is_workday(date(2027, 2, 1))
    finally:
        event.remove(conn, "before_cursor_execute", count)
    assert len(statements) == 2


def test_coverage_lists_package_and_entered_years(session: Session) -> None:
    before = coverage(session)
    assert before[2004] == PACKAGE_SOURCE and before[2026] == PACKAGE_SOURCE
    assert 2027 not in before and 2003 not in before
    insert_year(session, 2027, DAYS_2027)
    after = coverage(session)
    assert after[2027] == f"录入：{SOURCE_2027}"
    assert list(after) == sorted(after)
    assert coverage() == before


def test_coverage_warning_names_the_missing_year(session: Session) -> None:
    warning = coverage_warning(session, date(2026, 11, 1))
    assert warning is not None and "2027 年节假日安排尚未录入" in warning
    assert coverage_warning(session, date(2026, 6, 1)) is None
    insert_year(session, 2027, DAYS_2027)
    assert coverage_warning(session, date(2026, 11, 1)) is None


@pytest.mark.parametrize(
    ("days", "fragment"),
    [
        ([(date(2026, 12, 31), "holiday", "元旦")], "2026-12-31 不在 2027 年内"),
        ([(date(2027, 1, 1), "rest", "元旦")], "2027-01-01 的类型 'rest' 无效"),
        (
            [(date(2027, 1, 1), "holiday", "元旦"), (date(2027, 1, 1), "holiday", "元旦")],
            "2027-01-01 重复登记",
        ),
        (
            [(date(2027, 1, 1), "holiday", "元旦"), (date(2027, 1, 4), "workday", "元旦")],
            "2027-01-04 是星期一，本就是工作日",
        ),
        ([(date(2027, 1, 31), "workday", "春节")], "没有任何放假日"),
        ([("2027-01-01", "holiday", "元旦")], "不是日期"),
    ],
)
def test_enter_year_rejects_bad_days_naming_the_date(
    session: Session, days: list, fragment: str
) -> None:
    with pytest.raises(InvalidSchedule) as info:
        enter_year(session, 2027, days, source="国办发明电〔2026〕1号", actor="user:admin")
    assert isinstance(info.value, InvalidInput)
    assert fragment in info.value.message
    assert session.scalar(select(HolidayScheduleYear)) is None


def test_enter_year_reports_every_problem_at_once(session: Session) -> None:
    days = [(date(2026, 1, 1), "holiday", "元旦"), (date(2027, 3, 1), "swap", "x")]
    with pytest.raises(InvalidSchedule) as info:
        enter_year(session, 2027, days, source="通知", actor="user:admin")
    assert "2 处错误" in info.value.message
    assert len(info.value.detail["problems"]) == 2


def test_enter_year_requires_source(session: Session) -> None:
    with pytest.raises(InvalidSchedule, match="请填写 2027 年安排的依据"):
        enter_year(session, 2027, DAYS_2027, source="  ", actor="user:admin")


def test_enter_year_records_and_replaces_with_ledger(session: Session) -> None:
    ledger = pytest.importorskip("gongshu.ledger")
    row = enter_year(session, 2027, DAYS_2027, source="国办发明电〔2026〕1号", actor="user:admin")
    assert row.id is not None and row.entered_by == "user:admin"
    assert Calendar(session).add_workdays(date(2026, 12, 25), 10) == date(2027, 1, 11)

    # Entering the year again replaces its days (a corrected notice).
    enter_year(
        session,
        2027,
        [(date(2027, 1, 1), "holiday", "元旦"), (date(2027, 1, 4), "holiday", "元旦")],
        source="国办发明电〔2026〕2号",
        actor="user:root",
    )
    cal = Calendar(session)
    assert cal.is_workday(date(2027, 1, 4)) is False
    assert cal.is_workday(date(2027, 2, 10)) is True
    assert coverage(session)[2027] == "录入：国办发明电〔2026〕2号"

    entries = session.scalars(
        select(ledger.LedgerEntry)
        .where(ledger.LedgerEntry.subject == "holiday_year:2027")
        .order_by(ledger.LedgerEntry.position)
    ).all()
    assert [e.action for e in entries] == ["workdays.year_entered", "workdays.year_replaced"]
    assert entries[0].actor == "user:admin"
    assert entries[0].payload["source"] == "国办发明电〔2026〕1号"
    assert ["2027-01-31", "workday", "春节"] in entries[0].payload["days"]
