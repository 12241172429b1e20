"""A node killed with -9: its agents go Offline within the lease (three presence beats), seen
by a supervisor on another node, and their assigned work is kept or requeued as each
campaign says.

Several nodes need PostgreSQL whatever the run: run once (tests/conftest.py: test_nodes_*)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from data.models import Interaction, InteractionState
from engine.api.schemas import AgentChanged, CampaignIn, UserIn
from engine.client import EngineClient
from engine.engine import Engine
from tests.engine_fixtures import engine_settings, eventually
from tests.nodes import Stream, ingest
from tests.patience import PATIENCE
from tests.postgres_server import PostgresServer

BEAT = 0.5  # seconds: the lease is three beats


async def _campaign(op: EngineClient, name: str, on_logout: str, minutes: int = 0) -> int:
    campaign = await op.add_campaign(
        CampaignIn(
            check=False,
            name=name,
            email_address=f"{name.lower()}@postdesk.test",
            inbound="none",
            smtp_host="127.0.0.1",
            smtp_port=9,
            smtp_security="plain",
            on_logout=on_logout,  # type: ignore[arg-type]
            requeue_after=minutes,
        )
    )
    await op.add_member(name, "ann")
    return campaign.id


async def test_a_killed_node_takes_its_agents_offline_and_their_work_goes_as_the_campaign_says(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    url = postgres.new_database()
    b = Engine(engine_settings(tmp_path / "b", database_url=url, node_name="b", presence_beat=BEAT))
    await b.start()
    node_a: subprocess.Popen[bytes] | None = None
    log = tmp_path / "a.log"
    try:
        # B's requeue keeps its production sweep (30 s): the dead node's agents going Offline
        # wake it. The clock runs 55 s ahead, so a 1-minute campaign falls due 5 s after.
        ahead = timedelta(seconds=55)
        b.schedules.clock = lambda: datetime.now(UTC) + ahead
        assert b.transfers.sweep_seconds == 30.0
        async with EngineClient(b.socket_path) as op:
            await op.add_user(UserIn(username="ann", display_name="Ann", roles=["agent"]))
            await op.add_user(UserIn(username="sue", display_name="Sue", roles=["supervisor"]))
            keep = await _campaign(op, "Keep", "keep")
            requeue = await _campaign(op, "Requeue", "requeue")
            later = await _campaign(op, "Later", "requeue", minutes=1)
        home_a = tmp_path / "a"
        with open(log, "ab") as stderr:
            node_a = subprocess.Popen(
                [sys.executable, "-m", "postdesk.cli", "--data-dir", str(home_a), "engine"],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env={
                    **os.environ,
                    "POSTDESK_DATABASE_URL": url,
                    "POSTDESK_NODE_NAME": "a",
                    "POSTDESK_PRESENCE_BEAT": str(BEAT),
                },
            )
        a_socket = engine_settings(home_a, database_url=url).socket
        await eventually(lambda: asyncio.sleep(0, a_socket.exists()), bool, what="node A's socket")
        async with (
            EngineClient(a_socket, act_as="ann") as ann,
            EngineClient(b.socket_path, act_as="sue") as sue,
            Stream(sue) as sue_stream,
        ):
            ann_stream = await Stream(ann).__aenter__()  # ann's console is on node A
            await ann.set_status("free")
            await ingest(b, keep, 0, 1)
            await ingest(b, requeue, 10, 1)
            await ingest(b, later, 20, 1)
            await eventually(ann.interactions, lambda rows: len(rows) == 3, what="ann's three")
            node_a.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            node_a.wait(timeout=PATIENCE)
            with contextlib.suppress(Exception):
                await ann_stream.__aexit__()
            await sue_stream.until(
                lambda e: (
                    isinstance(e, AgentChanged)
                    and e.agent.username == "ann"
                    and e.agent.status == "offline"
                ),
                "ann Offline on the supervisor's stream (node B)",
            )
            took = time.monotonic() - killed
            offline = time.monotonic()
            # The lease: three beats without renewal, seen at B's next beat.
            assert took <= 4 * BEAT + 1.0, took

            async def states() -> dict[int, tuple[InteractionState, int | None]]:
                async with b.db.session() as session:
                    rows = await session.execute(
                        select(Interaction.campaign_id, Interaction.state, Interaction.agent_id)
                    )
                    return {c: (s, a) for c, s, a in rows}

            after = await eventually(
                states,
                lambda s: s[requeue][0] == InteractionState.QUEUED,
                what="the Requeue campaign's mail back in its queue",
            )
            requeued = time.monotonic() - offline
            # At once (requeue after 0 min), not at the requeue's next sweep (30 s).
            assert requeued < 3.0, requeued
            assert after[keep][0] == InteractionState.ASSIGNED  # Keep: still ann's
            assert after[keep][1] is not None
            assert after[later][0] == InteractionState.ASSIGNED  # its minute is not up
            after = await eventually(
                states,
                lambda s: s[later][0] == InteractionState.QUEUED,
                what="the Later campaign's mail back in its queue when its minute is up",
            )
            late = time.monotonic() - offline
            assert 3.0 < late < 10.0, late  # 1 min after Offline (5 s on B's clock), no sweep
            assert after[keep][0] == InteractionState.ASSIGNED  # Keep: never requeued
            print(
                f"\nnode A killed: ann Offline on node B after {took:.2f} s (lease {3 * BEAT} s);"
                f" requeued {requeued:.2f} s after (0 min) and {late:.2f} s after (1 min, clock"
                " 55 s ahead)"
            )
    finally:
        if node_a is not None and node_a.poll() is None:
            node_a.kill()
            node_a.wait()
        await b.stop()
