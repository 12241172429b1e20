"""STARTTLS response injection: whatever a server (or a man in the middle) sends after
agreeing to STARTTLS arrived in clear text and must never be read as if it came through TLS.

The server here is a real socket server on loopback that speaks just enough IMAP to agree to
STARTTLS and then appends a forged response in the same packet or in the next one.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator

import pytest

from data.models import Security
from engine.services.inbound.imap import ImapAccount, ImapError, connect


async def rogue_imap(extra: bytes, *, separately: bool) -> asyncio.Server:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n")
        while line := await reader.readline():
            tag, _, command = line.decode(errors="replace").strip().partition(" ")
            if command.upper() == "CAPABILITY":
                writer.write(f"* CAPABILITY IMAP4rev1 STARTTLS\r\n{tag} OK done\r\n".encode())
            elif command.upper() == "STARTTLS":
                writer.write(f"{tag} OK Begin TLS negotiation now\r\n".encode())
                if separately:
                    await writer.drain()
                    await asyncio.sleep(0.05)
                writer.write(extra)
            else:
                writer.write(f"{tag} BAD unexpected\r\n".encode())
            await writer.drain()
        writer.close()

    return await asyncio.start_server(serve, "127.0.0.1", 0)


@pytest.fixture(params=[False, True], ids=["same packet", "next packet"])
async def server(request: pytest.FixtureRequest) -> AsyncIterator[asyncio.Server]:
    forged = b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nA002 OK LOGIN completed\r\n"
    srv = await rogue_imap(forged, separately=request.param)
    try:
        yield srv
    finally:
        srv.close()
        await srv.wait_closed()


async def test_data_after_the_starttls_ok_is_refused(
    server: asyncio.Server, request: pytest.FixtureRequest
) -> None:
    port = server.sockets[0].getsockname()[1]
    account = ImapAccount(
        host="127.0.0.1",
        port=port,
        security=Security.STARTTLS,
        username="victim",
        password="secret",
        folder="INBOX",
        tls_verify=True,
    )
    if "same packet" in request.node.callspec.id:
        with pytest.raises(ImapError, match="after agreeing to STARTTLS"):
            await connect(account, timeout=5)
    else:
        # Arriving once the handshake has begun, the forged bytes are read as a (broken) TLS
        # record: the connection fails either way, and no forged response is ever believed.
        with pytest.raises((ImapError, ssl.SSLError)):
            await connect(account, timeout=5)
