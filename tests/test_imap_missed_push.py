"""Mail whose IDLE push never reaches the engine is still read, at the mailbox's next check.

Found in CI: under load Dovecot woke the engine's IDLE for a new mail, found nothing to tell
yet, and would only have told at its own check 30 s later; the engine, trusting IDLE alone,
would have waited 25 minutes had Dovecot not looked again. So IDLE now ends every
`idle_check_seconds` for a search of the mailbox's own. Here a proxy between the engine and
Dovecot loses all the server says during IDLE, as a server that misses its push (and sends no
keepalive), or a middlebox that drops them, would: the server has told, and will not again.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from engine.client import EngineClient
from engine.engine import Engine
from tests.engine_fixtures import engine_settings, eventually
from tests.mail_factory import numbered_mail
from tests.servers import DovecotServer, SmtpSink

_NEWS = re.compile(rb"\* \d+ EXISTS")


class PushEater:
    """A TCP proxy to an IMAP server that drops all it says unasked while the client idles:
    its news, and its keepalives too (Dovecot's `* OK Still here` would wake the client)."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.eaten = 0  # news of new mail lost
        self.idles = 0  # IDLE commands seen
        self.idling = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(*self.upstream)
        idle = [False]

        async def upward() -> None:  # client -> server: notes IDLE and DONE
            while line := await client_r.readline():
                word = line.rstrip(b"\r\n").rsplit(b" ", 1)[-1].upper()
                if word == b"IDLE":
                    idle[0] = True
                    self.idles += 1
                    self.idling.set()
                elif line.rstrip(b"\r\n").upper() == b"DONE":
                    idle[0] = False
                    self.idling.clear()
                server_w.write(line)
                await server_w.drain()

        async def downward() -> None:  # server -> client: drops pushes during IDLE
            pending = b""
            while chunk := await server_r.read(65536):
                if not idle[0] and not pending:
                    client_w.write(chunk)
                else:
                    pending += chunk
                    *lines, pending = pending.split(b"\r\n")
                    for line in lines:
                        if idle[0] and line.startswith(b"* "):
                            self.eaten += bool(_NEWS.fullmatch(line))
                        else:
                            client_w.write(line + b"\r\n")
                    if not idle[0]:
                        client_w.write(pending)
                        pending = b""
                await client_w.drain()

        pumps = [asyncio.create_task(upward()), asyncio.create_task(downward())]
        self._tasks.update(pumps)
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in pumps:
                task.cancel()
                self._tasks.discard(task)
            for writer in (client_w, server_w):
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()


@pytest.fixture
async def eater(dovecot: DovecotServer) -> AsyncIterator[PushEater]:
    proxy = PushEater(dovecot.host, dovecot.port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


async def test_mail_whose_push_was_lost_is_read_at_the_next_check(
    tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink, eater: PushEater
) -> None:
    engine = Engine(engine_settings(tmp_path / "home", idle_check_seconds=2.0))
    await engine.start()
    try:
        async with EngineClient(engine.socket_path) as operator:
            mailbox = dovecot.new_mailbox("support")
            campaign = await operator.add_campaign(
                replace(mailbox, port=eater.port).campaign(
                    "Support", smtp_host=smtp_sink.host, smtp_port=smtp_sink.port, inbound="imap"
                )
            )
            # Mail lands while the engine idles, one at a time, until a push was lost (the
            # first normally is: the engine idles nearly all the time); each must be read.
            n = 0
            while eater.eaten == 0:
                n += 1
                assert n <= 5, f"no push was lost in {n - 1} mails: the proxy is not working"
                await asyncio.wait_for(eater.idling.wait(), 60)
                await asyncio.to_thread(dovecot.append, mailbox, numbered_mail(n))
                rows = await eventually(
                    lambda: operator.interactions(scope="all"),
                    lambda rows, n=n: len(rows) == n,
                    what=f"mail {n} to be read",
                )
            assert sorted(r.subject for r in rows) == [f"Question {i}" for i in range(1, n + 1)]
            # Then the engine idles again: it checks between IDLEs, it does not poll instead.
            idles = eater.idles
            await eventually(
                lambda: asyncio.sleep(0, eater.idles), lambda seen: seen > idles, what="an IDLE"
            )
            assert f"mailbox:{campaign.id}" not in engine.service_errors, engine.service_errors
    finally:
        await engine.stop()
