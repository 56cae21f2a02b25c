"""Working-day clock: the State Council holiday schedule and statutory deadlines (CLK-1..4),
and the one lifecycle of every statutory clock (``lifecycle``: start, refresh, overdue).

Importing this package only defines its tables; nothing touches a database.
"""

from __future__ import annotations

from gongshu.capability import Capability
from gongshu.workdays.calendar import (
    PACKAGE_SOURCE,
    PACKAGE_YEARS,
    Calendar,
    YearSchedule,
    add_workdays,
    beijing_date,
    end_of_day,
)
from gongshu.workdays.errors import InvalidSchedule, ScheduleMissing
from gongshu.workdays.lifecycle import (
    ClockSpec,
    Filled,
    Period,
    on_time,
    overdue,
    refresh,
    schedule_warning,
    start_clock,
)
from gongshu.workdays.models import HOLIDAY, KINDS, WORKDAY, HolidayScheduleDay, HolidayScheduleYear
from gongshu.workdays.schedule import coverage, coverage_warning, enter_year

CAPABILITY = Capability(
    name="workdays",
    label="工作日历",
    routers=("gongshu.workdays.routes:router", "gongshu.workdays.routes:pages"),
    models=("gongshu.workdays.models",),
    templates=True,
    jobs=("gongshu.workdays.jobs",),
    home=("gongshu.workdays.home:panel",),
)

__all__ = [
    "CAPABILITY",
    "HOLIDAY",
    "KINDS",
    "PACKAGE_SOURCE",
    "PACKAGE_YEARS",
    "WORKDAY",
    "Calendar",
    "ClockSpec",
    "Filled",
    "HolidayScheduleDay",
    "HolidayScheduleYear",
    "InvalidSchedule",
    "Period",
    "ScheduleMissing",
    "YearSchedule",
    "add_workdays",
    "beijing_date",
    "coverage",
    "coverage_warning",
    "end_of_day",
    "enter_year",
    "on_time",
    "overdue",
    "refresh",
    "schedule_warning",
    "start_clock",
]
