"""The arithmetic of the dashboard's progress graph (console/dialer_history.py): percentages
over time ending at the newest counts, send rates in messages a minute, repeated counts not
kept, and a bounded history."""

from __future__ import annotations

import pytest

from console.dialer_history import MAX_SAMPLES, History


def test_percentages_over_time_end_at_the_newest_counts() -> None:
    history = History()
    for second, processed in [(0, 0), (10, 25), (20, 50), (30, 100)]:
        assert history.add(1000.0 + second, processed, 100, processed)
    assert not history.add(1040.0, 100, 100, 100)  # another list of the dialer moved
    assert history.percents(4) == [0.0, 25.0, 50.0, 100.0]
    assert history.percents(7)[-1] == 100.0 and history.percents(7)[0] == 0.0
    assert history.span == 30.0


def test_rates_are_messages_a_minute() -> None:
    history = History()
    for second in range(0, 61, 5):
        history.add(float(second), second, 120, second * 2)  # 2 a second: 120 a minute
    assert history.rate_now() == pytest.approx(120.0)
    assert all(rate == pytest.approx(120.0) for rate in history.rates(6)[1:])
    assert History().rate_now() == 0.0 and History().rates(5) == []


def test_an_empty_list_is_zero_percent_and_history_stays_bounded() -> None:
    history = History()
    history.add(0.0, 0, 0, 0)
    assert history.percents(3) == [0.0, 0.0, 0.0]
    for step in range(1, MAX_SAMPLES * 2):
        history.add(float(step), step, MAX_SAMPLES * 2, step)
    assert len(history.samples) <= MAX_SAMPLES
    assert history.last is not None and history.last.processed == MAX_SAMPLES * 2 - 1
    assert history.samples[0].at == 0.0  # still from the start
