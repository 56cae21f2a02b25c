"""Errors of the working-day clock."""

from __future__ import annotations

from gongshu.errors import Conflict, InvalidInput


class ScheduleMissing(Conflict):
    """A period reaches into a year whose holiday schedule the platform does not hold (CLK-4)."""

    def __init__(self, year: int) -> None:
        super().__init__(
            f"{year} 年节假日安排尚未录入，"
            f"无法计算跨入该年的期限；请管理员按国务院办公厅当年通知录入 {year} 年放假调休安排。",
            detail={"year": year},
        )
        self.year = year


class InvalidSchedule(InvalidInput):
    """A holiday schedule entered by an administrator does not validate."""
