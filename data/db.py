"""Database connection: one async SQLAlchemy engine, SQLite (WAL) by default, PostgreSQL by URL.

The engine process is the only writer. Schema changes go through Alembic and are applied on
start by `Database.upgrade()`, so an upgraded binary never runs against an old schema.

SQLite lets one connection write at a time; a connection that finds the lock taken sleeps in
SQLite's busy handler (1 ms, then longer, up to 100 ms a try) and tries again, so under a
steady stream of writes (50 mailboxes committing, the router assigning) a transaction could
wait seconds and give up with "database is locked" (bench/routing.py: routing passes of
0.7 s at the median, 8.6 s at p99). The busy writers (ingestion, routing, status changes)
take `Database.writing()` instead: one at a time in this process, in the order they asked,
woken the moment the one before commits; the router asks `urgent` and goes before the mail
waiting to be stored (a pass hands waiting mail to people; storing can wait a few ms more).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, Executable, create_engine, event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

from data.fit import install as fit_orm_writes
from data.models import Base
from data.reader_threads import ReaderThreads
from data.sqlalchemy_release import release_compiled_statements

# Strangers' text longer than its column is cut to it on every ORM write (data/fit.py).
fit_orm_writes(Base)

MIGRATIONS = Path(__file__).parent / "migrations"
T = TypeVar("T")


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL + NORMAL survives a killed process (only power loss can drop the last commits).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    # Reads through a memory map and a 64 MiB page cache, not a pread per page: the
    # recordings search reads thousands of scattered rows of a multi-gigabyte file. The map
    # may cover the whole file: SQLite caps it at its build's maximum (Debian's: 2 GB, which
    # against 1 GB made the benchmark's searches ~5% faster on average, docs/recordings.md).
    cursor.execute("PRAGMA mmap_size=8589934592")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


# The advisory lock key of migrations on PostgreSQL (any fixed 64-bit number: "pdmigrat").
MIGRATION_LOCK = 0x70646D6967726174


def _without_nul(value: Any) -> Any:
    return value.replace("\x00", "") if isinstance(value, str) and "\x00" in value else value


def _strip_nul(
    _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, executemany: bool
) -> tuple[str, Any]:
    """PostgreSQL's text cannot hold a NUL character (SQLite's can): a customer's mail, a
    search typed with one, a CSV cell would otherwise fail their whole transaction. A NUL
    means nothing in any text Postdesk keeps (it never goes on the wire either: compose drops
    it), so it is dropped from every text parameter on the way in, in this one place."""

    def clean(params: Any) -> Any:
        if isinstance(params, dict):
            return {k: _without_nul(v) for k, v in params.items()}
        if isinstance(params, list | tuple):
            return type(params)(_without_nul(v) for v in params)
        return params

    if executemany and isinstance(parameters, list | tuple):
        return statement, type(parameters)(clean(p) for p in parameters)
    return statement, clean(parameters)


class _CancelledReset(logging.Filter):
    """A task cancelled while it held a pooled connection (an engine stopping, a console
    leaving mid-request): SQLAlchemy cannot roll the connection back on its way to the pool
    and discards it instead, which it logs as an ERROR with the CancelledError's traceback.
    Nothing is lost (the transaction never committed; the discarded connection rolls back
    as it closes), so it is said once at DEBUG, without the traceback that read as a crash
    in `postdesk ctl`'s output and the engine's log."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, asyncio.CancelledError):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            record.msg, record.args = "a cancelled task's pooled connection was discarded", ()
            record.exc_info, record.exc_text = None, None
        return True


for _pool in ("AsyncAdaptedQueuePool", "NullPool", "StaticPool", "QueuePool"):
    logging.getLogger(f"sqlalchemy.pool.impl.{_pool}").addFilter(_CancelledReset())


class WriteTurn:
    """One holder at a time; waiters in the order they came, the urgent ones first."""

    def __init__(self) -> None:
        self._held = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._others: deque[asyncio.Future[None]] = deque()

    @asynccontextmanager
    async def turn(self, *, urgent: bool = False) -> AsyncIterator[None]:
        if self._held:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            line = self._urgent if urgent else self._others
            line.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.cancelled():
                    line.remove(waiter)
                else:  # handed the turn as we were cancelled: pass it on
                    self._release()
                raise
        else:
            self._held = True
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        for line in (self._urgent, self._others):
            while line:
                waiter = line.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # handed over: still held
                    return
        self._held = False


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        if self.engine.dialect.name == "postgresql":
            event.listen(self.engine.sync_engine, "before_cursor_execute", _strip_nul, retval=True)
        self.session: async_sessionmaker[AsyncSession] = async_sessionmaker(
            self.engine, expire_on_commit=False
        )
        # SQLite has one writer at a time: the process's busy writers queue here rather than
        # in SQLite's busy handler. PostgreSQL locks rows, not the database: no queue.
        self._write_turn: WriteTurn | None = (
            WriteTurn() if self.engine.dialect.name == "sqlite" else None
        )
        # SQLite: `write_at_once` and `read_at_once` run in worker threads on plain
        # connections of this engine's pool (opened when first used).
        self._sync_engine: Engine | None = None
        # Threads of their own, not the loop's default executor: that one parses mail
        # (ingest), and a routing pass queued behind six parses waited for them. Made when
        # first used, and again after `close` (as the engine's connections are): a service
        # still finishing as its engine stops must not find them gone.
        self._writer: ThreadPoolExecutor | None = None
        self._quick_connection: sqlite3.Connection | None = None  # `write_now`'s
        self._readers: ReaderThreads | None = None
        if self._write_turn is not None:
            self._sync_engine = create_engine(self.engine.url.set(drivername="sqlite"))
            event.listen(self._sync_engine, "connect", _sqlite_pragmas)

    @asynccontextmanager
    async def writing(self, *, urgent: bool = False) -> AsyncIterator[AsyncSession]:
        """A session in a transaction that writes, committed on leaving (rolled back on an
        error); on SQLite one at a time in this process, first come first served, `urgent`
        ones before the others."""
        if self._write_turn is None:
            async with self.session() as session, session.begin():
                yield session
            return
        async with self._write_turn.turn(urgent=urgent), self.session() as session:
            async with session.begin():
                yield session

    async def write_at_once(self, work: Callable[[Session], T], *, urgent: bool = False) -> T:
        """`work(session)` in one writing transaction, its statements issued back to back.

        Through the async session every statement is a hop to aiosqlite's thread and back to
        the event loop, and on a loaded engine each hop waits for the loop (a routing pass of
        ten statements took 60-110 ms, mostly waiting). On SQLite the whole of `work` runs in
        one worker thread on a plain connection instead, in the write turn; on PostgreSQL the
        statements are asyncpg's round trips anyway, and `work` runs on the async session.
        `work` must not touch the event loop (it may run in another thread)."""
        if self._write_turn is None:
            async with self.writing(urgent=urgent) as session:
                return await session.run_sync(work)
        async with self._write_turn.turn(urgent=urgent):
            return await self._in_writer(work)

    async def _in_writer(self, work: Callable[[Session], T]) -> T:
        """`work` in the writer thread (the caller holds the write turn)."""
        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="db-write")
        running = asyncio.get_running_loop().run_in_executor(self._writer, self._in_thread, work)
        try:
            return await asyncio.shield(running)
        except asyncio.CancelledError:
            # The thread cannot be stopped: the turn is kept until it has committed or
            # rolled back, so no other writer runs beside it.
            await asyncio.wait([running])
            raise

    async def write_now(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """SQLite only: `work(connection)` on a plain sqlite3 connection, in a transaction
        committed at once ON THE EVENT LOOP'S THREAD, in the write turn (urgent). For a hot
        path's small writes whose caller waits for the commit and nothing else (the
        dialer's outcomes: each connection's next message waits for its last one's).

        Through the writer thread (`write_at_once`), a commit of a few rows that takes
        ~0.4 ms in its thread took ~1.2 ms at the median from the loop (the hop there and
        back, the thread waiting for the GIL while the loop is busy, the answer waiting
        for its turn on the loop): the dialer's connections spent two thirds of their time
        waiting for it (bench/dialer). Here the loop is held for the writing itself.

        This connection never waits: no busy timeout (the write turn keeps this process's
        writers apart; a busy database means a write outside it: another process, or a
        session writing without the turn) and no automatic checkpoint (a checkpoint syncs
        the files, milliseconds to seconds; the other connections' commits checkpoint as
        before). When the database is busy (or anything else goes wrong there) the same
        `work` runs in the writer thread, which waits for the lock as every writer does.
        `work` must keep to `connection` (it may run in either thread)."""
        if self._write_turn is None:
            raise RuntimeError("write_now is for SQLite")
        async with self._write_turn.turn(urgent=True):
            quick = self._quick()
            if quick is not None:
                try:
                    quick.execute("BEGIN IMMEDIATE")
                    result = work(quick)
                    quick.execute("COMMIT")
                    return result
                except sqlite3.OperationalError:
                    # Busy (another process holds the write lock), or an error the writer
                    # thread's way meets again and raises: undone here, done there.
                    if quick.in_transaction:
                        quick.execute("ROLLBACK")
                except BaseException:
                    if quick.in_transaction:
                        quick.execute("ROLLBACK")
                    raise

            def through(session: Session) -> T:
                return work(session.connection().connection.driver_connection)  # type: ignore[arg-type]

            return await self._in_writer(through)

    def _quick(self) -> sqlite3.Connection | None:
        """`write_now`'s connection (None: an in-memory database, which has no other)."""
        if self._quick_connection is None:
            assert self._sync_engine is not None
            path = self._sync_engine.url.database
            if not path or path == ":memory:" or path.startswith("file:"):
                return None
            connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            _sqlite_pragmas(connection, None)
            connection.execute("PRAGMA busy_timeout=0")
            connection.execute("PRAGMA wal_autocheckpoint=0")
            self._quick_connection = connection
        return self._quick_connection

    async def read_at_once(self, work: Callable[[Session], T]) -> T:
        """`work(session)` reading, its statements back to back: in a worker thread on
        SQLite (readers run beside the writer in WAL), on the async session on PostgreSQL.
        As `write_at_once`, for reads on a hot path (the notifier's batch, the recordings
        search on SQLite)."""
        if self._write_turn is None:
            async with self.session() as session:
                return await session.run_sync(work)
        if self._readers is None:
            assert self._sync_engine is not None
            self._readers = ReaderThreads(self._sync_engine, 2)  # data/reader_threads.py
        return await self._readers.run(work)

    async def write_many(
        self, *work: tuple[Executable, Sequence[dict[str, Any]]], urgent: bool = False
    ) -> None:
        """Each `(statement, rows)`: the statement executed for every row of `rows` (an
        executemany; once for one row), all in one transaction committed in one trip to the
        database (`write_at_once`), for a hot path that commits small batches many times a
        second (the dialer's outcomes: through the async driver a commit of 15 rows took
        4-12 ms of hops, which capped a dialer at ~2,300 msg/s)."""
        batch = tuple((statement, list(rows)) for statement, rows in work if rows)
        if not batch:
            return

        def run(session: Session) -> None:
            connection = session.connection()
            for statement, rows in batch:
                connection.execute(statement, rows)

        await self.write_at_once(run, urgent=urgent)

    def _in_thread(self, work: Callable[[Session], T]) -> T:
        with Session(self._sync_engine, expire_on_commit=False) as session, session.begin():
            return work(session)

    async def upgrade(self, revision: str = "head") -> None:
        """Migrated to `revision` (an older one: benches measuring an earlier schema)."""

        def run(connection: Connection) -> None:
            cfg = alembic_config()
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)

        if self.engine.dialect.name != "sqlite":
            async with self.engine.begin() as conn:
                # One migrator at a time: engine nodes started together on one database take
                # turns (the lock ends with the transaction); those after the first find it
                # at head. Without it they blocked each other on the tables being made.
                await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
                await conn.run_sync(run)
            return
        # SQLite alters a table by copying it and dropping the old one; with foreign keys on,
        # that drop deletes (or nulls) every row referencing it. SQLite's own procedure: keys
        # off outside the transaction, the migrations, a foreign key check before commit.
        async with self.engine.connect() as conn:
            await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await conn.commit()
            try:
                async with conn.begin():
                    await conn.run_sync(run)
                    broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
                    if broken:
                        raise RuntimeError(f"migration left broken references: {broken[:5]}")
            finally:
                await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                await conn.commit()

    async def at_head(self) -> bool:
        """True when the database has every migration this code knows (other processes
        than the engine check this and wait for the engine to upgrade it)."""
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        def current(connection: Connection) -> set[str]:
            return set(MigrationContext.configure(connection).get_current_heads())

        heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
        async with self.engine.connect() as conn:
            return await conn.run_sync(current) == heads

    async def close(self) -> None:
        await self.engine.dispose()
        writer, readers, self._writer, self._readers = self._writer, self._readers, None, None
        if writer is not None:
            # A pass still in its thread commits first; waited for in a thread, so the
            # event loop (and the stop's own timeout) goes on meanwhile.
            await asyncio.to_thread(writer.shutdown, wait=True)
        if readers is not None:
            await readers.close()
        if self._sync_engine is not None:
            self._sync_engine.dispose()
            release_compiled_statements(self._sync_engine.dialect)
        release_compiled_statements(self.engine.dialect)  # the mappers' caches keep it
        quick, self._quick_connection = self._quick_connection, None
        if quick is not None:
            quick.close()
