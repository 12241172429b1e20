"""A campaign's schedule and queue-limit settings between the wire and the rows.

Windows are one row per weekday in `schedules`; the wire groups the days that share hours
(`mon-fri 09:00-17:00` is one window with five days). Each list an admin sends replaces the
whole list, so the form's `+` and `-` edit a copy and save it in one go.
"""

from __future__ import annotations

from datetime import time

from data.models import Campaign, Schedule, ScheduleException
from engine.api.schemas import ScheduleExceptionIn, ScheduleWindow
from engine.domain.schedule import WEEKDAYS, ScheduleError, parse_hhmm, zone
from engine.errors import Invalid


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M")


def windows_out(rows: list[Schedule]) -> list[ScheduleWindow]:
    grouped: dict[tuple[time, time], list[int]] = {}
    for row in rows:
        grouped.setdefault((row.start, row.end), []).append(row.weekday)
    windows = [
        ScheduleWindow(
            days=[WEEKDAYS[d] for d in sorted(set(days))],  # type: ignore[misc]
            start=_hhmm(start),
            end=_hhmm(end),
        )
        for (start, end), days in grouped.items()
    ]
    return sorted(windows, key=lambda w: (WEEKDAYS.index(w.days[0]), w.start))


def exceptions_out(rows: list[ScheduleException]) -> list[ScheduleExceptionIn]:
    return [
        ScheduleExceptionIn(
            day=row.day,
            start=_hhmm(row.start) if row.start else "",
            end=_hhmm(row.end) if row.end else "",
            note=row.note,
        )
        for row in rows
    ]


def check_time_zone(name: str) -> str:
    try:
        zone(name)
    except ScheduleError as exc:
        raise Invalid(str(exc), field="time_zone") from exc
    return name


def set_windows(campaign: Campaign, windows: list[ScheduleWindow]) -> None:
    rows: dict[tuple[int, time, time], Schedule] = {}
    for n, window in enumerate(windows):
        try:
            start = parse_hhmm(window.start, field=f"schedule.{n}.start")
            end = parse_hhmm(window.end, field=f"schedule.{n}.end")
        except ScheduleError as exc:
            raise Invalid(str(exc), field=exc.field) from exc
        for day in window.days:
            weekday = WEEKDAYS.index(day)
            rows[(weekday, start, end)] = Schedule(weekday=weekday, start=start, end=end)
    campaign.schedules = [rows[key] for key in sorted(rows)]


def set_exceptions(campaign: Campaign, exceptions: list[ScheduleExceptionIn]) -> None:
    rows: list[ScheduleException] = []
    closed_days = set()
    for n, item in enumerate(exceptions):
        if bool(item.start) != bool(item.end):
            raise Invalid(
                f"schedule_exceptions.{n}: give both opening and closing time, or neither"
                " (closed all day)",
                field="schedule_exceptions",
            )
        start = parse_hhmm(item.start, field="start") if item.start else None
        end = parse_hhmm(item.end, field="end") if item.end else None
        if start is None:
            closed_days.add(item.day)
        rows.append(ScheduleException(day=item.day, start=start, end=end, note=item.note))
    hours_days = {r.day for r in rows if r.start is not None}
    if both := sorted(closed_days & hours_days):
        raise Invalid(
            f"schedule_exceptions: {both[0].isoformat()} is both closed all day and open"
            " during some hours; remove one",
            field="schedule_exceptions",
        )
    campaign.schedule_exceptions = sorted(rows, key=lambda r: (r.day, r.start or time(0)))
