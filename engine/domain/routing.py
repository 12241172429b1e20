"""Which free agent gets the next interaction: pure decisions, no I/O.

A campaign makes two independent choices (docs/strategies.md):

* who may receive (availability): `one` (only an agent with nothing open in the campaign),
  `up-to-max` (up to the campaign's maximum per agent), `pick-one` / `pick-many` (nobody is
  pushed anything; agents take from the queue themselves, one at a time or up to the maximum);
* in what order agents are chosen (delivery): `least-active`, `round-robin`, `linear`,
  `weighted-random`, `least-recent`, `fewest-completed`.

Each delivery strategy is a function of the eligible candidates; `choose_agent` applies the
availability rule and then the strategy. The router keeps the candidates in memory through a
pass and calls `assigned` after each choice, so one read of the members serves a whole pass.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

AVAILABILITIES = ("one", "up-to-max", "pick-one", "pick-many")
DELIVERIES = (
    "least-active",
    "round-robin",
    "linear",
    "weighted-random",
    "least-recent",
    "fewest-completed",
)
PICK_MODES = frozenset({"pick-one", "pick-many"})
MAX_PENALTY = 100
_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class AgentLoad:
    """A free member of one campaign, as the strategies see them."""

    user_id: int
    active: int  # interactions assigned to this agent in this campaign
    free_since: datetime
    position: int = 0  # the member's order on the campaign (linear, round-robin)
    penalty: int = 0  # 0..100: the higher, the fewer interactions (weighted-random)
    last_assigned_at: datetime | None = None  # last one from this campaign (least-recent)
    completed_today: int = 0  # closed today in this campaign (fewest-completed)

    @property
    def order(self) -> tuple[int, int]:
        """Where the member stands on the campaign: position, then who was added first."""
        return (self.position, self.user_id)


def is_pick(availability: str) -> bool:
    """Agents take the campaign's interactions themselves; the router pushes nothing."""
    return availability in PICK_MODES


def capacity(availability: str, max_per_agent: int) -> int:
    """How many open interactions of the campaign an agent may hold under `availability`."""
    return 1 if availability in ("one", "pick-one") else max_per_agent


def take_refusal(availability: str, active: int, max_per_agent: int) -> str | None:
    """Why an agent holding `active` open interactions of the campaign may not take another
    from its queue (None: they may)."""
    if not is_pick(availability):
        return "this campaign hands out its mail itself; nothing is taken from its queue"
    limit = capacity(availability, max_per_agent)
    if active >= limit:
        if limit == 1:
            return "finish the interaction you have open in this campaign first"
        return f"you have {active} open in this campaign, the most it allows ({limit})"
    return None


# ---- the delivery strategies: each picks one of the eligible candidates (never empty) ----


def least_active(eligible: Sequence[AgentLoad]) -> AgentLoad:
    """Fewest open interactions; ties to the agent free for the longest, so work spreads
    evenly over a shift."""
    return min(eligible, key=lambda c: (c.active, c.free_since, c.user_id))


def round_robin(eligible: Sequence[AgentLoad], after: tuple[int, int] | None) -> AgentLoad:
    """The next member in campaign order after the one who got the last interaction
    (`after`: that member's position and user id), wrapping round to the first."""
    ordered = sorted(eligible, key=lambda c: c.order)
    if after is not None:
        for candidate in ordered:
            if candidate.order > after:
                return candidate
    return ordered[0]


def linear(eligible: Sequence[AgentLoad]) -> AgentLoad:
    """Always the first member in campaign order who has room."""
    return min(eligible, key=lambda c: c.order)


def weight(penalty: int) -> int:
    """A member's chance under weighted-random: penalty 0 weighs 101, penalty 100 weighs 1
    (still chosen when nobody else is free)."""
    return MAX_PENALTY + 1 - min(max(penalty, 0), MAX_PENALTY)


def weighted_random(eligible: Sequence[AgentLoad], rng: random.Random) -> AgentLoad:
    """At random, weighted by (101 - penalty)."""
    ordered = sorted(eligible, key=lambda c: c.order)  # the same draw for the same seed
    return rng.choices(ordered, weights=[weight(c.penalty) for c in ordered])[0]


def least_recent(eligible: Sequence[AgentLoad]) -> AgentLoad:
    """Longest since their last assignment from this campaign (never assigned: first)."""
    return min(
        eligible,
        key=lambda c: (c.last_assigned_at or _NEVER, c.free_since, c.user_id),
    )


def fewest_completed(eligible: Sequence[AgentLoad]) -> AgentLoad:
    """Fewest interactions of this campaign closed today; then as least-active."""
    return min(eligible, key=lambda c: (c.completed_today, c.active, c.free_since, c.user_id))


def choose_agent(
    candidates: Sequence[AgentLoad],
    max_per_agent: int,
    *,
    availability: str = "up-to-max",
    delivery: str = "least-active",
    after: tuple[int, int] | None = None,
    rng: random.Random | None = None,
) -> AgentLoad | None:
    """The member who gets the campaign's next interaction, or None (nobody has room, or
    the campaign is in a pick mode: agents take its work themselves)."""
    if is_pick(availability):
        return None
    limit = capacity(availability, max_per_agent)
    eligible = [c for c in candidates if c.active < limit]
    if not eligible:
        return None
    strategies: dict[str, Callable[[Sequence[AgentLoad]], AgentLoad]] = {
        "least-active": least_active,
        "round-robin": lambda e: round_robin(e, after),
        "linear": linear,
        "weighted-random": lambda e: weighted_random(e, rng or random.Random()),
        "least-recent": least_recent,
        "fewest-completed": fewest_completed,
    }
    try:
        strategy = strategies[delivery]
    except KeyError:
        raise ValueError(f"unknown delivery strategy {delivery!r}") from None
    return strategy(eligible)


def assigned(candidate: AgentLoad, now: datetime) -> AgentLoad:
    """The candidate after being given one interaction at `now`."""
    return replace(candidate, active=candidate.active + 1, last_assigned_at=now)
