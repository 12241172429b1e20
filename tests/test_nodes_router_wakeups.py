"""A node's router does not run a pass for each batch of work another node queued and routed
itself (it cost a node storing nothing a fifth of a core: bench/nodes.py), and work queued by
an engine that does not route (`postdesk ctl`'s) is still routed at once by the nodes that
hear of it.

Several nodes need PostgreSQL whatever the run: run once (tests/conftest.py: test_nodes_*)."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import func, select

from data.models import Interaction, InteractionState
from engine.api.schemas import CampaignIn, UserIn
from engine.client import EngineClient
from engine.engine import Engine
from tests.engine_fixtures import engine_settings, eventually
from tests.nodes import Stream, ingest, nodes
from tests.postgres_server import PostgresServer

BATCHES = 30


async def _assigned(engine: Engine) -> int:
    async with engine.db.session() as session:
        return int(
            await session.scalar(
                select(func.count(Interaction.id)).where(
                    Interaction.state == InteractionState.ASSIGNED
                )
            )
            or 0
        )


async def test_nodes_route_what_they_queue_and_only_hear_the_others(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    url = postgres.new_database()
    async with nodes(tmp_path, url, 2) as (a, b):
        passes = 0
        route = b.router.assign_all

        async def counted() -> object:
            nonlocal passes
            passes += 1
            return await route()

        b.router.assign_all = counted  # type: ignore[method-assign]
        async with EngineClient(a.socket_path) as op:
            await op.add_user(UserIn(username="ann", display_name="Ann", roles=["agent"]))
            campaign = await op.add_campaign(
                CampaignIn(
                    check=False,
                    name="Support",
                    email_address="support@postdesk.test",
                    inbound="none",
                    smtp_host="127.0.0.1",
                    smtp_port=9,
                    smtp_security="plain",
                    max_interactions_per_agent=100,
                )
            )
            await op.add_member("Support", "ann")
        async with EngineClient(b.socket_path, act_as="ann") as ann, Stream(ann):
            await ann.set_status("free")  # ann's console is on node B
            before = passes
            for n in range(BATCHES):  # node A stores, one mail a transaction, and routes
                await ingest(a, campaign.id, n, 1)
            await eventually(lambda: _assigned(a), lambda n: n == BATCHES, what="all assigned")
            heard = passes - before
            # B's own sweep (every 5 s) may run once or twice meanwhile; a pass per batch
            # heard was one per notification batch.
            assert heard <= 2, heard

            # An engine that does not route (as `postdesk ctl` runs one) queues work: the
            # nodes that hear of it route it, without waiting for their sweep.
            ctl = Engine(engine_settings(tmp_path / "ctl", database_url=url), run_mail=False)
            await ctl.start()
            try:
                queued = time.monotonic()
                await ingest(ctl, campaign.id, 100, 1)
                await eventually(
                    lambda: _assigned(a), lambda n: n == BATCHES + 1, what="the ctl's mail"
                )
                took = time.monotonic() - queued
                assert took < 2.0, took  # not the 5 s sweep
            finally:
                await ctl.stop()
        print(f"\nnode B: {heard} router pass(es) for {BATCHES} batches node A stored and routed")
