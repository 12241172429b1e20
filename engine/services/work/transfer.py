"""Moving work between people (docs/transfer.md): an agent hands an interaction to a
colleague of its campaign or to a queue (transfer), a supervisor moves the open work of a
paused or absent agent (reassign), and a campaign that asks for it requeues a logged-out
agent's work once they have been Offline long enough. Internal notes ride along.

Every move is one conditional UPDATE (the interaction is still where it was read): a move
racing a close, a router pass or another move is refused, never applied twice. The first
agent's handling time is closed as a close would (summed over assignments), the next
assignment starts; messages stay. After the commit the notifier tells the new owner (an
`interaction` event), the old one (`moved`: their console drops it), the supervisors (grid
and queue), and wakes the router for what went to a queue.

The requeue timer is the database's: `users.status_since` of an Offline agent is when they
went Offline (a supervisor's log-out, their last console closing, or an engine start that
found them gone), so a restart loses nothing. The clock is the engine's controllable one.
The requeue task sleeps until the next requeue falls due, and an agent going Offline wakes it
(presence's `on_offline`) on the node that saw it: the agents of a node found dead have their
work requeued as promptly as after a log-out, `requeue_after_minutes` after their Offline.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from data.db import Database
from data.models import (
    AgentStatus,
    Campaign,
    Interaction,
    InteractionNote,
    InteractionState,
    Membership,
    User,
)
from engine.api.schemas import (
    InteractionMoved,
    ReassignIn,
    ReassignOut,
    TransferAgent,
    TransferIn,
    TransferTargets,
)
from engine.domain import transfer as rules
from engine.domain.statistics import agent_state, elapsed_seconds
from engine.errors import Conflict, Forbidden, Invalid, NotFound
from engine.services import queries
from engine.services.notify import Notifier

log = logging.getLogger(__name__)
ENGINE_NAME = "Postdesk"  # who moved it, when nobody did (a requeue after a log-out)


@dataclass(frozen=True)
class Mover:
    """Who moves work: a user (None: an operator acting as nobody), and whether they may
    move anyone's (supervisors)."""

    user_id: int | None
    username: str
    supervisor: bool


@dataclass(frozen=True)
class _Moved:
    interaction_id: int
    from_id: int | None
    from_name: str | None
    to_id: int | None
    to_name: str | None
    target: str


def _name(user: User | None) -> str:
    return (user.display_name or user.username) if user is not None else ENGINE_NAME


class Transfers:
    def __init__(
        self,
        db: Database,
        notifier: Notifier,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sweep_seconds: float = 30.0,
    ) -> None:
        self.db = db
        self.notifier = notifier
        self.clock = clock
        self.sweep_seconds = sweep_seconds
        self._wake = asyncio.Event()
        self._next_due: datetime | None = None  # the earliest requeue not yet due

    # ---- reading ----
    async def _holding(
        self, session: AsyncSession, mover: Mover, interaction_id: int
    ) -> Interaction:
        row = await session.get(Interaction, interaction_id, populate_existing=True)
        if row is None:
            raise NotFound(f"no interaction {interaction_id}")
        refusal = rules.holder_refusal(
            interaction_id=interaction_id,
            state=row.state.value,
            owner_id=row.agent_id,
            mover_id=mover.user_id,
            supervisor=mover.supervisor,
        )
        if refusal is not None:
            error = Conflict if row.state == InteractionState.CLOSED else Forbidden
            raise error(refusal.text)
        return row

    async def targets(self, mover: Mover, interaction_id: int) -> TransferTargets:
        """The campaign's members at a console (with their state) and the other campaigns
        that receive mail: what the transfer picker offers."""
        async with self.db.session() as session:
            row = await self._holding(session, mover, interaction_id)
            active = queries.active_counts()
            members = await session.execute(
                select(User, func.coalesce(active.c.n, 0))
                .join(Membership, Membership.user_id == User.id)
                .outerjoin(active, active.c.agent_id == User.id)
                .where(
                    Membership.campaign_id == row.campaign_id,
                    User.status != AgentStatus.OFFLINE,
                )
                .order_by(Membership.position, User.username)
            )
            agents = [
                TransferAgent(
                    username=user.username,
                    display_name=user.display_name,
                    state=agent_state(user.status.value, n),
                    active=n,
                )
                for user, n in members
                if "agent" in user.roles and user.id != row.agent_id
            ]
            others = await session.execute(
                select(Campaign.name)
                .where(Campaign.enabled, Campaign.receive_emails, Campaign.id != row.campaign_id)
                .order_by(Campaign.name)
            )
            return TransferTargets(
                campaign=row.campaign.name, agents=agents, campaigns=list(others.scalars())
            )

    # ---- an agent's transfer ----
    async def transfer(self, mover: Mover, interaction_id: int, body: TransferIn) -> None:
        if body.to_agent and body.to_campaign:
            raise Invalid(
                "to_agent: an agent of this campaign or another campaign's queue, not both"
            )
        now = self.clock()
        async with self.db.session() as session, session.begin():
            row = await self._holding(session, mover, interaction_id)
            me = await session.get(User, mover.user_id) if mover.user_id is not None else None
            campaign = row.campaign
            owner = row.agent
            to_user: User | None = None
            if body.to_agent:
                to_user = await self._candidate(
                    session, body.to_agent, campaign, owner.username if owner else None
                )
            elif body.to_campaign:
                campaign = await self._receiving(session, body.to_campaign)
            if to_user is None and campaign.id == row.campaign_id and owner is None:
                raise Conflict(f"interaction {interaction_id} already waits in {campaign.name}")
            moved = await self._move(
                session,
                row,
                to_user=to_user,
                campaign=campaign,
                author=me,
                kind="transfer",
                text=body.note.strip(),
                now=now,
            )
        self._announce([moved], by=_name(me) if me is not None else mover.username)

    async def _candidate(
        self, session: AsyncSession, username: str, campaign: Campaign, owner: str | None
    ) -> User:
        user = await session.scalar(select(User).where(User.username == username))
        member = user is not None and (
            await session.scalar(
                select(Membership.id).where(
                    Membership.campaign_id == campaign.id, Membership.user_id == user.id
                )
            )
            is not None
        )
        candidate = (
            rules.Candidate(user.username, "agent" in user.roles, member, user.status.value)
            if user is not None
            else None
        )
        refusal = rules.agent_refusal(candidate, name=username, campaign=campaign.name, owner=owner)
        if refusal is not None:
            error = NotFound if candidate is None or not candidate.is_agent else Invalid
            raise error(refusal.text, field=refusal.field)
        assert user is not None
        return user

    async def _receiving(self, session: AsyncSession, name: str) -> Campaign:
        campaign = await session.scalar(select(Campaign).where(Campaign.name == name))
        refusal = rules.campaign_refusal(
            name=name,
            exists=campaign is not None,
            enabled=campaign is not None and campaign.enabled,
            receives=campaign is not None and campaign.receive_emails,
        )
        if refusal is not None:
            error = NotFound if campaign is None else Invalid
            raise error(refusal.text, field=refusal.field)
        assert campaign is not None
        return campaign

    # ---- a supervisor's reassignment ----
    async def reassign(self, mover: Mover, username: str, body: ReassignIn) -> ReassignOut:
        now = self.clock()
        async with self.db.session() as session, session.begin():
            agent = await session.scalar(
                select(User)
                .where(User.username == username)
                .execution_options(populate_existing=True)
            )
            if agent is None or "agent" not in agent.roles:
                raise NotFound(f"no agent {username!r}")
            refusal = rules.reassign_refusal(username, agent.status.value)
            if refusal is not None:
                raise Conflict(refusal.text)
            wanted = [
                Interaction.agent_id == agent.id,
                Interaction.state == InteractionState.ASSIGNED,
            ]
            if body.interaction_id is not None:
                wanted.append(Interaction.id == body.interaction_id)
            rows = (
                (
                    await session.execute(
                        select(Interaction)
                        .where(*wanted)
                        .order_by(Interaction.id)
                        .execution_options(populate_existing=True)
                    )
                )
                .scalars()
                .all()
            )
            if not rows and body.interaction_id is not None:
                raise NotFound(
                    f"interaction {body.interaction_id} is not open with {username}",
                    field="interaction_id",
                )
            if not rows:
                raise Conflict(f"{username} has no open interaction")
            me = await session.get(User, mover.user_id) if mover.user_id is not None else None
            moved: list[_Moved] = []
            for row in rows:
                to_user = None
                if body.to_agent:
                    # Every interaction's campaign must take them: all move, or none does.
                    to_user = await self._candidate(
                        session, body.to_agent, row.campaign, agent.username
                    )
                moved.append(
                    await self._move(
                        session,
                        row,
                        to_user=to_user,
                        campaign=row.campaign,
                        author=me,
                        kind="reassign",
                        text=body.note.strip(),
                        now=now,
                    )
                )
        self._announce(moved, by=_name(me) if me is not None else mover.username)
        return ReassignOut(moved=[m.interaction_id for m in moved])

    # ---- notes ----
    async def add_note(self, mover: Mover, interaction_id: int, text: str) -> None:
        text = text.strip()
        if not text:
            raise Invalid("text: write the note first")
        async with self.db.session() as session, session.begin():
            await self._holding(session, mover, interaction_id)
            session.add(
                InteractionNote(
                    interaction_id=interaction_id,
                    author_id=mover.user_id,
                    kind="note",
                    text=text,
                    created_at=self.clock(),
                )
            )
        self.notifier.interaction_changed(interaction_id, queue=False)

    # ---- the campaign's policy for a logged-out agent's work ----
    def kick(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Requeue what is due, then sleep until the next requeue falls due (a campaign's
        delay counted from its agent's Offline), a kick (an agent went Offline: their
        campaign may requeue at once) or the sweep, whichever comes first."""
        while True:
            self._wake.clear()
            await self.requeue_due()
            wait = self.sweep_seconds
            if self._next_due is not None:
                wait = min(wait, max(0.0, (self._next_due - self.clock()).total_seconds()))
            try:
                async with asyncio.timeout(wait + 0.001):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def requeue_due(self) -> list[int]:
        """Requeue the open work of agents Offline longer than their campaign allows; the
        interactions moved, in id order. Remembers when the next one falls due.

        Every node runs this: the rows are locked as they are read, and those another node
        is requeueing at this moment are skipped (`SKIP LOCKED`), not refused midway."""
        now = self.clock()
        moved: list[_Moved] = []
        next_due: datetime | None = None
        async with self.db.session() as session, session.begin():
            rows = await session.execute(
                select(Interaction, User, Campaign)
                .join(User, Interaction.agent_id == User.id)
                .join(Campaign, Interaction.campaign_id == Campaign.id)
                .where(
                    Interaction.state == InteractionState.ASSIGNED,
                    User.status == AgentStatus.OFFLINE,
                    Campaign.on_logout == "requeue",
                )
                .order_by(Interaction.id)
                .with_for_update(skip_locked=True, of=Interaction)
                .execution_options(populate_existing=True)
            )
            for row, agent, campaign in rows.all():
                if not rules.requeue_due(
                    on_logout=campaign.on_logout,
                    minutes=campaign.requeue_after_minutes,
                    status=agent.status.value,
                    offline_since=agent.status_since,
                    now=now,
                ):
                    due = rules.requeue_at(agent.status_since, campaign.requeue_after_minutes)
                    next_due = due if next_due is None else min(next_due, due)
                    continue
                minutes = campaign.requeue_after_minutes
                moved.append(
                    await self._move(
                        session,
                        row,
                        to_user=None,
                        campaign=campaign,
                        author=None,
                        kind="reassign",
                        text=f"{_name(agent)} was logged out for over {minutes} min",
                        now=now,
                    )
                )
        self._next_due = next_due
        for m in moved:
            log.info("interaction %s requeued: its agent was logged out", m.interaction_id)
        self._announce(moved, by=ENGINE_NAME)
        return [m.interaction_id for m in moved]

    # ---- the move itself ----
    async def _move(
        self,
        session: AsyncSession,
        row: Interaction,
        *,
        to_user: User | None,
        campaign: Campaign,
        author: User | None,
        kind: str,
        text: str,
        now: datetime,
    ) -> _Moved:
        owner = row.agent
        values: dict[str, object] = {"campaign_id": campaign.id, "unread": True}
        if row.state == InteractionState.ASSIGNED:
            # The first agent's handling ends here, as a close would end it.
            values["handling_seconds"] = row.handling_seconds + elapsed_seconds(
                row.assigned_at, now
            )
        if to_user is not None:
            values |= {"state": InteractionState.ASSIGNED, "agent_id": to_user.id}
            values |= {"assigned_at": now}
            target = _name(to_user)
        else:
            values |= {"state": InteractionState.QUEUED, "agent_id": None, "assigned_at": None}
            values |= {"queued_at": now, "overflow": False}
            target = f"{campaign.name} queue"
        same_owner = (
            Interaction.agent_id.is_(None)
            if row.agent_id is None
            else Interaction.agent_id == row.agent_id
        )
        result = await session.execute(
            update(Interaction)
            .where(Interaction.id == row.id, Interaction.state == row.state, same_owner)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 1) != 1:
            raise Conflict(f"interaction {row.id} changed meanwhile: look at it again")
        if to_user is not None:
            await session.execute(
                update(Membership)
                .where(Membership.campaign_id == campaign.id, Membership.user_id == to_user.id)
                .values(last_assigned_at=now)
            )
        session.add(
            InteractionNote(
                interaction_id=row.id,
                author_id=author.id if author is not None else None,
                kind=kind,
                target=target,
                text=text,
                created_at=now,
            )
        )
        return _Moved(
            interaction_id=row.id,
            from_id=row.agent_id,
            from_name=owner.username if owner is not None else None,
            to_id=to_user.id if to_user is not None else None,
            to_name=to_user.username if to_user is not None else None,
            target=target,
        )

    def _announce(self, moved: list[_Moved], *, by: str) -> None:
        for m in moved:
            self.notifier.interaction_changed(m.interaction_id, agents=(m.from_id, m.to_id))
            if m.from_name is not None:
                self.notifier.announce(
                    InteractionMoved(
                        interaction_id=m.interaction_id,
                        from_agent=m.from_name,
                        to_agent=m.to_name,
                        target=m.target,
                        by=by,
                    )
                )
