"""The bridge between the engine's event stream and a screen.

One bridge per mode screen reads `client.events()` and posts typed messages to the screen.
When the stream drops it posts `EngineLost` once, then retries with backoff (0.5 s doubling
to 10 s). The WebSocket says nothing when it opens, so reconnection is confirmed with a
cheap `me()` call before `EngineBack` is posted and the stream is reopened; the screen then
refetches its data.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator

from textual.message_pump import MessagePump

from engine.client.client import EngineClient, EngineUnavailable

from .messages import EngineBack, EngineEvent, EngineLost

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
    while True:
        try:
            async for event in client.events():
                # The stream works again: the next outage starts from the short delay.
                delays = backoff_delays()
                target.post_message(EngineEvent(event))
        except EngineUnavailable as exc:
            log.info("event stream lost: %s", exc)
            target.post_message(EngineLost(exc.message))
        # The same schedule continues across attempts, so an engine that answers `me()`
        # but keeps dropping the WebSocket is not hammered (nor refetched) twice a second.
        await _wait_for_engine(client, delays, sleep)
        target.post_message(EngineBack())


async def _wait_for_engine(
    client: EngineClient,
    delays: Iterator[float],
    sleep: Callable[[float], Awaitable[object]],
) -> None:
    for delay in delays:
        await sleep(delay)
        try:
            await client.me()
        except EngineUnavailable:
            continue
        return
