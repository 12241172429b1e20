"""Which engine node reads each campaign's mailbox and sends its outbox: a lease per campaign.

Several `postdesk engine` processes may share one PostgreSQL. Two readers of one mailbox would
both fetch the same mail (and both send its outbox), so each campaign has one owner at a time:
a row in `mailbox_leases` naming the node, with an expiry in the database's clock. The owner
renews its rows every `RENEW` seconds; a row not renewed for `TTL` seconds belongs to a node
that died (or lost the database), and any live node takes it over at its next look (every
`TICK` seconds) and starts the mailbox from the stored checkpoint.

Why a lease row and not session advisory locks: an advisory lock lives as long as its
connection, so a node whose host vanished keeps its mailboxes until TCP notices (minutes
without keep-alive tuning), and whether the lock is still held cannot be checked from the
ingest's own transaction. A row has an expiry we choose (seconds), is visible to every node
(`ctl`, the tests, an operator's `SELECT`), and is what the fence below locks.

The fence: the old owner may still be running when its lease has gone (paused, cut off from
the database and back). Each ingest transaction locks its campaign's lease row (FOR SHARE) and
checks it is still ours, with our epoch and unexpired, just before it commits; otherwise it
rolls back (`LeaseLost`). A taker's UPDATE waits for that lock, so an ingest either commits
before the takeover (and the new owner reads its checkpoint) or not at all. The outbox claims
only messages of campaigns whose lease row is ours and unexpired, in the claiming statement.

Live nodes share the campaigns: a node takes a free lease only while it holds fewer than its
share (campaigns / live nodes, rounded up) and gives back one a look when it holds more, so a
node started later gets work. An expired lease is taken whatever the share: a dead node's
mailboxes must not wait for a balance. On SQLite there is one node and no lease at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from data.db import Database
from data.models import Campaign, EngineNode, MailboxLease

log = logging.getLogger(__name__)

TTL = 7.0  # a lease not renewed for this long is another node's to take
RENEW = 2.0  # the owner renews this often: two renewals may fail before it expires
TICK = 1.0  # how often a node looks for mailboxes without a live owner

Callback = Callable[[int], Awaitable[object]]


class LeaseLost(RuntimeError):
    """This node no longer owns the campaign's mailbox: its transaction must not commit."""


@dataclass
class _Held:
    epoch: int
    changes: int


class NodeLeases:
    """This node's leases (PostgreSQL only; see the module docstring)."""

    def __init__(
        self,
        db: Database,
        node: str,
        *,
        recover: Callback,
        start: Callback,
        stop: Callback,
        settled: Callable[[], Awaitable[object]] | None = None,
        ttl: float = TTL,
        renew: float = RENEW,
        tick: float = TICK,
    ) -> None:
        self.db = db
        self.node = node
        self.recover = recover  # gained: put back what the old owner left in flight
        self.start = start  # gained, or changed by another node: (re)start the mailbox
        self.stop = stop  # lost or given back: stop the mailbox
        self.settled = settled  # given back: wait until the outbox sends nothing of ours
        self.ttl = timedelta(seconds=ttl)
        self.renew_every = renew
        self.tick = tick
        self.held: dict[int, _Held] = {}
        self.releasing: set[int] = set()
        self._wake = asyncio.Event()

    # ---- what the other services ask ----
    def holds(self, campaign_id: int) -> bool:
        return campaign_id in self.held and campaign_id not in self.releasing

    def owned(self) -> Select[Any]:
        """The campaigns whose outbox this node sends now, as a subquery (the lease is checked
        in the claiming statement itself, in the database's clock)."""
        query = select(MailboxLease.campaign_id).where(
            MailboxLease.node == self.node, MailboxLease.expires_at > func.clock_timestamp()
        )
        if self.releasing:
            query = query.where(MailboxLease.campaign_id.not_in(self.releasing))
        return query

    def fence(self, session: Session, campaign_id: int) -> None:
        """Raise `LeaseLost` unless this node still owns the campaign's lease; holds the row
        (FOR SHARE) until the caller's transaction ends, so no takeover slips in before it.
        On a plain session: ingest's transaction runs in the database's thread."""
        held = self.held.get(campaign_id)
        ours = held is not None and session.scalar(
            select(MailboxLease.epoch)
            .where(
                MailboxLease.campaign_id == campaign_id,
                MailboxLease.node == self.node,
                MailboxLease.epoch == held.epoch,
                MailboxLease.expires_at > func.clock_timestamp(),
            )
            .with_for_update(read=True)
        )
        if not ours:
            raise LeaseLost(f"campaign {campaign_id}: this node no longer owns its mailbox")

    async def owns(self, campaign_id: int) -> bool:
        """Whether this node should run the campaign's mailbox after a change made here: yes
        if it holds the lease or can take it now; otherwise the owner is told to restart."""
        if campaign_id in self.releasing:
            return False  # being given back: its next owner reads the change
        if campaign_id in self.held:
            return True
        if await self._claim(campaign_id, await self._share()):
            await self.recover(campaign_id)
            return True
        async with self.db.session() as session, session.begin():
            await session.execute(
                update(MailboxLease)
                .where(MailboxLease.campaign_id == campaign_id)
                .values(changes=MailboxLease.changes + 1)
            )
        return False

    def kick(self) -> None:
        self._wake.set()

    # ---- the loop ----
    async def begin(self) -> None:
        """Register this node and take its share of the free mailboxes (before `run`)."""
        async with self.db.session() as session, session.begin():
            # Rows naming this node are a previous life's (a crash): free them first.
            await session.execute(
                update(MailboxLease).where(MailboxLease.node == self.node).values(node=None)
            )
            await self._beat(session)
        await self.look()

    async def run(self) -> None:
        """Renew and look, each on its own clock: a slow look (a mailbox to stop, an outbox
        round to wait for before giving one back) never delays a renewal."""
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._renewing())
                group.create_task(self._looking())
        except asyncio.CancelledError:
            # The engine stops: the leases go now, not in TTL seconds. (Another failure keeps
            # them: the engine restarts this loop, which renews them.)
            with contextlib.suppress(Exception):
                await asyncio.shield(self._leave())
            raise

    async def _renewing(self) -> None:
        while True:
            await asyncio.sleep(self.renew_every)
            await self.renew()

    async def _looking(self) -> None:
        while True:
            await self.look()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.tick):
                    await self._wake.wait()
            self._wake.clear()

    async def renew(self) -> None:
        """Extend every lease this node holds; those it no longer has stop here."""
        # Leases taken while this renewal runs are not in its answer, and not lost: only
        # those held before it are checked.
        before = dict(self.held)
        async with self.db.session() as session, session.begin():
            await self._beat(session)
            rows = (
                await session.execute(
                    update(MailboxLease)
                    .where(MailboxLease.node == self.node)
                    .values(expires_at=func.clock_timestamp() + self.ttl)
                    .returning(MailboxLease.campaign_id, MailboxLease.epoch, MailboxLease.changes)
                )
            ).all()
        found = {campaign_id: (epoch, changes) for campaign_id, epoch, changes in rows}
        for campaign_id, held in before.items():
            if self.held.get(campaign_id) is not held:
                continue  # given back meanwhile
            now = found.get(campaign_id)
            if now is None or now[0] != held.epoch:
                log.warning("lost the lease of campaign %s's mailbox to another node", campaign_id)
                del self.held[campaign_id]
                await self.stop(campaign_id)
            elif now[1] != held.changes:
                held.changes = now[1]
                await self.start(campaign_id)  # changed on another node: read it again

    async def look(self) -> None:
        """Take the leases without a live owner, within this node's share; give one back
        when holding more than the share."""
        share = await self._share()
        async with self.db.session() as session:
            campaigns = set((await session.execute(select(Campaign.id))).scalars())
            leases = (
                await session.execute(
                    select(
                        MailboxLease.campaign_id,
                        MailboxLease.node,
                        MailboxLease.expires_at < func.clock_timestamp(),
                    )
                )
            ).all()
        orphaned = [c for c, node, expired in leases if node is not None and expired]
        free = sorted(
            (campaigns - {c for c, _n, _e in leases}) | {c for c, n, _e in leases if n is None}
        )
        for campaign_id in orphaned:
            if campaign_id not in self.held and await self._claim(campaign_id, math.inf):
                log.warning("took over campaign %s's mailbox from a node that stopped", campaign_id)
                await self._gained(campaign_id)
        for campaign_id in free:
            if len(self.held) >= share:
                break
            if await self._claim(campaign_id, share):
                await self._gained(campaign_id)
        if len(self.held) > share and not orphaned and not free:
            await self._give_back(max(self.held))

    # ---- the steps ----
    async def _beat(self, session: AsyncSession) -> None:
        now = func.clock_timestamp()
        await session.execute(
            pg_insert(EngineNode)
            .values(node=self.node, started_at=now, seen_at=now)
            .on_conflict_do_update(index_elements=[EngineNode.node], set_={"seen_at": now})
        )

    async def _share(self) -> float:
        async with self.db.session() as session:
            live = await session.scalar(
                select(func.count()).where(EngineNode.seen_at > func.clock_timestamp() - self.ttl)
            )
            campaigns = await session.scalar(select(func.count()).select_from(Campaign))
        return math.ceil((campaigns or 0) / max(1, live or 0))

    async def _claim(self, campaign_id: int, share: float) -> bool:
        if len(self.held) >= share:
            return False
        expires = func.clock_timestamp() + self.ttl
        async with self.db.session() as session, session.begin():
            row = (
                await session.execute(
                    update(MailboxLease)
                    .where(
                        MailboxLease.campaign_id == campaign_id,
                        or_(
                            MailboxLease.node.is_(None),
                            MailboxLease.expires_at < func.clock_timestamp(),
                        ),
                    )
                    .values(node=self.node, epoch=MailboxLease.epoch + 1, expires_at=expires)
                    .returning(MailboxLease.epoch, MailboxLease.changes)
                )
            ).first()
            if row is None:
                exists = await session.scalar(select(Campaign.id).where(Campaign.id == campaign_id))
                if exists is None:
                    return False
                row = (
                    await session.execute(
                        pg_insert(MailboxLease)
                        .values(
                            campaign_id=campaign_id,
                            node=self.node,
                            epoch=1,
                            expires_at=expires,
                            changes=0,
                        )
                        .on_conflict_do_nothing()
                        .returning(MailboxLease.epoch, MailboxLease.changes)
                    )
                ).first()
        if row is None:
            return False
        self.held[campaign_id] = _Held(row[0], row[1])
        return True

    async def _gained(self, campaign_id: int) -> None:
        await self.recover(campaign_id)
        await self.start(campaign_id)

    async def _give_back(self, campaign_id: int) -> None:
        """Another node has fewer: stop the mailbox, let the outbox finish, then free it."""
        log.info("giving campaign %s's mailbox to a node with fewer", campaign_id)
        self.releasing.add(campaign_id)
        try:
            await self.stop(campaign_id)
            if self.settled is not None:
                await self.settled()
            held = self.held.pop(campaign_id)
            async with self.db.session() as session, session.begin():
                await session.execute(
                    update(MailboxLease)
                    .where(
                        MailboxLease.campaign_id == campaign_id,
                        MailboxLease.node == self.node,
                        MailboxLease.epoch == held.epoch,
                    )
                    .values(node=None)
                )
        finally:
            self.releasing.discard(campaign_id)

    async def _leave(self) -> None:
        """Stopping: free every lease at once (no wait for expiry) and leave the node list."""
        self.held.clear()
        async with self.db.session() as session, session.begin():
            await session.execute(
                update(MailboxLease).where(MailboxLease.node == self.node).values(node=None)
            )
            await session.execute(delete(EngineNode).where(EngineNode.node == self.node))


__all__ = ["LeaseLost", "NodeLeases"]
