"""Which free agent gets the next interaction: pure decision, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class AgentLoad:
    user_id: int
    active: int  # interactions assigned to this agent in this campaign
    free_since: datetime


def choose_agent(candidates: list[AgentLoad], max_per_agent: int) -> AgentLoad | None:
    """The free member with the fewest active interactions under the campaign's cap.

    Ties go to the agent free for the longest time, so work spreads evenly over a shift.
    """
    eligible = [c for c in candidates if c.active < max_per_agent]
    if not eligible:
        return None
    return min(eligible, key=lambda c: (c.active, c.free_since, c.user_id))
