"""An IMAP server that hangs up fails our commands at once, never after their timeouts.

aioimaplib only logs a lost connection. A command sent after the server hung up (the mailbox
loop going on to IDLE right after a fetch that the server's ``* BYE`` cut short) waited for
its timeout, and an IDLE's is minutes: the mailbox sat deaf while the restarted server filled
up (CI caught it in test_uidvalidity, about one run in ten). A real Dovecot is stopped under
a connection made the engine's way (`connect`), and every command then fails within a second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aioimaplib
import pytest
import pytest_asyncio

from data.models import Security
from engine.services.inbound.imap_protocol import ImapAccount, ImapError, connect
from tests.servers import DovecotServer, start_dovecot

PROMPT = 1.0  # seconds: the timeouts these commands would otherwise wait are 30 s and more


@pytest_asyncio.fixture
async def dovecot(tmp_path: Path) -> AsyncIterator[DovecotServer]:
    server = start_dovecot(tmp_path / "dc")
    try:
        yield server
    finally:
        server.stop()


@pytest_asyncio.fixture
async def client(dovecot: DovecotServer) -> aioimaplib.IMAP4:
    """Logged in the engine's way (`connect`), INBOX selected."""
    mailbox = dovecot.new_mailbox("hangup")
    account = ImapAccount(
        host=mailbox.host,
        port=mailbox.port,
        security=Security.PLAIN,
        username=mailbox.user,
        password=mailbox.password,
        folder="INBOX",
        tls_verify=False,
    )
    connected = await connect(account, timeout=60)
    assert (await connected.select("INBOX")).result == "OK"
    return connected


async def test_a_command_sent_after_the_server_hung_up_fails_at_once(
    dovecot: DovecotServer, client: aioimaplib.IMAP4
) -> None:
    dovecot.stop()
    await asyncio.sleep(0.2)  # the loop reads the server's BYE and the close
    for command in (client.noop(), client.uid_search("UID 1:*"), client.idle()):
        started = time.monotonic()
        with pytest.raises(ImapError, match="lost"):
            await asyncio.wait_for(command, 30)
        assert time.monotonic() - started < PROMPT


async def test_an_idle_under_way_when_the_server_dies_ends_at_once(
    dovecot: DovecotServer, client: aioimaplib.IMAP4
) -> None:
    idle = await client.idle_start(timeout=600)
    dovecot.kill()  # no BYE: the connection just closes
    started = time.monotonic()
    with pytest.raises(ImapError, match="lost"):
        await asyncio.wait_for(idle, 30)
    assert time.monotonic() - started < PROMPT
    with pytest.raises(ImapError):  # and nothing more is sent on it
        await asyncio.wait_for(client.noop(), 30)


async def test_a_live_connection_is_untouched(client: aioimaplib.IMAP4) -> None:
    """The check costs nothing while the server is there: commands answer as before."""
    assert (await client.noop()).result == "OK"
    assert (await client.logout()).result == "OK"
