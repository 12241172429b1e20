"""Wrap-up (docs/wrapup.md): a campaign's disposition codes as the admin edits them, the
codes an agent chooses from when closing, the wrap-up row each close writes, and the reads
that show them (the thread, search results, the statistics). The rules are in
`engine.domain.dispositions`; this module reads and writes the rows.

Wrap-ups are internal: nothing here is ever read by the code that builds mail.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from data.db import Database
from data.models import (
    Campaign,
    Disposition,
    Interaction,
    InteractionState,
    InteractionWrapup,
    User,
)
from engine.api.schemas import (
    CampaignDispositions,
    DispositionCount,
    DispositionNode,
    DispositionStats,
    DispositionTree,
    WrapupOut,
)
from engine.domain import dispositions as rules
from engine.domain import statistics
from engine.errors import Forbidden, Invalid, NotFound


async def load_tree(session: AsyncSession, campaign_id: int) -> rules.Tree:
    rows = await session.execute(
        select(
            Disposition.id,
            Disposition.parent_id,
            Disposition.name,
            Disposition.position,
            Disposition.active,
        ).where(Disposition.campaign_id == campaign_id)
    )
    return rules.Tree(rules.Code(*row) for row in rows)


def nodes_of(tree: rules.Tree, *, active_only: bool) -> list[DispositionNode]:
    def level(parent: int | None) -> list[DispositionNode]:
        codes = tree.active_children(parent) if active_only else tree.children.get(parent, [])
        return [
            DispositionNode(id=c.id, name=c.name, active=c.active, children=level(c.id))
            for c in codes
        ]

    return level(None)


def _refused(exc: rules.DispositionError) -> Invalid:
    return Invalid(str(exc), field=exc.field)


async def record_close(
    session: AsyncSession,
    interaction: Interaction,
    agent_id: int,
    disposition: str,
    note: str,
    at: datetime,
) -> None:
    """Check the agent's wrap-up against the campaign's codes and write it, in the close's
    own transaction: a refused one leaves the interaction open."""
    campaign = await session.get_one(Campaign, interaction.campaign_id)
    tree = await load_tree(session, campaign.id)
    try:
        code = rules.choose(
            tree,
            disposition,
            is_required=rules.required(campaign.disposition_required, tree),
            campaign=campaign.name,
        )
        cleaned = rules.check_note(note)
    except rules.DispositionError as exc:
        raise _refused(exc) from exc
    session.add(
        InteractionWrapup(
            interaction_id=interaction.id,
            campaign_id=campaign.id,
            agent_id=agent_id,
            disposition_id=code.id if code else None,
            disposition_path=rules.show(tree.path(code)) if code else "",
            note=cleaned,
            closed_at=at,
        )
    )


async def wrapups_of(session: AsyncSession, interaction_id: int) -> list[WrapupOut]:
    rows = await session.execute(
        select(InteractionWrapup, User.username, User.display_name)
        .outerjoin(User, User.id == InteractionWrapup.agent_id)
        .where(InteractionWrapup.interaction_id == interaction_id)
        .order_by(InteractionWrapup.closed_at, InteractionWrapup.id)
    )
    return [
        WrapupOut(
            disposition=w.disposition_path,
            note=w.note,
            agent=username,
            agent_name=display_name or username or "",
            closed_at=w.closed_at,
        )
        for w, username, display_name in rows
    ]


async def last_dispositions(session: AsyncSession, ids: Sequence[int]) -> dict[int, str]:
    """The code of each interaction's last close (search results): one query."""
    if not ids:
        return {}
    last = (
        select(func.max(InteractionWrapup.id))
        .where(InteractionWrapup.interaction_id.in_(ids))
        .group_by(InteractionWrapup.interaction_id)
    )
    rows = await session.execute(
        select(InteractionWrapup.interaction_id, InteractionWrapup.disposition_path).where(
            InteractionWrapup.id.in_(last)
        )
    )
    return {interaction_id: path for interaction_id, path in rows}


class Wrapups:
    """The admin's tree, the agent's choices, the statistics."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def _campaign(self, session: AsyncSession, name: str) -> Campaign:
        campaign = await session.scalar(select(Campaign).where(Campaign.name == name))
        if campaign is None:
            raise NotFound(f"no campaign {name!r}")
        return campaign

    async def tree(self, campaign_name: str) -> DispositionTree:
        async with self.db.session() as session:
            campaign = await self._campaign(session, campaign_name)
            tree = await load_tree(session, campaign.id)
            return DispositionTree(
                codes=nodes_of(tree, active_only=False),
                required=campaign.disposition_required,
                campaign=campaign.name,
            )

    async def replace(self, campaign_name: str, wanted: DispositionTree) -> DispositionTree:
        """Save the whole tree: codes with an id are kept (renamed, moved, reordered,
        (de)activated), codes without one are added, the campaign's codes left out are
        removed (closes that used them keep their path)."""
        nodes = [_node_in(n) for n in wanted.codes]
        async with self.db.session() as session, session.begin():
            campaign = await self._campaign(session, campaign_name)
            rows = {
                d.id: d
                for d in (
                    await session.scalars(
                        select(Disposition).where(Disposition.campaign_id == campaign.id)
                    )
                )
            }
            try:
                rules.check_tree(nodes, set(rows))
            except rules.DispositionError as exc:
                raise _refused(exc) from exc
            # Names are set in two steps: first a name no admin can type (a control
            # character; not NUL, which PostgreSQL refuses in text), so that swapping or
            # moving siblings never meets the unique constraint half way through; then
            # the real ones.
            final: dict[int, str] = {}
            kept: set[int] = set()
            placed: list[Disposition] = []

            async def place(level: Sequence[rules.NodeIn], parent: int | None) -> None:
                for position, node in enumerate(level):
                    row = rows[node.id] if node.id is not None else None
                    if row is None:
                        row = Disposition(campaign_id=campaign.id, name="")
                        session.add(row)
                    row.parent_id, row.position, row.active = parent, position, node.active
                    row.name = f"\x1f{len(kept)}"
                    await session.flush()
                    kept.add(row.id)
                    placed.append(row)  # held until named: the session keeps weak refs
                    final[row.id] = rules.check_name(node.name)
                    await place(node.children, row.id)

            await place(nodes, None)
            gone = set(rows) - kept
            if gone:
                await session.execute(delete(Disposition).where(Disposition.id.in_(gone)))
            for row in placed:
                row.name = final[row.id]
            campaign.disposition_required = wanted.required
            await session.flush()
            session.expire_all()
        return await self.tree(campaign_name)

    async def choices(self, user_id: int, interaction_id: int) -> DispositionTree:
        """What the agent closing `interaction_id` chooses from: the active codes."""
        async with self.db.session() as session:
            interaction = await session.get(Interaction, interaction_id)
            if interaction is None or interaction.agent_id != user_id:
                raise Forbidden(f"interaction {interaction_id} is not assigned to you")
            if interaction.state is not InteractionState.ASSIGNED:
                raise Invalid(f"interaction {interaction_id} is {interaction.state.value}")
            campaign = await session.get_one(Campaign, interaction.campaign_id)
            tree = await load_tree(session, campaign.id)
            return DispositionTree(
                codes=nodes_of(tree, active_only=True),
                required=rules.required(campaign.disposition_required, tree),
                campaign=campaign.name,
            )

    async def stats(self, since: datetime | None, until: datetime | None) -> DispositionStats:
        """Closes per campaign and code in [since, until) (each defaults to today's bound,
        UTC day): one grouped query, through the index on `closed_at`."""
        day_start, day_end = statistics.day_bounds(datetime.now(UTC))
        since, until = since or day_start, until or day_end
        if until <= since:
            raise Invalid("the period ends before it starts", field="until")
        w = InteractionWrapup
        async with self.db.session() as session:
            # Grouped by the campaign's id, named after: the count reads the covering index
            # on (closed_at, campaign_id, disposition_path) and never the table.
            rows = await session.execute(
                select(w.campaign_id, w.disposition_path, func.count())
                .where(w.closed_at >= since, w.closed_at < until)
                .group_by(w.campaign_id, w.disposition_path)
            )
            names: dict[int | None, str] = {
                cid: name for cid, name in await session.execute(select(Campaign.id, Campaign.name))
            }
            per: dict[str, list[DispositionCount]] = {}
            for campaign_id, path, n in rows:
                if (name := names.get(campaign_id)) is not None:
                    per.setdefault(name, []).append(DispositionCount(disposition=path, count=n))
        return DispositionStats(
            since=since,
            until=until,
            campaigns=[
                CampaignDispositions(
                    campaign=name,
                    closed=sum(c.count for c in counts),
                    counts=sorted(counts, key=lambda c: (-c.count, c.disposition)),
                )
                for name, counts in sorted(per.items())
            ],
        )


def _node_in(node: DispositionNode) -> rules.NodeIn:
    return rules.NodeIn(
        id=node.id,
        name=node.name,
        active=node.active,
        children=tuple(_node_in(c) for c in node.children),
    )
