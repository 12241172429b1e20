"""Compact durations for table cells and the status bar (`45s`, `3m`, `1h05m`, `2d03h`)."""

from __future__ import annotations

from datetime import UTC, datetime


def format_duration(seconds: float) -> str:
    """Format a non-negative duration in the shortest readable form."""
    total = max(0, int(seconds))
    if total < 60:
        return f"{total}s"
    minutes, _ = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def as_utc(moment: datetime) -> datetime:
    """Engine timestamps are UTC; a naive one is read as UTC rather than local time."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def since(moment: datetime, now: datetime | None = None) -> str:
    """Time elapsed from `moment` to `now` (default: the current time)."""
    now = now or datetime.now(UTC)
    return format_duration((as_utc(now) - as_utc(moment)).total_seconds())


def local_stamp(moment: datetime) -> str:
    """A timestamp in the viewer's local time, minute precision."""
    return as_utc(moment).astimezone().strftime("%Y-%m-%d %H:%M")
