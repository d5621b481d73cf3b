"""Shop clock: every timestamp is China Standard Time (UTC+8), stored naive."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Optional

CST = timezone(timedelta(hours=8), name="CST")


def now() -> datetime:
    """Current wall-clock time in CST, naive (the DB stores naive CST)."""
    return datetime.now(CST).replace(tzinfo=None, microsecond=0)


def from_epoch(seconds: float) -> datetime:
    """Epoch seconds as naive CST, like every other shop time."""
    return datetime.fromtimestamp(seconds, CST).replace(tzinfo=None, microsecond=0)


def today() -> date:
    return now().date()


def iso(value: Optional[datetime]) -> Optional[str]:
    """ISO 8601 with an explicit +08:00 offset, or None."""
    if value is None:
        return None
    return value.replace(tzinfo=CST).isoformat(timespec="seconds")


def iso_date(value: Optional[date]) -> Optional[str]:
    return value.isoformat() if value is not None else None


def cn_date(value: date) -> str:
    """Short Chinese date like 5月3日, used in human readable texts."""
    return f"{value.month}月{value.day}日"
