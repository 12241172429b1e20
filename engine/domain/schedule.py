"""When a campaign is open: weekly windows in its time zone, and dated exceptions.

A campaign with no window at all is always open (nothing configured, nothing changes); one
with exceptions only is open all day on every other date. Windows
are wall-clock times in the campaign's zone, `start` inclusive and `end` exclusive; an `end`
at or before `start` runs past midnight into the next day (22:00-06:00), and `00:00` as an end
is midnight. An exception replaces the whole of its date: no hours means closed all day (a
holiday), hours mean only those (special opening hours), and an overnight window of the day
before does not spill into it. Wall-clock rules make DST changes behave as people expect: a
window from 02:30 opens at 03:00 on the night the clock jumps from 02:00 to 03:00, and a window
ending at 01:30 runs through both 01:00-02:00 hours on the night the clock goes back.

`next_change` is when the answer flips, so a router can sleep until the next opening instead
of asking every few seconds. Pure: no clock, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY = timedelta(days=1)
_MIDNIGHT = time(0)
# How far ahead `next_change` looks; a campaign closed longer than this is re-checked then.
HORIZON_DAYS = 15
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)\Z")


class ScheduleError(ValueError):
    """A schedule value that cannot be used; `field` is the wire name it is about."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Window:
    """Open on `weekday` (0 = Monday) from `start` until `end` (see the module docstring)."""

    weekday: int
    start: time
    end: time

    @property
    def overnight(self) -> bool:
        return self.end <= self.start


@dataclass(frozen=True)
class DayException:
    """On `day`: closed (no hours) or open only during `hours` (pairs of start, end)."""

    day: date
    hours: tuple[tuple[time, time], ...] = ()


@dataclass(frozen=True)
class WeeklySchedule:
    time_zone: str = "UTC"
    windows: tuple[Window, ...] = ()
    exceptions: tuple[DayException, ...] = ()
    _by_day: dict[date, DayException] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_day", {e.day: e for e in self.exceptions})

    @property
    def always_open(self) -> bool:
        return not self.windows and not self.exceptions


def zone(name: str) -> ZoneInfo:
    """The zone of that IANA name; ScheduleError (field `time_zone`) when unknown."""
    if not name or name != name.strip() or ".." in name or name.startswith("/"):
        raise ScheduleError(f"time_zone: not a time zone name: {name!r}", field="time_zone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(
            f"time_zone: unknown time zone {name!r} (e.g. Europe/Madrid, America/Montevideo)",
            field="time_zone",
        ) from exc


def parse_hhmm(text: str, *, field: str) -> time:
    match = _HHMM.match(text.strip())
    if match is None:
        raise ScheduleError(f"{field}: a time as HH:MM (00:00-23:59), not {text!r}", field=field)
    return time(int(match.group(1)), int(match.group(2)))


def parse_days(text: str) -> list[int]:
    """`mon-fri`, `sat,sun`, `mon,wed-fri` or `daily` as weekday numbers (0 = Monday)."""
    text = text.strip().lower()
    if text in ("daily", "all", "every"):
        return list(range(7))
    days: set[int] = set()
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        try:
            a = WEEKDAYS.index(first[:3])
            b = WEEKDAYS.index(last[:3]) if last else a
        except ValueError as exc:
            raise ScheduleError(
                f"days: days like mon-fri or sat,sun, not {text!r}", field="days"
            ) from exc
        day = a
        while True:  # fri-mon wraps over the weekend
            days.add(day)
            if day == b:
                break
            day = (day + 1) % 7
    return sorted(days)


def _day_hours(schedule: WeeklySchedule, day: date) -> list[tuple[time, time | None]]:
    """Open intervals of a local date as (start, end); end None is midnight after it."""
    exception = schedule._by_day.get(day)
    if exception is not None:
        pairs = list(exception.hours)
    elif not schedule.windows:  # exceptions only: every other day is open all day
        return [(_MIDNIGHT, None)]
    else:
        pairs = [(w.start, w.end) for w in schedule.windows if w.weekday == day.weekday()]
    hours: list[tuple[time, time | None]] = [
        (start, None if end <= start else end) for start, end in pairs
    ]
    if exception is None:
        before = day - _DAY
        previous = schedule._by_day.get(before)
        spills = (
            list(previous.hours)
            if previous is not None
            else [(w.start, w.end) for w in schedule.windows if w.weekday == before.weekday()]
        )
        hours += [(_MIDNIGHT, end) for start, end in spills if end <= start and end != _MIDNIGHT]
    return hours


def is_open(schedule: WeeklySchedule, at: datetime) -> bool:
    """Whether the campaign is in schedule at the aware instant `at`."""
    if schedule.always_open:
        return True
    local = at.astimezone(zone(schedule.time_zone))
    wall = local.time().replace(tzinfo=None, fold=0)
    return any(
        start <= wall and (end is None or wall < end)
        for start, end in _day_hours(schedule, local.date())
    )


def next_change(schedule: WeeklySchedule, at: datetime) -> datetime | None:
    """The first instant after `at` when `is_open` gives the other answer (UTC), or None
    when it stays the same for the next HORIZON_DAYS days."""
    if schedule.always_open:
        return None
    tz = zone(schedule.time_zone)
    now = is_open(schedule, at)
    first = at.astimezone(tz).date() - _DAY
    candidates: set[datetime] = set()
    for n in range(HORIZON_DAYS + 2):
        day = first + timedelta(days=n)
        bounds = {_MIDNIGHT}
        for start, end in _day_hours(schedule, day):
            bounds.add(start)
            if end is not None:
                bounds.add(end)
        for bound in bounds:
            for fold in (0, 1):  # both readings of a wall time the clock shows twice
                local = datetime.combine(day, bound, tzinfo=tz).replace(fold=fold)
                candidates.add(local.astimezone(UTC))
        candidates.update(_offset_changes(tz, day))
    for candidate in sorted(c for c in candidates if c > at):
        if is_open(schedule, candidate) != now:
            return candidate
    return None


def _offset_changes(tz: ZoneInfo, day: date) -> list[datetime]:
    """The instants during `day` when the zone's UTC offset changes (a DST change), found
    by bisection to the second: a wall time skipped by the clock has no instant of its own."""
    low = int(datetime.combine(day, _MIDNIGHT, tzinfo=tz).timestamp())
    high = low + 26 * 3600

    def offset(ts: int) -> timedelta | None:
        return datetime.fromtimestamp(ts, tz).utcoffset()

    if offset(low) == offset(high):
        return []
    before = offset(low)
    while high - low > 1:  # offset(low) is the old one, offset(high) the new one
        mid = (low + high) // 2
        if offset(mid) == before:
            low = mid
        else:
            high = mid
    return [datetime.fromtimestamp(high, UTC)]
