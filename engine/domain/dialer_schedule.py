"""When a dialer may send: its weekly windows (the campaign schedule's rules, in
`schedule.py`) between two dates, both included, read in the dialer's time zone.

A dialer with no window sends at any hour of the days in its range; no dates, no bound.
Pure: the instant is given."""

from __future__ import annotations

from datetime import date, datetime

from engine.domain.schedule import WeeklySchedule, is_open, zone

__all__ = ["check_range", "on_schedule"]


def check_range(starts_on: date | None, ends_on: date | None) -> str:
    """Why the range cannot be used ("" when it can)."""
    if starts_on is not None and ends_on is not None and ends_on < starts_on:
        return (
            f"ends_on: {ends_on.isoformat()} is before starts_on {starts_on.isoformat()};"
            " the range includes both days"
        )
    return ""


def on_schedule(
    schedule: WeeklySchedule, starts_on: date | None, ends_on: date | None, at: datetime
) -> bool:
    day = at.astimezone(zone(schedule.time_zone)).date()
    if starts_on is not None and day < starts_on:
        return False
    if ends_on is not None and day > ends_on:
        return False
    return is_open(schedule, at)
