"""Events across engine nodes sharing one PostgreSQL (LISTEN/NOTIFY): mail stored on node A
reaches an agent whose console is on node B, a supervisor on node C sees both; a node whose
listening connection was cut catches up with what it missed.

Several nodes need PostgreSQL whatever the run: these tests run once, in the SQLite pass of
`make test` (tests/conftest.py: files test_nodes_*)."""

from __future__ import annotations

from pathlib import Path

from engine.api.schemas import (
    AgentChanged,
    CampaignIn,
    InteractionChanged,
    MessageChanged,
    QueueChanged,
    UserIn,
)
from engine.client import EngineClient
from engine.engine import Engine
from tests.engine_fixtures import eventually
from tests.nodes import Stream, ingest, nodes
from tests.postgres_server import PostgresServer


async def _campaign(engine: Engine, agents: tuple[str, ...], supervisors: tuple[str, ...]) -> int:
    async with EngineClient(engine.socket_path) as op:
        for name in agents:
            await op.add_user(UserIn(username=name, display_name=name.title(), roles=["agent"]))
        for name in supervisors:
            await op.add_user(
                UserIn(username=name, display_name=name.title(), roles=["supervisor"])
            )
        campaign = await op.add_campaign(
            CampaignIn(
                check=False,
                name="Support",
                email_address="support@postdesk.test",
                inbound="none",
                smtp_host="127.0.0.1",
                smtp_port=9,  # nothing listens: replies wait in the outbox
                smtp_security="plain",
                max_interactions_per_agent=3,
            )
        )
        for name in agents:
            await op.add_member("Support", name)
        return campaign.id


async def test_mail_on_node_a_reaches_an_agent_on_b_and_a_supervisor_on_c(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    async with nodes(tmp_path, postgres.new_database(), 3) as (a, b, c):
        campaign_id = await _campaign(a, ("ann", "bob"), ("sue",))
        async with (
            EngineClient(b.socket_path, act_as="bob") as bob,
            EngineClient(a.socket_path, act_as="ann") as ann,
            EngineClient(c.socket_path, act_as="sue") as sue,
            Stream(sue) as sue_stream,
            Stream(bob) as bob_stream,  # his console opens on B: he is Free
        ):
            await bob.set_status("free")
            # The supervisor on C hears bob turn Free on B.
            await sue_stream.until(
                lambda e: (
                    isinstance(e, AgentChanged)
                    and e.agent.username == "bob"
                    and e.agent.status == "free"
                ),
                "bob Free on the supervisor's stream (node C)",
            )
            await ingest(a, campaign_id, 0, 1)  # stored by node A
            got = await bob_stream.until(
                lambda e: isinstance(e, InteractionChanged) and e.interaction.agent == "bob",
                "the new mail assigned to bob on his stream (node B)",
            )
            assert isinstance(got, InteractionChanged)
            interaction_id = got.interaction.id
            assert [r.id for r in await bob.interactions()] == [interaction_id]
            await sue_stream.until(
                lambda e: (
                    isinstance(e, InteractionChanged)
                    and e.interaction.id == interaction_id
                    and e.interaction.agent == "bob"
                ),
                "the assignment on the supervisor's stream (node C)",
            )
            # The agent on A comes: the next mails (stored on B this time) go to her and
            # bob, and the supervisor on C sees both agents' work live.
            ann_stream = await Stream(ann).__aenter__()
            await ann.set_status("free")
            await ingest(b, campaign_id, 100, 4)
            await sue_stream.until(
                lambda e: isinstance(e, InteractionChanged) and e.interaction.agent == "ann",
                "ann's assignment (node A) on the supervisor's stream (node C)",
            )
            await ann_stream.until(
                lambda e: isinstance(e, InteractionChanged) and e.interaction.agent == "ann",
                "ann's assignment on her own stream",
            )
            # A customer's reply stored on node C reaches bob's open thread on node B.
            await bob.reply(interaction_id, "We are on it.")
            await sue_stream.until(lambda e: isinstance(e, QueueChanged), "a queue event on node C")
            mine = [e for e in ann_stream.events if isinstance(e, InteractionChanged)]
            assert all(e.interaction.agent in ("ann", None) for e in mine)  # never bob's
            await bob_stream.until(
                lambda e: isinstance(e, MessageChanged) and e.interaction_id == interaction_id,
                "bob's own reply on his stream",
            )
            assert not [
                e for e in bob_stream.events if isinstance(e, MessageChanged) and e.agent == "ann"
            ]
            await ann_stream.__aexit__()


async def test_a_cut_listening_connection_catches_up_on_what_it_missed(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    async with nodes(tmp_path, postgres.new_database(), 2) as (a, b):
        campaign_id = await _campaign(a, ("bob",), ("sue",))
        assert b.node_events is not None
        async with (
            EngineClient(b.socket_path, act_as="bob") as bob,
            EngineClient(b.socket_path, act_as="sue") as sue,
            Stream(bob) as bob_stream,
            Stream(sue) as sue_stream,
        ):
            await bob.set_status("free")
            listening = b.node_events
            pid = await listening.connection.fetchval("SELECT pg_backend_pid()")
            # Node B's listener is cut and node A assigns a mail meanwhile: B's consoles
            # hear nothing of it while the connection is down.
            listening.listening.clear()
            b._tasks.pop("router").cancel()  # node A routes it: B hears of it from A alone
            async with a.db.engine.connect() as conn:
                from sqlalchemy import text

                await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            await ingest(a, campaign_id, 0, 1)
            assigned = await eventually(
                bob.interactions, lambda rows: len(rows) == 1, what="the mail assigned"
            )
            # Back within the check interval: the missed assignment reaches bob's stream on
            # B, and the supervisor's queue and grid are published again.
            await bob_stream.until(
                lambda e: (
                    isinstance(e, InteractionChanged)
                    and e.interaction.id == assigned[0].id
                    and e.interaction.agent == "bob"
                ),
                "the missed assignment, published after the catch-up",
            )
            assert listening.catch_ups == 1
            await sue_stream.until(lambda e: isinstance(e, QueueChanged), "the queue again")
            new_pid = await listening.connection.fetchval("SELECT pg_backend_pid()")
            assert new_pid != pid
            # A later change still arrives the ordinary way.
            before = len(bob_stream.events)
            await ingest(a, campaign_id, 10, 1)
            await bob_stream.until(
                lambda e: (
                    isinstance(e, InteractionChanged)
                    and e.interaction.id != assigned[0].id
                    and e.interaction.agent == "bob"
                ),
                "a later assignment, heard through the new connection",
            )
            assert len(bob_stream.events) > before
