"""HTTP/1.1 plumbing of the engine client, over the engine's Unix socket.

Every console imports the client on start, so the transport is chosen for its import cost:
aiohttp's client (with attrs, yarl, multidict, ...) cost about 240 ms of the console's cold
start, and a WebSocket client another 45 ms. Everything is framed by h11, a sans-I/O HTTP/1.1
state machine (Content-Length and chunked bodies), over asyncio streams. The event stream is
one long GET whose chunked body carries one JSON event per line (NDJSON); the engine writes
an empty line when it has sent this console nothing for the heartbeat interval its hello
names, so a stream silent for longer than `silence_for` that interval (`SILENCE` until the
hello) is a lost engine. The engine's server stays aiohttp.

One Unix connection per request (`Connection: close`): connecting to a local socket costs
microseconds, and calls that the console's workers make at the same time never share a
connection, so there is no pool to keep correct. Every failure to reach the engine, or the
engine going away mid-call, becomes `EngineUnavailable`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import h11

from engine.client.errors import EngineUnavailable, error_for

HOST = "postdesk"  # any name will do on a Unix socket; HTTP/1.1 requires one
READ_SIZE = 256 * 1024
MAX_MESSAGE = 4 * 1024 * 1024  # largest event line
HEARTBEAT = 20.0  # the engine's default: an empty line after this long without an event...
SILENCE = HEARTBEAT * 1.5  # ...so a stream silent this long has lost its engine
LATE = 5.0  # seconds a loaded machine may delay a heartbeat, whatever the interval


def silence_for(heartbeat: float) -> float:
    """How long a stream whose engine announced `heartbeat` (0: did not) may say nothing:
    a heartbeat and a half, and never less than one plus `LATE`. A short interval (tests,
    a tuned engine) must not turn a few busy seconds into a lost engine."""
    if heartbeat <= 0:
        return SILENCE
    return max(heartbeat * 1.5, heartbeat + LATE)


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
        self._hung_up: set[asyncio.StreamWriter] = set()  # event streams close() ended

    async def close(self) -> None:
        """Hang up whatever is in flight (those calls raise EngineUnavailable); stays usable."""
        for writer in list(self._writers):
            self._hung_up.add(writer)
            writer.transport.abort()

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
    async def messages(
        self, target: str, heartbeat: Callable[[], float] = lambda: 0.0
    ) -> AsyncGenerator[str, None]:
        """Yield the lines of the event stream until it ends, then raise EngineUnavailable.

        `heartbeat()`: the engine's heartbeat interval, asked before each read (the caller
        learns it from the first event; 0 until then). A refused stream raises the error for
        its status (Forbidden, NotFound, ...).
        """

        def limit() -> float:
            return silence_for(heartbeat())

        try:
            async with asyncio.timeout(self.timeout):
                reader, writer = await asyncio.open_unix_connection(str(self.socket_path))
        except OSError as exc:  # TimeoutError included
            raise EngineUnavailable(f"event stream lost: {exc}") from exc
        self._writers.add(writer)
        try:
            async for line in self._lines(reader, writer, target, limit):
                yield line
        except TimeoutError as exc:
            raise EngineUnavailable(
                f"event stream lost: the engine sent nothing for {limit():g} s"
            ) from exc
        except (OSError, h11.RemoteProtocolError) as exc:
            if writer in self._hung_up:
                raise EngineUnavailable("event stream closed by the client") from exc
            raise EngineUnavailable(f"event stream lost: {exc}") from exc
        finally:
            self._writers.discard(writer)
            self._hung_up.discard(writer)
            writer.transport.abort()

    async def _lines(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        target: str,
        silence: Callable[[], float],
    ) -> AsyncGenerator[str, None]:
        conn = h11.Connection(h11.CLIENT)
        headers = [("Host", HOST), ("Accept", "application/x-ndjson"), *self.headers]
        await _send(
            conn, writer, h11.Request(method="GET", target=_requote(target), headers=headers), None
        )
        status = 0
        pending = b""
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                async with asyncio.timeout(self.timeout if not status else silence()):
                    conn.receive_data(await reader.read(READ_SIZE))
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                pending += bytes(event.data)
                if status >= 400:
                    continue  # the error's body, read whole below
                *lines, pending = pending.split(b"\n")
                if len(pending) > MAX_MESSAGE:
                    raise EngineUnavailable("event stream lost: an event line is too long")
                for line in lines:
                    if line.strip():  # empty lines are the engine's heartbeat
                        yield line.decode()
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                if status >= 400:
                    raise error_for(status, pending)
                raise EngineUnavailable("event stream closed by the engine")


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
