"""Routing queues: hand queued interactions to free member agents, longest waiting first.

New mail is routed in the transaction that stores it (`inline`, run by ingest). The router's
own pass is woken whenever other work appears or an agent frees up, and also sweeps every few
seconds so nothing waits on a lost wake-up. Each assignment commits before it is announced,
from what the pass read in its transaction (`committed`).

Who gets which interaction is the campaign's strategy (`engine/domain/routing.py`): its
availability says who may receive, its delivery in what order members are chosen. A pass
reads the free members of every campaign once, with what the strategies need, and keeps them
current in memory as it assigns. Campaigns in a pick mode are skipped: their agents take work
themselves (`engine/services/work/pick.py`).

A campaign out of its schedule keeps its queue and gets nothing routed; the router sleeps no
longer than until the next opening or closing of any campaign, and announces the change so
supervisors see it. Interactions held over a campaign's queue limit enter its queue, oldest
first, as soon as it has room (`engine/domain/queue_limit.py`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, aliased

from data.db import Database
from data.models import (
    AgentStatus,
    Availability,
    Campaign,
    Delivery,
    Interaction,
    InteractionState,
    Membership,
    User,
)
from engine.api.schemas import InteractionChanged
from engine.domain.routing import PICK_MODES, AgentLoad, assigned, capacity, choose_agent
from engine.domain.schedule import ScheduleError, is_open, next_change, zone
from engine.domain.statistics import day_bounds
from engine.services.notify import Notifier, interaction_events
from engine.services.work import route_queue
from engine.services.work.schedules import Schedules

# An assignment written only if it still holds: the interaction still queued, its agent
# still Free and under the campaign's limit (their assigned interactions counted inside the
# UPDATE of another one, hence the alias). Core, for one executemany of a pass's rows.
_active = aliased(Interaction)
_ASSIGN = (
    update(Interaction.__table__)  # type: ignore[arg-type]
    .where(
        Interaction.__table__.c.id == bindparam("b_id"),
        Interaction.__table__.c.state == InteractionState.QUEUED,
        Interaction.__table__.c.overflow.is_(False),
        select(User.id)
        .where(User.id == bindparam("b_agent"), User.status == AgentStatus.FREE)
        # PostgreSQL: a status change being written (its row FOR UPDATE, presence.py) is
        # waited for and its outcome read, so an agent pausing at this moment is not handed
        # mail read as Free (on SQLite the write turn orders them). KEY SHARE: the console
        # heartbeats' updates of the row are not waited for.
        .with_for_update(read=True, key_share=True)
        .exists(),
        select(func.count(_active.id))
        .where(
            _active.agent_id == bindparam("b_agent"),
            _active.campaign_id == bindparam("b_campaign"),
            _active.state == InteractionState.ASSIGNED,
        )
        .scalar_subquery()
        < bindparam("b_limit"),
    )
    .values(
        state=InteractionState.ASSIGNED,
        agent_id=bindparam("b_agent"),
        assigned_at=bindparam("b_now"),
    )
)
SCHEDULES_RECHECK = 30.0  # seconds: schedules read again at least this often
# Several engine nodes on one PostgreSQL: a campaign is routed by one node's pass at a time
# (a transaction-scoped advisory lock per campaign, "rout" and its id); a node finding a
# campaign taken skips it and looks again shortly.
ROUTE_LOCK = 0x726F7574
RETRY_TAKEN = 0.05  # seconds

log = logging.getLogger(__name__)


class _Campaign:
    """One campaign during a pass: its strategy and its free members, kept current."""

    def __init__(
        self, cap: int, availability: str, delivery: str, last: int | None, time_zone: str
    ) -> None:
        self.cap = cap
        self.time_zone = time_zone  # whose midnight starts "today" (fewest-completed)
        self.availability = availability
        self.delivery = delivery
        self.last_user_id = last
        self.after: tuple[int, int] | None = None  # round-robin: the last one's place
        self.members: dict[int, AgentLoad] = {}
        self.membership_ids: dict[int, int] = {}

    def room(self) -> int:
        limit = capacity(self.availability, self.cap)
        return sum(max(0, limit - m.active) for m in self.members.values())


@dataclass(frozen=True, slots=True)
class _Assignment:
    interaction_id: int
    agent_id: int
    campaign_id: int
    membership_id: int
    limit: int  # the agent's most active interactions in the campaign, this one included


@dataclass(frozen=True, slots=True)
class Routed:
    """What a pass wrote, for after its commit (`Router.committed`)."""

    pairs: list[tuple[int, int]]  # (interaction id, agent id) assigned
    admitted: int  # held interactions that entered their queues
    taken: bool  # PostgreSQL: another node's pass held some campaigns: look again soon
    events: list[InteractionChanged]  # what the agents are told, read in the transaction


@dataclass(slots=True)
class _Plan:
    """A pass's decisions, made from one read and written in one short transaction."""

    held: bool  # interactions are held over a queue limit: admit what has room
    assignments: list[_Assignment] = field(default_factory=list)
    round_robin: set[int] = field(default_factory=set)  # campaigns that remember the last
    mine: set[int] | None = None  # PostgreSQL: the campaigns this pass holds (None: all)
    taken: bool = False  # PostgreSQL: another node's pass held some campaigns: look again soon


class Router:
    def __init__(
        self,
        db: Database,
        notifier: Notifier,
        sweep_seconds: float = 5.0,
        schedules: Schedules | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.notifier = notifier
        self.sweep_seconds = sweep_seconds
        self.schedules = schedules or Schedules(db)
        self.next_schedule_change: datetime | None = None  # the earliest of every campaign
        self._open: dict[int, bool] = {}  # as last seen, to announce a change once
        # Schedules are read again only when they may have changed: at the next opening or
        # closing, after an admin's change (`reconsider`), and at most SCHEDULES_RECHECK
        # seconds after the last read, should a change reach the database another way. A
        # burst of mail (every ingest batch kicks the router) then costs no schedule reads:
        # reading and evaluating every campaign's schedule was most of a pass's CPU.
        self._closed: set[int] = set()
        self._schedules_stale = True
        self._schedules_read_at = 0.0  # time.monotonic() of the last read
        self.rng = rng or random.Random()  # weighted-random; tests seed it
        self._wake = asyncio.Event()
        # Held by this router's own passes and every change of an agent's status: an agent
        # paused (or gone on break) while a pass plans is not handed mail read as Free. A
        # pass in ingest's transaction (`inline`) does without: the assignment's UPDATE
        # checks the status as it writes (`_ASSIGN`).
        self.status_lock = asyncio.Lock()
        notifier.on_new_work.append(self.kick)

    def reconsider(self) -> None:
        """A campaign changed (schedule, limits, strategy, members): read it all again."""
        self._schedules_stale = True
        self.kick()

    def kick(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the
                # cancellation of Engine.stop() when a wake-up lands at the same time.
                async with asyncio.timeout(self.sleep_seconds()):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            await self.assign_all()

    def sleep_seconds(self) -> float:
        """Until the next sweep, or the next opening or closing if that comes first."""
        if self.next_schedule_change is None:
            return self.sweep_seconds
        due = (self.next_schedule_change - self.schedules.now()).total_seconds()
        return min(self.sweep_seconds, max(0.0, due) + 0.001)

    async def assign_all(self) -> list[tuple[int, int]]:
        """Assign what can be assigned now; returns (interaction id, agent id) pairs.

        Capacity is computed first, so a long queue with nobody free costs two small
        queries, and only as many queued interactions are loaded as can be placed.
        """
        async with self.status_lock:
            return await self._assign_all()

    async def _assign_all(self) -> list[tuple[int, int]]:
        if self._schedules_due():
            async with self.db.session() as session:
                self._closed = await self._closed_campaigns(session)
            self._schedules_stale = False
            self._schedules_read_at = time.monotonic()
        closed = frozenset(self._closed)
        # The pass holds the write turn while it reads too: read outside it, the pass waited
        # for the turn behind ingest's commits afterwards and its reads ran beside them,
        # which doubled commit -> assignment (bench/routing.py, p50 85 -> 184-255 ms). And it
        # is one trip to the database's thread, not one per statement (`write_at_once`).
        routed = await self.db.write_at_once(
            lambda session: self._route(session, closed), urgent=True
        )
        return self.committed(routed)

    def inline(self, campaign_id: int) -> Callable[[Session], Routed | None] | None:
        """A pass over one campaign to run at the end of another writer's transaction:
        ingest's, so a mail is handed to its agent in the commit that stores it, with no wait
        for a turn and a pass of its own after it (half of commit -> assignment event,
        bench/routing.py). One campaign: a pass over every campaign with waiting work read
        all their free members, 16 ms of each 28 ms batch of a busy engine. Call
        `committed` with what it returns once that transaction has committed. None when the
        schedules are due a read: the router's own pass routes then, as it does anything
        this one leaves.

        The pass runs in a savepoint: if it fails, what the writer stored is kept unrouted
        (the router's own pass, woken by the writer's report, tries again)."""
        if self._schedules_due():
            return None
        closed = frozenset(self._closed)
        only = frozenset({campaign_id})

        def route(session: Session) -> Routed | None:
            try:
                with session.begin_nested():
                    return self._route(session, closed, only)
            except Exception:
                log.exception("routing in the storing transaction failed; routed after it")
                return None

        return route

    def committed(self, routed: Routed) -> list[tuple[int, int]]:
        """After the commit of a pass (`_route`): its agents are told, the router looks
        again where it must; returns the (interaction id, agent id) pairs assigned."""
        if routed.taken:
            asyncio.get_running_loop().call_later(RETRY_TAKEN, self.kick)
        if routed.admitted:
            self.notifier.queue_changed()
            self.kick()  # route the newly admitted on the next pass
        for interaction_id, agent_id in routed.pairs:
            log.info("interaction %s assigned to agent %s", interaction_id, agent_id)
        if routed.pairs:
            self.notifier.assigned(routed.events, tuple({agent_id for _, agent_id in routed.pairs}))
        return routed.pairs

    def _schedules_due(self) -> bool:
        due = self.next_schedule_change
        return (
            self._schedules_stale
            or (due is not None and self.schedules.now() >= due)
            or time.monotonic() - self._schedules_read_at >= SCHEDULES_RECHECK
        )

    def _route(
        self, session: Session, closed: frozenset[int], only: frozenset[int] | None = None
    ) -> Routed:
        """One pass in `session`'s transaction (the database's thread): plan, write what
        still holds, and read what the agents are told, exactly as it commits (published
        once it has, `Notifier.assigned`). `only`: these campaigns (None: all)."""
        plan = self._plan(session, closed, only)
        pairs, admitted = self._apply(session, plan)
        events = interaction_events(session, [i for i, _ in pairs]) if pairs else []
        return Routed(pairs, admitted, plan.taken, events)

    def _plan(
        self,
        session: Session,
        closed: frozenset[int] = frozenset(),
        only: frozenset[int] | None = None,
    ) -> _Plan:
        """Who gets which queued interaction, as the campaigns' strategies choose from
        what `session` reads; nothing written. `closed`: the campaigns out of schedule;
        `only`: these campaigns (None: all). Runs in the database's thread: it reads and
        chooses, and touches nothing of the loop's."""
        mine, taken = self._route_turn(session, only)
        plan = _Plan(held=route_queue.holds_overflow(session), mine=mine, taken=taken)
        waiting_in = route_queue.with_waiting_work(session)
        if only is not None:
            waiting_in &= only
        # A campaign out of its schedule is not read: its queue waits for the opening.
        campaigns = self._free_members(
            session, (waiting_in if mine is None else waiting_in & mine) - closed
        )
        if not campaigns:
            return plan
        now = datetime.now(UTC)
        # The waiting interactions every campaign has room for, in one query (a pass read
        # the queue of every campaign with someone free, one query each: 50 reads for a
        # few mails).
        rooms = {cid: room for cid, state in campaigns.items() if (room := state.room())}
        waiting = route_queue.waiting(session, rooms)
        for campaign_id, state in campaigns.items():
            queued = waiting.get(campaign_id, [])
            for interaction_id in queued:
                choice = choose_agent(
                    list(state.members.values()),
                    state.cap,
                    availability=state.availability,
                    delivery=state.delivery,
                    after=state.after,
                    rng=self.rng,
                )
                if choice is None:
                    break
                state.members[choice.user_id] = assigned(choice, now)
                state.after = choice.order
                plan.assignments.append(
                    _Assignment(
                        interaction_id,
                        choice.user_id,
                        campaign_id,
                        state.membership_ids[choice.user_id],
                        capacity(state.availability, state.cap),
                    )
                )
            if state.delivery == Delivery.ROUND_ROBIN and queued:
                plan.round_robin.add(campaign_id)
        return plan

    @staticmethod
    def _apply(session: Session, plan: _Plan) -> tuple[list[tuple[int, int]], int]:
        """Write the plan's assignments that still hold: the interaction still queued, its
        agent still Free and under the campaign's limit (a transfer, a close or a pause may
        have come between the reading and this turn). Returns the (interaction, agent)
        pairs written and how many held interactions entered their queues."""
        admitted = route_queue.admit_overflow(session, plan.mine) if plan.held else 0
        # When they are written, and what tells this turn's rows from any written before.
        now = datetime.now(UTC)
        pairs: list[tuple[int, int]] = []
        touched: dict[int, datetime] = {}  # membership id -> last assigned
        last: dict[int, int] = {}  # round-robin campaign -> its last member given one
        took: set[tuple[int, int]] = set()
        if plan.assignments:
            # One executemany (each row's conditions see the rows written before it), then
            # one read of which took: a statement per assignment cost more than the pass's
            # reading and choosing together.
            session.connection().execute(
                _ASSIGN,
                [
                    {
                        "b_id": item.interaction_id,
                        "b_agent": item.agent_id,
                        "b_campaign": item.campaign_id,
                        "b_limit": item.limit,
                        "b_now": now,
                    }
                    for item in plan.assignments
                ],
            )
            took = {
                (interaction_id, agent_id or 0)
                for interaction_id, agent_id in (
                    session.execute(
                        select(Interaction.id, Interaction.agent_id).where(
                            Interaction.id.in_([a.interaction_id for a in plan.assignments]),
                            Interaction.state == InteractionState.ASSIGNED,
                            Interaction.assigned_at == now,
                        )
                    )
                ).all()
            }
        for item in plan.assignments:
            if (item.interaction_id, item.agent_id) not in took:
                continue  # changed meanwhile: the next pass sees it as it is
            pairs.append((item.interaction_id, item.agent_id))
            touched[item.membership_id] = now
            if item.campaign_id in plan.round_robin:
                last[item.campaign_id] = item.agent_id
        for campaign_id, user_id in last.items():
            session.execute(
                update(Campaign)
                .where(Campaign.id == campaign_id)
                .values(round_robin_last_user_id=user_id)
            )
        if touched:
            session.execute(
                update(Membership),
                [{"id": mid, "last_assigned_at": at} for mid, at in touched.items()],
            )
        if pairs:
            # The queue has room again.
            admitted += route_queue.admit_overflow(session, plan.mine)
        return pairs, admitted

    def _route_turn(
        self, session: Session, only: frozenset[int] | None = None
    ) -> tuple[set[int] | None, bool]:
        """PostgreSQL: the campaigns with queued work this pass may route (None: all, SQLite
        has one engine), and whether another node's pass holds some. Each is locked for this
        transaction; those another holds are left to it, and looked at again in a moment
        (work may have come after its read). `only`: among these campaigns."""
        if self.db.engine.dialect.name != "postgresql":
            return None, False
        queued = (
            select(Interaction.id)
            .where(
                Interaction.campaign_id == Campaign.id,
                Interaction.state == InteractionState.QUEUED,
            )
            .exists()
        )
        among = () if only is None else (Campaign.id.in_(only),)
        wanted = list(session.execute(select(Campaign.id).where(queued, *among)).scalars())
        if not wanted:
            return set(), False
        got = set(
            (
                session.execute(
                    text(
                        "SELECT id FROM unnest(CAST(:ids AS integer[])) AS id"
                        " WHERE pg_try_advisory_xact_lock(:key, id)"
                    ),
                    {"ids": wanted, "key": ROUTE_LOCK},
                )
            ).scalars()
        )
        return got, len(got) < len(wanted)

    async def _closed_campaigns(self, session: AsyncSession) -> set[int]:
        """Campaigns out of schedule now; remembers the next change to wake for it."""
        now = self.schedules.now()
        book = await self.schedules.load(session)
        closed: set[int] = set()
        changes: list[datetime] = []
        states: dict[int, bool] = {}
        for campaign_id, schedule in book.items():
            try:
                open_now = is_open(schedule, now)
                change = next_change(schedule, now)
            except ScheduleError:
                log.warning("campaign %s: unknown time zone, routed as always open", campaign_id)
                continue
            states[campaign_id] = open_now
            if not open_now:
                closed.add(campaign_id)
            if change is not None:
                changes.append(change)
        self.next_schedule_change = min(changes, default=None)
        if states != self._open:
            self._open = states
            self.notifier.queue_changed()  # supervisors see in / out of schedule
        return closed

    def _free_members(self, session: Session, campaign_ids: set[int]) -> dict[int, _Campaign]:
        """The free members of these pushing campaigns with what its strategy needs: one
        query for the members, one for their open work, and one each only for campaigns whose
        strategy remembers the last member (round-robin) or counts today's closed work."""
        if not campaign_ids:
            return {}
        rows = session.execute(
            select(
                Membership.campaign_id,
                Membership.id,
                User.id,
                User.status_since,
                Membership.position,
                Membership.penalty,
                Membership.last_assigned_at,
                Campaign.max_interactions_per_agent,
                Campaign.availability,
                Campaign.delivery,
                Campaign.round_robin_last_user_id,
                Campaign.time_zone,
            )
            .join(User, Membership.user_id == User.id)
            .join(Campaign, Membership.campaign_id == Campaign.id)
            .where(
                User.status == AgentStatus.FREE,
                Membership.campaign_id.in_(campaign_ids),
                Campaign.enabled,
                Campaign.availability.not_in([Availability(m) for m in PICK_MODES]),
            )
        )
        campaigns: dict[int, _Campaign] = {}
        for (
            campaign_id,
            membership_id,
            user_id,
            since,
            position,
            penalty,
            last_at,
            cap,
            availability,
            delivery,
            last_user,
            time_zone,
        ) in rows:
            state = campaigns.get(campaign_id)
            if state is None:
                state = campaigns[campaign_id] = _Campaign(
                    cap, availability.value, delivery.value, last_user, time_zone
                )
            state.members[user_id] = AgentLoad(
                user_id, 0, since, position, penalty, last_at, completed_today=0
            )
            state.membership_ids[user_id] = membership_id
        if not campaigns:
            return campaigns
        active_rows = session.execute(
            select(Interaction.agent_id, Interaction.campaign_id, func.count(Interaction.id))
            .where(
                Interaction.state == InteractionState.ASSIGNED,
                Interaction.campaign_id.in_(campaigns),
            )
            .group_by(Interaction.agent_id, Interaction.campaign_id)
        )
        for agent_id, campaign_id, n in active_rows:
            member = campaigns[campaign_id].members.get(agent_id or 0)
            if agent_id is not None and member is not None:
                campaigns[campaign_id].members[agent_id] = replace(member, active=n)
        remembering = {
            cid: s.last_user_id
            for cid, s in campaigns.items()
            if s.delivery == Delivery.ROUND_ROBIN and s.last_user_id is not None
        }
        if remembering:
            # The last one's place on the campaign, whether or not they are free now.
            places = session.execute(
                select(Membership.campaign_id, Membership.position, Membership.user_id).where(
                    Membership.campaign_id.in_(remembering),
                    Membership.user_id.in_(set(remembering.values())),
                )
            )
            for campaign_id, position, user_id in places:
                if remembering[campaign_id] == user_id:
                    campaigns[campaign_id].after = (position, user_id)
        # "Today" is the campaign's own day: campaigns grouped by time zone, one query each.
        counting: dict[str, list[int]] = {}
        for cid, s in campaigns.items():
            if s.delivery == Delivery.FEWEST_COMPLETED:
                counting.setdefault(s.time_zone, []).append(cid)
        for time_zone, ids in counting.items():
            try:
                midnight, _ = day_bounds(self.schedules.now(), zone(time_zone))
            except ScheduleError:  # refused on save; an old row with a bad name counts UTC
                midnight, _ = day_bounds(self.schedules.now())
            closed = session.execute(
                select(Interaction.agent_id, Interaction.campaign_id, func.count(Interaction.id))
                .where(
                    Interaction.campaign_id.in_(ids),
                    Interaction.state == InteractionState.CLOSED,
                    Interaction.closed_at >= midnight,
                )
                .group_by(Interaction.agent_id, Interaction.campaign_id)
            )
            for agent_id, campaign_id, n in closed:
                member = campaigns[campaign_id].members.get(agent_id or 0)
                if agent_id is not None and member is not None:
                    campaigns[campaign_id].members[agent_id] = replace(member, completed_today=n)
        return campaigns
