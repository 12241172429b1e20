"""Whether each campaign's mailbox is being read, for the people who can fix it.

A mailbox that cannot log in is restarted with backoff forever (engine.py); without this
its failure was only a log line naming `mailbox:3`. Mailboxes say when they are connected,
the supervisor of their task says when they fail, and every change is published as a
`MailboxChanged` event (the server passes it to supervisors and admins only).

Kept in memory: it describes this engine's connections right now, and a restarted engine
finds out again within one connection attempt.

Several engine nodes on one PostgreSQL: each mailbox is read by the node holding its lease,
and every node's supervisors and admins must see every mailbox. The owner also stores each
change in `mailbox_health` (only while it holds the campaign's lease, checked in the writing
statement, so a node that just lost a mailbox cannot overwrite its new owner's word) and tells
the other nodes (the `MailboxChanged` event travels whole, `node_events.py`); `all` reads the
table, this node's own mailboxes from memory. A writer task stores the latest state of each
changed mailbox, in order, never holding up the mailbox that reported it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy import select, text

from data.db import Database
from data.models import Campaign, MailboxHealthRow
from engine.api.schemas import Event, MailboxChanged, MailboxHealth, MailboxState
from engine.bus import EventBus

log = logging.getLogger(__name__)

# The owner's word, stored only while it owns the campaign's mailbox (its lease, unexpired).
_STORE = text(
    """
    INSERT INTO mailbox_health (campaign_id, node, campaign_name, state, since, error)
    SELECT CAST(:id AS integer), CAST(:me AS varchar), CAST(:name AS varchar),
           CAST(:state AS varchar), CAST(:since AS timestamptz), CAST(:error AS text)
    WHERE EXISTS (
        SELECT 1 FROM mailbox_leases
        WHERE campaign_id = CAST(:id AS integer) AND node = CAST(:me AS varchar)
          AND expires_at > clock_timestamp()
    )
    ON CONFLICT (campaign_id) DO UPDATE SET
        node = excluded.node, campaign_name = excluded.campaign_name,
        state = excluded.state, since = excluded.since, error = excluded.error
    """
)


class MailboxBoard:
    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self._rows: dict[int, MailboxHealth] = {}
        # Several nodes (PostgreSQL): where to store, this node's name, how to tell the others.
        self.db: Database | None = None
        self.node = ""
        self.tell: Callable[[list[Event]], Awaitable[None]] | None = None
        self._dirty: dict[int, MailboxHealth | None] = {}  # None: the campaign was removed
        self._wake = asyncio.Event()

    def share(
        self, db: Database, node: str, tell: Callable[[list[Event]], Awaitable[None]]
    ) -> None:
        self.db, self.node, self.tell = db, node, tell
        for campaign_id, row in self._rows.items():
            self._dirty[campaign_id] = row
        self._wake.set()

    async def all(self) -> list[MailboxHealth]:
        rows = dict(self._rows)
        if self.db is not None:
            async with self.db.session() as session:
                stored = await session.execute(
                    select(MailboxHealthRow)
                    .join(Campaign, Campaign.id == MailboxHealthRow.campaign_id)
                    .where(Campaign.removed_at.is_(None))
                )
                for (found,) in stored:
                    rows.setdefault(
                        found.campaign_id,
                        MailboxHealth(
                            campaign_id=found.campaign_id,
                            campaign_name=found.campaign_name,
                            state=found.state,  # type: ignore[arg-type]  # written from one
                            since=found.since,
                            error=found.error,
                        ),
                    )
        return sorted(rows.values(), key=lambda row: row.campaign_name.casefold())

    def get(self, campaign_id: int) -> MailboxHealth | None:
        return self._rows.get(campaign_id)

    def set(self, campaign_id: int, name: str, state: MailboxState, error: str = "") -> None:
        """Record `state` (see `MailboxHealth`); publish only what changed."""
        old = self._rows.get(campaign_id)
        if old is not None and (old.state, old.error, old.campaign_name) == (state, error, name):
            return
        since = old.since if old is not None and old.state == state else datetime.now(UTC)
        row = MailboxHealth(
            campaign_id=campaign_id,
            campaign_name=name,
            state=state,
            since=since,
            error=error,
        )
        self._rows[campaign_id] = row
        self.bus.publish(MailboxChanged(mailbox=row))
        if self.db is not None:
            self._dirty[campaign_id] = row
            self._wake.set()

    def failed(self, campaign_id: int, error: str) -> None:
        old = self._rows.get(campaign_id)
        self.set(campaign_id, old.campaign_name if old else f"#{campaign_id}", "failing", error)

    def connected(self, campaign_id: int) -> None:
        old = self._rows.get(campaign_id)
        self.set(campaign_id, old.campaign_name if old else f"#{campaign_id}", "connected")

    def forget(self, campaign_id: int, *, removed: bool = False) -> None:
        """This node no longer reads the mailbox (its new owner says how it is), or the
        campaign was removed (`removed`: its stored health goes too)."""
        self._rows.pop(campaign_id, None)
        if self.db is not None:
            if removed:
                self._dirty[campaign_id] = None
                self._wake.set()
            else:
                self._dirty.pop(campaign_id, None)

    async def run(self) -> None:
        """Store and tell what changed (several nodes only)."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.store()

    async def store(self) -> None:
        if self.db is None or not self._dirty:
            return
        dirty, self._dirty = self._dirty, {}
        told: list[Event] = []
        async with self.db.session() as session, session.begin():
            for campaign_id, row in dirty.items():
                if row is None:
                    await session.execute(
                        text("DELETE FROM mailbox_health WHERE campaign_id = :id"),
                        {"id": campaign_id},
                    )
                    continue
                done = await session.execute(
                    _STORE,
                    {
                        "id": campaign_id,
                        "me": self.node,
                        "name": row.campaign_name,
                        "state": row.state,
                        "since": row.since,
                        "error": row.error,
                    },
                )
                if getattr(done, "rowcount", 0):
                    told.append(MailboxChanged(mailbox=row))
        if told and self.tell is not None:
            try:
                await self.tell(told)
            except Exception as exc:  # the others read the table when asked
                log.warning("could not tell the other nodes of a mailbox's health: %s", exc)
