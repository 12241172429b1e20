"""In-process event bus: services publish typed API events, the server fans them out.

Each subscriber says which events it accepts; the bus checks that when it publishes, so an
event a console may not see never wakes its stream (with hundreds of agents online, waking
every stream for every event cost milliseconds of CPU per mail). Nor is every stream asked:
an event about one person (their interaction, message, row, log-out, chat line) is offered
only to that person's streams and to those that see everything (`audience`), so publishing
costs the same with 500 agents online as with 5 (asking all 500 took a fifth of the engine's
time at 200 mails a second, bench/routing.py). Each subscriber has its own
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

from engine.api.schemas import (
    AgentChanged,
    ChatSaid,
    DialerProgress,
    Event,
    InteractionChanged,
    LoggedOut,
    MailboxChanged,
    MessageChanged,
    QueueChanged,
    ScreenChanged,
    ScreenWatchers,
    StatsChanged,
)

log = logging.getLogger(__name__)

Accepts = Callable[[Event], bool]
END = None  # what a subscriber receives when it is dropped or the bus closes


def audience(event: Event) -> tuple[str, ...] | None:
    """The usernames an event is about, when it is about someone: only their streams and
    those that see everything are asked whether they accept it (`accepts` still decides).
    `()`: for those that see everything alone. None: every stream is asked."""
    match event:
        case InteractionChanged(interaction=item):
            return () if item.agent is None else (item.agent,)
        case MessageChanged(agent=agent):
            return () if agent is None else (agent,)
        case AgentChanged(agent=row):
            return (row.username,)
        case LoggedOut(username=username):
            return (username,)
        case ChatSaid(line=line):
            return (line.sender, line.recipient)
        case QueueChanged() | StatsChanged() | MailboxChanged():
            return ()
        case DialerProgress():  # supervisors' and admins' (event_filter.may_see)
            return ()
        case ScreenWatchers(agent=agent):
            return (agent,)
        case ScreenChanged(to=to):
            return tuple(to)
    return None


class Subscription:
    def __init__(
        self,
        maxsize: int,
        accepts: Accepts | None = None,
        *,
        sees_all: bool = False,
        username: str | None = None,
    ) -> None:
        self.maxsize = maxsize
        self.accepts = accepts
        self.sees_all = sees_all  # a supervisor's or admin's: the statistics are for them
        self.username = username  # whose stream (None: offered every event)
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
        self._by_user: dict[str, set[Subscription]] = {}
        self._seers: set[Subscription] = set()  # see everything: offered every event
        self._anyone: set[Subscription] = set()  # no username: offered every event
        self._maxsize = maxsize

    @property
    def has_subscribers(self) -> bool:
        return bool(self._subs)

    def listening(self, username: str) -> bool:
        """Whether `username` has an event stream open on this engine now."""
        return username in self._by_user

    @property
    def has_supervisors(self) -> bool:
        """Someone who sees everything is listening: worth counting the statistics for."""
        return bool(self._seers)

    def _candidates(self, event: Event) -> list[Subscription]:
        names = audience(event)
        if names is None:
            return list(self._subs)
        found = [*self._seers, *(sub for sub in self._anyone if not sub.sees_all)]
        for name in dict.fromkeys(names):  # a chat line to oneself names one person twice
            for sub in self._by_user.get(name, ()):
                if not sub.sees_all:
                    found.append(sub)
        return found

    def publish(self, event: Event) -> None:
        for sub in self._candidates(event):
            if sub.accepts is not None and not sub.accepts(event):
                continue
            if len(sub._events) >= sub.maxsize:
                log.warning("dropping a slow event subscriber")
                sub.overflowed = True
                self._remove(sub)
                sub._events.clear()
                sub._put(END)
                continue
            sub._put(event)

    def _add(self, sub: Subscription) -> None:
        self._subs.add(sub)
        if sub.sees_all:
            self._seers.add(sub)
        if sub.username is None:
            self._anyone.add(sub)
        else:
            self._by_user.setdefault(sub.username, set()).add(sub)

    def _remove(self, sub: Subscription) -> None:
        self._subs.discard(sub)
        self._seers.discard(sub)
        self._anyone.discard(sub)
        if sub.username is not None:
            mine = self._by_user.get(sub.username)
            if mine is not None:
                mine.discard(sub)
                if not mine:
                    del self._by_user[sub.username]

    @asynccontextmanager
    async def subscribe(
        self,
        accepts: Accepts | None = None,
        *,
        sees_all: bool = False,
        username: str | None = None,
    ) -> AsyncIterator[Subscription]:
        """A subscription to the events `accepts` (all when None) published from now on;
        `sees_all` for a supervisor's or admin's stream; `username`: whose stream it is, so
        that events about other people are not even offered to it (None: offered all)."""
        sub = Subscription(self._maxsize, accepts, sees_all=sees_all, username=username)
        self._add(sub)
        try:
            yield sub
        finally:
            self._remove(sub)

    def close(self) -> None:
        for sub in list(self._subs):
            sub._put(END)
        for sub in list(self._subs):
            self._remove(sub)
