"""The statistics' arithmetic as pure functions (engine.domain.statistics), without an engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from engine.domain import statistics as stats

T0 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


def test_agent_states_are_the_manuals() -> None:
    assert stats.agent_state("offline", 3) == "offline"
    assert stats.agent_state("free", 0) == "free"
    assert stats.agent_state("free", 2) == "busy"
    assert stats.agent_state("break", 0) == "free_on_break"
    assert stats.agent_state("break", 1) == "busy_on_break"
    assert stats.agent_state("paused", 1) == "paused"


def test_how_one_interaction_counts_for_the_service_level() -> None:
    due = T0 + timedelta(minutes=5)
    now = T0 + timedelta(hours=1)
    assert stats.outcome(due, T0 + timedelta(minutes=4), closed=True, now=now) == "within"
    assert stats.outcome(due, due, closed=False, now=now) == "within"  # on the second
    assert stats.outcome(due, due + timedelta(seconds=1), closed=True, now=now) == "late"
    assert stats.outcome(due, None, closed=False, now=now) == "waiting_late"
    # Still within its deadline: it can still make it, so it does not count yet.
    assert stats.outcome(due, None, closed=False, now=T0) == "not_counted"
    # Closed without an answer: neither answered nor waiting.
    assert stats.outcome(due, None, closed=True, now=now) == "not_counted"
    assert stats.outcome(None, T0, closed=True, now=now) == "not_counted"  # outbound


def test_service_level_percent() -> None:
    level = stats.service_level(["within", "late", "waiting_late", "not_counted", "within"])
    assert (level.within, level.counted) == (2, 4)
    assert level.percent == 50.0
    assert stats.service_level([]).percent is None  # nothing counts: no figure, not 0 %
    assert stats.service_level(["not_counted"]).percent is None


@given(st.lists(st.sampled_from(["within", "late", "waiting_late", "not_counted"])))
def test_service_level_is_a_share(outcomes: list[stats.Outcome]) -> None:
    level = stats.service_level(outcomes)
    assert 0 <= level.within <= level.counted <= len(outcomes)
    if level.percent is not None:
        assert 0.0 <= level.percent <= 100.0


def test_thresholds() -> None:
    assert stats.wait_level(10, 300, 900) == "ok"
    assert stats.wait_level(300, 300, 900) == "warning"
    assert stats.wait_level(900, 300, 900) == "critical"
    assert stats.wait_level(10_000, 0, 0) == "ok"  # thresholds off
    assert stats.service_level_level(None, 300, 900) == "ok"  # nobody waits
    assert stats.service_level_level(1000, 300, 900) == "critical"


def test_averages_and_elapsed() -> None:
    assert stats.average(None, 0) is None
    assert stats.average(90, 3) == 30
    assert stats.elapsed_seconds(T0, T0 + timedelta(seconds=61.9)) == 61
    assert stats.elapsed_seconds(T0, T0 - timedelta(seconds=3)) == 0
    assert stats.elapsed_seconds(None, T0) == 0


def test_today_is_the_utc_day() -> None:
    start, end = stats.day_bounds(datetime(2026, 3, 4, 23, 59, tzinfo=UTC))
    assert (start, end) == (datetime(2026, 3, 4, tzinfo=UTC), datetime(2026, 3, 5, tzinfo=UTC))


def test_time_logged_in_today() -> None:
    start = datetime(2026, 3, 4, tzinfo=UTC)
    span = stats.StatusSpan
    changes = [
        span("free", start + timedelta(hours=9)),
        span("break", start + timedelta(hours=10)),
        span("offline", start + timedelta(hours=11)),
        span("free", start + timedelta(hours=12)),
    ]
    now = start + timedelta(hours=12, minutes=30)
    # 9-11 logged in (Free, then on break), 12-12:30 again.
    assert stats.logged_in_seconds("offline", changes, start, now) == 2.5 * 3600
    # Logged in since yesterday and never left: the whole day so far.
    assert stats.logged_in_seconds("free", [], start, now) == now.timestamp() - start.timestamp()
    assert stats.logged_in_seconds(None, [], start, now) == 0
