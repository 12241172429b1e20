"""In-process event bus: services publish typed API events, the API server fans them out.

Each subscriber gets its own bounded queue; a console too slow to keep up is dropped (it
reconnects and refetches) rather than letting one slow reader grow the engine's memory.
A subscriber says which events it may see (`accepts`): the others never reach its queue, so
an event about one agent wakes that agent's stream and the supervisors', not every console's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from engine.api.schemas import Event

log = logging.getLogger(__name__)


def _everything(event: Event) -> bool:
    return True


class Subscription:
    def __init__(
        self,
        maxsize: int,
        accepts: Callable[[Event], bool] = _everything,
        *,
        sees_all: bool = False,
    ) -> None:
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize)
        self.overflowed = False
        self.accepts = accepts
        self.sees_all = sees_all  # a supervisor's or admin's: the statistics are for them

    async def get(self) -> Event | None:
        return await self.queue.get()


class EventBus:
    def __init__(self, maxsize: int = 1000) -> None:
        self._subs: set[Subscription] = set()
        self._maxsize = maxsize

    @property
    def has_subscribers(self) -> bool:
        return bool(self._subs)

    @property
    def has_supervisors(self) -> bool:
        """Someone who sees everything is listening: worth counting the statistics for."""
        return any(sub.sees_all for sub in self._subs)

    def publish(self, event: Event) -> None:
        for sub in list(self._subs):
            if not sub.accepts(event):
                continue
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                log.warning("dropping a slow event subscriber")
                sub.overflowed = True
                self._subs.discard(sub)
                sub.queue.get_nowait()
                sub.queue.put_nowait(None)

    @asynccontextmanager
    async def subscribe(
        self, accepts: Callable[[Event], bool] = _everything, *, sees_all: bool = False
    ) -> AsyncIterator[Subscription]:
        sub = Subscription(self._maxsize, accepts, sees_all=sees_all)
        self._subs.add(sub)
        try:
            yield sub
        finally:
            self._subs.discard(sub)

    def close(self) -> None:
        for sub in list(self._subs):
            try:
                sub.queue.put_nowait(None)
            except asyncio.QueueFull:
                pass
        self._subs.clear()
