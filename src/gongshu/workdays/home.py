"""The calendar's part of the home page: the warning when a year has no schedule (CLK-4)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from gongshu import timeutil
from gongshu.accounts.models import User
from gongshu.workdays.schedule import coverage_warning


def panel(session: Session, user: User) -> dict:
    if "calendar:admin" not in user.scopes:
        return {"calendar_warning": None}
    return {
        "calendar_warning": coverage_warning(
            session, timeutil.utcnow().astimezone(timeutil.BEIJING).date()
        )
    }
