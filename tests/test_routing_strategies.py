"""Each routing strategy as a pure function: who may receive (availability) and in what order
members are chosen (delivery). No engine: rules as functions of data."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from engine.domain.routing import (
    AVAILABILITIES,
    DELIVERIES,
    AgentLoad,
    assigned,
    capacity,
    choose_agent,
    fewest_completed,
    least_active,
    least_recent,
    linear,
    round_robin,
    take_refusal,
    weight,
    weighted_random,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def member(
    user_id: int,
    *,
    active: int = 0,
    position: int = 0,
    free_since: datetime = T0,
    penalty: int = 0,
    last_assigned_at: datetime | None = None,
    completed_today: int = 0,
) -> AgentLoad:
    return AgentLoad(
        user_id, active, free_since, position, penalty, last_assigned_at, completed_today
    )


def test_the_names_the_form_and_ctl_offer() -> None:
    assert AVAILABILITIES == ("one", "up-to-max", "pick-one", "pick-many")
    assert DELIVERIES == (
        "least-active",
        "round-robin",
        "linear",
        "weighted-random",
        "least-recent",
        "fewest-completed",
    )


# ---- who may receive ----


def test_one_gives_only_to_members_with_nothing_open() -> None:
    busy, idle = member(1, active=1), member(2, active=0)
    assert capacity("one", 5) == 1
    assert choose_agent([busy, idle], 5, availability="one") == idle
    assert choose_agent([busy], 5, availability="one") is None


def test_up_to_max_fills_to_the_campaign_maximum() -> None:
    assert choose_agent([member(1, active=4)], 5, availability="up-to-max") is not None
    assert choose_agent([member(1, active=5)], 5, availability="up-to-max") is None


@pytest.mark.parametrize("mode", ["pick-one", "pick-many"])
def test_pick_modes_push_nothing(mode: str) -> None:
    assert choose_agent([member(1)], 5, availability=mode) is None


def test_taking_follows_the_pick_mode_and_the_maximum() -> None:
    assert take_refusal("pick-one", 0, 5) is None
    assert "finish" in (take_refusal("pick-one", 1, 5) or "")
    assert take_refusal("pick-many", 4, 5) is None
    assert "(5)" in (take_refusal("pick-many", 5, 5) or "")
    assert "hands out its mail itself" in (take_refusal("up-to-max", 0, 5) or "")
    assert take_refusal("one", 0, 5) is not None


# ---- in what order ----


def test_least_active_then_longest_free() -> None:
    busy = member(1, active=2)
    recent = member(2, free_since=T0 + timedelta(minutes=5))
    longest = member(3)
    assert least_active([busy, recent, longest]) == longest


def test_round_robin_goes_on_after_the_last_one_and_wraps() -> None:
    a, b, c = member(1, position=1), member(2, position=2), member(3, position=3)
    assert round_robin([a, b, c], None) == a
    assert round_robin([a, b, c], a.order) == b
    assert round_robin([a, b, c], c.order) == a
    # The last one is not free now: the next after their place, not the first.
    assert round_robin([a, c], b.order) == c


def test_round_robin_over_a_pass_visits_everyone_in_turn() -> None:
    members = {m.user_id: m for m in (member(n, position=n) for n in (1, 2, 3))}
    after = None
    order = []
    for _ in range(7):
        choice = choose_agent(list(members.values()), 50, delivery="round-robin", after=after)
        assert choice is not None
        order.append(choice.user_id)
        members[choice.user_id] = assigned(choice, T0)
        after = choice.order
    assert order == [1, 2, 3, 1, 2, 3, 1]


def test_linear_is_the_first_member_with_room() -> None:
    first, second = member(7, position=1, active=2), member(3, position=2)
    assert linear([second, first]) == first
    assert choose_agent([first, second], 2, delivery="linear") == second  # first is full


def test_weight_falls_with_the_penalty() -> None:
    assert weight(0) == 101 and weight(100) == 1 and weight(50) == 51
    assert weight(-3) == 101 and weight(300) == 1  # out of range is clamped


def test_weighted_random_spreads_by_penalty_over_many_runs() -> None:
    """Seeded: 20,000 draws among penalties 0, 50 and 100 land near 101:51:1."""
    rng = random.Random(11)
    members = [member(1, penalty=0), member(2, penalty=50), member(3, penalty=100)]
    runs = 20_000
    counts = Counter(weighted_random(members, rng).user_id for _ in range(runs))
    total = 101 + 51 + 1
    for user_id, w in ((1, 101), (2, 51), (3, 1)):
        expected = runs * w / total
        assert abs(counts[user_id] - expected) < 4 * (expected**0.5) + 5, counts
    assert counts[1] > counts[2] > counts[3] > 0


def test_weighted_random_is_the_same_draw_for_the_same_seed() -> None:
    members = [member(n, penalty=n * 10) for n in range(1, 6)]
    first = weighted_random(members, random.Random(3))
    assert weighted_random(list(reversed(members)), random.Random(3)) == first


def test_least_recent_prefers_never_assigned_then_longest_ago() -> None:
    earlier = member(1, last_assigned_at=T0)
    later = member(2, last_assigned_at=T0 + timedelta(minutes=1))
    never = member(3, free_since=T0 + timedelta(hours=1))
    assert least_recent([earlier, later, never]) == never
    assert least_recent([later, earlier]) == earlier


def test_fewest_completed_today_then_least_active() -> None:
    done_two = member(1, completed_today=2)
    done_one_busy = member(2, completed_today=1, active=3)
    done_one_idle = member(3, completed_today=1, active=0)
    assert fewest_completed([done_two, done_one_busy, done_one_idle]) == done_one_idle


def test_an_unknown_delivery_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown delivery"):
        choose_agent([member(1)], 5, delivery="ringall")


def test_assigned_counts_one_more_and_remembers_when() -> None:
    after = assigned(member(1, active=1), T0)
    assert (after.active, after.last_assigned_at) == (2, T0)
