"""Holiday schedules entered by administrators for years the package does not cover (CLK-4)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gongshu.db import Base
from gongshu.timeutil import utcnow

HOLIDAY = "holiday"  # 放假 (a rest day, including a weekday taken off in lieu)
WORKDAY = "workday"  # 调休上班 (a weekend day worked in exchange)
KINDS = (HOLIDAY, WORKDAY)


class HolidayScheduleYear(Base):
    """One year's State Council schedule; when present it replaces the package for that year."""

    __tablename__ = "holiday_schedule_years"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(unique=True)
    source: Mapped[str] = mapped_column(String(200))  # e.g. the notice number 国办发明电〔2026〕N号
    entered_by: Mapped[str] = mapped_column(String(200))
    entered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    days: Mapped[list[HolidayScheduleDay]] = relationship(
        back_populates="schedule",
        cascade="all, delete-orphan",
        order_by="HolidayScheduleDay.date",
    )


class HolidayScheduleDay(Base):
    """A day that departs from the Monday-to-Friday week: a holiday or a swapped working day."""

    __tablename__ = "holiday_schedule_days"
    __table_args__ = (CheckConstraint("kind in ('holiday', 'workday')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year_id: Mapped[int] = mapped_column(
        ForeignKey("holiday_schedule_years.id", ondelete="CASCADE"), index=True
    )
    date: Mapped[dt.date] = mapped_column(unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64), default="")

    schedule: Mapped[HolidayScheduleYear] = relationship(back_populates="days")
