"""Time helpers: everything is stored as timezone-aware UTC; shown in Beijing time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Naive datetimes read back from SQLite are UTC by convention."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def beijing(value: datetime | None) -> str:
    if value is None:
        return ""
    return as_utc(value).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
