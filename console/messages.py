"""App-wide Textual messages: engine events and connection state turned into messages, and
what the mode screens' workers found.

The bridge worker posts the first to the screen that owns it; widgets never see the client.
Workers post the others to their screen when the engine answers, instead of returning a
result to be told apart by the worker's group. Widget-specific messages live in the widget
that sends them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message
from textual.worker import Worker

from engine.api.schemas import (
    Event,
    InteractionDetail,
    InteractionSummary,
    LimitsOut,
    Me,
    PickQueue,
)

if TYPE_CHECKING:
    from .widgets.thread import ThreadView


@dataclass
class EngineEvent(Message):
    """One event from the engine's event stream."""

    event: Event


@dataclass
class EngineLost(Message):
    """The event stream dropped; the bridge is reconnecting with backoff."""

    reason: str


@dataclass
class EngineBack(Message):
    """The engine answers again: screens refetch their data, events resume."""


@dataclass
class WorkerFailed(Message):
    """A screen's worker failed; the app turns this into one error notification.

    Worker state messages do not bubble, so screens forward failures to the app with this.
    """

    worker: Worker[object]
    error: BaseException


# ---- what workers found: the agent screen's (screens/agent.py), the thread's (thread_screen.py)
# Each worker posts one of these when its call returns; the screen handles them with `@on`.
# They are for that screen only, not bubbling up to the app.
# Those about one interaction's thread carry the `ThreadView` that asked (`control`), so a
# handler can filter by it, as `@on(ThreadLoaded, "#thread")` does.


@dataclass
class InboxLoaded(Message, bubble=False):
    """The agent's open interactions, (re)loaded."""

    items: list[InteractionSummary]


@dataclass
class MeLoaded(Message, bubble=False):
    """Who I am and my status: (re)loaded, or as the engine answered a status change."""

    me: Me


@dataclass
class LimitsLoaded(Message, bubble=False):
    """The engine's limits: attachment size, break reasons."""

    limits: LimitsOut


@dataclass
class ThreadLoaded(Message, bubble=False):
    """An interaction's thread, fetched for `thread` (the view that will show it)."""

    thread: ThreadView
    detail: InteractionDetail

    @property
    def control(self) -> ThreadView:
        return self.thread


@dataclass
class DetailFetched(Message, bubble=False):
    """The detail an agent's action needed (the highlighted interaction was not shown in
    `thread`): `flow` goes on with it."""

    thread: ThreadView
    detail: InteractionDetail
    flow: Callable[[InteractionDetail], None]

    @property
    def control(self) -> ThreadView:
        return self.thread


@dataclass
class InteractionClosed(Message, bubble=False):
    """The engine closed an interaction at the agent's request (`thread`: the agent's)."""

    thread: ThreadView
    summary: InteractionSummary

    @property
    def control(self) -> ThreadView:
        return self.thread


@dataclass
class PickQueueLoaded(Message, bubble=False):
    """What waits in the agent's pick-mode campaigns, (re)loaded."""

    queue: PickQueue


@dataclass
class InteractionTaken(Message, bubble=False):
    """The engine gave the agent the interaction they took from a pick-mode queue."""

    summary: InteractionSummary
