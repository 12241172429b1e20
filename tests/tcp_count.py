"""A TCP relay in front of a real server that counts the connections open through it at once:
what a server's cap on simultaneous connections per account sees."""

from __future__ import annotations

import asyncio
import contextlib

from tests.servers import LOOPBACK


class ConnectionCounter:
    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.host = LOOPBACK
        self.port = 0
        self.open = 0
        self.peak = 0  # the most open at once
        self.total = 0
        self._server: asyncio.Server | None = None
        self._relays: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> ConnectionCounter:
        self._server = await asyncio.start_server(self._relay, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._relays):  # the relays end before the server that runs them
            task.cancel()
        await asyncio.gather(*self._relays, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)

    def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.ensure_future(self._run(reader, writer))
        self._relays.add(task)
        task.add_done_callback(self._relays.discard)

    async def _run(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open += 1
        self.total += 1
        self.peak = max(self.peak, self.open)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
            await asyncio.gather(
                _pipe(reader, up_writer), _pipe(up_reader, writer), return_exceptions=True
            )
        finally:
            self.open -= 1
            writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()
