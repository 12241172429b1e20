"""The dialer's pace and its account's caps on a given clock (pure rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.domain.dialer_pacing import AccountGate, Caps, Pace, retry_delay

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def test_caps_are_sliding_windows_shared_by_every_send() -> None:
    gate = AccountGate(Caps(per_minute=3, per_hour=5))
    assert gate.allowance(T0) == 3
    gate.took(T0, 2)
    gate.took(T0 + timedelta(seconds=30), 1)
    assert gate.allowance(T0 + timedelta(seconds=40)) == 0
    assert gate.wait(T0 + timedelta(seconds=40)) == 20.0  # the first two leave the minute
    assert gate.allowance(T0 + timedelta(seconds=61)) == 2  # the hour has 2 left
    gate.took(T0 + timedelta(seconds=61), 2)
    assert gate.allowance(T0 + timedelta(minutes=30)) == 0  # five in the hour
    assert gate.wait(T0 + timedelta(minutes=30)) == 30 * 60.0
    assert gate.allowance(T0 + timedelta(hours=1, seconds=1)) == 2


def test_no_caps_no_wait_and_the_day_is_remembered_in_seconds() -> None:
    gate = AccountGate(Caps())
    for n in range(1000):
        gate.took(T0 + timedelta(seconds=n // 10))
    assert gate.wait(T0) == 0.0 and gate.allowance(T0) > 10**6
    day = AccountGate(Caps(per_day=1000))
    for n in range(1000):
        day.took(T0 + timedelta(seconds=n // 10))
    assert day.allowance(T0 + timedelta(hours=23)) == 0
    assert day.allowance(T0 + timedelta(days=1)) == 10  # the first second left the day
    assert day.allowance(T0 + timedelta(days=1, seconds=1)) == 20


def test_pace_and_backoff() -> None:
    pace = Pace(2.5)
    assert pace.wait(T0) == 0.0
    pace.took(T0)
    assert pace.wait(T0 + timedelta(seconds=1)) == 1.5
    assert Pace(0).wait(T0) == 0.0
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert retry_delay(40) == timedelta(hours=2)
