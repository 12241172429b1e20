"""A mailbox survives its IMAP server going away: the engine reconnects and loses nothing.

A private Dovecot (not the session one, which other tests share) runs on a fixed port with its
own base_dir, so it can be taken down and started again on the same address with the same
accounts, maildirs, UIDs and UIDVALIDITY, like a real server being restarted. The engine is
idling on its connection when that happens (IDLE), which is where a mailbox spends its life:

* ``stop``: an orderly shutdown; Dovecot sends ``* BYE Server shutting down.`` and hangs up.
* ``kill``: a crash (SIGKILL to every Dovecot process); the connection just closes, no BYE.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

import pytest

from engine.api.schemas import CampaignPatch
from engine.client import EngineClient
from engine.engine import Engine
from tests.engine_fixtures import eventually, provision, stored_message_ids
from tests.mail_factory import numbered_mail
from tests.servers import DovecotServer, SmtpSink, free_port, start_dovecot


@pytest.mark.parametrize("outage", ["stop", "kill"])
async def test_mailbox_reconnects_after_imap_server_restart(
    engine: Engine,
    operator: EngineClient,
    smtp_sink: SmtpSink,
    tmp_path: Path,
    outage: Literal["stop", "kill"],
) -> None:
    base_dir = tmp_path / "dc"
    port = free_port()
    dovecot = start_dovecot(base_dir, port=port)
    try:
        world = await provision(engine, operator, dovecot, smtp_sink)
        key = f"mailbox:{world.campaign.id}"
        dovecot.append(world.mailbox, numbered_mail(1))
        await eventually(
            lambda: operator.interactions(scope="all"),
            lambda rows: len(rows) == 1,
            what="the first message to be ingested",
        )
        assert key not in engine.service_errors

        # The server goes away under the engine's idling connection and comes back on the same
        # port with the same data. Nothing can be APPENDed while it is down.
        if outage == "stop":
            dovecot.stop()
        else:
            dovecot.kill()
        assert not dovecot.running
        down = time.monotonic()
        dovecot = start_dovecot(base_dir, port=port)
        assert dovecot.port == port
        dovecot.append(world.mailbox, numbered_mail(2))
        assert dovecot.count(world.mailbox) == 2  # the first one survived the restart

        rows = await eventually(
            lambda: operator.interactions(scope="all"),
            lambda rows: len(rows) == 2,
            timeout=30,
            what="the engine to reconnect and ingest the second message",
        )
        recovered = time.monotonic() - down
        # The engine noticed the dropped connection (and recorded it) and reconnected on its
        # first retry (1 s backoff) rather than when its IDLE or a command timed out.
        assert "lost" in engine.service_errors.get(key, ""), engine.service_errors
        assert recovered < 5, f"took {recovered:.1f}s to reconnect"
        assert sorted(r.subject for r in rows) == ["Question 1", "Question 2"]
        assert sum(r.message_count for r in rows) == 2
        # Exactly two messages stored: the first was not fetched again after reconnecting.
        assert sorted(stored_message_ids(engine)) == [
            "reconnect-1@example.net",
            "reconnect-2@example.net",
        ]
    finally:
        dovecot.stop()


async def test_a_campaign_saved_many_times_in_a_row_restarts_its_mailbox_each_time(
    engine: Engine, operator: EngineClient, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    """Every save restarts the campaign's mailbox (new settings apply at once). A cancellation
    swallowed inside aioimaplib (Python 3.11's wait_for) left the old task going on to IDLE,
    and the save then waited on it until the client gave up after 30 s: about one save in
    fifteen, while the mailbox was between a fetch and IDLE."""
    world = await provision(engine, operator, dovecot, smtp_sink)
    for n in range(100):  # the mailbox's own settings: each save reconnects it
        folder = CampaignPatch(imap_folder="INBOX", from_name=f"Team {n}")
        await operator.update_campaign(world.campaign.name, folder)
    dovecot.append(world.mailbox, numbered_mail(1))
    await eventually(
        lambda: operator.interactions(scope="all"),
        lambda rows: len(rows) == 1,
        what="the restarted mailbox to ingest new mail",
    )
    assert len([name for name in engine._tasks if name.startswith("mailbox:")]) == 1
