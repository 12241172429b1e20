"""The bridge between the engine's event stream and a screen.

One bridge per mode screen reads `client.events()` and posts typed messages to the screen.
Every stream starts with a `Hello` event, sent by the engine once the subscription is live:
the screen (re)loads its data on it, so no change between the load and the stream is missed.
When the stream drops the bridge posts `EngineLost` once, then reconnects with backoff
(0.5 s doubling to 10 s); the next hello posts `EngineBack`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator

from textual.message_pump import MessagePump

from engine.api.schemas import Hello
from engine.client.client import EngineClient, EngineUnavailable

from .messages import EngineBack, EngineEvents, EngineLost

log = logging.getLogger(__name__)

FIRST_DELAY = 0.5
MAX_DELAY = 10.0


def backoff_delays(first: float = FIRST_DELAY, most: float = MAX_DELAY) -> Iterator[float]:
    """0.5, 1, 2, 4, 8, 10, 10, ... seconds."""
    delay = first
    while True:
        yield delay
        delay = min(delay * 2, most)


async def pump_events(
    client: EngineClient,
    target: MessagePump,
    *,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> None:
    """Run until cancelled: forward events to `target`, reconnecting when the stream drops."""
    delays = backoff_delays()
    lost = False
    connected_once = False
    batch: EngineEvents | None = None  # posted, and still open to more events
    while True:
        try:
            async for event in client.events(resume=connected_once):
                if isinstance(event, Hello):
                    connected_once = True
                    batch = None  # a new stream: its events come after what is said below
                    # The stream works again: the next outage starts from the short delay.
                    delays = backoff_delays()
                    if lost:
                        lost = False
                        target.post_message(EngineBack())
                if batch is None or batch.taken:
                    batch = EngineEvents([])
                    target.post_message(batch)
                batch.events.append(event)
        except EngineUnavailable as exc:
            log.info("event stream lost: %s", exc)
            batch = None  # what follows is said after what came before
            if not lost:
                lost = True
                target.post_message(EngineLost(exc.message))
        await sleep(next(delays))
