"""Every mailbox's health on every engine node: a mailbox read by one node that cannot log in
is shown failing, with the server's words, to the supervisors and admins of the other node
too, live; and a node that no longer owns a mailbox cannot overwrite its owner's word.

Several nodes need PostgreSQL whatever the run: run once (tests/conftest.py: test_nodes_*)."""

from __future__ import annotations

from pathlib import Path

from msgspec import structs

from engine.api.schemas import MailboxChanged, MailboxHealth, UserIn
from engine.client import EngineClient
from tests import db_probe
from tests.engine_fixtures import eventually
from tests.nodes import Stream, nodes
from tests.postgres_server import PostgresServer
from tests.servers import DovecotServer


def _states(rows: list[MailboxHealth]) -> dict[str, str]:
    return {row.campaign_name: row.state for row in rows}


async def test_every_node_shows_every_mailboxs_health(
    tmp_path: Path, postgres: PostgresServer, dovecot: DovecotServer
) -> None:
    key = tmp_path / "secret.key"  # one key: each node can log in to every mailbox
    async with nodes(tmp_path, postgres.new_database(), 2, key_file=key) as (a, b):
        async with EngineClient(a.socket_path) as op:
            await op.add_user(UserIn(username="sue", display_name="Sue", roles=["supervisor"]))
        async with (
            EngineClient(a.socket_path, act_as="sue") as sue_a,
            EngineClient(b.socket_path, act_as="sue") as sue_b,
            Stream(sue_a) as on_a,
            Stream(sue_b) as on_b,
        ):
            async with EngineClient(a.socket_path) as op:
                await op.add_campaign(
                    dovecot.new_mailbox("good").campaign(
                        "Support", email_address="support@postdesk.test"
                    )
                )
                broken = dovecot.new_mailbox("broken")
                await op.add_campaign(
                    structs.replace(
                        broken.campaign("Billing", email_address="billing@postdesk.test"),
                        imap_password="not-the-password",
                    )
                )
            # The two nodes share the two mailboxes out, one each.
            await eventually(
                lambda: _readers(a, b), lambda r: r == [1, 1], what="one mailbox per node"
            )
            for client in (sue_a, sue_b):
                rows = await eventually(
                    client.mailboxes,
                    lambda rows: _states(rows) == {"Billing": "failing", "Support": "connected"},
                    what="both mailboxes' health on each node",
                )
                assert {r.campaign_name: r.error for r in rows}["Billing"]  # the server's words
            # Live, on both nodes' supervisor streams, whichever node reads Billing.
            for stream in (on_a, on_b):
                await stream.until(
                    lambda e: (
                        isinstance(e, MailboxChanged)
                        and e.mailbox.campaign_name == "Billing"
                        and e.mailbox.state == "failing"
                    ),
                    "Billing failing on the supervisor's stream",
                )
            # A node that does not own Billing's mailbox cannot overwrite its owner's word
            # (a late write of a node that just lost it, say).
            billing_id = _billing(a, b)
            other = b if billing_id in a.mailboxes._rows else a
            other.mailboxes.set(billing_id, "Billing", "connected")
            await other.mailboxes.store()
            other.mailboxes.forget(billing_id)
            stored = db_probe.rows(
                a.settings, "SELECT state FROM mailbox_health WHERE campaign_id = ?", billing_id
            )
            assert stored == [("failing",)]


async def _readers(*engines: object) -> list[int]:
    return [len(e.mailboxes._rows) for e in engines]  # type: ignore[attr-defined]


def _billing(*engines: object) -> int:
    for engine in engines:
        for campaign_id, row in engine.mailboxes._rows.items():  # type: ignore[attr-defined]
            if row.campaign_name == "Billing":
                return int(campaign_id)
    raise AssertionError("nobody reads Billing")
