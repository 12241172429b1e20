"""An SMTP account's cap on simultaneous connections, held across engine nodes.

One engine bounds an account's open connections with a semaphore (`smtp_pool.py`); dialers of
one account on several nodes would each stay under the cap and together pass it, and the
server answers the extra connections with 421. On PostgreSQL an account with a connection cap
has that many rows in `smtp_slots`; a connection is opened only by a node holding a slot (the
row names the node, until `expires_at` in the database's clock) and holds it while it is
open, idle between batches included, since the server counts it then too.

Why lease rows and not advisory locks (as the mailbox leases, engine/services/nodes/leases.py):
a node that dies with slots held must not keep them. A session advisory lock goes when its
connection does, at once after a kill -9 but only when TCP gives up after a host vanished
(minutes, unless keep-alives are tuned everywhere), and every slot would need one connection
held open for its life. A row has the expiry we choose (`TTL`, renewed every `RENEW` seconds,
all of a node's slots in one statement), needs no connection of its own, and anyone can see
who holds what. A dead node's slots are free `TTL` seconds after its last renewal; its SMTP
connections died with it. A node paused past its expiry may find its slot taken when it comes
back: it says so in its log and stops keeping those connections (a TCP connection cannot be
fenced by the database; the expiry is five renewals long so this takes a real outage).

Fair shares: a node that finds no free slot waits in `smtp_slot_waits` (since when); a claim
is refused to a node while another has waited longer, and a holder whose account another
node waits for (learnt at its renewals) closes its idle connections, and gives each slot back
once it has held it `TURN` seconds: the connection ends its SMTP transaction, says QUIT, and
waits in line for a slot again with the rest of its part of the batch (`smtp_pool.py`). So
two nodes dialing one account take turns of a few seconds (`TURN`, plus up to `RENEW` before
the holder hears of the waiter) however big their batches, and a node alone keeps its
connections (no reconnect) for as long as nobody waits. A connection waiting here gives up
waiting when its node has an idle connection with a slot (`ready`): more of a node's
connections than slots (a turn given back, a lowered cap) must not wait for a slot the node
holds itself. Slots are claimed `FOR UPDATE SKIP LOCKED`.

A waiting node reads the account's cap again at each try, a holding node at each renewal: a
lowered cap counts at once for claims (no slot at or above it is taken), and a slot at or
above it is given back at its connection's next message boundary (and not kept idle, nor
taken from the idle ones) once its node has read the new cap. When the cap
is gone (its `smtp_limits` row deleted, or its connections set to 0: the node's own default)
the wait ends, `acquire` says so (None) and the records of that connection wait again for the
dialer's next claim, which reads the account's caps anew (docs/deploy.md). SQLite: one
engine, the semaphore is the whole truth, nothing here runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable

from sqlalchemy import text

from data.db import Database

log = logging.getLogger(__name__)

TTL = 10.0  # a slot not renewed for this long is free (its node died or lost the database)
RENEW = 2.0  # a node renews its slots this often
POLL = 0.05  # a node waiting for a slot asks again this often
# A slot held this long is given back when another node waits for the account (the holder
# hears of the waiter at its renewal: a waiter waits at most about TURN + RENEW a turn).
TURN = 1.0
READY = -2  # `acquire` stopped waiting: what its caller waited for is there

_CLAIM = text(
    """
    WITH mine AS (
        SELECT since FROM smtp_slot_waits
        WHERE limit_id = :id AND node = :me AND until > clock_timestamp()
    ), ahead AS (
        SELECT 1 FROM smtp_slot_waits w
        WHERE w.limit_id = :id AND w.node <> :me AND w.until > clock_timestamp()
          AND w.since < coalesce((SELECT since FROM mine), clock_timestamp())
    ), free AS (
        SELECT slot FROM smtp_slots
        WHERE limit_id = :id AND slot < :cap
          AND (node IS NULL OR expires_at < clock_timestamp())
          AND NOT EXISTS (SELECT 1 FROM ahead)
        ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED
    )
    UPDATE smtp_slots s SET node = :me, expires_at = clock_timestamp() + make_interval(secs => :ttl)
    FROM free WHERE s.limit_id = :id AND s.slot = free.slot
    RETURNING s.slot
    """
)
# The account's cap now (none: its row is gone), its row kept from deletion until the claim
# and the wait are written (their foreign key to it would fail).
_CAP_NOW = text("SELECT connections FROM smtp_limits WHERE id = :id FOR KEY SHARE")
_MAKE = text(
    "INSERT INTO smtp_slots (limit_id, slot)"
    " SELECT :id, n FROM generate_series(0, :cap - 1) AS n"
    " ON CONFLICT DO NOTHING"
)
_WAIT = text(
    """
    INSERT INTO smtp_slot_waits (limit_id, node, since, until)
    VALUES (:id, :me, clock_timestamp(), clock_timestamp() + make_interval(secs => :ttl))
    ON CONFLICT (limit_id, node) DO UPDATE SET
        until = excluded.until,
        since = CASE WHEN smtp_slot_waits.until < clock_timestamp()
                     THEN excluded.since ELSE smtp_slot_waits.since END
    """
)
# Served: to the back of the line if this node still waits for more, out of it otherwise.
_SERVED = text(
    "UPDATE smtp_slot_waits SET since = clock_timestamp() WHERE limit_id = :id AND node = :me"
)
_DONE_WAITING = text("DELETE FROM smtp_slot_waits WHERE limit_id = :id AND node = :me")
_RELEASE = text(
    "UPDATE smtp_slots SET node = NULL, expires_at = NULL"
    " WHERE limit_id = :id AND slot = :slot AND node = :me"
)
_RENEW = text(
    "UPDATE smtp_slots SET expires_at = clock_timestamp() + make_interval(secs => :ttl)"
    " WHERE node = :me AND expires_at > clock_timestamp() RETURNING limit_id, slot"
)
_WANTED = text(
    "SELECT DISTINCT limit_id FROM smtp_slot_waits"
    " WHERE node <> :me AND until > clock_timestamp() AND limit_id = ANY(:ids)"
)


class ConnectionSlots:
    """This node's slots of connection-capped SMTP accounts (PostgreSQL only)."""

    def __init__(
        self,
        db: Database,
        node: str,
        *,
        ttl: float = TTL,
        renew: float = RENEW,
        poll: float = POLL,
        turn: float = TURN,
    ) -> None:
        self.db = db
        self.node = node
        self.ttl = ttl
        self.renew_every = renew
        self.poll = poll
        self.turn = turn
        self.held: set[tuple[int, int]] = set()  # (limit_id, slot)
        # Each account's cap as last read (at a claim, at a renewal; 0: none any more): a
        # slot at or above a lowered cap is given back at the next message boundary.
        self.caps: dict[int, int] = {}
        self.wanted: set[int] = set()  # accounts another node waits for (at the last renewal)
        self.on_wanted: Callable[[int], Awaitable[None]] | None = None  # give idle ones back
        self._waiting: Counter[int] = Counter()  # this node's connections waiting, by account
        self._made: set[tuple[int, int]] = set()  # (limit_id, cap) whose rows exist
        # One claimer per account on this node: the others queue here, not in the database
        # (32 connections waiting would otherwise ask 640 times a second).
        self._claiming: dict[int, asyncio.Lock] = {}

    async def start(self) -> None:
        """Slots and waits this node left behind (a crash) are free: it has no connection."""
        await self.free_all()

    async def free_all(self) -> None:
        """At start and at a clean stop: this node holds no connection, so no slot."""
        self.held.clear()
        async with self.db.session() as session, session.begin():
            await session.execute(
                text("UPDATE smtp_slots SET node = NULL, expires_at = NULL WHERE node = :me"),
                {"me": self.node},
            )
            await session.execute(
                text("DELETE FROM smtp_slot_waits WHERE node = :me"), {"me": self.node}
            )

    async def acquire(self, limit_id: int, ready: Callable[[], bool] = lambda: False) -> int | None:
        """A slot of the account (waits for one); give it back with `release`. None: the
        account's cap no longer holds across nodes (its row deleted, its connections set to 0)
        and this connection had none: its records wait for the next claim. READY: `ready()`
        said, before a try, that the caller has what it waits for (an idle connection of this
        node, with its slot, as a part of a batch ended while this waited)."""
        self._waiting[limit_id] += 1
        try:
            async with self._claiming.setdefault(limit_id, asyncio.Lock()):
                while True:
                    if ready():
                        if self._waiting[limit_id] <= 1:  # none of this node waits now
                            async with self.db.session() as session, session.begin():
                                await session.execute(
                                    _DONE_WAITING, {"id": limit_id, "me": self.node}
                                )
                        return READY
                    async with self.db.session() as session, session.begin():
                        now_cap = await session.scalar(_CAP_NOW, {"id": limit_id})
                        self.caps[limit_id] = int(now_cap or 0)
                        if not now_cap:
                            # The waits of this node for it went with the row (or go now).
                            await session.execute(_DONE_WAITING, {"id": limit_id, "me": self.node})
                            log.info(
                                "SMTP account %s no longer caps its connections across nodes"
                                " (cap removed or set to 0): a connection waiting for a slot"
                                " stops waiting, its records wait for the next claim",
                                limit_id,
                            )
                            return None
                        cap = int(now_cap)  # a changed cap counts at once
                        args = {"id": limit_id, "me": self.node, "cap": cap, "ttl": self.ttl}
                        if (limit_id, cap) not in self._made:
                            await session.execute(_MAKE, args)
                            self._made.add((limit_id, cap))
                        slot = await session.scalar(_CLAIM, args)
                        if slot is not None:
                            self.held.add((limit_id, slot))
                            more = self._waiting[limit_id] > 1
                            await session.execute(_SERVED if more else _DONE_WAITING, args)
                            return int(slot)
                        await session.execute(_WAIT, args)
                    await asyncio.sleep(self.poll)
        finally:
            self._waiting[limit_id] -= 1
            if self._waiting[limit_id] <= 0:
                del self._waiting[limit_id]

    def turn_over(self, limit_id: int, slot: int, since: float) -> bool:
        """A slot of the account held since `since` (the loop's clock) is due back: another
        node waits for the account and this one has had its turn, or the account's cap was
        lowered below it."""
        if self.above_cap(limit_id, slot):
            return True
        return limit_id in self.wanted and asyncio.get_running_loop().time() - since >= self.turn

    def above_cap(self, limit_id: int, slot: int) -> bool:
        """The account's cap was lowered to `slot` or less (a removed cap bounds nothing)."""
        return 0 < self.caps.get(limit_id, 0) <= slot

    async def release(self, limit_id: int, slot: int) -> None:
        self.held.discard((limit_id, slot))
        async with self.db.session() as session, session.begin():
            await session.execute(_RELEASE, {"id": limit_id, "slot": slot, "me": self.node})

    def holds(self, limit_id: int, slot: int) -> bool:
        """This node holds the slot, and it is under the account's cap."""
        return (limit_id, slot) in self.held and not self.above_cap(limit_id, slot)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.renew_every)
            await self.renew()

    async def renew(self) -> None:
        """Renew every slot this node holds, in one statement; learn which of its accounts
        other nodes wait for, and give those the idle connections' slots."""
        before = set(self.held)
        if not before:
            self.wanted = set()
            return
        async with self.db.session() as session, session.begin():
            kept = {
                (int(limit_id), int(slot))
                for limit_id, slot in await session.execute(
                    _RENEW, {"me": self.node, "ttl": self.ttl}
                )
            }
            accounts = sorted({limit_id for limit_id, _ in before})
            wanted = await session.scalars(_WANTED, {"me": self.node, "ids": accounts})
            self.wanted = {int(limit_id) for limit_id in wanted}
            caps = {
                int(limit_id): int(cap)
                for limit_id, cap in await session.execute(
                    text("SELECT id, connections FROM smtp_limits WHERE id = ANY(:ids)"),
                    {"ids": accounts},
                )
            }
            self.caps.update({limit_id: caps.get(limit_id, 0) for limit_id in accounts})
        lost = (before - kept) & self.held  # not those given back meanwhile
        for limit_id, slot in sorted(lost):
            if limit_id not in caps:  # the account's cap was removed: nothing to warn of
                continue
            log.warning(
                "SMTP connection slot %s of account %s expired before this node renewed it"
                " (paused or cut off from the database): another node may use it",
                slot,
                limit_id,
            )
        self.held -= lost  # its connection is closed when its batch part ends
        if self.on_wanted is not None:
            for limit_id in self.wanted:
                await self.on_wanted(limit_id)
