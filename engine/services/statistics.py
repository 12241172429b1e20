"""The statistics read models (docs/statistics.md): each campaign's row of the supervisors'
panel, for today or any period, and the manual's "Info" about one agent. Each is a few queries
whatever the number of campaigns, agents or interactions; the arithmetic is in
`engine.domain.statistics`."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from sqlalchemy import and_, case, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from data.models import (
    AgentStateChange,
    Campaign,
    Direction,
    Interaction,
    InteractionState,
    Membership,
    Rating,
    User,
)
from engine.api.schemas import (
    AgentInfo,
    AgentState,
    CampaignStats,
    StatsOut,
    StatusChangeOut,
    as_roles,
)
from engine.domain import schedule
from engine.domain import statistics as stats
from engine.errors import Invalid, NotFound
from engine.services import queries


async def today_stats(session: AsyncSession, now: datetime) -> StatsOut:
    """The live panel: each campaign's "today" is its own day, from midnight in its time
    zone (a desk in Montevideo does not start a new day at 21:00). One count per distinct
    zone, usually one."""
    zones: dict[str, list[int]] = {}
    for campaign_id, time_zone in await session.execute(select(Campaign.id, Campaign.time_zone)):
        zones.setdefault(time_zone, []).append(campaign_id)
    if len(zones) <= 1:
        since, until = stats.day_bounds(now, _zone(next(iter(zones), "UTC")))
        return await campaign_stats(session, since, until, now)
    parts = []
    for time_zone, ids in zones.items():
        since, until = stats.day_bounds(now, _zone(time_zone))
        parts.append(await campaign_stats(session, since, until, now, campaign_ids=ids))
    rows = sorted((row for part in parts for row in part.campaigns), key=lambda r: r.name)
    return StatsOut(
        since=min(part.since for part in parts),
        until=max(part.until for part in parts),
        at=now,
        campaigns=rows,
    )


def _zone(name: str) -> tzinfo:
    try:
        return schedule.zone(name)
    except schedule.ScheduleError:  # refused on save; an old row with a bad name counts UTC
        return UTC


async def campaign_stats(
    session: AsyncSession,
    since: datetime,
    until: datetime,
    now: datetime,
    *,
    campaign_ids: list[int] | None = None,
) -> StatsOut:
    """Every campaign's row of the statistics panel in two queries, whatever the number of
    campaigns, agents or interactions: the interactions counted in one grouped query that
    reads only open ones and those of the period (each term of its OR has its own index),
    the members' states in another."""
    if until <= since:
        raise Invalid("the period ends before it starts", field="until")
    i = Interaction
    arrived = and_(i.created_at >= since, i.created_at < until)
    answered = and_(i.first_response_at >= since, i.first_response_at < until)
    closed = and_(i.closed_at >= since, i.closed_at < until)
    queued = i.state == InteractionState.QUEUED
    # The same rule as engine.domain.statistics.outcome, counted in SQL.
    within = and_(arrived, i.service_due_at.is_not(None), i.first_response_at <= i.service_due_at)
    counted = and_(
        arrived,
        i.service_due_at.is_not(None),
        or_(
            i.first_response_at.is_not(None),
            and_(i.state != InteractionState.CLOSED, i.service_due_at <= now),
        ),
    )
    done = and_(closed, i.state == InteractionState.CLOSED, i.agent_id.is_not(None))
    sums_query = (
        select(
            i.campaign_id.label("campaign_id"),
            queries.count_if(queued).label("waiting"),
            func.min(case((queued, i.queued_at))).label("oldest"),
            queries.count_if(i.state == InteractionState.ASSIGNED).label("active"),
            queries.count_if(answered).label("answered"),
            func.sum(case((answered, i.first_response_seconds))).label("first_total"),
            queries.count_if(within).label("within"),
            queries.count_if(counted).label("counted"),
            queries.count_if(and_(done, i.direction == Direction.INBOUND)).label("done_in"),
            queries.count_if(and_(done, i.direction == Direction.OUTBOUND)).label("done_out"),
        )
        .where(
            or_(
                i.state.in_((InteractionState.QUEUED, InteractionState.ASSIGNED)),
                arrived,
                answered,
                closed,
            )
        )
        .group_by(i.campaign_id)
    )
    if campaign_ids is not None:
        sums_query = sums_query.where(i.campaign_id.in_(campaign_ids))
    sums = sums_query.subquery("sums")
    rows = await session.execute(
        select(
            Campaign.id,
            Campaign.name,
            Campaign.service_level_seconds,
            Campaign.threshold_warning_seconds,
            Campaign.threshold_critical_seconds,
            *(
                func.coalesce(sums.c[name], 0)
                for name in ("waiting", "active", "answered", "within", "counted")
            ),
            sums.c.oldest,
            sums.c.first_total,
            func.coalesce(sums.c.done_in, 0),
            func.coalesce(sums.c.done_out, 0),
        )
        .outerjoin(sums, sums.c.campaign_id == Campaign.id)
        .where(Campaign.id.in_(campaign_ids) if campaign_ids is not None else true())
        .where(Campaign.removed_at.is_(None))  # a removed campaign is in no panel
        .order_by(Campaign.name)
    )
    states = await _member_states(session)
    ratings = await _ratings(session, since, until, campaign_ids)
    out: list[CampaignStats] = []
    for (
        cid,
        name,
        level_seconds,
        warning,
        critical,
        waiting,
        active,
        answered_n,
        within_n,
        counted_n,
        oldest,
        first_total,
        done_in,
        done_out,
    ) in rows:
        oldest_at = _as_utc(oldest)
        longest = (now - oldest_at).total_seconds() if oldest_at is not None else None
        level = stats.ServiceLevel(within_n, counted_n)
        out.append(
            CampaignStats(
                campaign_id=cid,
                name=name,
                service_level_seconds=level_seconds,
                warning_seconds=warning,
                critical_seconds=critical,
                waiting=waiting,
                oldest_queued_at=oldest_at,
                agents=states.get(cid) or dict.fromkeys(stats.AGENT_STATES, 0),
                active=active,
                answered=answered_n,
                sl_within=within_n,
                sl_counted=counted_n,
                sl_percent=level.percent,
                sl_level=stats.service_level_level(longest, warning, critical),
                avg_first_response_seconds=stats.average(first_total, answered_n),
                completed_in=done_in,
                completed_out=done_out,
                rating_count=ratings.get(cid, (0, None))[0],
                rating_average=ratings.get(cid, (0, None))[1],
            )
        )
    return StatsOut(since=since, until=until, at=now, campaigns=out)


async def _ratings(
    session: AsyncSession, since: datetime, until: datetime, campaign_ids: list[int] | None
) -> dict[int, tuple[int, float | None]]:
    """Ratings given in the period, per campaign: how many and their average (one query)."""
    query = (
        select(Rating.campaign_id, func.count(Rating.id), func.avg(Rating.score))
        .where(Rating.created_at >= since, Rating.created_at < until)
        .group_by(Rating.campaign_id)
    )
    if campaign_ids is not None:
        query = query.where(Rating.campaign_id.in_(campaign_ids))
    return {
        campaign_id: (int(n), None if avg is None else round(float(avg), 2))
        for campaign_id, n, avg in await session.execute(query)
        if campaign_id is not None
    }


def _as_utc(value: datetime | str | None) -> datetime | None:
    # MIN() over a CASE loses the column's type on SQLite: the text comes back as it is.
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def _member_states(session: AsyncSession) -> dict[int, dict[AgentState, int]]:
    """How many members of each campaign are in each state, in one query."""
    active = queries.active_counts()
    rows = await session.execute(
        select(Membership.campaign_id, User.status, func.coalesce(active.c.n, 0))
        .join(User, User.id == Membership.user_id)
        .outerjoin(active, active.c.agent_id == User.id)
    )
    tally: dict[int, dict[AgentState, int]] = {}
    for campaign_id, status, n_active in rows:
        counts = tally.setdefault(campaign_id, dict.fromkeys(stats.AGENT_STATES, 0))
        counts[stats.agent_state(status.value, n_active)] += 1
    return tally


async def agent_info(session: AsyncSession, username: str, now: datetime) -> AgentInfo:
    """The manual's "Info" about one agent: a handful of queries, all about that agent."""
    user = await session.scalar(
        select(User).where(User.username == username).execution_options(populate_existing=True)
    )
    if user is None or "agent" not in user.roles:
        raise NotFound(f"no agent {username!r}")
    day_start, day_end = stats.day_bounds(now)
    row = await queries.agent_row(session, user)
    by = aliased(User)
    changes = (
        await session.execute(
            select(AgentStateChange, by.username)
            .outerjoin(by, by.id == AgentStateChange.changed_by_id)
            .where(AgentStateChange.user_id == user.id, AgentStateChange.at >= day_start)
            .order_by(AgentStateChange.at, AgentStateChange.id)
        )
    ).all()
    before = await session.scalar(
        select(AgentStateChange.status)
        .where(AgentStateChange.user_id == user.id, AgentStateChange.at < day_start)
        .order_by(AgentStateChange.at.desc(), AgentStateChange.id.desc())
        .limit(1)
    )
    handling = (
        await session.execute(
            select(func.sum(Interaction.handling_seconds), func.count()).where(
                Interaction.agent_id == user.id,
                Interaction.state == InteractionState.CLOSED,
                Interaction.closed_at >= day_start,
                Interaction.closed_at < day_end,
            )
        )
    ).one()
    return AgentInfo(
        username=user.username,
        display_name=user.display_name,
        roles=as_roles(user.roles),
        campaigns=row.campaigns,
        row=row,
        history=[
            StatusChangeOut(status=c.status.value, reason=c.reason, at=c.at, by=by_name)
            for c, by_name in changes
        ],
        active=await queries.summaries_where(
            session,
            Interaction.agent_id == user.id,
            Interaction.state == InteractionState.ASSIGNED,
        ),
        avg_handling_seconds=stats.average(handling[0], handling[1]),
        logged_in_seconds=stats.logged_in_seconds(
            before.value if before is not None else None,
            [stats.StatusSpan(c.status.value, c.at) for c, _ in changes],
            day_start,
            now,
        ),
        screen_monitoring_allowed=user.screen_monitoring_allowed,
    )
