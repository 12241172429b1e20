"""Events that overtake a load: kept until its answer arrives, then folded into it or applied
again after it.

A screen loads its data (the inbox, the agent's own row, the monitor) over one connection and
hears of changes over another, the event stream. The two are not ordered: a load read before
an assignment can answer after the assignment's event has arrived, and the screen replacing
its inbox with that answer would drop the mail the event had just shown (the agent then waits
for mail that is already theirs: seen in CI, once the engine published assignments the moment
they commit). So every event that arrives while a load is on its way is kept, and when the
answer arrives the screen either applies it and those events again after it, in their order
(`ModeScreen.load_answered`), or, for a table, keeps the rows those events touched as they
show them and takes the rest from the answer (`ModeScreen.overtaking`): replaced and then
changed again, a table would jump under the person's cursor.

Every change an agent or supervisor is shown is published after it commits, as the state it
left, so the replay ends on the newest state even when some replayed events are older than
the answer: whatever superseded them came later on the same stream, and is replayed after
them or arrives after the answer.
"""

from __future__ import annotations

from engine.api.schemas import Event

Kinds = tuple[type[Event], ...]

# A load that never answers (its worker failed, the screen went away) must not keep events
# forever; past this many the oldest are dropped, and the next reload reads afresh.
MOST_KEPT = 5000


class Overtaken:
    """The events heard since each load in flight started, by load (its worker group)."""

    def __init__(self) -> None:
        self._kept: dict[str, list[Event]] = {}
        self._kinds: dict[str, Kinds] = {}

    def started(self, load: str, kinds: Kinds) -> None:
        """A load is on its way; `kinds`: the events that change what it reads (only those
        are kept: replaying a screen frame or a reload cue would redo work for nothing). A
        second start while one is in flight (a reload that cancelled the first) keeps what
        the first heard: it is older than either answer."""
        self._kept.setdefault(load, [])
        self._kinds[load] = kinds

    def heard(self, event: Event) -> None:
        for load, kept in self._kept.items():
            if isinstance(event, self._kinds[load]):
                kept.append(event)
                if len(kept) > MOST_KEPT:
                    del kept[0]

    def reconnected(self) -> None:
        """A new stream said hello: what the old one said is older than any answer to come,
        and what it missed meanwhile will never be replayed after it, so none of it is."""
        for kept in self._kept.values():
            kept.clear()

    def answered(self, load: str) -> list[Event]:
        """The load's answer is applied: the events to apply again after it, in order."""
        self._kinds.pop(load, None)
        return self._kept.pop(load, [])

    def failed(self, load: str) -> None:
        """The load gave up: nothing will be applied on top of it."""
        self.answered(load)
