"""The dialer sends: play, stop, status, and one task per running dialer.

A running dialer's task repeats: inside its schedule, when its pace and its account's caps
allow, it claims the next records (priority, then list order), sends them, records what the
server said. Exactly once, as far as SMTP allows:

1. Claim (one transaction): each record gets its Message-ID and link token (kept when it
   has them: a retry or a resend is the same message) and the state `sending`; addresses
   that are blacklisted (for its campaign or all), unsubscribed or bouncing become
   `skipped`; a record whose mail cannot be made (an undefined `${variable}`, a bad event
   date) becomes `failed` with the reason. Committed BEFORE any SMTP command.
2. Send over the account's connections (`smtp_pool.py`).
3. Record (one transaction): `sent`; `failed` with the server's 5xx text; 4xx back to
   `pending` with `attempts` and `next_attempt_at` (backoff), failed after MAX_ATTEMPTS.

A kill at any moment leaves at most the claimed batches (two in flight) in `sending`: at the
next start they are sent again (same Message-ID). Only those whose DATA the server had accepted
when the engine died arrive twice. Stop lets the batches in flight finish, then the task ends; play
starts from what is still pending. The engine restarts the dialers that were running.

Pace and caps are read on `clock` (the engine's schedule clock): tests move it. The mail a
record carries is made by `engine.services.dialer.record_mail`.

Over ~500 lines (about 700, the node's turn included) because claim, send and record are
the three steps of the exactly-once sequence above and share one dialer task's state
(account gates, mails in flight); read apart they would hide the order that makes a kill
safe.

Several engine nodes on one PostgreSQL (docs/deploy.md): a dialer is run by one node at a
time, the one holding its advisory lock on a connection of its own (`_Turn`); the others
wait for it, and when that node dies its connection ends, the lock goes with it and another
node takes the dialer over, sending again what the dead one had claimed (`sending`), as a
restart does. Claims lock the records they take (`FOR UPDATE SKIP LOCKED`), so no two claims
ever hold one record, and the account caps are counted in the database, across nodes
(`shared_caps.py`; simultaneous connections: `shared_slots.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import (
    Executable,
    Table,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from data import pg
from data.db import Database
from data.db_blobs import Blobs
from data.models import (
    BlacklistEntry,
    BouncingAddress,
    Campaign,
    Dialer,
    DialerList,
    DialerRecord,
    DialerRecordState,
    Template,
)
from engine.api.schemas import DialerStatus
from engine.domain.compose import make_message_ids
from engine.domain.dialer_fastmail import MailMaker
from engine.domain.dialer_mail import RecordError, RecordMail
from engine.domain.dialer_pacing import MAX_ATTEMPTS, AccountGate, Caps, Pace, retry_delay
from engine.domain.dialer_schedule import on_schedule
from engine.domain.web_links import new_tokens
from engine.errors import Invalid
from engine.services.customer.blacklist import applies
from engine.services.dialer import claim_rows, shared_caps
from engine.services.dialer.progress import DialerProgressBoard, count_progress, weekly_of
from engine.services.dialer.record_mail import DialerMails
from engine.services.dialer.records import find_dialer, smtp_limit
from engine.services.dialer.smtp_pool import Account, Outcome, Outgoing, SmtpPool, account_of

__all__ = ["DialerRunner"]

log = logging.getLogger(__name__)
S = DialerRecordState

# Records claimed per transaction when nothing paces them: a batch's own reads (dialer,
# campaign, schedule, caps, lists, template) cost ~10 ms, ~50 us a message at 200 (measured).
BATCH = 1000
# A dialer whose last batch went out fast claims bigger ones, up to GROWTH x BATCH: about
# BATCH_SECONDS of its sending a batch. Each batch costs its reads and, per connection, a
# task and a message whose content goes without the next envelope (one more write and
# round trip): over 32 connections ~140 us of CPU a message at 1,000 records a batch
# against ~120 at 2,000 or 4,000 (bench/dialer, means of four noisy runs on a shared
# machine). A slow server keeps batches of BATCH, so a stop (which waits for the batches
# in flight) stays as quick as it was.
GROWTH = 4
BATCH_SECONDS = 1.0
IN_FLIGHT = 2  # batches on the wire at once (claimed `sending`, not yet all recorded)
TICK = 0.25  # longest real sleep between looks at the clock (tests move it)
IDLE = 2.0  # a dialer with nothing to send looks again this often (an append, a retry)
# PostgreSQL: a dialer run by another node is looked at this often (is that node alive?), and
# dialers played on other nodes are looked for as often.
TURN_WAIT = 1.0
DIALER_LOCK = 0x6469616C  # the advisory lock of a running dialer: ("dial", its id)


_T: Table = DialerRecord.__table__  # type: ignore[assignment]
# What a claim reads of a record: plain rows, not ORM objects (a fifth of a claim's time
# went into making 1,000 objects a batch); on SQLite read at the driver (`claim_rows.py`).
_CLAIMED_COLUMNS = tuple(_T.c[name] for name in claim_rows.COLUMNS)
_Record = claim_rows.Claimed
_CLAIM = (
    update(_T)
    .where(_T.c.id == bindparam("rid"))
    .values(
        state=bindparam("state"),
        error=bindparam("error"),
        processed_at=bindparam("processed_at"),
        rfc_message_id=bindparam("rfc_message_id"),
        link_token=bindparam("link_token"),
        sent_at=bindparam("sent_at"),
    )
)
_CLAIM_KEYS = ("state", "error", "processed_at", "rfc_message_id", "link_token", "sent_at", "rid")
_OUTCOME = (
    update(_T)
    .where(_T.c.id == bindparam("rid"))
    .values(
        state=case(
            # Not `in_`: its expanding parameter cannot go in an executemany.
            (or_(*(_T.c.state == state for state in claim_rows.AFTER_DELIVERY)), _T.c.state),
            else_=bindparam("state", type_=_T.c.state.type),
        ),
        error=bindparam("error"),
        attempts=bindparam("attempts"),
        processed_at=bindparam("processed_at"),
        next_attempt_at=bindparam("next_attempt_at"),
    )
)

# The messages the server took: one statement for many (an expanding IN cannot go in an
# executemany, hence apart from _OUTCOME).
_SENT = (
    update(_T)
    .where(_T.c.id.in_(bindparam("rids", expanding=True)))
    .values(
        state=case(
            (or_(*(_T.c.state == state for state in claim_rows.AFTER_DELIVERY)), _T.c.state),
            else_=literal(S.SENT, type_=_T.c.state.type),
        ),
        error="",
        attempts=bindparam("attempts"),
        processed_at=bindparam("processed_at"),
        next_attempt_at=None,
    )
)


@dataclass
class _Claimed:
    outgoing: list[Outgoing] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    capped: bool = False  # the account's caps (every node's sends) left nothing now


class _Turn:
    """PostgreSQL: this node's turn to run one dialer, an advisory lock held on a connection
    of its own for as long as it runs it (it ends with the connection: a node killed
    mid-run hands the dialer over within moments)."""

    def __init__(self, url: str, dialer_id: int) -> None:
        self.url = url
        self.dialer_id = dialer_id
        self.conn: object = None

    async def take(self) -> bool:
        if self.conn is None:
            self.conn = await pg.connect(self.url)
        got = await self.conn.fetchval(  # type: ignore[attr-defined]
            "SELECT pg_try_advisory_lock($1, $2)", DIALER_LOCK, self.dialer_id
        )
        return bool(got)

    async def still_ours(self) -> None:
        """Raises when the connection holding the lock is gone (the lock with it)."""
        async with asyncio.timeout(10):
            await self.conn.fetchval("SELECT 1")  # type: ignore[attr-defined]

    async def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                await self.conn.close(timeout=2)  # type: ignore[attr-defined]
            self.conn = None


class DialerRunner:
    def __init__(
        self,
        db: Database,
        blobs: Blobs,
        pool: SmtpPool,
        progress: DialerProgressBoard,
        *,
        clock: Callable[[], datetime],
        base_url: Callable[[], str],
        retry_base: float = 30.0,
        batch: int = BATCH,
    ) -> None:
        self.db = db
        self.pool = pool
        self.progress = progress
        self.clock = clock
        self.retry_base = timedelta(seconds=retry_base)
        self.batch = batch
        self.active = False  # the engine runs the dialers (not in a run_mail=False engine)
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._wakes: dict[int, asyncio.Event] = {}
        self._gates: dict[Account, AccountGate] = {}
        self._in_flight: dict[int, int] = {}
        self._rates: dict[int, float] = {}  # messages a second of each dialer's last batch
        # The mail of a record, made at its claim (and again for an answer's thread).
        self.mails = DialerMails(blobs, clock=clock, base_url=base_url)
        # Several nodes may share the database: turns, locked claims, caps counted there.
        self.shared = db.engine.dialect.name == "postgresql"
        self.turns: set[int] = set()  # PostgreSQL: the dialers this node runs now

    # ---- the engine's side ----
    async def run(self) -> None:
        """At start: records a dead engine left `sending` wait again; running dialers go on.
        PostgreSQL: a dialer's `sending` records wait again when a node takes its turn
        (another node may be sending them now), and dialers played on other nodes are
        looked for every TURN_WAIT seconds (their node may die)."""
        resent = 0
        async with self.db.session() as session, session.begin():
            if not self.shared:
                done = await session.execute(
                    update(DialerRecord)
                    .where(DialerRecord.state == S.SENDING)
                    .values(state=S.PENDING)
                )
                resent = done.rowcount  # type: ignore[attr-defined]
            running = (await session.scalars(select(Dialer.id).where(Dialer.running))).all()
        if resent:
            log.warning(
                "%d dialer record(s) were inside their SMTP transaction when the engine stopped:"
                " sending them again (some may arrive twice)",
                resent,
            )
        self.active = True
        try:
            for dialer_id in running:
                self._start(dialer_id)
            while self.shared:
                await asyncio.sleep(TURN_WAIT)
                async with self.db.session() as session:
                    running = (await session.scalars(select(Dialer.id).where(Dialer.running))).all()
                for dialer_id in running:
                    task = self._tasks.get(dialer_id)
                    if task is None or task.done():
                        self._start(dialer_id)
            await asyncio.Event().wait()
        finally:
            self.active = False
            tasks = list(self._tasks.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._tasks.clear()
            self.pool.close()

    def kick(self) -> None:
        """Look again now (the clock moved, a list was added)."""
        for wake in self._wakes.values():
            wake.set()

    # ---- play / stop / status ----
    async def play(self, name: str) -> DialerStatus:
        async with self.db.session() as session, session.begin():
            dialer = await find_dialer(session, name)
            lists = await session.scalar(
                select(func.count())
                .select_from(DialerList)
                .where(DialerList.dialer_id == dialer.id, DialerList.importing.is_(False))
            )
            if not lists:
                raise Invalid(
                    f"dialer {name!r} has no list to send: upload one first"
                    " (`ctl dialer list-upload`)"
                )
            campaign = await session.get_one(Campaign, dialer.campaign_id)
            if not campaign.smtp_host:
                raise Invalid(f"campaign {campaign.name!r} has no SMTP server to send through")
            dialer.running = True
            dialer_id = dialer.id
        if self.active:
            self._start(dialer_id)
        self.progress.changed(dialer_id)
        return await self.status(name)

    async def stop(self, name: str) -> DialerStatus:
        async with self.db.session() as session, session.begin():
            dialer = await find_dialer(session, name)
            dialer.running = False
            dialer_id = dialer.id
        task = self._tasks.get(dialer_id)
        if task is not None:
            self._wakes[dialer_id].set()
            # The batch in flight ends its SMTP transactions and is recorded, then it stops.
            await asyncio.shield(task)
        if not any(not t.done() for t in self._tasks.values() if t is not task):
            await self.pool.release()  # no dialer sends: no connection stays open
        self.progress.changed(dialer_id)
        return await self.status(name)

    async def status(self, name: str) -> DialerStatus:
        async with self.db.session() as session:
            dialer = await find_dialer(session, name)
            now = self.clock()
            lists = (await count_progress(session, [dialer.id], now)).get(dialer.id, [])
            scheduled = on_schedule(
                await weekly_of(session, dialer), dialer.starts_on, dialer.ends_on, now
            )
            return DialerStatus(
                dialer=dialer.name,
                running=dialer.running,
                on_schedule=scheduled,
                lists=lists,
                sending_now=self._in_flight.get(dialer.id, 0),
            )

    def _start(self, dialer_id: int) -> None:
        task = self._tasks.get(dialer_id)
        if task is not None and not task.done():
            self._wakes[dialer_id].set()
            return
        self._wakes[dialer_id] = asyncio.Event()
        self._tasks[dialer_id] = asyncio.create_task(
            self._guarded(dialer_id), name=f"dialer-{dialer_id}"
        )

    async def _guarded(self, dialer_id: int) -> None:
        delay = 1.0
        try:
            while True:
                try:
                    await self._run_dialer(dialer_id)
                    return
                except asyncio.CancelledError:
                    raise
                except Exception:  # a database hiccup must not stop the dialer for good
                    log.exception("dialer %s failed; going on in %.0f s", dialer_id, delay)
                    await asyncio.sleep(delay)
                    if not self.shared:  # PostgreSQL: done when the turn is taken again
                        await self._unclaim(dialer_id)
                    delay = min(delay * 2, 60.0)
        finally:
            if self._tasks.get(dialer_id) is asyncio.current_task():
                del self._tasks[dialer_id]

    async def _unclaim(self, dialer_id: int) -> int:
        """After a failure mid-batch: its records left `sending` wait again, as after a
        restart (only those the server had accepted may go twice). How many."""
        lists = select(DialerList.id).where(DialerList.dialer_id == dialer_id)
        async with self.db.writing() as session:
            done = await session.execute(
                update(DialerRecord)
                .where(DialerRecord.list_id.in_(lists), DialerRecord.state == S.SENDING)
                .values(state=S.PENDING)
            )
        return int(done.rowcount)  # type: ignore[attr-defined]

    async def _sleep(self, dialer_id: int, seconds: float) -> None:
        wake = self._wakes[dialer_id]
        try:
            async with asyncio.timeout(max(0.0, min(seconds, TICK))):
                await wake.wait()
        except TimeoutError:
            pass
        wake.clear()

    # ---- one dialer ----
    async def _run_dialer(self, dialer_id: int) -> None:
        if not self.shared:
            await self._run_turn(dialer_id, None)
            return
        turn = _Turn(self.db.url, dialer_id)
        try:
            while not await turn.take():  # another node runs it
                async with self.db.session() as session:
                    dialer = await session.get(Dialer, dialer_id)
                    if dialer is None or not dialer.running:
                        return
                await self._sleep(dialer_id, TURN_WAIT)
            # Ours now: what a node that stopped or died had claimed is sent again.
            if resent := await self._unclaim(dialer_id):
                log.warning(
                    "dialer %s: %d record(s) were claimed by a node that stopped or died:"
                    " sending them again (some may arrive twice)",
                    dialer_id,
                    resent,
                )
            self.turns.add(dialer_id)
            await self._run_turn(dialer_id, turn)
        finally:
            self.turns.discard(dialer_id)
            await turn.close()

    async def _run_turn(self, dialer_id: int, turn: _Turn | None) -> None:
        """Claims batch n+2 (reads, makes the mails) while batches n and n+1 are on the wire:
        the batches never overlap in records (those in flight are `sending`). Two batches in
        flight, not one: the connections that end their share of batch n first start on
        batch n+1 instead of waiting for the slowest one (`SmtpPool` hands its connection
        slots over), so no connection idles between batches."""
        pace = Pace(0.0)
        was_scheduled: bool | None = None
        flying: deque[asyncio.Task[None]] = deque()
        try:
            while True:
                async with self.db.session() as session:
                    dialer = await session.get(Dialer, dialer_id)
                    if dialer is None or not dialer.running:
                        return
                    campaign = await session.get_one(Campaign, dialer.campaign_id)
                    now = self.clock()
                    scheduled = on_schedule(
                        await weekly_of(session, dialer), dialer.starts_on, dialer.ends_on, now
                    )
                    caps, limit_id = await _caps(session, campaign)
                if scheduled != was_scheduled:
                    was_scheduled = scheduled
                    self.progress.changed(dialer_id)  # "on schedule" turned
                if not scheduled:
                    await self._sleep(dialer_id, TICK)
                    continue
                pace.every = dialer.seconds_between_messages
                gate = self._gate(campaign, caps)
                wait = max(pace.wait(now), gate.wait(now))
                if wait > 0:
                    await self._sleep(dialer_id, wait)
                    continue
                want = 1 if pace.every > 0 else min(self._batch(dialer_id), gate.allowance(now))
                if turn is not None:
                    await turn.still_ours()  # lost: another node may run it now
                shared = (
                    (limit_id, caps)
                    if self.shared and limit_id is not None and shared_caps.capped(caps)
                    else None
                )
                claimed = await self._claim(dialer, campaign, want, now, shared)
                if claimed is not None and claimed.capped:
                    await self._sleep(dialer_id, TICK)  # other nodes used the allowance
                    continue
                if claimed is None:
                    if flying:  # their retries may be due soon: look again after
                        await flying.popleft()
                        continue
                    await self._sleep(dialer_id, IDLE)
                    continue
                sending = claimed.outgoing
                if sending:
                    gate.took(now, len(sending))
                    pace.took(now)
                self.progress.changed(dialer_id)
                if not sending:
                    continue
                if len(flying) >= IN_FLIGHT:
                    await flying.popleft()
                flying.append(
                    asyncio.create_task(self._send(dialer_id, campaign, caps, sending, limit_id))
                )
        finally:
            # Stop: the batches in flight end their transactions and are recorded.
            # Cancelled (the engine stops): they are cancelled too; `sending` records
            # are sent again at the next start.
            while flying:
                task = flying.popleft()
                try:
                    await task
                except asyncio.CancelledError:
                    task.cancel()
                    for other in flying:
                        other.cancel()
                    raise

    async def _send(
        self,
        dialer_id: int,
        campaign: Campaign,
        caps: Caps,
        sending: list[Outgoing],
        limit_id: int | None = None,
    ) -> None:
        self._in_flight[dialer_id] = self._in_flight.get(dialer_id, 0) + len(sending)
        recorder = _Recorder(self)
        loop = asyncio.get_running_loop()
        began = loop.time()
        try:
            await self.pool.send(campaign, caps.connections, sending, recorder.done, limit_id)
            self._rates[dialer_id] = len(sending) / max(loop.time() - began, 1e-3)
        finally:
            self._in_flight[dialer_id] -= len(sending)
        self.progress.changed(dialer_id)

    def _batch(self, dialer_id: int) -> int:
        """How many records to claim now (see GROWTH)."""
        fast = int(self._rates.get(dialer_id, 0.0) * BATCH_SECONDS)
        return min(GROWTH * self.batch, max(self.batch, fast))

    def _gate(self, campaign: Campaign, caps: Caps) -> AccountGate:
        key = account_of(campaign)
        gate = self._gates.get(key)
        if gate is None:
            gate = self._gates[key] = AccountGate(caps)
        gate.caps = caps  # shared by the account's dialers; a changed cap counts at once
        return gate

    async def _next_records(
        self, session: AsyncSession, dialer: Dialer, want: int, now: datetime
    ) -> list[tuple[_Record, DialerList]]:
        # PostgreSQL: claimed in the transaction that reads them, each record locked; one
        # that another claim holds is skipped (SQLite claims one transaction at a time).
        """The next `want` records: priority, then list, then the list's own order. Each list
        is read along its (list, state, priority) index; the lists are merged here."""
        lists = (
            await session.scalars(
                select(DialerList)
                .where(
                    DialerList.dialer_id == dialer.id,
                    DialerList.active,
                    DialerList.importing.is_(False),
                )
                .order_by(DialerList.id)
            )
        ).all()
        heads: list[tuple[int, int, int, _Record, DialerList]] = []
        if not self.shared:  # SQLite: at the driver, in a reader thread (`claim_rows.py`)
            found = await self.db.read_at_once(
                functools.partial(
                    claim_rows.next_sqlite, list_ids=[lst.id for lst in lists], now=now, want=want
                )
            )
            if len(lists) == 1:  # in its order already: nothing to merge
                return [(r, lists[0]) for r in found[0]]
            for lst, records in zip(lists, found, strict=True):
                heads.extend((r.priority, lst.id, r.id, r, lst) for r in records)
        else:
            for lst in lists:
                rows = (
                    await session.execute(
                        select(*_CLAIMED_COLUMNS)
                        .where(
                            DialerRecord.list_id == lst.id,
                            DialerRecord.state == S.PENDING,
                            or_(
                                DialerRecord.next_attempt_at.is_(None),
                                DialerRecord.next_attempt_at <= now,
                            ),
                        )
                        .order_by(DialerRecord.priority, DialerRecord.id)
                        .limit(want)
                        .with_for_update(skip_locked=True)
                    )
                ).all()
                heads.extend((r.priority, lst.id, r.id, _Record(*r), lst) for r in rows)
        best = heapq.nsmallest(want, heads, key=lambda h: (h[0], h[1], h[2]))
        return [(h[3], h[4]) for h in best]

    async def _claim(
        self,
        dialer: Dialer,
        campaign: Campaign,
        want: int,
        now: datetime,
        shared: tuple[int, Caps] | None = None,
    ) -> _Claimed | None:
        """SQLite: read, then make the mails outside any write transaction (the database's
        writer stays free), then one write. PostgreSQL: one transaction, whose reads lock
        the records taken (and the account's turn when `shared` caps count across nodes:
        (smtp_limits id, caps))."""
        if not self.shared:
            async with self.db.session() as session:
                found = await self._claim_reads(session, dialer, campaign, want, now)
            if found is None:
                return None
            stamp = claim_rows.bound_time(self.db.engine.dialect, now)
            claimed, changes = await self._make(dialer, campaign, now, stamp, *found)
            await self.db.write_at_once(functools.partial(claim_rows.write_sqlite, changes))
            return claimed
        async with self.db.writing() as session:
            if shared is not None:
                want = min(want, await shared_caps.take_turn(session, *shared, now))
                if want <= 0:
                    return _Claimed(capped=True)
            found = await self._claim_reads(session, dialer, campaign, want, now)
            if found is None:
                return None
            claimed, changes = await self._make(dialer, campaign, now, now, *found)
            await session.execute(_CLAIM, [dict(zip(_CLAIM_KEYS, c, strict=True)) for c in changes])
            if shared is not None and claimed.outgoing:
                await shared_caps.took(session, shared[0], now, len(claimed.outgoing))
        return claimed

    async def _claim_reads(
        self, session: AsyncSession, dialer: Dialer, campaign: Campaign, want: int, now: datetime
    ) -> (
        tuple[
            list[tuple[_Record, DialerList]],
            set[str],
            set[str],
            Template | None,
            dict[str, tuple[str, str, bytes] | None],
        ]
        | None
    ):
        picked = await self._next_records(session, dialer, want, now)
        if not picked:
            return None
        addresses = {r.destination.lower() for r, _ in picked}
        if not self.shared:
            blocked, bouncing = await self.db.read_at_once(
                functools.partial(
                    claim_rows.blocked_sqlite, addresses=list(addresses), campaign_id=campaign.id
                )
            )
        else:
            blocked, bouncing = await _blocked(session, addresses, campaign.id)
        template = await session.get(Template, dialer.template_id) if dialer.template_id else None
        files: dict[str, tuple[str, str, bytes] | None] = {}
        for record, _ in picked:
            for token in record.attachments:
                if token not in files:
                    files[token] = await self.mails.file(session, token)
        return picked, blocked, bouncing, template, files

    async def _make(
        self,
        dialer: Dialer,
        campaign: Campaign,
        now: datetime,
        stamp: object,
        picked: list[tuple[_Record, DialerList]],
        blocked: set[str],
        bouncing: set[str],
        template: Template | None,
        files: dict[str, tuple[str, str, bytes] | None],
    ) -> tuple[_Claimed, list[claim_rows.Change]]:
        """The claim's changes and the mails of those to send (no database). `stamp` is
        `now` as the database takes it (`claim_rows.bound_time` on SQLite)."""
        claimed = _Claimed()
        domain = campaign.email_address.rpartition("@")[2]
        changes: list[claim_rows.Change] = []
        add = changes.append
        outgoing = claimed.outgoing.append
        makers: dict[int, MailMaker] = {}
        # Fresh ids and tokens for the records that have none yet, made at once.
        needed = sum(not r.rfc_message_id for r, _ in picked)
        fresh_ids = make_message_ids(domain, needed) if needed else []
        fresh_tokens = new_tokens(sum(not r.link_token for r, _ in picked))
        skipped, failed, sending = S.SKIPPED.value, S.FAILED.value, S.SENDING.value
        for count, (record, lst) in enumerate(picked, 1):
            address = record.destination.lower()
            if address in blocked or address in bouncing:
                why = "blacklisted or unsubscribed" if address in blocked else "bouncing"
                add(_ended(record, skipped, why, stamp))
                continue
            maker = makers.get(lst.id)
            if maker is None:
                maker = makers[lst.id] = self.mails.maker(
                    self.mails.spec(dialer, campaign, template, lst), now
                )
            # Stored bare, as `messages.message_id` is: bounces and answers name it so. (A
            # skipped record's fresh id and token are left unused: they are only random.)
            bare = record.rfc_message_id or fresh_ids.pop()[1:-1]
            token = record.link_token or fresh_tokens.pop()
            try:
                attached = []
                for name in record.attachments:
                    found = files.get(name)
                    if found is None:
                        raise RecordError(f"attachment {name!r} was removed")
                    attached.append(found)
                raw = maker.make(
                    RecordMail(record.destination, record.message, record.variables, attached),
                    token=token,
                    message_id=f"<{bare}>",
                    now=now,
                )
            except RecordError as exc:
                add(_ended(record, failed, str(exc), stamp))
                continue
            add((sending, "", None, bare, token, stamp, record.id))
            outgoing(Outgoing(record.id, record.destination, raw, record.attempts))
            if count % 50 == 0:
                await asyncio.sleep(0)  # a large batch lets the engine's other work in
        return claimed, changes

    async def _record(self, results: list[tuple[Outgoing, Outcome, str]]) -> None:
        now = self.clock()
        changes: list[dict[str, object]] = []
        sent: dict[int, list[int]] = {}  # attempts -> ids of the messages sent
        for item, outcome, error in results:
            tried = item.attempts + (outcome not in (Outcome.UNTRIED, Outcome.WAIT_AGAIN))
            if outcome == Outcome.SENT:
                sent.setdefault(tried, []).append(item.record_id)
                continue
            change: dict[str, object] = {
                "rid": item.record_id,
                "attempts": tried,
                "error": error,
                "processed_at": now,
                "next_attempt_at": None,
            }
            if outcome == Outcome.WAIT_AGAIN:  # the caps changed: the next claim, at once
                change |= {"state": S.PENDING, "processed_at": None}
            elif outcome == Outcome.FAILED or tried >= MAX_ATTEMPTS:
                change["state"] = S.FAILED
            else:
                later = now + retry_delay(max(tried, 1), self.retry_base)
                change |= {"state": S.PENDING, "next_attempt_at": later, "processed_at": None}
            changes.append(change)
        # One transaction, one trip to the database (each connection's next message waits
        # for it): the sent ones (nearly all) in one statement per number of attempts (on
        # SQLite at the driver: `claim_rows.py`), the others with one Core executemany (not
        # the ORM's bulk update).
        if not self.shared and not changes:  # all sent: committed on the loop's thread
            at = claim_rows.bound_time(self.db.engine.dialect, now)
            await self.db.write_now(functools.partial(claim_rows.sent_at_driver, sent=sent, at=at))
            return
        if not self.shared:

            def write(session: Session) -> None:
                claim_rows.sent_sqlite(sent, now, session)
                if changes:
                    session.connection().execute(_OUTCOME, changes)

            await self.db.write_at_once(write, urgent=True)
            return
        work: list[tuple[Executable, list[dict[str, object]]]] = [
            (_SENT, [{"rids": ids, "attempts": tried, "processed_at": now}])
            for tried, ids in sent.items()
        ]
        if changes:
            work.append((_OUTCOME, changes))
        await self.db.write_many(*work, urgent=True)


class _Recorder:
    """Group commit of outcomes: each connection waits for its message's outcome to be
    committed before its next transaction; outcomes that arrive while a commit runs share
    the next one. So a kill repeats at most one message per connection."""

    def __init__(self, runner: DialerRunner) -> None:
        self.runner = runner
        self._waiting: list[tuple[Outgoing, Outcome, str, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    def done(self, item: Outgoing, outcome: Outcome, error: str) -> asyncio.Future[None]:
        """The outcome's commit, to await (a future, not a coroutine: no task a message)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, outcome, error, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return future

    async def _flush(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                await self.runner._record([(i, o, e) for i, o, e, _ in batch])
            except Exception as exc:
                for *_, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for *_, future in batch:
                if not future.done():
                    future.set_result(None)


def _ended(record: _Record, state: str, why: str, stamp: object) -> claim_rows.Change:
    """A claimed record's change when it goes no further (skipped, failed): processed now,
    its Message-ID, token and sending time as they were."""
    return (state, why, stamp, record.rfc_message_id, record.link_token, record.sent_at, record.id)


async def _blocked(
    session: AsyncSession, addresses: set[str], campaign_id: int
) -> tuple[set[str], set[str]]:
    """Which addresses are blacklisted for the campaign (or all), which are bouncing."""
    blocked = set(
        (
            await session.scalars(
                select(BlacklistEntry.email).where(
                    BlacklistEntry.email.in_(addresses), applies(campaign_id)
                )
            )
        ).all()
    )
    bouncing = set(
        (
            await session.scalars(
                select(BouncingAddress.email).where(BouncingAddress.email.in_(addresses))
            )
        ).all()
    )
    return blocked, bouncing


async def _caps(session: AsyncSession, campaign: Campaign) -> tuple[Caps, int | None]:
    """The account's caps, and the id of their row (None: no caps)."""
    row = await smtp_limit(session, campaign)
    if row is None:
        return Caps(), None
    return Caps(row.per_minute, row.per_hour, row.per_day, row.connections), row.id
