"""Routing across engine nodes sharing one PostgreSQL: two nodes racing to assign 1,000
interactions never assign one twice nor give an agent more than their campaign allows, and
the strategies keep their meaning (least-active spreads the work evenly, round-robin takes
members in turn).

Several nodes need PostgreSQL whatever the run: run once (tests/conftest.py: test_nodes_*)."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select, update

from data.models import AgentStatus, Interaction, InteractionState, User
from engine.api.schemas import CampaignIn, UserIn
from engine.client import EngineClient
from engine.engine import Engine
from tests.nodes import ingest, nodes
from tests.postgres_server import PostgresServer

MAILS = 1000
AGENTS = 40
CAP = 20  # 40 agents x 20 = 800 places for 1,000 mails: the limit is reached


async def _setup(engine: Engine, delivery: str) -> int:
    async with EngineClient(engine.socket_path) as op:
        for n in range(AGENTS):
            await op.add_user(
                UserIn(username=f"agent{n:02}", display_name=f"A{n}", roles=["agent"])
            )
        campaign = await op.add_campaign(
            CampaignIn(
                check=False,
                name="Support",
                email_address="support@postdesk.test",
                inbound="none",
                smtp_host="127.0.0.1",
                smtp_port=9,
                smtp_security="plain",
                max_interactions_per_agent=CAP,
                delivery=delivery,  # type: ignore[arg-type]
            )
        )
        for n in range(AGENTS):
            await op.add_member("Support", f"agent{n:02}")
    return campaign.id


async def _race(tmp_path: Path, url: str, delivery: str) -> tuple[list[tuple[int, int]], Engine]:
    async with nodes(tmp_path, url, 2) as (a, b):
        for engine in (a, b):
            engine._tasks.pop("router").cancel()  # the test drives the passes, both at once
        campaign_id = await _setup(a, delivery)
        for first in range(0, MAILS, 250):
            await ingest(a, campaign_id, first, 250)
        async with a.db.session() as session, session.begin():
            await session.execute(update(User).values(status=AgentStatus.FREE))
        pairs: list[tuple[int, int]] = []

        async def drive(engine: Engine) -> None:
            idle = 0
            while idle < 3:  # until neither node finds anything more to do
                got = await engine.router.assign_all()
                pairs.extend(got)
                idle = 0 if got else idle + 1
                await asyncio.sleep(0)

        await asyncio.gather(drive(a), drive(b), drive(a), drive(b))
        async with a.db.session() as session:
            per_agent = dict(
                (
                    await session.execute(
                        select(Interaction.agent_id, func.count())
                        .where(Interaction.state == InteractionState.ASSIGNED)
                        .group_by(Interaction.agent_id)
                    )
                ).all()
            )
            queued = await session.scalar(
                select(func.count()).where(Interaction.state == InteractionState.QUEUED)
            )
        ids = Counter(interaction_id for interaction_id, _ in pairs)
        assert [i for i, n in ids.items() if n > 1] == []  # none assigned twice
        assert len(pairs) == AGENTS * CAP == sum(per_agent.values())
        assert max(per_agent.values()) == CAP == min(per_agent.values())  # none over
        assert queued == MAILS - AGENTS * CAP
        return pairs, a


async def test_two_nodes_racing_least_active(tmp_path: Path, postgres: PostgresServer) -> None:
    pairs, _ = await _race(tmp_path, postgres.new_database(), "least-active")
    # Least-active: the first 40 assignments went one to each agent, wherever they routed.
    first_round = Counter(agent for _, agent in pairs[:AGENTS])
    assert len(first_round) == AGENTS


async def test_two_nodes_racing_round_robin(tmp_path: Path, postgres: PostgresServer) -> None:
    pairs, _ = await _race(tmp_path, postgres.new_database(), "round-robin")
    # Round-robin across both nodes: each agent's turn comes once per round of 40.
    for start in range(0, len(pairs), AGENTS):
        assert len({agent for _, agent in pairs[start : start + AGENTS]}) == AGENTS
