"""Schedule windows and exceptions as people type them: `mon-fri 09:00-17:00`,
`2026-12-25 closed`, `2026-12-24 09:00-13:00`. Shared by `ctl campaign schedule` and the
campaign form, so both accept and print the same text."""

from __future__ import annotations

import re
from datetime import date
from typing import cast

from engine.api.schemas import ScheduleExceptionIn, ScheduleWindow, Weekday

WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)\Z")


class ScheduleTextError(ValueError):
    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def parse_days(text: str) -> list[Weekday]:
    """`mon-fri`, `sat,sun`, `fri-mon` (wraps) or `daily`."""
    text = text.strip().lower()
    if text in ("daily", "all", "every"):
        return list(WEEKDAYS)
    found: set[int] = set()
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        if first[:3] not in WEEKDAYS or (last and last[:3] not in WEEKDAYS):
            raise ScheduleTextError(f"days like mon-fri or sat,sun, not {text!r}", field="days")
        a = WEEKDAYS.index(cast(Weekday, first[:3]))
        b = WEEKDAYS.index(cast(Weekday, last[:3])) if last else a
        while True:
            found.add(a)
            if a == b:
                break
            a = (a + 1) % 7
    return [WEEKDAYS[d] for d in sorted(found)]


def parse_hours(text: str, *, field: str = "hours") -> tuple[str, str]:
    match = _HOURS.match(text.strip().replace(" ", ""))
    if match is None:
        raise ScheduleTextError(f"hours like 09:00-17:00, not {text!r}", field=field)
    return f"{match[1]}:{match[2]}", f"{match[3]}:{match[4]}"


def parse_window(text: str) -> ScheduleWindow:
    """`mon-fri 09:00-17:00`."""
    days, _, hours = text.strip().partition(" ")
    start, end = parse_hours(hours)
    return ScheduleWindow(days=parse_days(days), start=start, end=end)


def parse_exception(text: str) -> ScheduleExceptionIn:
    """`2026-12-25`, `2026-12-25 closed Christmas`, `2026-12-24 09:00-13:00 Eve`."""
    day_text, _, rest = text.strip().partition(" ")
    try:
        day = date.fromisoformat(day_text)
    except ValueError as exc:
        raise ScheduleTextError(f"a date as YYYY-MM-DD, not {day_text!r}", field="day") from exc
    what, _, note = rest.strip().partition(" ")
    if not what or what.lower() == "closed":
        return ScheduleExceptionIn(day=day, note=note.strip())
    start, end = parse_hours(what)
    return ScheduleExceptionIn(day=day, start=start, end=end, note=note.strip())


def window_text(window: ScheduleWindow) -> str:
    return f"{_days_text(window.days)} {window.start}-{window.end}"


def exception_text(item: ScheduleExceptionIn) -> str:
    hours = f"{item.start}-{item.end}" if item.start else "closed"
    return f"{item.day.isoformat()} {hours} {item.note}".rstrip()


def _days_text(days: list[Weekday]) -> str:
    index = sorted(WEEKDAYS.index(d) for d in days)
    if len(index) == 7:
        return "daily"
    runs: list[list[int]] = []
    for d in index:
        if runs and runs[-1][-1] == d - 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    return ",".join(
        WEEKDAYS[r[0]] if len(r) == 1 else f"{WEEKDAYS[r[0]]}-{WEEKDAYS[r[-1]]}" for r in runs
    )
