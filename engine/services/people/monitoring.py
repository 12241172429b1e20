"""Supervisors watching agents: the live view of an agent's screen and the spy on an
interaction, both written to the audit log (`audit_log`, migration 0027).

A watch is held in memory (who watches whom) and in its audit row (from when, until when).
The rules are here, so no route can forget one: only an agent whose `screen_monitoring_allowed`
is set may have their screen viewed; the watched agent's consoles are told who watches
(`ScreenWatchers`, also right after their stream's hello), send frames only while someone
does, and the frames they send go to the watchers' streams only (`ScreenChanged`, filtered by
`engine/server/event_filter.py`). Nothing is stored of a frame: it is relayed and forgotten.

A watch survives reconnects: it is not tied to a stream but to its watcher, and ends when the
watcher ends it or has had no event stream for `grace` seconds. A console that reconnects
names the watch it held (`resume`), and the engine adopts it again, even after a restart (the
audit rows still open are reloaded as watches whose watcher is away).

Several engine nodes on one PostgreSQL: the watcher's node holds the watch, the agent's node
receives the frames. Who watches an agent is read from the open audit rows (every node's),
after every change here and when another node says an agent's watchers changed; frames cross
to the other nodes while someone there watches (`engine/services/nodes/screens.py`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import msgspec
from sqlalchemy import or_, select, text, update
from sqlalchemy.orm import aliased

from data.db import Database
from data.models import AuditEntry, Interaction, User
from engine.api.schemas import (
    AuditQuery,
    AuditRow,
    FrameAck,
    ScreenChanged,
    ScreenFrame,
    ScreenWatchers,
    WatchIn,
    WatchKind,
    WatchOut,
)
from engine.bus import EventBus
from engine.errors import Forbidden, Invalid, NotFound, ServiceError
from engine.services.nodes.screens import ScreenRelay
from engine.services.people.presence import Actor

log = logging.getLogger(__name__)

GRACE = 15.0  # seconds a watcher may be without an event stream (a reconnect) before it ends
SWEEP = 1.0
# Frames an agent's screen may send a second: its console sends at most 4; the rest of a
# faster sender is refused (it then sends every row again on its next frame).
MAX_FRAMES = 8


class TooFast(ServiceError):
    status = 429


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Watch:
    id: int  # its audit row
    kind: WatchKind
    watcher: str
    watcher_name: str
    agent: str
    agent_name: str
    interaction_id: int | None
    started_at: datetime
    gone_since: float | None = None  # monotonic time the watcher's streams were last seen gone
    gone_at: datetime | None = None  # the same, as the audit log says it
    resumed: bool = field(default=False)

    @property
    def is_here(self) -> bool:
        """The watcher has an event stream (not away for a reconnect)."""
        return self.gone_since is None

    def out(self) -> WatchOut:
        return WatchOut(
            id=self.id,
            kind=self.kind,
            agent=self.agent,
            agent_name=self.agent_name,
            interaction_id=self.interaction_id,
            started_at=self.started_at,
        )


class Monitoring:
    def __init__(
        self,
        db: Database,
        bus: EventBus,
        *,
        grace: float = GRACE,
        clock: Callable[[], float] = time.monotonic,
        node: str = "",
    ) -> None:
        self.db = db
        self.node = node  # written in the audit rows of the watches this node holds
        self.bus = bus
        self.grace = grace
        self.clock = clock
        self._watches: dict[int, Watch] = {}
        self._generation = 0
        self._woken = asyncio.Event()
        self._recent: dict[str, deque[float]] = {}  # when each agent's last frames came
        # Who watches each agent's screen, on any node (open audit rows): display names and
        # usernames. Frames are accepted and told while it is not empty.
        self._names: dict[str, list[str]] = {}
        self._watchers: dict[str, set[str]] = {}
        self.relay: ScreenRelay | None = None  # several nodes: to and from the others

    # ---- start: watches a previous engine left open wait for their watcher to come back ----
    async def recover(self) -> None:
        async with self.db.session() as session:
            watcher = aliased(User)
            rows = (
                await session.execute(
                    select(AuditEntry, User.display_name, watcher.display_name)
                    .outerjoin(User, User.id == AuditEntry.subject_id)
                    .outerjoin(watcher, watcher.id == AuditEntry.actor_id)
                    .where(
                        AuditEntry.ended_at.is_(None),
                        # This node's (another node's are its own; NULL: before nodes).
                        or_(AuditEntry.node == self.node, AuditEntry.node.is_(None)),
                    )
                )
            ).all()
        now, started = _now(), self.clock()
        for entry, agent_name, watcher_name in rows:
            kind: WatchKind = "screen" if entry.kind == "screen" else "spy"
            self._watches[entry.id] = Watch(
                id=entry.id,
                kind=kind,
                watcher=entry.actor,
                watcher_name=(watcher_name or "").strip() or entry.actor,
                agent=entry.subject,
                agent_name=(agent_name or "").strip() or entry.subject,
                interaction_id=entry.interaction_id,
                started_at=entry.started_at,
                gone_since=started,
                gone_at=now,
            )
        if self._watches:
            self._woken.set()
        for agent in {w.agent for w in self._watches.values() if w.kind == "screen"}:
            await self._read_watchers(agent)

    # ---- watching ----
    async def watch(self, actor: Actor, wanted: WatchIn) -> WatchOut:
        if wanted.resume is not None:
            held = self._watches.get(wanted.resume)
            if (
                held is not None
                and held.watcher == actor.username
                and held.kind == wanted.kind
                and held.agent == wanted.agent
                and held.interaction_id == wanted.interaction_id
            ):
                held.gone_since = held.gone_at = None
                if held.kind == "screen":
                    await self._changed(held.agent)  # a full frame for the one who was away
                return held.out()
        async with self.db.writing() as session:
            agent = (
                await session.execute(select(User).where(User.username == wanted.agent))
            ).scalar_one_or_none()
            watcher_name = (
                await session.execute(
                    select(User.display_name).where(User.username == actor.username)
                )
            ).scalar_one_or_none()
            if agent is None:
                raise NotFound(f"agent: no Postdesk user {wanted.agent!r}")
            if "agent" not in agent.roles:
                raise Invalid(f"agent: {wanted.agent} is not an agent")
            name = agent.display_name.strip() or agent.username
            if wanted.kind == "screen":
                if wanted.interaction_id is not None:
                    raise Invalid("interaction_id: a screen view is of the whole screen")
                if not agent.screen_monitoring_allowed:
                    raise Forbidden(
                        f"{name}'s screen may not be viewed: screen monitoring is not allowed"
                        " for them (an admin allows it in the user form)"
                    )
            else:
                if wanted.interaction_id is None:
                    raise Invalid("interaction_id: required to spy on an interaction")
                found = await session.get(Interaction, wanted.interaction_id)
                if found is None:
                    raise NotFound(f"no interaction {wanted.interaction_id}")
            entry = AuditEntry(
                kind=wanted.kind,
                actor_id=actor.user_id,
                actor=actor.username,
                subject_id=agent.id,
                subject=agent.username,
                interaction_id=wanted.interaction_id,
                started_at=_now(),
                node=self.node or None,
            )
            session.add(entry)
            await session.flush()
            watch = Watch(
                id=entry.id,
                kind=wanted.kind,
                watcher=actor.username,
                watcher_name=(watcher_name or "").strip() or actor.username,
                agent=agent.username,
                agent_name=name,
                interaction_id=wanted.interaction_id,
                started_at=entry.started_at,
            )
        self._watches[watch.id] = watch
        self._woken.set()
        if watch.kind == "screen":
            await self._changed(watch.agent)
        log.info("%s watches %s (%s #%s)", actor.username, watch.agent, watch.kind, watch.id)
        return watch.out()

    async def end(self, actor: Actor, watch_id: int, *, operator: bool = False) -> None:
        watch = self._watches.get(watch_id)
        if watch is None or (watch.watcher != actor.username and not operator):
            raise NotFound(f"no watch {watch_id}")
        await self._end(watch, _now())

    async def _end(self, watch: Watch, at: datetime) -> None:
        self._watches.pop(watch.id, None)
        if not self._screen_watches(watch.agent):
            self._recent.pop(watch.agent, None)
        async with self.db.writing() as session:
            await session.execute(
                update(AuditEntry)
                .where(AuditEntry.id == watch.id, AuditEntry.ended_at.is_(None))
                .values(ended_at=at)
            )
        if watch.kind == "screen":
            await self._changed(watch.agent)
        log.info("%s stopped watching %s (#%s)", watch.watcher, watch.agent, watch.id)

    # ---- the agent's side ----
    def _screen_watches(self, agent: str) -> list[Watch]:
        return [w for w in self._watches.values() if w.kind == "screen" and w.agent == agent]

    def watchers_of(self, agent: str) -> ScreenWatchers | None:
        """What an agent's stream is told after its hello: who watches (None: nobody)."""
        names = self._names.get(agent)
        if not names:
            return None
        return ScreenWatchers(agent=agent, watchers=names, generation=self._generation)

    async def _changed(self, agent: str) -> None:
        """An agent's watchers changed here: told to their consoles here and, through the
        other nodes, wherever they are."""
        await self.refresh(agent)
        if self.relay is not None:
            try:
                await self.relay.watchers_changed(agent)
            except Exception as exc:  # the other nodes miss it; this one's consoles do not
                log.warning("could not tell the other nodes who watches %s: %s", agent, exc)

    async def refresh(self, agent: str) -> None:
        """Read who watches `agent` (any node) and tell the agent's consoles on this node."""
        now_us = await self._read_watchers(agent)
        # The database's clock orders the changes told by different nodes.
        self._generation = max(self._generation + 1, now_us)
        self.bus.publish(
            ScreenWatchers(
                agent=agent, watchers=self._names.get(agent, []), generation=self._generation
            )
        )

    async def nodes_lost(self, nodes: set[str]) -> None:
        """These nodes died (presence found their consoles gone): the watches they held end,
        as their own sweep would have ended them, so their agents are no longer shown as
        watched and stop sending frames."""
        nodes = nodes - {self.node}
        if not nodes:
            return
        async with self.db.writing() as session:
            ended = (
                await session.execute(
                    update(AuditEntry)
                    .where(AuditEntry.node.in_(nodes), AuditEntry.ended_at.is_(None))
                    .values(ended_at=_now())
                    .returning(AuditEntry.subject, AuditEntry.kind)
                )
            ).all()
        for agent in sorted({agent for agent, kind in ended if kind == "screen"}):
            log.info("screen views of %s ended: the node holding them died", agent)
            await self._changed(agent)

    async def refresh_all(self) -> None:
        """After other nodes' words may have been missed: every watched agent's watchers are
        read and told again (their consoles then send a full frame)."""
        async with self.db.session() as session:
            agents = set(
                (
                    await session.scalars(
                        select(AuditEntry.subject).where(
                            AuditEntry.kind == "screen", AuditEntry.ended_at.is_(None)
                        )
                    )
                ).all()
            )
        for agent in agents | set(self._names):
            await self.refresh(agent)

    async def _read_watchers(self, agent: str) -> int:
        """The open screen watches of `agent` into the caches; the database's clock (µs)."""
        async with self.db.session() as session:
            rows = (
                await session.execute(
                    select(AuditEntry.actor, User.display_name)
                    .outerjoin(User, User.id == AuditEntry.actor_id)
                    .where(
                        AuditEntry.kind == "screen",
                        AuditEntry.subject == agent,
                        AuditEntry.ended_at.is_(None),
                    )
                )
            ).all()
            now = _now()
            if self.relay is not None:
                now = await session.scalar(text("SELECT clock_timestamp()")) or now
        names = sorted({(name or "").strip() or actor for actor, name in rows})
        if names:
            self._names[agent] = names
            self._watchers[agent] = {actor for actor, _ in rows}
        else:
            self._names.pop(agent, None)
            self._watchers.pop(agent, None)
        return int(now.timestamp() * 1_000_000)

    async def frame(self, agent: str, frame: ScreenFrame) -> FrameAck:
        """Relay one frame of `agent`'s screen to those watching it; nobody: say stop."""
        local = self._screen_watches(agent)
        to = sorted({w.watcher for w in local if w.is_here})
        if not local and not self._watchers.get(agent):
            return FrameAck(watched=False)
        now = self.clock()
        recent = self._recent.setdefault(agent, deque(maxlen=MAX_FRAMES))
        if len(recent) == MAX_FRAMES and now - recent[0] < 1.0:
            raise TooFast(f"more than {MAX_FRAMES} screen frames a second")
        recent.append(now)
        if to:
            self.bus.publish(ScreenChanged(agent=agent, to=to, frame=frame))
        elsewhere = self._watchers.get(agent, set()) - {w.watcher for w in local}
        if self.relay is not None and elsewhere:
            try:
                await self.relay.frame(agent, msgspec.json.encode(frame))
            except Exception as exc:  # this frame is lost there; the next one may not be
                log.warning("could not relay %s's screen to the other nodes: %s", agent, exc)
        return FrameAck(watched=True)

    def frame_heard(self, agent: str, raw: bytes) -> None:
        """A frame of `agent`'s screen from the agent's node: to its watchers here."""
        to = sorted({w.watcher for w in self._screen_watches(agent) if w.is_here})
        if not to:
            return
        try:
            frame = msgspec.json.decode(raw, type=ScreenFrame)
        except msgspec.DecodeError as exc:
            log.warning("a screen frame from another node could not be read: %s", exc)
            return
        self.bus.publish(ScreenChanged(agent=agent, to=to, frame=frame))

    # ---- watchers who left ----
    async def run(self) -> None:
        """End the watches whose watcher has had no event stream for `grace` seconds."""
        while True:
            if not self._watches:
                self._woken.clear()
                await self._woken.wait()
            await asyncio.sleep(SWEEP)
            await self.sweep()

    async def sweep(self) -> None:
        now = self.clock()
        for watch in list(self._watches.values()):
            if self.bus.listening(watch.watcher):
                watch.gone_since = watch.gone_at = None
            elif watch.gone_since is None:
                watch.gone_since, watch.gone_at = now, _now()
            elif now - watch.gone_since >= self.grace:
                await self._end(watch, watch.gone_at or _now())

    # ---- the log ----
    async def audit(self, query: AuditQuery) -> list[AuditRow]:
        statement = select(AuditEntry).order_by(AuditEntry.started_at.desc(), AuditEntry.id.desc())
        if query.since is not None:
            since = query.since if query.since.tzinfo else query.since.replace(tzinfo=UTC)
            statement = statement.where(AuditEntry.started_at >= since)
        async with self.db.session() as session:
            entries = (await session.execute(statement.limit(query.limit))).scalars().all()
        return [
            AuditRow(
                id=e.id,
                kind="screen" if e.kind == "screen" else "spy",
                actor=e.actor,
                subject=e.subject,
                interaction_id=e.interaction_id,
                started_at=e.started_at,
                ended_at=e.ended_at,
                seconds=None
                if e.ended_at is None
                else round((e.ended_at - e.started_at).total_seconds(), 1),
            )
            for e in entries
        ]
