"""The read models: database rows turned into API schemas, with the aggregate queries the
screens need. Functions take a session (services call them inside their transactions); the
`Queries` service opens its own, for the server's reads.

About 500 lines: the interaction read models (summary, detail, notes) and the supervisor
grid's rows (agents, queues), which the `Queries` service serves together; the grid's rows
(`agent_rows`, `queue_rows` and their subqueries) are the piece to move out next if it grows.
The statistics read models are apart in `engine.services.statistics`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime

from msgspec.structs import asdict
from sqlalchemy import ColumnElement, Subquery, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, aliased, selectinload

from data.db import Database
from data.models import (
    Campaign,
    Direction,
    Interaction,
    InteractionNote,
    InteractionState,
    Membership,
    Message,
    Rating,
    User,
)
from engine.api.schemas import (
    QUEUE_VIEW_LIMIT,
    AgentInfo,
    AgentRow,
    AttachmentOut,
    CampaignState,
    InteractionDetail,
    InteractionSummary,
    Me,
    MessageOut,
    MonitorSnapshot,
    NoteOut,
    QueueRow,
    StatsOut,
    as_roles,
)
from engine.domain import statistics as stats
from engine.errors import Forbidden, Invalid, NotFound
from engine.services import statistics
from engine.services.customer.ratings import with_customer_feedback
from engine.services.work import wrapups
from engine.services.work.load import campaign_load, member_campaigns


async def message_counts(session: AsyncSession, ids: Sequence[int]) -> dict[int, int]:
    return await session.run_sync(message_counts_sync, ids)


def message_counts_sync(session: Session, ids: Sequence[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = session.execute(
        select(Message.interaction_id, func.count(Message.id))
        .where(Message.interaction_id.in_(ids))
        .group_by(Message.interaction_id)
    )
    return {iid: n for iid, n in rows}


def summary(interaction: Interaction, count: int) -> InteractionSummary:
    return InteractionSummary(
        id=interaction.id,
        campaign_id=interaction.campaign_id,
        campaign_name=interaction.campaign.name,
        client_email=interaction.client_email,
        client_name=interaction.client_name,
        subject=interaction.subject,
        state=interaction.state.value,
        agent=interaction.agent.username if interaction.agent else None,
        unread=interaction.unread,
        queued_at=interaction.queued_at,
        assigned_at=interaction.assigned_at,
        closed_at=interaction.closed_at,
        last_message_at=interaction.last_message_at,
        message_count=count,
        linked_interaction_id=interaction.linked_interaction_id,
        created_at=interaction.created_at,
    )


async def summaries(
    session: AsyncSession, interactions: Sequence[Interaction]
) -> list[InteractionSummary]:
    counts = await message_counts(session, [i.id for i in interactions])
    return [summary(i, counts.get(i.id, 0)) for i in interactions]


_AGENT = aliased(User)
_SUMMARY_COLUMNS = (
    Interaction.id,
    Interaction.campaign_id,
    Campaign.name.label("campaign_name"),
    Interaction.client_email,
    Interaction.client_name,
    Interaction.subject,
    Interaction.state,
    _AGENT.username.label("agent"),
    Interaction.unread,
    Interaction.queued_at,
    Interaction.assigned_at,
    Interaction.closed_at,
    Interaction.last_message_at,
    Interaction.linked_interaction_id,
    Interaction.message_count,  # kept by triggers (migration 0041): no count per row
    Interaction.created_at,
)


async def summaries_where(
    session: AsyncSession, *conditions: ColumnElement[bool], limit: int = 5000
) -> list[InteractionSummary]:
    """Summaries of the matching interactions, newest message first, read as plain rows.

    Inboxes and the supervisors' lists ask for hundreds or thousands at once: columns
    straight from one joined query cost a fraction of loading ORM objects one by one
    (500 rows: ~7 ms against ~30 ms), which every console start pays."""
    return await session.run_sync(
        lambda plain: summaries_where_sync(plain, *conditions, limit=limit)
    )


def summaries_where_sync(
    session: Session, *conditions: ColumnElement[bool], limit: int = 5000
) -> list[InteractionSummary]:
    """`summaries_where` on a plain session (the notifier reads in the database's thread)."""
    query = (
        select(*_SUMMARY_COLUMNS)
        .join(Campaign, Campaign.id == Interaction.campaign_id)
        .outerjoin(_AGENT, _AGENT.id == Interaction.agent_id)
        .where(*conditions)
        .order_by(Interaction.last_message_at.desc(), Interaction.id.desc())
        .limit(limit)
    )
    rows = session.execute(query).mappings().all()
    return [InteractionSummary(**{**row, "state": row["state"].value}) for row in rows]


async def summary_of(session: AsyncSession, interaction_id: int) -> InteractionSummary:
    interaction = await session.get_one(Interaction, interaction_id, populate_existing=True)
    counts = await message_counts(session, [interaction_id])
    return summary(interaction, counts.get(interaction_id, 0))


def message_out(message: Message) -> MessageOut:
    return MessageOut(
        id=message.id,
        direction=message.direction.value,
        state=message.state.value,
        message_id=message.message_id,
        from_email=message.from_email,
        from_name=message.from_name,
        to=message.to,
        cc=message.cc,
        subject=message.subject,
        text=message.text,
        created_at=message.created_at,
        sent_at=message.sent_at,
        error=message.error,
        attachments=[
            AttachmentOut(
                id=a.id,
                filename=a.filename,
                content_type=a.content_type,
                size=a.size,
                over_limit=a.over_limit,
            )
            for a in message.attachments
        ],
        kind=message.kind,
        bcc=message.bcc if message.direction is Direction.OUTBOUND else [],
        attempts=message.attempts,
        next_attempt_at=message.next_attempt_at,
    )


async def load_message(session: AsyncSession, message_id: int) -> Message:
    result = await session.execute(
        select(Message)
        .where(Message.id == message_id)
        .options(selectinload(Message.attachments))
        .execution_options(populate_existing=True)
    )
    return result.scalar_one()


async def detail(session: AsyncSession, interaction_id: int) -> InteractionDetail:
    base = await summary_of(session, interaction_id)
    interaction = await session.get_one(Interaction, interaction_id)
    result = await session.execute(
        select(Message)
        .where(Message.interaction_id == interaction_id)
        .options(selectinload(Message.attachments))
        .order_by(Message.id)
        .execution_options(populate_existing=True)
    )
    messages = [message_out(m) for m in result.scalars()]
    await with_customer_feedback(session, interaction_id, messages)
    # The last close's code, as a search's summary has it (a reopened one keeps it).
    last = await wrapups.last_dispositions(session, [interaction_id])
    base.disposition = last.get(interaction_id, "")
    return InteractionDetail(
        **asdict(base),
        cc=interaction.cc,
        bcc=interaction.bcc,
        messages=messages,
        draft=interaction.draft,
        notes=await notes_of(session, interaction_id),
        wrapups=await wrapups.wrapups_of(session, interaction_id),
    )


def note_out(note: InteractionNote) -> NoteOut:
    author = note.author
    return NoteOut(
        id=note.id,
        kind="transfer"
        if note.kind == "transfer"
        else "reassign"
        if note.kind == "reassign"
        else "note",
        author=author.username if author is not None else None,
        author_name=(author.display_name or author.username) if author is not None else "Postdesk",
        target=note.target,
        text=note.text,
        created_at=note.created_at,
    )


async def notes_of(session: AsyncSession, interaction_id: int) -> list[NoteOut]:
    """The interaction's internal notes, oldest first (through the index on interaction_id)."""
    rows = await session.execute(
        select(InteractionNote)
        .where(InteractionNote.interaction_id == interaction_id)
        .order_by(InteractionNote.created_at, InteractionNote.id)
    )
    return [note_out(note) for note in rows.scalars()]


def active_counts(*only: ColumnElement[bool]) -> Subquery:
    """Interactions each agent holds now (through the index on state: few rows are open)."""
    return (
        select(Interaction.agent_id.label("agent_id"), func.count().label("n"))
        .where(
            Interaction.state == InteractionState.ASSIGNED,
            Interaction.agent_id.is_not(None),
            *only,
        )
        .group_by(Interaction.agent_id)
        .subquery("active_counts")
    )


def count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    # SUM(CASE ...), not COUNT(*) FILTER: the same on SQLite and PostgreSQL.
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def agent_rows(
    session: AsyncSession, *, now: datetime | None = None, user_ids: Iterable[int] | None = None
) -> list[AgentRow]:
    """The grid's rows (every member of a campaign, or only `user_ids`): a fixed number of
    queries whatever the number of agents, never one per agent."""
    return await session.run_sync(lambda plain: agent_rows_sync(plain, now=now, user_ids=user_ids))


def agent_rows_sync(
    session: Session, *, now: datetime | None = None, user_ids: Iterable[int] | None = None
) -> list[AgentRow]:
    """`agent_rows` on a plain session (the notifier reads in the database's thread)."""
    now = now or datetime.now(UTC)
    day_start, day_end = stats.day_bounds(now)
    wanted = None if user_ids is None else list(user_ids)
    # A few agents (the notifier's batch): their own rows, through the index on agent_id.
    mine = () if wanted is None else (Interaction.agent_id.in_(wanted),)
    active = active_counts(*mine)
    done = (
        select(
            Interaction.agent_id.label("agent_id"),
            count_if(Interaction.direction == Direction.INBOUND).label("n_in"),
            count_if(Interaction.direction == Direction.OUTBOUND).label("n_out"),
        )
        # closed_at is set only while closed (a reopened one loses it). No condition on the
        # state: SQLite would pick the state index and read every closed interaction ever.
        .where(
            Interaction.closed_at >= day_start,
            Interaction.closed_at < day_end,
            Interaction.agent_id.is_not(None),
            *mine,
        )
        .group_by(Interaction.agent_id)
        .subquery("done_today")
    )
    # Customers' ratings of the agent's replies (all time), from the public web service.
    rated = (
        select(
            Rating.agent_id.label("agent_id"),
            func.count(Rating.id).label("n"),
            func.avg(Rating.score).label("average"),
        )
        .where(
            Rating.agent_id.is_not(None),
            *(() if wanted is None else (Rating.agent_id.in_(wanted),)),
        )
        .group_by(Rating.agent_id)
        .subquery("rated")
    )
    query = (
        select(
            User.id,
            User.username,
            User.display_name,
            User.status,
            User.status_reason,
            User.status_since,
            func.coalesce(active.c.n, 0),
            func.coalesce(done.c.n_in, 0),
            func.coalesce(done.c.n_out, 0),
            func.coalesce(rated.c.n, 0),
            rated.c.average,
        )
        .outerjoin(active, active.c.agent_id == User.id)
        .outerjoin(done, done.c.agent_id == User.id)
        .outerjoin(rated, rated.c.agent_id == User.id)
        .order_by(User.username)
    )
    campaigns_of = select(Membership.user_id, Campaign.name).join(Campaign)
    if wanted is None:
        query = query.where(User.id.in_(select(Membership.user_id)))
    else:  # these users, members or not (an agent's own row reaches their console)
        query = query.where(User.id.in_(wanted))
        campaigns_of = campaigns_of.where(Membership.user_id.in_(wanted))
    names: dict[int, list[str]] = {}
    for user_id, name in session.execute(campaigns_of.order_by(Campaign.name)):
        names.setdefault(user_id, []).append(name)
    return [
        AgentRow(
            username=username,
            display_name=display_name,
            status=status.value,
            status_reason=reason,
            status_since=since,
            active=n_active,
            completed=n_in + n_out,
            state=stats.agent_state(status.value, n_active),
            completed_in=n_in,
            completed_out=n_out,
            campaigns=names.get(user_id, []),
            rating_count=n_rated,
            rating_average=round(float(average), 1) if n_rated else None,
        )
        for (
            user_id,
            username,
            display_name,
            status,
            reason,
            since,
            n_active,
            n_in,
            n_out,
            n_rated,
            average,
        ) in session.execute(query)
    ]


async def agent_row(session: AsyncSession, user: User) -> AgentRow:
    return (await agent_rows(session, user_ids=[user.id]))[0]


async def queue_rows(session: AsyncSession) -> tuple[list[QueueRow], int]:
    """The longest-waiting interactions (at most QUEUE_VIEW_LIMIT) and how many wait in all."""
    rows = await session.execute(
        select(Interaction.id, Campaign.name, Interaction.client_email, Interaction.queued_at)
        .join(Campaign)
        .where(Interaction.state == InteractionState.QUEUED, Interaction.overflow.is_(False))
        .order_by(Interaction.queued_at, Interaction.id)
        .limit(QUEUE_VIEW_LIMIT)
    )
    shown = [
        QueueRow(interaction_id=i, campaign_name=c, client_email=e, queued_at=q)
        for i, c, e, q in rows
    ]
    if len(shown) < QUEUE_VIEW_LIMIT:
        return shown, len(shown)
    total = await session.scalar(
        select(func.count(Interaction.id)).where(
            Interaction.state == InteractionState.QUEUED, Interaction.overflow.is_(False)
        )
    )
    return shown, int(total or 0)


async def working_campaigns(session: AsyncSession, user_id: int) -> set[int]:
    """The campaigns whose templates an agent may use: those they are a member of, and those
    of interactions still assigned to them (a member taken off a campaign keeps what is
    assigned, and needs its templates to finish it)."""
    members = select(Membership.campaign_id).where(Membership.user_id == user_id)
    assigned = select(Interaction.campaign_id).where(
        Interaction.agent_id == user_id, Interaction.state == InteractionState.ASSIGNED
    )
    return set((await session.execute(members.union(assigned))).scalars())


async def check_visible(
    session: AsyncSession, interaction_id: int, user_id: int | None, *, sees_all: bool
) -> int | None:
    """Supervisors and admins see every interaction; an agent only those assigned to them.
    Returns the interaction's agent (None: nobody's yet)."""
    row = (
        await session.execute(select(Interaction.agent_id).where(Interaction.id == interaction_id))
    ).first()
    if row is None:
        raise NotFound(f"no interaction {interaction_id}")
    agent_id = row[0]
    if not sees_all and (agent_id is None or agent_id != user_id):
        raise Forbidden(f"interaction {interaction_id} is not yours")
    return agent_id


class Queries:
    """What the consoles read, each in one session, visibility checked where it applies."""

    def __init__(
        self,
        db: Database,
        campaign_states: Callable[[AsyncSession], Awaitable[list[CampaignState]]] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.db = db
        self.campaign_states = campaign_states
        self.clock = clock or (lambda: datetime.now(UTC))  # tests move "now" (day bounds)

    async def me(self, user_id: int, *, operator: bool) -> Me:
        async with self.db.session() as session:
            user = await session.get_one(User, user_id, populate_existing=True)
            load = await campaign_load(session, user_id)
            return Me(
                username=user.username,
                display_name=user.display_name,
                roles=as_roles(user.roles),
                status=user.status.value,
                status_reason=user.status_reason,
                status_since=user.status_since,
                operator=operator,
                campaigns=[row.name for row in load],
                load=load,
            )

    async def member_campaigns(self, user_id: int) -> list[str]:
        async with self.db.session() as session:
            return await member_campaigns(session, user_id)

    async def interactions(
        self, *, agent_id: int | None, agent: str | None, state: str | None
    ) -> list[InteractionSummary]:
        """One agent's list (`agent_id`: open ones and every closed one unless a `state` is
        asked), or everyone's (`agent_id` None), optionally one `agent`'s by login."""
        conditions: list[ColumnElement[bool]] = []
        if agent_id is not None:
            conditions.append(Interaction.agent_id == agent_id)
        elif agent:
            conditions.append(Interaction.agent.has(User.username == agent))
        if state:
            try:
                conditions.append(Interaction.state == InteractionState(state))
            except ValueError as exc:
                raise Invalid(f"unknown state {state!r}", field="state") from exc
        elif agent_id is not None:
            conditions.append(
                or_(
                    Interaction.state == InteractionState.ASSIGNED,
                    Interaction.closed_at.is_not(None),
                )
            )
        async with self.db.session() as session:
            return await summaries_where(session, *conditions)

    async def check_visible(
        self, interaction_id: int, user_id: int | None, *, sees_all: bool
    ) -> int | None:
        """Supervisors and admins see every interaction; an agent only those assigned to them.
        Returns the interaction's agent (None: nobody's yet)."""
        async with self.db.session() as session:
            return await check_visible(session, interaction_id, user_id, sees_all=sees_all)

    async def detail(self, interaction_id: int) -> InteractionDetail:
        async with self.db.session() as session:
            return await detail(session, interaction_id)

    async def summary(self, interaction_id: int) -> InteractionSummary:
        async with self.db.session() as session:
            return await summary_of(session, interaction_id)

    async def monitor(self) -> MonitorSnapshot:
        now = self.clock()
        async with self.db.session() as session:
            shown, total = await queue_rows(session)
            states = await self.campaign_states(session) if self.campaign_states else []
            return MonitorSnapshot(
                agents=await agent_rows(session, now=now),
                queue=shown,
                queue_total=total,
                campaigns=states,
                stats=await statistics.today_stats(session, now),
            )

    async def working_campaigns(self, user_id: int) -> set[int]:
        async with self.db.session() as session:
            return await working_campaigns(session, user_id)

    # ---- statistics (docs/statistics.md) ----
    async def stats(self, since: datetime | None, until: datetime | None) -> StatsOut:
        now = self.clock()
        async with self.db.session() as session:
            if since is None and until is None:
                return await statistics.today_stats(session, now)  # each campaign's own day
            day_start, day_end = stats.day_bounds(now)
            return await statistics.campaign_stats(
                session, since or day_start, until or day_end, now
            )

    async def agent_info(self, username: str) -> AgentInfo:
        async with self.db.session() as session:
            return await statistics.agent_info(session, username, self.clock())
