"""Events across engine nodes: LISTEN/NOTIFY on the PostgreSQL they share.

Each node publishes API events to the consoles on its own socket (`notify.py`). When several
nodes share one PostgreSQL database, the notifier also tells the others what it changed, once
per batch, on one channel: ids and flags (`engine/domain/node_changes.py`), never the events,
which each node rebuilds from a fresh read as it does for its own changes. A node ignores
its own notifications (it has published them already).

Each node listens on a connection of its own (asyncpg, outside SQLAlchemy's pool). A
notification sent while that connection was down is lost for good, so when it comes back
the node treats everything as changed: the queue, the statistics and the grid are published
again, interactions that are assigned or moved since the connection was last known good are
published again, with the messages stored meanwhile on assigned ones and every dialer's
progress, and agents reload what they may hold and take. Dialer progress crosses too (the
dialers whose records changed; `DialerProgressBoard` counts them again on each node).
The connection is checked every `check_seconds`: a connection that died without a word (a
cable, a terminated backend) is noticed within that.

SQLite has one engine per database: nothing here runs.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import or_, select, text

from data import pg
from data.db import Database
from data.models import Dialer, Interaction, InteractionState, Message, User
from engine.domain import node_changes
from engine.domain.node_changes import Changes
from engine.services.notify import Notifier

log = logging.getLogger(__name__)

CHANNEL = "postdesk_changes"


class NodeEvents:
    def __init__(
        self,
        db: Database,
        notifier: Notifier,
        *,
        check_seconds: float = 2.0,
        on_campaigns: Callable[[], None] = lambda: None,
        on_dialers: Callable[[set[int]], None] = lambda _: None,
    ) -> None:
        self.db = db
        self.notifier = notifier
        self.check_seconds = check_seconds
        self.on_campaigns = on_campaigns  # the router reads campaigns again
        self.on_dialers = on_dialers  # the dialers' progress is counted again
        # Whose notification it is: a token of this process, not the node's name (two
        # engines started with the same name still hear each other).
        self.token = secrets.token_hex(8)
        self.connection: Any = None  # asyncpg's, while listening
        self.listening = asyncio.Event()  # set once listening (tests wait on it)
        self.catch_ups = 0  # how many times notifications may have been missed
        self._good_at: datetime | None = None  # last moment the connection was known good
        self._last_message = 0  # the highest message id when it was
        # Other channels heard on the same connection: channel -> its payload's reader.
        self.channels: dict[str, Callable[[str], None]] = {}
        self.after_catch_up: list[Callable[[], Awaitable[None]]] = []  # what they may have missed
        # This node's router runs (not `postdesk ctl`'s engine): it routes the work it queues
        # and says so, and the others do not run a pass for each batch they hear of it.
        self.routes = False
        notifier.share = self.tell

    # ---- telling ----
    async def tell_dialers(self, dialer_ids: set[int]) -> None:
        await self.tell(Changes(dialers=dialer_ids))

    async def tell(self, changes: Changes) -> None:
        changes.routed = self.routes
        payloads = node_changes.encode(self.token, changes)
        async with self.db.engine.connect() as conn:
            for payload in payloads:
                await conn.execute(
                    text("SELECT pg_notify(:channel, :payload)"),
                    {"channel": CHANNEL, "payload": payload},
                )
            await conn.commit()

    # ---- hearing ----
    def _heard(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            node, changes = node_changes.decode(payload)
        except ValueError as exc:
            log.warning("%s", exc)
            return
        if node == self.token:
            return  # our own: published here already
        if any('"type":"campaigns"' in e for e in changes.events):
            self.on_campaigns()
        if changes.dialers:
            self.on_dialers(changes.dialers)
        self.notifier.heard(changes)

    async def run(self) -> None:
        delay = 0.5
        while True:
            try:
                await self._listen()
                delay = 0.5
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.warning("listening for other nodes' changes failed (%s); again shortly", exc)
            finally:
                self.listening.clear()
                if self.connection is not None:
                    self.connection.terminate()
                    self.connection = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def _listen(self) -> None:
        conn = await pg.connect(self.db.url)
        self.connection = conn
        await conn.add_listener(CHANNEL, self._heard)
        for channel, hear in self.channels.items():
            await conn.add_listener(channel, lambda _c, _p, _ch, payload, h=hear: h(payload))
        missed_since, last_message = self._good_at, self._last_message
        await self._mark_good(conn)
        if missed_since is not None:
            # Listening again after a gap: what the others said meanwhile was lost.
            await self.catch_up(missed_since, last_message)
        self.listening.set()
        while True:
            await asyncio.sleep(self.check_seconds)
            if conn.is_closed():
                raise ConnectionError("the listening connection closed")
            await self._mark_good(conn)

    async def _mark_good(self, conn: Any) -> None:
        async with asyncio.timeout(max(self.check_seconds * 2, 5.0)):
            highest = await conn.fetchval("SELECT coalesce(max(id), 0) FROM messages")
        self._good_at = datetime.now(UTC)
        self._last_message = int(highest)

    async def catch_up(self, since: datetime, last_message: int) -> None:
        """Everything that may have changed since `since` is published again, with the
        messages after `last_message` on assigned interactions."""
        since = since - timedelta(seconds=self.check_seconds)  # the check's own lag
        self.catch_ups += 1
        async with self.db.session() as session:
            interactions = set(
                (
                    await session.scalars(
                        select(Interaction.id).where(
                            or_(
                                Interaction.state == InteractionState.ASSIGNED,
                                Interaction.assigned_at >= since,
                                Interaction.closed_at >= since,
                                Interaction.queued_at >= since,
                            )
                        )
                    )
                ).all()
            )
            messages = set(
                (
                    await session.scalars(
                        select(Message.id)
                        .join(Interaction, Message.interaction_id == Interaction.id)
                        .where(
                            Message.id > last_message,
                            Interaction.agent_id.is_not(None),
                        )
                    )
                ).all()
            )
            agents = set((await session.scalars(select(User.id))).all())
            dialers = set((await session.scalars(select(Dialer.id))).all())
        log.warning(
            "listening again for other nodes' changes: %d interaction(s), %d message(s)"
            " and every agent published again",
            len(interactions),
            len(messages),
        )
        self.on_campaigns()
        self.on_dialers(dialers)
        self.notifier.everything_changed(interactions, messages, agents)
        for hook in self.after_catch_up:
            await hook()
