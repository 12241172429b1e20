"""The pure schedule rule: windows, boundaries, time zones, DST changes, holidays, overnight."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from engine.domain.schedule import (
    DayException,
    ScheduleError,
    WeeklySchedule,
    Window,
    is_open,
    next_change,
    parse_days,
    parse_hhmm,
    zone,
)

MADRID = ZoneInfo("Europe/Madrid")
WEEKDAYS_9_TO_17 = tuple(Window(d, time(9), time(17)) for d in range(5))


def at(tz: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=tz, fold=fold)  # type: ignore[misc]


def test_no_window_is_always_open() -> None:
    schedule = WeeklySchedule()
    assert is_open(schedule, datetime(2026, 12, 25, 3, tzinfo=UTC))
    assert next_change(schedule, datetime(2026, 12, 25, tzinfo=UTC)) is None


def test_window_boundaries_start_inclusive_end_exclusive() -> None:
    s = WeeklySchedule("Europe/Madrid", WEEKDAYS_9_TO_17)
    # Monday 7 December 2026
    assert not is_open(s, at(MADRID, 2026, 12, 7, 8, 59, 59))
    assert is_open(s, at(MADRID, 2026, 12, 7, 9, 0))
    assert is_open(s, at(MADRID, 2026, 12, 7, 16, 59, 59))
    assert not is_open(s, at(MADRID, 2026, 12, 7, 17, 0))
    assert not is_open(s, at(MADRID, 2026, 12, 12, 10, 0))  # Saturday


def test_time_zone_decides_the_wall_clock() -> None:
    s = WeeklySchedule("America/Montevideo", WEEKDAYS_9_TO_17)  # UTC-3
    assert not is_open(s, datetime(2026, 12, 7, 11, 59, tzinfo=UTC))
    assert is_open(s, datetime(2026, 12, 7, 12, 0, tzinfo=UTC))
    assert next_change(s, datetime(2026, 12, 7, 11, 0, tzinfo=UTC)) == datetime(
        2026, 12, 7, 12, 0, tzinfo=UTC
    )


def test_several_windows_a_day_and_the_next_opening() -> None:
    s = WeeklySchedule("UTC", (Window(0, time(9), time(12)), Window(0, time(14), time(18))))
    assert not is_open(s, datetime(2026, 12, 7, 13, tzinfo=UTC))
    assert next_change(s, datetime(2026, 12, 7, 12, 30, tzinfo=UTC)) == datetime(
        2026, 12, 7, 14, tzinfo=UTC
    )
    # Monday 18:00 closes until next Monday 09:00.
    assert next_change(s, datetime(2026, 12, 7, 18, tzinfo=UTC)) == datetime(
        2026, 12, 14, 9, tzinfo=UTC
    )


def test_overnight_window_spills_into_the_next_day() -> None:
    s = WeeklySchedule("UTC", (Window(4, time(22), time(6)),))  # Friday 22:00 - Saturday 06:00
    assert is_open(s, datetime(2026, 12, 11, 23, tzinfo=UTC))
    assert is_open(s, datetime(2026, 12, 12, 5, 59, tzinfo=UTC))
    assert not is_open(s, datetime(2026, 12, 12, 6, tzinfo=UTC))
    assert not is_open(s, datetime(2026, 12, 11, 21, tzinfo=UTC))
    assert next_change(s, datetime(2026, 12, 12, 1, tzinfo=UTC)) == datetime(
        2026, 12, 12, 6, tzinfo=UTC
    )


def test_midnight_end_and_whole_day() -> None:
    until_midnight = WeeklySchedule("UTC", (Window(0, time(18), time(0)),))
    assert is_open(until_midnight, datetime(2026, 12, 7, 23, 59, tzinfo=UTC))
    assert not is_open(until_midnight, datetime(2026, 12, 8, 0, 0, tzinfo=UTC))
    whole_day = WeeklySchedule("UTC", (Window(0, time(0), time(0)),))
    assert is_open(whole_day, datetime(2026, 12, 7, 0, 0, tzinfo=UTC))
    assert is_open(whole_day, datetime(2026, 12, 7, 23, 59, tzinfo=UTC))
    assert not is_open(whole_day, datetime(2026, 12, 8, 0, 0, tzinfo=UTC))


def test_holiday_closes_the_whole_day_and_special_hours_replace_the_week() -> None:
    christmas = DayException(date(2026, 12, 25))  # a Friday
    eve = DayException(date(2026, 12, 24), ((time(9), time(13)),))
    s = WeeklySchedule("Europe/Madrid", WEEKDAYS_9_TO_17, (christmas, eve))
    assert not is_open(s, at(MADRID, 2026, 12, 25, 10))
    assert is_open(s, at(MADRID, 2026, 12, 24, 12, 59))
    assert not is_open(s, at(MADRID, 2026, 12, 24, 13, 0))
    # Closed from Thursday 13:00 over the holiday and the weekend until Monday 09:00.
    assert next_change(s, at(MADRID, 2026, 12, 24, 14)) == at(MADRID, 2026, 12, 28, 9)
    # A special opening on a Sunday.
    sunday = WeeklySchedule(
        "UTC", WEEKDAYS_9_TO_17, (DayException(date(2026, 12, 13), ((time(10), time(12)),)),)
    )
    assert is_open(sunday, datetime(2026, 12, 13, 11, tzinfo=UTC))


def test_overnight_window_does_not_spill_into_a_holiday() -> None:
    s = WeeklySchedule(
        "UTC", (Window(3, time(22), time(6)),), (DayException(date(2026, 12, 25)),)
    )  # Thursday 24th 22:00 - Friday 06:00, but the 25th is closed
    assert is_open(s, datetime(2026, 12, 24, 23, tzinfo=UTC))
    assert not is_open(s, datetime(2026, 12, 25, 1, tzinfo=UTC))


def test_spring_forward_window_in_the_skipped_hour_opens_when_the_clock_jumps() -> None:
    # Europe/Madrid, Sunday 29 March 2026: 02:00 CET becomes 03:00 CEST (01:00 UTC).
    s = WeeklySchedule("Europe/Madrid", (Window(6, time(2, 30), time(4)),))
    jump = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert not is_open(s, datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC))
    assert is_open(s, jump)
    assert next_change(s, datetime(2026, 3, 29, 0, 0, tzinfo=UTC)) == jump
    # 04:00 CEST = 02:00 UTC: one hour of opening that night, not one and a half.
    assert next_change(s, jump) == datetime(2026, 3, 29, 2, 0, tzinfo=UTC)


def test_fall_back_repeated_hour_counts_twice() -> None:
    # Europe/Madrid, Sunday 25 October 2026: 03:00 CEST goes back to 02:00 CET (01:00 UTC).
    s = WeeklySchedule("Europe/Madrid", (Window(6, time(0), time(2, 30)),))
    first = at(MADRID, 2026, 10, 25, 2, 15, fold=0)
    second = at(MADRID, 2026, 10, 25, 2, 15, fold=1)
    assert is_open(s, first) and is_open(s, second)
    # Closes at the second 02:30 (01:30 UTC), and not at the first (00:30 UTC).
    assert not is_open(s, datetime(2026, 10, 25, 0, 45, tzinfo=UTC))  # 02:45 CEST
    assert next_change(s, datetime(2026, 10, 24, 23, 0, tzinfo=UTC)) == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )
    assert next_change(s, datetime(2026, 10, 25, 0, 45, tzinfo=UTC)) == datetime(
        2026, 10, 25, 1, 0, tzinfo=UTC
    )  # back to 02:00: open again until the second 02:30
    assert next_change(s, datetime(2026, 10, 25, 1, 0, tzinfo=UTC)) == datetime(
        2026, 10, 25, 1, 30, tzinfo=UTC
    )


def test_daily_schedule_over_dst_keeps_local_nine() -> None:
    s = WeeklySchedule("Europe/Madrid", tuple(Window(d, time(9), time(17)) for d in range(7)))
    assert next_change(s, datetime(2026, 3, 28, 18, tzinfo=UTC)) == datetime(
        2026, 3, 29, 7, tzinfo=UTC
    )  # 09:00 CEST
    assert next_change(s, datetime(2026, 3, 27, 18, tzinfo=UTC)) == datetime(
        2026, 3, 28, 8, tzinfo=UTC
    )  # 09:00 CET


def test_closed_longer_than_the_horizon_has_no_next_change() -> None:
    holidays = tuple(DayException(date(2026, 8, d)) for d in range(1, 32))
    s = WeeklySchedule("UTC", WEEKDAYS_9_TO_17, holidays)
    assert next_change(s, datetime(2026, 8, 1, tzinfo=UTC)) is None


def test_parsers() -> None:
    assert parse_days("mon-fri") == [0, 1, 2, 3, 4]
    assert parse_days("sat,sun") == [5, 6]
    assert parse_days("fri-mon") == [0, 4, 5, 6]
    assert parse_days("daily") == list(range(7))
    assert parse_hhmm("09:30", field="start") == time(9, 30)
    with pytest.raises(ScheduleError) as bad_day:
        parse_days("someday")
    assert bad_day.value.field == "days"
    with pytest.raises(ScheduleError) as bad_time:
        parse_hhmm("24:00", field="end")
    assert bad_time.value.field == "end"
    for name in ("Mars/Olympus", "../etc/passwd", "", "/usr/share/zoneinfo/UTC"):
        with pytest.raises(ScheduleError) as bad_zone:
            zone(name)
        assert bad_zone.value.field == "time_zone"


def test_exceptions_alone_leave_every_other_day_open() -> None:
    s = WeeklySchedule("UTC", (), (DayException(date(2026, 12, 25)),))
    assert is_open(s, datetime(2026, 12, 24, 23, 59, tzinfo=UTC))
    assert not is_open(s, datetime(2026, 12, 25, 12, tzinfo=UTC))
    assert next_change(s, datetime(2026, 12, 25, 12, tzinfo=UTC)) == datetime(
        2026, 12, 26, tzinfo=UTC
    )
