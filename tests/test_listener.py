"""The control API's listener holds up against the people who can reach its socket.

Anyone in the socket group can connect, Postdesk user or not. These tests do what such a user
could: send half a request and wait, open a thousand connections, run the engine out of
descriptors, speak HTTP/0.9, connect as an OS user who is no Postdesk user (a child process
switched to `nobody`). The engine must close what it should, say why where it can, log little,
and go on answering `/me`.
"""

from __future__ import annotations

import asyncio
import grp
import os
import pwd
import resource
import selectors
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from engine.api.schemas import AgentChanged, Hello, UserIn
from engine.client import EngineClient, EngineUnavailable
from engine.client.transport import UnixTransport
from engine.config import Settings
from engine.engine import Engine
from engine.server.listener import ListenerLimits, Refusal, over_limit
from tests.engine_fixtures import eventually

NOBODY = pwd.getpwnam("nobody")
HALF_REQUEST = b"GET /api/v1/me HTTP/1.1\r\nHost: post"
ME_REQUEST = b"GET /api/v1/me HTTP/1.1\r\nHost: postdesk\r\nConnection: close\r\n\r\n"
ANSWER_WITHIN = 20.0  # generous: "closed at once" means well before this, not at a time


def raw_exchange(path: Path, data: bytes, *, wait: float = ANSWER_WITHIN) -> bytes | None:
    """Send `data` and read until the engine hangs up; None if it has not within `wait`."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(wait)
        sock.connect(str(path))
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            return None
        return b"".join(chunks)


def as_nobody(work: Callable[[], bytes]) -> bytes:
    """Run `work` in a child process switched to the OS user nobody; return what it returns."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop to nobody, work, report, exit
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(NOBODY.pw_gid)
            os.setuid(NOBODY.pw_uid)
            os.write(write_end, work())
        except BaseException as exc:  # report anything, never return into pytest
            os.write(write_end, f"CHILD ERROR {exc!r}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    assert not data.startswith(b"CHILD ERROR"), data
    return data


@pytest.fixture
async def shared_engine() -> AsyncIterator[Engine]:
    """An engine whose socket the group of `nobody` may open; a minute's header timeout, so
    that a connection closed within the test was closed for another reason."""
    root = Path(tempfile.mkdtemp(prefix="postdesk-listener-"))
    os.chmod(root, 0o711)
    group = grp.getgrgid(NOBODY.pw_gid).gr_name
    settings = Settings(
        home=root / "home", socket_group=group, header_timeout=60, max_connections_per_uid=5
    )
    engine = Engine(settings, run_mail=False)
    await engine.start()
    try:
        yield engine
    finally:
        await engine.stop()


# ---- half-sent requests and protocol versions ----


async def test_half_sent_request_is_closed_but_an_event_stream_outlives_the_timeout(
    tmp_path: Path,
) -> None:
    engine = Engine(Settings(home=tmp_path / "home", header_timeout=0.5), run_mail=False)
    await engine.start()
    try:
        async with EngineClient(engine.socket_path) as operator:
            stream = operator.events()
            assert isinstance(await anext(stream), Hello)
            # Half a request line, then silence: hung up on, without an answer.
            assert await asyncio.to_thread(raw_exchange, engine.socket_path, HALF_REQUEST) == b""
            # The stream's headers came long before that timeout passed; it still delivers.
            await operator.add_user(UserIn(username="agent1", roles=["agent"]))
            async with EngineClient(engine.socket_path, act_as="agent1") as agent:
                await agent.set_status("free")
            event = await asyncio.wait_for(anext(stream), ANSWER_WITHIN)
            while not isinstance(event, AgentChanged):
                event = await asyncio.wait_for(anext(stream), ANSWER_WITHIN)
            assert event.agent.username == "agent1"
            await stream.aclose()
            assert (await operator.me()).operator
    finally:
        await engine.stop()


@pytest.mark.parametrize(
    "request_line",
    [
        b"GET /api/v1/me\r\n\r\n",
        b"GET /api/v1/me HTTP/0.9\r\n\r\n",
        b"GET /api/v1/me HTTP/2.0\r\n\r\n",
    ],
)
async def test_requests_other_than_http_1_get_no_answer_from_a_route(
    tmp_path: Path, request_line: bytes
) -> None:
    engine = Engine(Settings(home=tmp_path / "home"), run_mail=False)
    await engine.start()
    try:
        answer = await asyncio.to_thread(raw_exchange, engine.socket_path, request_line)
        assert answer is not None
        status_line = answer.split(b"\r\n", 1)[0]
        assert b" 200 " not in status_line and b" 505 " in status_line, answer[:200]
        assert b"username" not in answer  # /me did not run
    finally:
        await engine.stop()


async def test_malformed_requests_do_not_fill_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """aiohttp logs a traceback per malformed request; any Postdesk user could send them in a
    loop. One is logged per interval."""
    engine = Engine(Settings(home=tmp_path / "home"), run_mail=False)
    await engine.start()
    try:
        for _ in range(30):
            answer = await asyncio.to_thread(
                raw_exchange, engine.socket_path, b"GET /api/v1/me FOO/1.1\r\n\r\n"
            )
            assert answer is not None and b" 400 " in answer.split(b"\r\n", 1)[0]
        async with EngineClient(engine.socket_path) as operator:
            assert (await operator.me()).operator
    finally:
        await engine.stop()
    logged = [r for r in caplog.records if r.name.startswith("engine.server.listener")]
    assert len(logged) == 1, [r.getMessage() for r in logged]


# ---- who may connect, and how often ----


def test_the_gate_counts_connections_per_os_user_but_not_operators() -> None:
    limits = ListenerLimits(max_connections_per_uid=3)
    assert over_limit(NOBODY.pw_uid, 2, limits) is None
    refusal = over_limit(NOBODY.pw_uid, 3, limits)
    assert isinstance(refusal, Refusal) and refusal.status == 503
    assert "'nobody' already holds 3 connections" in refusal.error
    assert over_limit(os.getuid(), 10_000, limits) is None
    assert over_limit(0, 10_000, limits) is None


def _connect_and_wait(path: Path) -> bytes:
    """One connection that sends nothing: what the engine says before hanging up."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(ANSWER_WITHIN)
        sock.connect(str(path))
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            return b"STILL OPEN"
        return b"".join(chunks)


async def test_an_os_user_who_is_no_postdesk_user_is_refused_right_after_accept(
    shared_engine: Engine,
) -> None:
    path = shared_engine.socket_path
    # It has not even sent a request; the header timeout is a minute away.
    answer = await asyncio.to_thread(as_nobody, lambda: _connect_and_wait(path))
    assert answer.startswith(b"HTTP/1.1 403 "), answer[:300]
    assert b"'nobody' is not a Postdesk user" in answer
    assert b"postdesk ctl user add nobody" in answer
    assert shared_engine.server.site.held(NOBODY.pw_uid) == 0  # nothing kept for it


def _hold_connections(path: Path, count: int, limit: int) -> bytes:
    """Open `count` connections with half a request each; report how many the engine refused
    and how many it keeps open, then hang up all."""
    with ExitStack() as stack, selectors.DefaultSelector() as selector:
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_UNIX))
            sock.connect(str(path))
            sock.sendall(HALF_REQUEST)
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ, bytearray())
        refused = 0
        deadline = time.monotonic() + ANSWER_WITHIN
        # Wait for the refusals only: those kept open say nothing for a minute.
        while refused < count - limit and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=0.5):
                sock, received = key.fileobj, key.data
                assert isinstance(sock, socket.socket)
                chunk = sock.recv(65536)
                received += chunk
                if not chunk:
                    selector.unregister(sock)
                    refused += b" 503 " in received and b"already holds" in received
        still_open = 0
        for key in list(selector.get_map().values()):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                sock.recv(1)  # an answer or a hang-up: not kept open
            except BlockingIOError:
                still_open += 1
    return f"{refused} {still_open}".encode()


async def test_one_os_user_holds_at_most_its_share_of_connections(shared_engine: Engine) -> None:
    path = shared_engine.socket_path
    async with EngineClient(path) as operator:
        await operator.add_user(UserIn(username="nobody", roles=["agent"]))
        report = await asyncio.to_thread(as_nobody, lambda: _hold_connections(path, 40, 5))
        assert report == b"35 5"  # refused at once, and kept (waiting for their headers)
        assert (await operator.me()).operator

        async def held() -> int:
            return shared_engine.server.site.held(NOBODY.pw_uid)

        # Its connections closed, nobody may connect again.
        await eventually(held, lambda n: n == 0, what="the engine to let go of the connections")
        answer = await asyncio.to_thread(
            as_nobody,
            lambda: raw_exchange(path, ME_REQUEST) or b"",
        )
        assert answer.startswith(b"HTTP/1.1 200 ") and b'"username":"nobody"' in answer
        assert (await operator.me()).operator


# ---- many connections, and running out of descriptors ----


@contextmanager
def engine_process(
    home: Path, log: Path, nofile: tuple[int, int], **env: str
) -> Iterator[tuple[Path, int]]:
    """`postdesk engine` in its own process, started with the given RLIMIT_NOFILE (systemd's
    default is soft 1024); yields its socket and pid once it answers."""

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, nofile)

    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "postdesk.cli", "--data-dir", str(home), "engine"],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            env={**os.environ, **{f"POSTDESK_{k.upper()}": v for k, v in env.items()}},
            preexec_fn=limited,
        )
    try:
        socket_path = home / "run" / "engine.sock"
        deadline = time.monotonic() + 60
        while "engine started" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield socket_path, proc.pid
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def many_descriptors() -> Iterator[None]:
    """This process holds the client ends of the connections: let it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, 4096)
    if wanted < 2500:
        pytest.skip(f"the hard open files limit ({hard}) is too low for this test")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def open_half_requests(path: Path, count: int, stack: ExitStack) -> list[socket.socket]:
    socks = []
    for _ in range(count):
        sock = stack.enter_context(socket.socket(socket.AF_UNIX))
        # Blocking: a non-blocking connect fails at once while the listen backlog is full.
        sock.connect(str(path))
        sock.sendall(HALF_REQUEST)
        socks.append(sock)
    return socks


def still_open(socks: list[socket.socket]) -> int:
    """How many of `socks` the engine has neither answered nor hung up."""
    count = 0
    for sock in socks:
        try:
            sock.recv(1, socket.MSG_DONTWAIT)
        except BlockingIOError:
            count += 1
    return count


async def test_over_a_thousand_half_open_connections_and_me_still_answers(
    tmp_path: Path, many_descriptors: None
) -> None:
    """Started with systemd's default limits (soft 1024), the engine holds 1,100 half-sent
    requests (the number that made `/me` time out) and still answers. Operators' connections
    are not limited per uid, so all of them are kept: this is about descriptors, not about the
    per-user share."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    log = tmp_path / "engine.log"
    with (
        engine_process(tmp_path / "home", log, (1024, hard), header_timeout="120") as (path, pid),
        ExitStack() as stack,
    ):
        socks = await asyncio.to_thread(open_half_requests, path, 1100, stack)

        async def descriptors() -> int:
            return len(os.listdir(f"/proc/{pid}/fd"))

        # All taken from the listen backlog, so that /me does not just wait its turn there.
        await eventually(descriptors, lambda n: n > 1100, what="the engine to accept them all")
        async with EngineClient(path) as operator:
            me = await operator.me()
        assert me.operator
        assert still_open(socks) == 1100
    text = log.read_text()
    assert "Traceback" not in text and "out of system resource" not in text, text[-3000:]


async def test_running_out_of_descriptors_is_logged_once_and_passes(
    tmp_path: Path, many_descriptors: None
) -> None:
    """With a hard limit too low for the connections, accept() fails for as long as they are
    held: logged once (the next report would say how many were not), and once they close the
    engine answers again."""
    log = tmp_path / "engine.log"
    with engine_process(tmp_path / "home", log, (256, 256), header_timeout="120") as (path, _):
        with ExitStack() as stack:
            # More than the engine can take; the rest wait in the listen backlog.
            socks = await asyncio.to_thread(open_half_requests, path, 300, stack)

            def reported() -> str | bool:
                return "accepting connections on" in log.read_text()

            deadline = time.monotonic() + ANSWER_WITHIN
            while not reported():
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                await asyncio.sleep(0.05)
            # Well beyond several of the engine's accept retries.
            with pytest.raises(EngineUnavailable):  # the engine cannot take it now
                await UnixTransport(path, timeout=3).request("GET", "/api/v1/me")
            assert still_open(socks) > 0
        async with EngineClient(path) as operator:
            assert (await operator.me()).operator
    text = log.read_text()
    assert text.count("accepting connections on") == 1, text[-3000:]
    assert "Traceback" not in text and len(text) < 20_000, text[-3000:]
