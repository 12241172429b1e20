"""The persistent outbox against a real SMTP server: deferrals retried and delivered once,
permanent refusals shown with the server's words, and a SIGKILL mid-send loses nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from engine.api.schemas import CampaignPatch, UserIn
from engine.client import EngineClient
from engine.config import Settings
from engine.engine import Engine
from tests import db_probe
from tests.engine_fixtures import World, engine_settings, eventually, with_database
from tests.mail_factory import customer_mail
from tests.servers import DovecotServer, SmtpSink


async def assigned_interaction(world: World, agent: EngineClient) -> int:
    world.dovecot.append(world.mailbox, customer_mail("Where is my parcel", "Hello?"))
    await agent.set_status("free")
    [row] = await eventually(agent.interactions, lambda rows: len(rows) == 1)
    return row.id


async def test_421_and_450_are_retried_and_delivered_once(world: World) -> None:
    world.sink.fail_next(1, "421 4.3.2 shutting down, come back later", stage="mail")
    world.sink.fail_next(1, "450 4.7.1 greylisted, try again later", stage="data")
    async with world.client("agent1") as agent:
        interaction_id = await assigned_interaction(world, agent)
        await agent.reply(interaction_id, "It left our warehouse today.")
        detail = await eventually(
            lambda: agent.interaction(interaction_id),
            lambda d: d.messages[-1].state == "sent",
            what="delivery after two deferrals",
        )
    assert detail.messages[-1].error == ""
    await world.sink.await_count(1)
    time.sleep(0.5)
    assert len(world.sink.messages) == 1
    assert world.sink.pending_failures == 0


async def test_550_fails_for_good_with_the_servers_reason(world: World) -> None:
    world.sink.fail_next(1, "550 5.1.1 <carol@example.net>: no such user", stage="rcpt")
    async with world.client("agent1") as agent:
        interaction_id = await assigned_interaction(world, agent)
        await agent.reply(interaction_id, "Hello")
        detail = await eventually(
            lambda: agent.interaction(interaction_id),
            lambda d: d.messages[-1].state == "failed",
            what="a permanent failure",
        )
    assert "550" in detail.messages[-1].error and "no such user" in detail.messages[-1].error
    assert world.sink.messages == []


def outbox_states(db: Settings) -> Counter[str]:
    rows = db_probe.rows(db, "SELECT state FROM messages WHERE direction = 'outbound'")
    return Counter(state for (state,) in rows)


def start_engine(home: Path, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "postdesk.cli", "--data-dir", str(home), "engine"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=with_database(home, dict(os.environ)),
        )


def _accepts(path: Path) -> bool:
    """The socket listens: it exists and a connection is taken (the engine binds it, sets its
    mode, then listens; a connect in between is refused)."""
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(str(path))
        except ConnectionRefusedError:
            return False
    return True


async def wait_for_socket(path: Path, engine: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while not _accepts(path):
        assert engine.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "engine socket never appeared"
        time.sleep(0.05)


async def test_sigkill_while_sending_200_delivers_each_once(
    dovecot: DovecotServer, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    total = 200
    home, log = tmp_path / "home", tmp_path / "engine.log"
    settings = engine_settings(home)
    provisioning = Engine(settings, run_mail=False)
    await provisioning.start()
    mailbox = dovecot.new_mailbox("outbox")
    async with EngineClient(provisioning.socket_path) as operator:
        await operator.add_user(UserIn(username="agent1"))
        await operator.add_campaign(
            mailbox.campaign("Support", smtp_host=smtp_sink.host, smtp_port=smtp_sink.port)
        )
        await operator.add_member("Support", "agent1")
    await provisioning.stop()
    dovecot.append(mailbox, customer_mail("Many answers", "Please write often"))
    smtp_sink.data_delay = 0.04  # slower than queueing: a backlog builds up in the outbox

    first = start_engine(home, log)
    try:
        await wait_for_socket(settings.socket, first, log)
        async with EngineClient(settings.socket, act_as="agent1") as agent:
            await agent.set_status("free")
            [row] = await eventually(agent.interactions, lambda rows: len(rows) == 1)
            for n in range(total):
                await agent.reply(row.id, f"Answer number {n}")
        deadline = time.monotonic() + 60
        while len(smtp_sink.messages) < 100:
            assert time.monotonic() < deadline, "sending never started"
            time.sleep(0.005)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    at_kill = outbox_states(settings)
    delivered_at_kill = len(smtp_sink.messages)
    assert delivered_at_kill < total, "everything was sent before the kill"
    assert at_kill["queued"] + at_kill["sending"] > 1, f"no backlog at the kill: {at_kill}"

    second = start_engine(home, log)
    try:
        deadline = time.monotonic() + 120
        while outbox_states(settings)["sent"] < total:
            assert second.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"not all sent: {outbox_states(settings)}"
            time.sleep(0.05)
        time.sleep(0.5)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(15)
    ids = Counter(m.message["Message-ID"] for m in smtp_sink.messages)
    bodies = {
        m.message.get_body(("plain",)).get_content().split("\n")[0] for m in smtp_sink.messages
    }
    duplicates = sum(n - 1 for n in ids.values())
    assert len(ids) == total and bodies == {f"Answer number {n}" for n in range(total)}
    # Only a message in the middle of its SMTP transaction at the kill can arrive twice.
    assert duplicates <= 1, (duplicates, at_kill)
    print(f"kill at {delivered_at_kill} delivered, states {dict(at_kill)}; duplicates {duplicates}")


async def test_sent_mail_is_copied_to_the_imap_sent_folder(world: World) -> None:
    await world.operator.update_campaign("Support", CampaignPatch(imap_sent_folder="Sent"))
    async with world.client("agent1") as agent:
        interaction_id = await assigned_interaction(world, agent)
        await agent.reply(interaction_id, "A copy of this goes to Sent.")
        await world.sink.await_count(1)
    deadline = time.monotonic() + 10
    while True:
        try:
            if world.dovecot.count(world.mailbox, "Sent") == 1:
                break
        except Exception:  # the folder does not exist until the first copy
            pass
        assert time.monotonic() < deadline, "no copy in the Sent folder"
        await asyncio.sleep(0.1)
