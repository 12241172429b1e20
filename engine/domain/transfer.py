"""Who may move an interaction where: the rules of transfers (an agent hands their work on),
reassignments (a supervisor moves an absent agent's work) and the requeue of a logged-out
agent's work after the campaign's delay. Pure, so each rule is tested without an engine;
`engine.services.work.transfer` reads the rows, asks here and writes.

Each refusal is a sentence for the person who asked, and names the field it is about.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# Statuses a supervisor may take work away from: not at a console, paused, or on a break.
# A Free agent is at work: they transfer it themselves, or a supervisor pauses them first.
ABSENT = frozenset({"offline", "paused", "break"})


@dataclass(frozen=True)
class Refusal:
    field: str | None
    text: str


@dataclass(frozen=True)
class Candidate:
    """An agent an interaction would go to, as stored."""

    username: str
    is_agent: bool
    member: bool  # of the interaction's campaign
    status: str


def holder_refusal(
    *, interaction_id: int, state: str, owner_id: int | None, mover_id: int | None, supervisor: bool
) -> Refusal | None:
    """Whether the mover may move this interaction at all."""
    if state == "closed":
        return Refusal(None, f"interaction {interaction_id} is closed")
    if supervisor:
        return None
    if owner_id is None or owner_id != mover_id:
        return Refusal(
            None,
            f"interaction {interaction_id} is not yours: only its agent or a supervisor moves it",
        )
    return None


def agent_refusal(
    target: Candidate | None, *, name: str, campaign: str, owner: str | None
) -> Refusal | None:
    """Whether `target` may receive an interaction of `campaign` now held by `owner`."""
    if target is None or not target.is_agent:
        return Refusal("to_agent", f"no agent {name!r}")
    if target.username == owner:
        return Refusal("to_agent", f"it is already {target.username}'s")
    if not target.member:
        return Refusal("to_agent", f"{target.username} is not a member of {campaign}")
    if target.status == "offline":
        return Refusal("to_agent", f"{target.username} is offline: choose someone at a console")
    return None


def campaign_refusal(*, name: str, exists: bool, enabled: bool, receives: bool) -> Refusal | None:
    """Whether another campaign's queue may take an interaction."""
    if not exists:
        return Refusal("to_campaign", f"no campaign {name!r}")
    if not (enabled and receives):
        return Refusal("to_campaign", f"{name} does not receive mail now")
    return None


def reassign_refusal(username: str, status: str) -> Refusal | None:
    """A supervisor moves the work of an agent who is not working it."""
    if status not in ABSENT:
        return Refusal(
            None,
            f"{username} is at work ({status}): they transfer it themselves, or pause them first",
        )
    return None


def requeue_due(
    *, on_logout: str, minutes: int, status: str, offline_since: datetime, now: datetime
) -> bool:
    """An agent's open interaction of a campaign that requeues goes back to its queue once
    they have been Offline `minutes`; coming back before that keeps it theirs."""
    if on_logout != "requeue" or status != "offline":
        return False
    return now - offline_since >= timedelta(minutes=minutes)


def requeue_at(offline_since: datetime, minutes: int) -> datetime:
    """When an Offline agent's open interaction of a requeueing campaign falls due."""
    return offline_since + timedelta(minutes=minutes)
