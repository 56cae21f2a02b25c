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


def beijing_month(value: datetime) -> str:
    """The Beijing calendar month of a moment, as ``YYYY-MM`` (charts count by it)."""
    return as_utc(value).astimezone(BEIJING).strftime("%Y-%m")


def last_months(now: datetime, count: int) -> list[str]:
    """The ``count`` Beijing months up to the one of ``now``, oldest first."""
    local = as_utc(now).astimezone(BEIJING)
    y, m = local.year, local.month
    out = []
    for _ in range(count):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


# A moment a person types may run ahead of the server's clock by this much (clock skew
# between the browser's machine and ours); anything later is in the future and refused.
FUTURE_SKEW = timedelta(minutes=5)


class TimeRefused(ValueError):
    """A typed moment that cannot be accepted; the message is for people (Chinese)."""


def typed_moment(
    value: str | datetime, label: str, *, now: datetime | None = None, future: bool = False
) -> datetime:
    """The UTC moment of a date and time a person typed or sent.

    With a zone (``+08:00``, ``Z``) it is converted; without one it is Beijing time
    (Asia/Shanghai), never UTC. Unless ``future`` is allowed, a moment more than
    ``FUTURE_SKEW`` after now is refused. ``label`` names the field in the message
    (``TimeRefused``, a ValueError, so pydantic validators turn it into a 422)."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise TimeRefused(f"请填写{label}")
        try:
            value = datetime.fromisoformat(text.replace(" ", "T", 1))
        except ValueError:
            raise TimeRefused(
                f"{label}格式应为 年-月-日 时:分（北京时间），例如 2026-12-06 10:00；收到“{text}”"
            ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=BEIJING)
    moment = value.astimezone(UTC)
    if not future and moment > (now or utcnow()) + FUTURE_SKEW:
        raise TimeRefused(
            f"{label}不能晚于当前时间：填写的是北京时间 {beijing(moment)}，"
            f"现在是 {beijing(now or utcnow())}"
        )
    return moment
