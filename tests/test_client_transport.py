"""The engine client's own HTTP transport (h11) and NDJSON event stream against real engines.

What the API tests do not reach: chunked bodies, an engine that goes away in the middle of a
call or of the event stream, calls that share one client at the same time, large bodies both
ways, and refusals that must arrive as the engine's words rather than as a broken pipe.

The engine's aiohttp routes all answer with a Content-Length, so for chunked answers the client
talks to the real engine through `ChunkingRelay`: a small aiohttp server on its own Unix socket
that forwards each request to the engine and streams the answer back in chunks.
"""

from __future__ import annotations

import asyncio
import random
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from engine.api.schemas import CampaignIn, Hello, UserIn, encode
from engine.client import EngineClient, EngineUnavailable, Invalid, NotFound
from engine.client.transport import UnixTransport
from engine.engine import Engine
from tests.engine_fixtures import World, engine_settings, eventually

ServerHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
ATTACHMENT = random.Random(42).randbytes(6 * 1024 * 1024 + 123)  # binary, several MB


class ChunkingRelay:
    """Forwards requests to the engine; answers with Transfer-Encoding: chunked.

    With `cut_after` set, the next answer stops after that many body bytes and the relay hangs
    up, as an engine that dies halfway through writing would.
    """

    CHUNK = 4096

    def __init__(self, engine_socket: Path, socket_path: Path) -> None:
        self.engine_socket = engine_socket
        self.socket_path = socket_path
        self.cut_after: int | None = None
        self.chunked_answers = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        async with (
            aiohttp.ClientSession(
                connector=aiohttp.UnixConnector(path=str(self.engine_socket))
            ) as session,
            session.request(
                request.method,
                f"http://postdesk{request.path_qs}",
                headers=headers,
                data=await request.read(),
            ) as upstream,
        ):
            body = await upstream.read()
            answer = web.StreamResponse(status=upstream.status)
            answer.content_type = upstream.content_type
            answer.enable_chunked_encoding()
            await answer.prepare(request)
            cut, self.cut_after = self.cut_after, None
            for start in range(0, len(body), self.CHUNK):
                if cut is not None and start >= cut:
                    assert request.transport is not None
                    request.transport.close()
                    return answer
                await answer.write(body[start : start + self.CHUNK])
            await answer.write_eof()
            self.chunked_answers += 1
            return answer

    @asynccontextmanager
    async def running(self) -> AsyncIterator[ChunkingRelay]:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        await web.UnixSite(runner, str(self.socket_path)).start()
        try:
            yield self
        finally:
            await runner.cleanup()


@asynccontextmanager
async def relay_to(engine: Engine, tmp_path: Path) -> AsyncIterator[ChunkingRelay]:
    async with ChunkingRelay(engine.socket_path, tmp_path / "relay.sock").running() as relay:
        yield relay


def mail_with_big_attachment() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Carol Customer <carol@example.net>"
    msg["To"] = "support@postdesk.test"
    msg["Subject"] = "Scans of the damaged parcel"
    msg["Message-ID"] = make_msgid(domain="example.net")
    msg.set_content("The scans are attached.")
    msg.add_attachment(ATTACHMENT, maintype="image", subtype="tiff", filename="scans.tiff")
    return msg.as_bytes()


# ---- framing ----


async def test_chunked_answers_are_read_whole(engine: Engine, tmp_path: Path) -> None:
    async with EngineClient(engine.socket_path) as operator:
        await operator.add_user(UserIn(username="agent1", roles=["agent"]))
        for n in range(40):  # a users list longer than one chunk
            await operator.add_user(UserIn(username=f"user{n:02d}", display_name="x" * 200))
    async with relay_to(engine, tmp_path) as relay:
        raw = await UnixTransport(relay.socket_path).request("GET", "/api/v1/users")
        assert raw.status == 200 and raw.headers["transfer-encoding"] == "chunked"
        assert len(raw.body) > 2 * ChunkingRelay.CHUNK

        async with EngineClient(relay.socket_path) as operator:
            users = await operator.users()
            assert len(users) == 41 and users[-1].username == "user39"
        async with EngineClient(relay.socket_path, act_as="agent1") as agent:
            assert (await agent.me()).username == "agent1"
        async with EngineClient(relay.socket_path, act_as="nobody") as nobody:
            with pytest.raises(NotFound, match="no Postdesk user 'nobody'"):
                await nobody.me()  # an error answer, chunked too
        assert relay.chunked_answers >= 4


async def test_an_answer_cut_off_midway_is_engine_unavailable(
    engine: Engine, tmp_path: Path
) -> None:
    async with EngineClient(engine.socket_path) as operator:
        for n in range(40):
            await operator.add_user(UserIn(username=f"user{n:02d}", display_name="x" * 200))
    async with relay_to(engine, tmp_path) as relay, EngineClient(relay.socket_path) as client:
        relay.cut_after = 2 * ChunkingRelay.CHUNK
        with pytest.raises(EngineUnavailable, match="not reachable"):
            await client.users()
        assert len(await client.users()) == 40  # the next call gets a new connection


# ---- the engine going away ----


async def test_no_engine_is_engine_unavailable(tmp_path: Path) -> None:
    missing = EngineClient(tmp_path / "missing.sock")
    with pytest.raises(EngineUnavailable):
        await missing.me()
    with pytest.raises(EngineUnavailable):
        await anext(missing.events())

    stale = tmp_path / "stale.sock"  # left behind by an engine that died: connect is refused
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(stale))
    refused = EngineClient(stale)
    with pytest.raises(EngineUnavailable):
        await refused.me()
    with pytest.raises(EngineUnavailable):
        await anext(refused.events())


def silent_server() -> tuple[asyncio.Event, asyncio.Event, ServerHandler]:
    """A server that accepts and never says a word; events: accepted, and hung up on."""
    accepted, hung_up = asyncio.Event(), asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.set()
        try:
            await reader.read()  # until the other side hangs up
        finally:
            writer.close()
            await writer.wait_closed()
            hung_up.set()

    return accepted, hung_up, handle


async def test_an_engine_that_never_answers_times_out_as_unavailable(tmp_path: Path) -> None:
    accepted, hung_up, handle = silent_server()
    async with await asyncio.start_unix_server(handle, str(tmp_path / "silent.sock")):
        transport = UnixTransport(tmp_path / "silent.sock", timeout=0.3)
        with pytest.raises(EngineUnavailable, match=r"did not answer GET /api/v1/me within 0\.3"):
            await transport.request("GET", "/api/v1/me")
        assert accepted.is_set()
        await asyncio.wait_for(hung_up.wait(), 5)  # the client closed its connection


@contextmanager
def engine_process(home: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The engine as its own process, so that it can be killed like a crashed one."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "postdesk.cli", "--data-dir", str(home), "engine"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()


async def test_engine_killed_in_the_middle_of_a_call(tmp_path: Path) -> None:
    """A call in flight and the event stream both end in EngineUnavailable, nothing raw."""
    reached, hung_up, imap_that_never_greets = silent_server()
    imap = await asyncio.start_server(imap_that_never_greets, "127.0.0.1", 0)
    port = imap.sockets[0].getsockname()[1]
    home = tmp_path / "home"
    async with imap:
        with engine_process(home) as proc:
            client = EngineClient(engine_settings(home).socket)

            async def answering() -> bool:
                try:
                    await client.me()
                except EngineUnavailable:
                    return False
                return True

            await eventually(answering, bool, what="the engine process to answer")
            await client.add_campaign(
                CampaignIn(
                    name="Silent",
                    email_address="silent@postdesk.test",
                    receive_emails=False,
                    imap_host="127.0.0.1",
                    imap_port=port,
                    imap_security="plain",
                    smtp_host="127.0.0.1",
                    smtp_port=port,
                    smtp_security="plain",
                    check=False,  # the silent server is for the connection test below
                )
            )
            events = client.events()
            assert isinstance(await anext(events), Hello)
            # The connection test waits for the IMAP greeting (15 s): the engine is mid-call.
            call = asyncio.create_task(client.test_campaign("Silent"))
            await asyncio.wait_for(reached.wait(), 20)
            proc.send_signal(signal.SIGKILL)
            with pytest.raises(EngineUnavailable):
                await call
            with pytest.raises(EngineUnavailable, match="event stream lost"):
                await anext(events)
            await events.aclose()
            await client.close()
        await asyncio.wait_for(hung_up.wait(), 5)


async def test_event_stream_ends_when_the_engine_stops(tmp_path: Path) -> None:
    engine = Engine(engine_settings(tmp_path / "home"))
    await engine.start()
    try:
        async with EngineClient(engine.socket_path) as client:
            events = client.events()
            assert isinstance(await anext(events), Hello)
            await engine.stop()
            with pytest.raises(EngineUnavailable, match="closed by the engine"):
                await anext(events)
            with pytest.raises(EngineUnavailable):
                await client.me()
    finally:
        await engine.stop()


async def test_a_refused_event_stream_says_why(operator: EngineClient, engine: Engine) -> None:
    async with EngineClient(engine.socket_path, act_as="nobody") as nobody:
        with pytest.raises(NotFound, match="no Postdesk user 'nobody'") as refused:
            await anext(nobody.events())
    assert refused.value.status == 404


async def test_close_ends_an_open_event_stream_and_the_client_stays_usable(
    operator: EngineClient,
) -> None:
    events = operator.events()
    assert isinstance(await anext(events), Hello)
    await operator.close()
    with pytest.raises(EngineUnavailable, match="closed by the client"):
        await anext(events)
    assert (await operator.me()).roles


# ---- sharing one client ----


async def test_concurrent_calls_on_one_client_get_their_own_answers(
    operator: EngineClient,
) -> None:
    names = [f"agent{n:02d}" for n in range(12)]
    added = await asyncio.gather(
        *(operator.add_user(UserIn(username=name, roles=["agent"])) for name in names)
    )
    assert [user.username for user in added] == names

    events = operator.events()
    assert isinstance(await anext(events), Hello)  # a stream open on the same client meanwhile
    calls = []
    for n in range(60):
        match n % 4:
            case 0:
                calls.append(operator.users())
            case 1:
                calls.append(operator.me())
            case 2:
                calls.append(operator.quarantined(1000 + n))
            case _:
                calls.append(operator.break_reasons())
    results = await asyncio.gather(*calls, return_exceptions=True)
    for n, result in enumerate(results):
        match n % 4:
            case 0:
                assert isinstance(result, list) and len(result) == len(names)
            case 1:
                assert not isinstance(result, BaseException) and hasattr(result, "roles")
            case 2:
                assert isinstance(result, NotFound) and str(1000 + n) in result.message
            case _:
                assert isinstance(result, list) and "Lunch" in result
    await events.aclose()


# ---- large bodies ----


async def test_large_attachment_download_and_upload(world: World, tmp_path: Path) -> None:
    world.dovecot.append(world.mailbox, mail_with_big_attachment())
    async with world.client("agent1") as agent:
        await agent.set_status("free")
        [row] = await eventually(agent.interactions, lambda rows: len(rows) == 1, what="ingest")
        [message] = (await agent.interaction(row.id)).messages
        [attachment] = message.attachments
        assert attachment.size == len(ATTACHMENT)
        assert await agent.attachment(attachment.id) == ATTACHMENT

        upload = await agent.upload("scans back.tiff", ATTACHMENT, "image/tiff")
        assert (upload.filename, upload.size) == ("scans back.tiff", len(ATTACHMENT))

    async with (
        relay_to(world.engine, tmp_path) as relay,
        EngineClient(relay.socket_path, act_as="agent1") as agent,
    ):
        assert await agent.attachment(attachment.id) == ATTACHMENT  # chunked this time
        assert relay.chunked_answers == 1


@pytest.fixture
async def small_upload_engine(tmp_path: Path) -> AsyncIterator[Engine]:
    settings = engine_settings(tmp_path / "home")
    settings.max_attachment_bytes = 64 * 1024
    engine = Engine(settings)
    await engine.start()
    try:
        yield engine
    finally:
        await engine.stop()


async def test_an_upload_over_the_limit_is_refused_in_the_engines_words(
    small_upload_engine: Engine,
) -> None:
    """The engine answers before reading the body; the client reports that, not a broken pipe."""
    async with EngineClient(small_upload_engine.socket_path) as operator:
        await operator.add_user(UserIn(username="agent1", roles=["agent"]))
    async with EngineClient(small_upload_engine.socket_path, act_as="agent1") as agent:
        with pytest.raises(Invalid, match="larger than the 65536 bytes limit"):
            await agent.upload("big.bin", ATTACHMENT)
        assert (await agent.upload("small.bin", b"x" * 1000)).size == 1000


async def test_a_quiet_event_stream_stays_open_on_heartbeats(
    engine: Engine, operator: EngineClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine writes an empty line when it has nothing to say, as often as its hello
    says; the client only gives up when even those stop."""
    import engine.client.transport as transport

    engine.settings.event_heartbeat = 0.2
    monkeypatch.setattr(transport, "LATE", 0.4)  # silent for 0.6 s: lost
    events = operator.events()
    hello = await anext(events)
    assert isinstance(hello, Hello) and hello.heartbeat == 0.2
    waiting = asyncio.ensure_future(anext(events))
    await asyncio.sleep(2.0)  # more than three times the silence limit, with heartbeats only
    assert not waiting.done()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting


async def test_an_event_stream_that_falls_silent_is_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stream that started and then stops sending (not even the heartbeats its hello
    announced) is a lost engine."""
    import engine.client.transport as transport

    monkeypatch.setattr(transport, "LATE", 0.1)  # a 0.2 s heartbeat: silent for 0.3 s
    finished = asyncio.Event()

    async def head_then_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        hello = encode(Hello(username="x", heartbeat=0.2)) + b"\n"
        writer.write(b"%x\r\n%s\r\n" % (len(hello), hello))
        await writer.drain()
        await finished.wait()
        writer.close()
        await writer.wait_closed()

    async with await asyncio.start_unix_server(head_then_nothing, str(tmp_path / "quiet.sock")):
        client = EngineClient(tmp_path / "quiet.sock")
        events = client.events()
        assert isinstance(await anext(events), Hello)
        with pytest.raises(EngineUnavailable, match=r"sent nothing for 0\.3 s"):
            await anext(events)
        await client.close()
        finished.set()
        await asyncio.sleep(0.05)  # let the server's side close its end
