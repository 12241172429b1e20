"""The queue limit: how many new interactions enter a campaign's queue, and how many held
ones may follow them in.

`limit` 0 is no limit. Over it, new interactions overflow (to another campaign, or held in
their own); held ones enter in arrival order as the queue empties, and while any is held a
newcomer is held too, so nobody overtakes someone who came earlier. Nothing is ever dropped.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QueueLoad:
    queued: int  # waiting in the queue (not held)
    held: int  # held as overflow
    limit: int  # 0: unlimited


def places(load: QueueLoad, arriving: int) -> int:
    """How many of `arriving` new interactions enter the queue; the rest overflow."""
    if load.limit == 0:
        return arriving
    if load.held:
        return 0
    return max(0, min(arriving, load.limit - load.queued))


def room(load: QueueLoad) -> int:
    """How many held interactions may enter the queue now (the oldest first)."""
    if load.limit == 0:
        return load.held
    return max(0, min(load.held, load.limit - load.queued))
