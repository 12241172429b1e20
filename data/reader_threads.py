"""The reader threads of `Database.read_at_once` on SQLite: a read in one hop, ~0.1 ms less.

A read there is one function run on a plain SQLAlchemy session in a thread (WAL lets readers
run beside the writer). Through `run_in_executor` and a new `Session` from the pool each
time, the hop and the session cost ~190 us before the function's first statement (measured
on a loaded 2-core machine: the executor's hop ~70 us, a new session with a pooled
connection ~80 us), which was a tenth of a recordings search (the SQLite search is a
median of ~1-2 ms on 1M messages). Here each thread keeps one connection and one session
for its life, closed (rolled back, emptied) after each function, and takes its work from a
queue, handing the result back with `call_soon_threadsafe`: ~70 us in all.

The threads are daemons: a process that never closes its `Database` still exits (they only
read; nothing is lost if one is stopped mid-read)."""

from __future__ import annotations

import asyncio
import collections
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session

T = TypeVar("T")

_Work = tuple[Callable[[Session], Any], "asyncio.Future[Any]", asyncio.AbstractEventLoop]


def _settle(future: asyncio.Future[Any], error: BaseException | None, value: Any) -> None:
    if future.done():  # the caller was cancelled meanwhile
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class ReaderThreads:
    """`count` threads reading `engine`, each on a session of its own.

    A read goes to the thread that finished last (idle threads kept as a stack, not a
    queue): one searching supervisor's reads then run on one connection, whose page cache
    and FTS5 structures the last read warmed, and the CPU's caches with them. Taken in turn
    (a shared queue wakes its waiters in order) every read found the other connection's
    state cold: the recordings search's median was ~10% slower (bench/search.py). Reads
    that come together still run side by side, on as many threads as are idle."""

    def __init__(self, engine: Engine, count: int) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        # Each idle thread's own queue, the one idle longest first; work waiting for a
        # thread when none is idle (never both: a thread takes waiting work before it
        # counts itself idle, under the lock).
        self._idle: list[queue.SimpleQueue[_Work | None]] = []
        self._waiting: collections.deque[_Work] = collections.deque()
        self._closed = False
        self._queues: list[queue.SimpleQueue[_Work | None]] = [
            queue.SimpleQueue() for _ in range(count)
        ]
        self._threads = [
            threading.Thread(target=self._serve, args=(own,), name=f"db-read-{n}", daemon=True)
            for n, own in enumerate(self._queues)
        ]
        for thread in self._threads:
            thread.start()

    def _claim(self, own: queue.SimpleQueue[_Work | None]) -> _Work | None:
        """Waiting work; else None, this thread counted idle (its queue gets the next)."""
        with self._lock:
            if self._waiting:
                return self._waiting.popleft()
            self._idle.append(own)
            return None

    def _serve(self, own: queue.SimpleQueue[_Work | None]) -> None:
        with self._engine.connect() as connection:
            session = Session(bind=connection, expire_on_commit=False)
            work = self._claim(own) or own.get()
            while work is not None:
                function, future, loop = work
                error: BaseException | None = None
                value: Any = None
                try:
                    value = function(session)
                except BaseException as raised:  # handed to the caller, whatever it is
                    error = raised
                finally:
                    session.close()  # rolled back: a read keeps nothing
                # Idle again before the caller hears: its next read comes back here.
                following = self._claim(own)
                try:
                    loop.call_soon_threadsafe(_settle, future, error, value)
                except RuntimeError:  # the loop is closed: nobody waits any more
                    pass
                work = following or own.get()

    async def run(self, work: Callable[[Session], T]) -> T:
        """`work(session)` in one of the threads; its result or its exception."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        item = (work, future, loop)
        with self._lock:
            if self._closed:
                raise RuntimeError("the database's reader threads are closed")
            idle = self._idle.pop() if self._idle else None
            if idle is None:
                self._waiting.append(item)
        if idle is not None:
            idle.put(item)
        return await future

    async def close(self) -> None:
        """Ends the threads once the work queued before has run (waited for in a thread,
        so the event loop goes on meanwhile)."""
        with self._lock:
            self._closed = True
        for own in self._queues:
            own.put(None)
        for thread in self._threads:
            await asyncio.to_thread(thread.join)
