"""Publish API events after commits, coalesced, built from fresh reads of what was committed.

Services report what changed (an interaction, a message, an agent) right after their
transaction ends, so a console never hears of a change that was rolled back. The reports are
collected and published by one background task in small batches (the first change at once,
then at most one batch per `batch_delay`): a burst of 500 ingested mails costs a handful of
queue snapshots, not 500. The router is woken at once.

The queue is read again only when it changed (an interaction entered or left it: `queue=`
on each report says whether) and someone who sees it is listening (supervisors, admins);
it was read on every batch while anyone at all was connected, agents' streams included.

Today's campaign statistics are counted again (one read model, a fixed number of queries)
after changes, at most once per `stats_interval`, and every `stats_refresh` even when nothing
changed (a mail still waiting crosses its deadline with no event); only while a supervisor
or admin is listening, and only to them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, selectinload

from data.db import Database
from data.models import Campaign, Interaction, Message
from engine.api.schemas import (
    AgentChanged,
    CampaignsChanged,
    CampaignState,
    Event,
    InteractionChanged,
    MessageChanged,
    PickQueueChanged,
    QueueChanged,
    StatsChanged,
    WaitingChanged,
    decode_event,
    encode,
)
from engine.bus import EventBus
from engine.domain.node_changes import Changes
from engine.domain.routing import is_pick
from engine.services import queries, statistics
from engine.services.customer.ratings import fill_customer_feedback_sync
from engine.services.work import load

log = logging.getLogger(__name__)


class Notifier:
    def __init__(
        self,
        db: Database,
        bus: EventBus,
        *,
        # 20 ms: once a batch's reads were one trip to the database's thread (~16 ms under a
        # burst), the 50 ms it was made most of an assignment's wait for its event.
        batch_delay: float = 0.02,
        stats_interval: float = 2.0,
        stats_refresh: float = 15.0,
    ) -> None:
        self.db = db
        self.bus = bus
        self.batch_delay = batch_delay
        self.stats_interval = stats_interval
        self.stats_refresh = stats_refresh
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._stats = False
        self._stats_at = float("-inf")
        self._stats_timer = False
        self.on_new_work: list[Callable[[], None]] = []  # the router's kick
        # In schedule / overflow per campaign, sent with every queue event (set by the engine).
        self.campaign_states: Callable[[AsyncSession], Awaitable[list[CampaignState]]] | None = None
        self._interactions: set[int] = set()
        self._messages: set[int] = set()
        self._agents: set[int] = set()
        self._queue = False
        self._waiting: dict[str, int] = {}  # last published, per campaign name
        self._ready: list[Event] = []
        self._dirty = asyncio.Event()
        # The supervisors' overview (waiting counts, queue, statistics) due, and its task.
        self._overview_due: tuple[bool, bool, bool] = (False, False, False)
        self._overview: asyncio.Task[None] | None = None
        # Several nodes on one PostgreSQL (engine/services/node_events.py): what this node
        # changed is also told to the others, once per batch; what they tell is `heard`.
        self.share: Callable[[Changes], Awaitable[None]] | None = None
        self._out = Changes()
        # The interactions the batch in progress is reading, until it has published them
        # (None: no batch in progress); see `assigned`.
        self._reading: set[int] | None = None
        self._after_reading: list[Event] = []

    def _wake(self) -> None:
        self._dirty.set()
        for kick in self.on_new_work:
            kick()

    def interaction_changed(
        self,
        interaction_id: int,
        *,
        queue: bool = True,
        agents: tuple[int | None, ...] = (),
        routed: bool = False,
    ) -> None:
        """`routed`: a routing pass has already seen the change (it ran in the same
        transaction): the router is not woken for it."""
        if self.share is not None:
            self._out.interactions.add(interaction_id)
            if queue:
                self._out.queue_interactions.add(interaction_id)
            self._out.agents.update(a for a in agents if a is not None)
        self._interactions.add(interaction_id)
        self._agents.update(a for a in agents if a is not None)
        self._queue = self._queue or queue
        self._stats = True
        if routed:
            self._dirty.set()
        else:
            self._wake()

    def assigned(self, events: list[InteractionChanged], agents: tuple[int, ...]) -> None:
        """The router committed these assignments and read their summaries in the same
        transaction (`interaction_events`): published now, without a batch's wait and read,
        which were half of the time from a mail's commit to its agent's screen
        (bench/routing.py). Everything else an assignment tells (the queue, the agents'
        rows, the statistics, the other nodes) goes the usual way.

        An interaction the batch in progress is reading waits until that batch has
        published: it may have read the interaction before the assignment, and the agent
        must not be left with the older state. Nothing newer than these events can be in
        that batch: a later change is reported after this call, so it goes in a later
        batch, which reads it afresh."""
        for event in events:
            interaction_id = event.interaction.id
            if self._reading is not None and interaction_id in self._reading:
                self._after_reading.append(event)
            else:
                self.bus.publish(event)
            if self.share is not None:
                self._out.interactions.add(interaction_id)
                self._out.queue_interactions.add(interaction_id)
        if self.share is not None:
            self._out.agents.update(agents)
        self._agents.update(agents)
        self._queue = True
        self._stats = True
        self._dirty.set()  # not the router's wake-up: these are its own assignments

    def message_added(
        self,
        interaction_id: int,
        message_row_id: int | None,
        *,
        queue: bool = True,
        routed: bool = False,
        told: bool = False,
    ) -> None:
        """`queue`: the message put its interaction in the queue (a new one, a reopened
        one); a reply joining one that is assigned or still waiting leaves the queue as is.
        `routed`: a routing pass ran in the transaction that stored it (the router is not
        woken for it). `told`: a new interaction assigned in that transaction, already told
        with its assignment (`assigned`): nothing to read again."""
        if told:
            return
        if message_row_id is not None:
            self._messages.add(message_row_id)
            if self.share is not None:
                self._out.messages.add(message_row_id)
        self.interaction_changed(interaction_id, queue=queue, routed=routed)

    def outbound_changed(self, message_row_id: int) -> None:
        """One of our sent messages changed (e.g. a bounce marked it failed)."""
        self._messages.add(message_row_id)
        if self.share is not None:
            self._out.messages.add(message_row_id)
        self._wake()

    def customer_acted(self, message_id: int, *, counts: bool) -> None:
        """A customer rated or unsubscribed from one of our messages (the web service):
        the message's thread shows it, and a rating counts in the statistics."""
        self._messages.add(message_id)
        self._stats = self._stats or counts
        if self.share is not None:
            self._out.messages.add(message_id)
            self._out.stats = self._out.stats or counts
        self._dirty.set()

    def queue_changed(self) -> None:
        """The queue's picture changed without any one interaction changing (a campaign
        opened or closed, held interactions entered the queue)."""
        self._queue = True
        if self.share is not None:
            self._out.queue = True
        self._dirty.set()

    def campaigns_changed(self) -> None:
        """A campaign's routing or members changed: agents reload their load and queue."""
        self.announce(CampaignsChanged())

    async def _publish_waiting(self, session: AsyncSession) -> None:
        # Only the campaigns whose count moved: a burst into one campaign wakes its members,
        # not every agent of every campaign.
        counts = await load.waiting_by_name(session)
        for name, waiting in counts.items():
            if self._waiting.get(name) != waiting:
                self.bus.publish(WaitingChanged(campaign=name, waiting=waiting))
        self._waiting = counts

    def _stats_due(self) -> None:
        self._stats_timer = False
        self._dirty.set()

    def agent_changed(self, user_id: int) -> None:
        if self.share is not None:
            self._out.agents.add(user_id)
        self._agents.add(user_id)
        self._stats = True
        self._wake()

    def announce(self, event: Event) -> None:
        """An event complete in itself (a chat line, a log-out): published with the next
        batch, after the changes reported before it (a logged-out agent is Offline first)."""
        self._ready.append(event)
        if self.share is not None:
            self._out.events.append(encode(event).decode())
        self._dirty.set()

    def heard(self, changes: Changes) -> None:
        """Another node changed these (told through the database): published here as if
        changed here, from a fresh read; not told again."""
        for interaction_id in changes.interactions:
            self._interactions.add(interaction_id)
        self._messages.update(changes.messages)
        self._agents.update(changes.agents)
        self._queue = self._queue or changes.queue or bool(changes.queue_interactions)
        self._stats = self._stats or changes.stats or bool(changes.interactions or changes.agents)
        for line in changes.events:
            try:
                self._ready.append(decode_event(line))
            except ValueError:
                log.warning("an event from another node could not be read: %.80r", line)
        self._dirty.set()
        if (changes.queue_interactions or changes.queue) and not changes.routed:
            # Work queued by a node that does not route (`postdesk ctl`'s engine): routed
            # here. A node that routes has run its own pass for it, for agents on any node
            # (they are all in the database); a pass here for each batch it reports cost a
            # node storing nothing a fifth of a core (bench/nodes.py), for nothing.
            for kick in self.on_new_work:
                kick()

    def everything_changed(
        self, interactions: set[int], messages: set[int], agents: set[int]
    ) -> None:
        """After notifications were missed (the listening connection dropped): the queue,
        the statistics and what consoles show are published again from fresh reads."""
        self._interactions.update(interactions)
        self._messages.update(messages)
        self._agents.update(agents)
        self._queue = True
        self._stats = True
        self._stats_at = float("-inf")
        self._waiting = {}  # every campaign's count is said again
        self._ready.append(CampaignsChanged())  # agents reload what they may hold and take
        self._wake()

    async def run(self) -> None:
        try:
            await self._run()
        finally:
            if self._overview is not None:
                self._overview.cancel()

    async def _run(self) -> None:
        while True:
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for swallows the cancellation
                # of Engine.stop() when a change lands at the same moment, and the engine's
                # stop then hangs (seen after a requeue right before a stop).
                async with asyncio.timeout(self.stats_refresh):
                    await self._dirty.wait()
            except TimeoutError:
                self._stats = True  # waits grow and deadlines pass with no event
            # Published at once, then what comes meanwhile is coalesced for `batch_delay`:
            # a lone assignment does not wait a batch delay before its agent hears of it, and
            # a burst still costs one flush per `batch_delay`. A flush that took longer has
            # coalesced for as long already: waiting on top of it only delayed the next.
            await asyncio.sleep(0)  # what the same moment reports joins this batch
            self._dirty.clear()
            started = asyncio.get_running_loop().time()
            await self.flush()
            took = asyncio.get_running_loop().time() - started
            await asyncio.sleep(max(0.0, self.batch_delay - took))

    async def flush(self) -> None:
        """Publish what changed. What agents wait for (their new work, their messages,
        their own row) is read and published first; the waiting counts, the queue and the
        statistics, read for supervisors, follow in a task of their own
        (`_publish_overview`), so a slow count never holds up an assignment's event (they
        took half of a batch's time under a burst: bench/routing.py)."""
        if self.share is not None and self._out:
            told, self._out = self._out, Changes()
            try:
                await self.share(told)
            except Exception as exc:  # the other nodes miss it; this node's consoles do not
                log.warning("could not tell the other nodes of a change: %s", exc)
        messages, self._messages = self._messages, set()
        interactions, self._interactions = self._interactions, set()
        agents, self._agents = self._agents, set()
        queue, self._queue = self._queue, False
        ready, self._ready = self._ready, []
        if not self.bus.has_subscribers:
            self._waiting = {}  # the next listener loads counts afresh, then hears changes
            return  # nobody is watching: a console loads fresh data when it connects
        loop = asyncio.get_running_loop()
        # Agents hear how many wait in their campaigns whenever the queue moved; the queue's
        # rows and the statistics are for supervisors and admins alone.
        waiting = queue
        queue = queue and self.bus.has_supervisors
        stats = self._stats and self.bus.has_supervisors
        wait = self._stats_at + self.stats_interval - loop.time()
        if stats and wait > 0:
            # Counted a moment ago: once more when the interval is over, not per batch.
            if not self._stats_timer:
                self._stats_timer = True
                loop.call_later(wait, self._stats_due)
            stats = False
        else:
            self._stats = False  # counted now, or nobody to tell (a monitor opening reads)
        if interactions or messages or agents:
            self._reading = interactions
            try:
                # One trip to the database's thread for what agents wait for (statement by
                # statement on the loop, a batch took 46 ms at the median under a burst).
                news = await self.db.read_at_once(
                    lambda session: _for_agents(session, interactions, messages, agents)
                )
                for event in news:
                    self.bus.publish(event)
            finally:
                self._reading = None
                after, self._after_reading = self._after_reading, []
                for event in after:
                    self.bus.publish(event)
        for event in ready:
            self.bus.publish(event)
        if waiting or queue or stats:
            self._overview_due = (
                self._overview_due[0] or waiting,
                self._overview_due[1] or queue,
                self._overview_due[2] or stats,
            )
            if self._overview is None or self._overview.done():
                self._overview = asyncio.create_task(self._publish_overview())

    async def _publish_overview(self) -> None:
        """The waiting counts, the queue and the statistics, as often as they are due and
        one read at a time; what falls due meanwhile is read on the next round."""
        while any(self._overview_due):
            (waiting, queue, stats), self._overview_due = self._overview_due, (False,) * 3
            async with self.db.session() as session:
                if waiting:
                    await self._publish_waiting(session)
                if queue:
                    shown, total = await queries.queue_rows(session)
                    states = await self.campaign_states(session) if self.campaign_states else []
                    self.bus.publish(QueueChanged(queue=shown, total=total, campaigns=states))
                if stats:
                    self._stats_at = asyncio.get_running_loop().time()
                    counted = await statistics.today_stats(session, self.clock())
                    self.bus.publish(StatsChanged(stats=counted))


def interaction_events(
    session: Session, interaction_ids: Collection[int]
) -> list[InteractionChanged]:
    """The events of these interactions as `session` reads them, in id order: a batch's
    (`_for_agents`), or those just assigned, read in the router's transaction so that they
    say exactly what it commits (`Notifier.assigned`)."""
    summaries = queries.summaries_where_sync(
        session, Interaction.id.in_(interaction_ids), limit=len(interaction_ids)
    )
    summaries.sort(key=lambda summary: summary.id)
    return [InteractionChanged(interaction=summary) for summary in summaries]


def _for_agents(
    session: Session, interactions: set[int], messages: set[int], agents: set[int]
) -> list[Event]:
    """A batch's events for agents, in the order they are published: its interactions (and
    whether one is in a pick campaign), messages and agents' rows, read on a plain session
    (`Database.read_at_once`), one read each for the whole batch."""
    events: list[Event] = []
    if interactions:
        events.extend(interaction_events(session, interactions))
        kinds = session.scalars(
            select(Campaign.availability)
            .join(Interaction, Interaction.campaign_id == Campaign.id)
            .where(Interaction.id.in_(interactions))
            .distinct()
        )
        if any(is_pick(kind.value) for kind in kinds):
            # Agents who take their work themselves reload what waits for them.
            events.append(PickQueueChanged())
    if messages:
        rows = session.execute(
            select(Message, Interaction)
            .join(Interaction)
            # Threads of unassigned interactions are on nobody's screen: during a backlog
            # this skips thousands of events (the queue event covers them).
            .where(Message.id.in_(messages), Interaction.agent_id.is_not(None))
            .options(selectinload(Message.attachments))
            .order_by(Message.id)
        )
        changed = [(queries.message_out(m), i) for m, i in rows]
        # What customers did with our mail (rating, image seen) comes along, so a console
        # replacing the message does not lose it.
        fill_customer_feedback_sync(session, [out for out, _ in changed])
        events.extend(
            MessageChanged(
                interaction_id=interaction.id,
                agent=interaction.agent.username if interaction.agent else None,
                message=out,
            )
            for out, interaction in changed
        )
    if agents:
        events.extend(
            AgentChanged(agent=row) for row in queries.agent_rows_sync(session, user_ids=agents)
        )
    return events
