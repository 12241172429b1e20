"""The reader threads of `Database.read_at_once` on SQLite (data/reader_threads.py): one
user's reads in a row run on one warm connection, reads that come together run side by side,
none is lost when more come than there are threads, and a closed pool refuses instead of
leaving its caller waiting forever."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from data.reader_threads import ReaderThreads


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'r.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
        connection.execute(text("INSERT INTO t VALUES (1), (2), (3)"))
    yield engine
    engine.dispose()


def _where(session: Session) -> tuple[int, int]:
    return threading.get_ident(), int(session.scalar(text("SELECT sum(n) FROM t")) or 0)


async def test_reads_one_after_another_stay_on_the_thread_that_finished_last(
    engine: Engine,
) -> None:
    readers = ReaderThreads(engine, 3)
    all_three = threading.Barrier(3, timeout=10)

    def started(session: Session) -> int:
        all_three.wait()  # every thread is up and serving: none is still connecting
        return _where(session)[0]

    try:
        # A thread still starting counts itself idle when it is up, later than the others:
        # the first reads wait for all three so that none comes in between those measured.
        assert len(set(await asyncio.gather(*(readers.run(started) for _ in range(3))))) == 3
        answers = [await readers.run(_where) for _ in range(20)]
    finally:
        await readers.close()
    assert {total for _, total in answers} == {6}
    # Taken in turn, three threads would each have served a third of them.
    assert len({thread for thread, _ in answers}) == 1


async def test_reads_that_come_together_run_side_by_side(engine: Engine) -> None:
    readers = ReaderThreads(engine, 2)
    both = threading.Barrier(2, timeout=10)  # broken (an error) if the two never meet

    def meet(session: Session) -> int:
        both.wait()
        return _where(session)[0]

    try:
        threads = await asyncio.gather(readers.run(meet), readers.run(meet))
    finally:
        await readers.close()
    assert len(set(threads)) == 2


async def test_more_reads_than_threads_all_answer_and_errors_reach_their_caller(
    engine: Engine,
) -> None:
    readers = ReaderThreads(engine, 2)

    def fail(session: Session) -> int:
        session.execute(text("SELECT * FROM missing"))
        return 0

    try:
        results = await asyncio.gather(
            *(readers.run(_where) for _ in range(50)), readers.run(fail), return_exceptions=True
        )
    finally:
        await readers.close()
    *answers, failed = results
    assert [a[1] for a in answers if isinstance(a, tuple)] == [6] * 50
    assert isinstance(failed, Exception) and "missing" in str(failed)


async def test_close_lets_queued_reads_finish_and_a_later_read_is_refused(engine: Engine) -> None:
    readers = ReaderThreads(engine, 1)
    release = threading.Event()

    def slow(session: Session) -> int:
        release.wait(10)
        return _where(session)[1]

    first = asyncio.ensure_future(readers.run(slow))
    second = asyncio.ensure_future(readers.run(_where))  # waits: the one thread is busy
    await asyncio.sleep(0.05)
    closing = asyncio.ensure_future(readers.close())
    await asyncio.sleep(0.05)
    assert not closing.done()
    release.set()
    await closing
    assert await first == 6 and (await second)[1] == 6
    with pytest.raises(RuntimeError, match="closed"):
        await readers.run(_where)
