"""In-process event bus: services publish typed API events, the server fans them out.

Each subscriber says which events it accepts; the bus checks that when it publishes, so an
event a console may not see never wakes its stream (with hundreds of agents online, waking
every stream for every event cost milliseconds of CPU per mail). Each subscriber has its own
bounded buffer; a console too slow to keep up is dropped (it reconnects and refetches) rather
than letting one slow reader grow the engine's memory. Waiting costs one future and, with a
timeout, one timer: no task per event.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from engine.api.schemas import Event

log = logging.getLogger(__name__)

Accepts = Callable[[Event], bool]
END = None  # what a subscriber receives when it is dropped or the bus closes


class Subscription:
    def __init__(
        self, maxsize: int, accepts: Accepts | None = None, *, sees_all: bool = False
    ) -> None:
        self.maxsize = maxsize
        self.accepts = accepts
        self.sees_all = sees_all  # a supervisor's or admin's: the statistics are for them
        self.overflowed = False
        self._events: deque[Event | None] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def _put(self, event: Event | None) -> None:
        self._events.append(event)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self) -> Event | None:
        """The next event; `None` when the bus dropped this subscriber or closed."""
        while not self._events:
            await self._wait(None)
        return self._events.popleft()

    async def next(self, timeout: float) -> tuple[bool, Event | None]:
        """`(True, event)` for the next event (`None`: the end), `(False, None)` when
        `timeout` seconds pass first."""
        if not self._events:
            await self._wait(timeout)
            if not self._events:
                return False, None
        return True, self._events.popleft()

    async def _wait(self, timeout: float | None) -> None:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiter = waiter
        timer = None
        if timeout is not None:
            timer = loop.call_later(timeout, _settle, waiter)
        try:
            await waiter
        finally:
            if timer is not None:
                timer.cancel()
            self._waiter = None


def _settle(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


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
            if sub.accepts is not None and not sub.accepts(event):
                continue
            if len(sub._events) >= sub.maxsize:
                log.warning("dropping a slow event subscriber")
                sub.overflowed = True
                self._subs.discard(sub)
                sub._events.clear()
                sub._put(END)
                continue
            sub._put(event)

    @asynccontextmanager
    async def subscribe(
        self, accepts: Accepts | None = None, *, sees_all: bool = False
    ) -> AsyncIterator[Subscription]:
        """A subscription to the events `accepts` (all when None) published from now on;
        `sees_all` for a supervisor's or admin's stream."""
        sub = Subscription(self._maxsize, accepts, sees_all=sees_all)
        self._subs.add(sub)
        try:
            yield sub
        finally:
            self._subs.discard(sub)

    def close(self) -> None:
        for sub in list(self._subs):
            sub._put(END)
        self._subs.clear()
