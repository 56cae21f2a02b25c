"""The working-day clock against real State Council schedules (CLK-1..CLK-4)."""

from __future__ import annotations

import random
import time
from datetime import UTC, date, datetime, timedelta

import chinese_calendar
import pytest

from gongshu.errors import Conflict, InvalidInput
from gongshu.timeutil import BEIJING
from gongshu.workdays import PACKAGE_YEARS, Calendar, ScheduleMissing, add_workdays

CAL = Calendar()


def bj(*args: int) -> datetime:
    return datetime(*args, tzinfo=BEIJING)


def test_package_covers_through_2026_and_not_2027() -> None:
    # chinese_calendar 1.11 holds the schedules 2004-2026; update when it is upgraded.
    assert PACKAGE_YEARS.start == 2004
    assert PACKAGE_YEARS[-1] == 2026


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2024, 9, 29), True),  # Sunday worked in exchange for National Day 2024
        (date(2024, 10, 12), True),  # Saturday worked in exchange
        (date(2024, 10, 1), False),
        (date(2024, 10, 7), False),  # Monday off in lieu
        (date(2024, 10, 8), True),
        (date(2024, 10, 13), False),  # ordinary Sunday
        (date(2025, 1, 28), False),  # Spring Festival eve, a holiday since 2025
        (date(2025, 1, 26), True),  # Sunday worked for Spring Festival 2025
        (date(2025, 2, 8), True),  # Saturday worked for Spring Festival 2025
        (date(2026, 2, 23), False),  # last day of the nine-day Spring Festival 2026
    ],
)
def test_is_workday_follows_state_council_schedule(day: date, expected: bool) -> None:
    assert CAL.is_workday(day) is expected


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        # CLK-1: the day of receipt does not count; Oct 1-7 2024 off, Oct 12 worked.
        (date(2024, 9, 30), 10, date(2024, 10, 18)),
        # Received Friday before National Day: the swapped Sunday Sep 29 is day 1.
        (date(2024, 9, 27), 10, date(2024, 10, 16)),
        # Received on a holiday: counting starts with the first working day after it.
        (date(2024, 10, 3), 1, date(2024, 10, 8)),
        # Spring Festival 2025: Jan 26 (Sun) and Feb 8 (Sat) worked, Jan 28-Feb 4 off.
        (date(2025, 1, 24), 5, date(2025, 2, 7)),
        (date(2025, 1, 24), 10, date(2025, 2, 13)),
        # Across New Year 2025 (Jan 1 off).
        (date(2024, 12, 27), 5, date(2025, 1, 6)),
        # Ends exactly on the last working day of the last covered year.
        (date(2026, 12, 24), 5, date(2026, 12, 31)),
        (date(2024, 9, 30), 0, date(2024, 9, 30)),
    ],
)
def test_add_workdays_known_dates(start: date, n: int, expected: date) -> None:
    assert CAL.add_workdays(start, n) == expected
    assert add_workdays(start, n) == expected


def test_add_workdays_matches_day_by_day_count() -> None:
    rng = random.Random(20241001)
    for _ in range(300):
        start = date(2004, 1, 1) + timedelta(days=rng.randrange(8000))
        n = rng.randrange(1, 95)
        day, left = start, n
        while left:
            day += timedelta(days=1)
            left -= chinese_calendar.is_workday(day)
        if day.year > 2026:
            continue
        assert CAL.add_workdays(start, n) == day, (start, n)
        assert CAL.workdays_between(start, day) == n
        assert CAL.workdays_between(day, start) == -n


def test_workdays_between_counts_after_start_through_end() -> None:
    assert CAL.workdays_between(date(2024, 9, 30), date(2024, 10, 18)) == 10
    assert CAL.workdays_between(date(2024, 9, 30), date(2024, 10, 7)) == 0
    assert CAL.workdays_between(date(2024, 10, 18), date(2024, 10, 18)) == 0
    # 2024-12-20 (Fri) to 2025-01-10: Dec 23-27, 30, 31, Jan 2, 3, 6-10.
    assert CAL.workdays_between(date(2024, 12, 20), date(2025, 1, 10)) == 14


def test_deadline_is_2400_beijing_of_last_working_day_in_utc() -> None:
    due = CAL.deadline(bj(2024, 9, 30, 9, 15), 10)  # SHR-4: 10 working days
    assert due == datetime(2024, 10, 18, 16, 0, tzinfo=UTC)
    assert due.tzinfo is not None and due.utcoffset() == timedelta(0)
    assert due.astimezone(BEIJING) == bj(2024, 10, 19, 0, 0)


def test_deadline_uses_beijing_day_of_receipt_not_utc_day() -> None:
    # Both moments fall on 2024-09-26 in UTC; in Beijing the second is Friday.
    thursday_night = CAL.deadline(bj(2024, 9, 26, 23, 30), 10)
    friday_morning = CAL.deadline(bj(2024, 9, 27, 0, 30), 10)
    assert thursday_night == datetime(2024, 10, 15, 16, 0, tzinfo=UTC)
    assert friday_morning == datetime(2024, 10, 16, 16, 0, tzinfo=UTC)
    # A naive datetime is UTC by the platform's convention.
    assert CAL.deadline(datetime(2024, 9, 26, 16, 30), 10) == friday_morning


@pytest.mark.parametrize(
    ("start", "expected_last_day"),
    [
        (bj(2024, 9, 16, 10), date(2024, 10, 8)),  # +15 = Oct 1, holiday until Oct 7
        (bj(2024, 8, 30, 10), date(2024, 9, 14)),  # +15 = swapped working Saturday
        (bj(2024, 9, 6, 10), date(2024, 9, 23)),  # +15 = ordinary Saturday
        (bj(2024, 9, 9, 10), date(2024, 9, 24)),  # +15 = Tuesday, no extension
    ],
)
def test_natural_days_deadline_extends_past_rest_days(
    start: datetime, expected_last_day: date
) -> None:
    # PIP-4 "within 15 days"; CLK-3 moves a last day on a rest day to the next working day.
    due = CAL.natural_days_deadline(start, 15)
    assert due.astimezone(BEIJING) == datetime.combine(
        expected_last_day + timedelta(days=1), datetime.min.time(), tzinfo=BEIJING
    )


@pytest.mark.parametrize(
    ("hours", "expected_beijing"),
    [
        (1, bj(2024, 10, 1, 4, 0)),
        (8, bj(2024, 10, 1, 11, 0)),
        (24, bj(2024, 10, 2, 3, 0)),
        (72, bj(2024, 10, 4, 3, 0)),
    ],
)
def test_hours_deadline_runs_through_holidays(hours: int, expected_beijing: datetime) -> None:
    # SEC-11 / CLK-2: clock hours from the moment the incident was found.
    due = CAL.hours_deadline(bj(2024, 10, 1, 3, 0), hours)
    assert due == expected_beijing
    assert due.utcoffset() == timedelta(0)


def test_hours_deadline_needs_no_schedule() -> None:
    assert CAL.hours_deadline(bj(2031, 1, 1, 12), 8) == bj(2031, 1, 1, 20)


def test_year_without_schedule_raises_and_names_year() -> None:
    with pytest.raises(ScheduleMissing) as info:
        CAL.is_workday(date(2027, 3, 1))
    assert isinstance(info.value, Conflict) and info.value.status == 409
    assert "2027 年节假日安排尚未录入" in info.value.message
    assert info.value.year == 2027
    with pytest.raises(ScheduleMissing, match="2003"):
        CAL.add_workdays(date(2003, 6, 1), 3)


def test_period_reaching_into_uncovered_year_raises() -> None:
    # 2026-12-25 (Fri) + 10 working days needs January 2027 (CLK-4): never guess.
    with pytest.raises(ScheduleMissing, match="2027"):
        CAL.add_workdays(date(2026, 12, 25), 10)
    with pytest.raises(ScheduleMissing, match="2027"):
        CAL.deadline(bj(2026, 12, 31, 10), 1)
    with pytest.raises(ScheduleMissing, match="2027"):
        CAL.workdays_between(date(2026, 12, 1), date(2027, 1, 5))
    with pytest.raises(ScheduleMissing, match="2027"):
        CAL.natural_days_deadline(bj(2026, 12, 20), 15)


@pytest.mark.parametrize("n", [-1, 1.5, True, "3"])
def test_bad_counts_are_rejected(n: object) -> None:
    with pytest.raises(InvalidInput):
        CAL.add_workdays(date(2024, 1, 2), n)  # type: ignore[arg-type]


def test_zero_or_bad_periods_are_rejected() -> None:
    with pytest.raises(InvalidInput, match="working days"):
        CAL.deadline(bj(2024, 1, 2, 9), 0)
    with pytest.raises(InvalidInput, match="小时数必须大于 0"):
        CAL.hours_deadline(bj(2024, 1, 2, 9), 0)


def test_datetime_is_not_taken_for_a_date() -> None:
    with pytest.raises(TypeError):
        CAL.is_workday(datetime(2024, 10, 1, 20, tzinfo=UTC))


def test_thousands_of_deadlines_per_second() -> None:
    rng = random.Random(7)
    starts = [date(2024, 1, 1) + timedelta(days=rng.randrange(900)) for _ in range(20_000)]
    cal = Calendar()
    began = time.perf_counter()
    for start in starts:
        cal.add_workdays(start, 10)
    elapsed = time.perf_counter() - began
    assert elapsed < 2.0, f"20,000 add_workdays took {elapsed:.2f}s"
