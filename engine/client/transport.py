"""HTTP/1.1 and WebSocket plumbing of the engine client, over the engine's Unix socket.

Every console imports the client on start, so the transport is chosen for its import cost:
aiohttp's client (with attrs, yarl, multidict, ...) cost about 240 ms of the console's cold
start. Requests are framed by h11, a sans-I/O HTTP/1.1 state machine (Content-Length and chunked
bodies), over asyncio streams; the event stream is websockets' asyncio client. The engine's
server stays aiohttp.

One Unix connection per request (`Connection: close`): connecting to a local socket costs
microseconds, and calls that the console's workers make at the same time never share a
connection, so there is no pool to keep correct. Every failure to reach the engine, or the
engine going away mid-call, becomes `EngineUnavailable`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import h11
from websockets.asyncio.client import ClientConnection, unix_connect
from websockets.exceptions import (
    ConnectionClosedError,
    ConnectionClosedOK,
    InvalidHandshake,
    InvalidStatus,
)

from engine.client.errors import EngineUnavailable, error_for

HOST = "postdesk"  # any name will do on a Unix socket; HTTP/1.1 requires one
READ_SIZE = 256 * 1024
MAX_MESSAGE = 4 * 1024 * 1024  # largest event; aiohttp's client allowed as much
HEARTBEAT = 20.0  # ping the engine this often on the event stream...
PONG_WAIT = HEARTBEAT / 2  # ...and call the stream lost without a pong within this


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


class UnixTransport:
    """Requests and event streams to one engine socket, with fixed extra headers."""

    def __init__(
        self, socket_path: Path, headers: Sequence[tuple[str, str]] = (), *, timeout: float = 30
    ) -> None:
        self.socket_path = socket_path
        self.headers = list(headers)
        self.timeout = timeout
        self._writers: set[asyncio.StreamWriter] = set()
        self._streams: set[ClientConnection] = set()

    async def close(self) -> None:
        """Hang up whatever is in flight (those calls raise EngineUnavailable); stays usable."""
        for writer in list(self._writers):
            writer.transport.abort()
        for stream in list(self._streams):
            await stream.close()

    # ---- requests ----
    async def request(
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        content_type: str | None = None,
    ) -> Response:
        """Send one request and read the whole response, within the timeout."""
        try:
            async with asyncio.timeout(self.timeout):
                return await self._exchange(method, target, body, content_type)
        except TimeoutError as exc:  # before OSError: TimeoutError is one
            raise EngineUnavailable(
                f"the Postdesk engine did not answer {method} {target} within {self.timeout:g} s"
            ) from exc
        except (OSError, h11.RemoteProtocolError) as exc:
            raise EngineUnavailable(
                f"the Postdesk engine is not reachable at {self.socket_path}: {exc}"
            ) from exc

    async def _exchange(
        self, method: str, target: str, body: bytes | None, content_type: str | None
    ) -> Response:
        reader, writer = await asyncio.open_unix_connection(str(self.socket_path))
        self._writers.add(writer)
        try:
            conn = h11.Connection(h11.CLIENT)
            headers = [("Host", HOST), ("Connection", "close"), *self.headers]
            if content_type:
                headers.append(("Content-Type", content_type))
            if body is not None or method not in ("GET", "HEAD"):
                headers.append(("Content-Length", str(len(body or b""))))
            request = h11.Request(method=method, target=_requote(target), headers=headers)
            # The body goes out while the response is read: an engine that refuses a large
            # upload answers before reading it all, and that answer is what the caller needs.
            sending = asyncio.create_task(_send(conn, writer, request, body))
            sending.add_done_callback(_retrieve)
            try:
                return await _receive(conn, reader)
            finally:
                sending.cancel()
        finally:
            self._writers.discard(writer)
            # Not close(): that would first flush the rest of a body the engine has refused.
            writer.transport.abort()

    # ---- event stream ----
    async def messages(self, target: str) -> AsyncGenerator[str, None]:
        """Yield the text messages of a WebSocket until it closes, then raise EngineUnavailable.

        A refused handshake raises the error for its status (Forbidden, NotFound, ...).
        """
        try:
            async with unix_connect(
                str(self.socket_path),
                f"ws://{HOST}{_requote(target)}",
                additional_headers=self.headers,
                compression=None,  # a local socket: deflate would only cost CPU
                open_timeout=self.timeout,
                ping_interval=HEARTBEAT,
                ping_timeout=PONG_WAIT,
                max_size=MAX_MESSAGE,
                close_timeout=1,  # quitting must not wait 10 s on a hung engine
            ) as stream:
                self._streams.add(stream)
                try:
                    while True:
                        message = await stream.recv()
                        if isinstance(message, str):
                            yield message
                finally:
                    self._streams.discard(stream)
        except ConnectionClosedOK as exc:
            closer = "the engine" if exc.rcvd_then_sent else "the client"
            raise EngineUnavailable(f"event stream closed by {closer}") from exc
        except InvalidStatus as exc:
            raise error_for(exc.response.status_code, bytes(exc.response.body)) from exc
        except (OSError, ConnectionClosedError, InvalidHandshake) as exc:
            # TimeoutError (no handshake in time) is an OSError too.
            raise EngineUnavailable(f"event stream lost: {exc}") from exc


async def _send(
    conn: h11.Connection, writer: asyncio.StreamWriter, request: h11.Request, body: bytes | None
) -> None:
    writer.write(conn.send(request) or b"")
    if body:
        writer.write(conn.send(h11.Data(data=body)) or b"")
    writer.write(conn.send(h11.EndOfMessage()) or b"")
    await writer.drain()


async def _receive(conn: h11.Connection, reader: asyncio.StreamReader) -> Response:
    response: h11.Response | None = None
    chunks: list[bytes] = []
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            # b"" at the end of the stream: h11 then says whether the body was complete.
            conn.receive_data(await reader.read(READ_SIZE))
        elif isinstance(event, h11.Response):
            response = event
        elif isinstance(event, h11.Data):
            chunks.append(bytes(event.data))
        elif isinstance(event, h11.EndOfMessage):
            assert response is not None  # h11 sends no body events before the head
            headers = {
                name.decode("latin-1"): value.decode("latin-1") for name, value in response.headers
            }
            return Response(response.status_code, headers, b"".join(chunks))
        elif not isinstance(event, h11.InformationalResponse):  # 1xx: the answer follows
            raise h11.RemoteProtocolError(f"unexpected {event!r} from the engine")


def _retrieve(task: asyncio.Task[None]) -> None:
    # A body that could not be sent shows in the response (or its absence); mark the error seen.
    if not task.cancelled():
        task.exception()


def _requote(target: str) -> str:
    """Quote what is not allowed in a request target, keep what is (and existing %-escapes)."""
    return quote(target, safe="/?&=%:@!$'()*+,;~")
