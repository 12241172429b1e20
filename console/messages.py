"""App-wide Textual messages: engine events and connection state turned into messages.

The bridge worker posts these to the screen that owns it; widgets never see the client.
Widget-specific messages live in the widget that sends them.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message
from textual.worker import Worker

from engine.api.schemas import Event


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
