"""The control API's listener: who may hold a connection to the engine, how many, how long.

The socket is open to a whole OS group, including OS users who are not Postdesk users, and an
HTTP server that serves whatever connects can be exhausted by any of them: aiohttp alone waited
for half-sent request headers for an hour, and Python 3.11's accept loop, once descriptors ran
out, logged one traceback per pending connection per retry (2 GB of log in 7 minutes). So
connections pass a gate before aiohttp sees a byte:

- the peer's uid is read from `SO_PEERCRED` at accept; a uid that is neither an operator nor a
  Postdesk user gets one short refusal and its connection is closed;
- each uid holds at most `max_connections_per_uid` connections; operators (root and the
  engine's own OS user, who own the data dir anyway; the demo runs every console as one uid)
  are not counted against a limit;
- accept errors, and aiohttp's tracebacks for malformed requests, are logged at most once per
  interval, with the count of those dropped; accepting pauses until a connection closes or a
  moment has passed;
- complete request headers must arrive within `header_timeout` seconds of the hand-over (and of
  each response on a kept-alive connection): aiohttp's keep-alive timer closes a connection
  whose handler is still waiting for a request, never one whose request is being answered, so
  the long event stream lives on once its headers are in.

The engine also raises its soft descriptor limit to the hard one (systemd's default soft limit
is 1024): asyncio uses epoll, which has no `FD_SETSIZE` ceiling.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import grp
import json
import logging
import os
import pwd
import resource
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

log = logging.getLogger(__name__)
ACCEPT_LOG = logging.getLogger(f"{__name__}.accept")
# aiohttp's own log of the connections it serves (a malformed request logs a traceback).
HTTP_LOG = logging.getLogger(f"{__name__}.http")

# What a full descriptor table (or kernel memory) looks like to accept(): wait for a close.
OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
ACCEPT_BATCH = 128  # connections accepted per turn of the event loop, so others get a turn
ACCEPT_PAUSE = 0.5  # seconds before accepting again when no connection closed meanwhile
LINGER = 1.0  # how long a refused peer may take to read its refusal before we hang up
DESCRIPTOR_CEILING = 1 << 20  # an unlimited hard limit is raised to this, not to infinity

Admission = Callable[[int], Awaitable["Refusal | None"]]


@dataclass(frozen=True)
class Refusal:
    """Why a connection is closed at once; the peer reads it as an HTTP answer."""

    status: int
    reason: str
    error: str

    def http(self) -> bytes:
        body = json.dumps({"error": self.error}).encode()
        head = (
            f"HTTP/1.1 {self.status} {self.reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        return head.encode("ascii") + body


@dataclass(frozen=True)
class ListenerLimits:
    header_timeout: float = 5.0
    max_connections_per_uid: int = 64
    log_interval: float = 60.0  # a recurring error caused by peers is logged once per interval
    # Connections the kernel queues before we accept them: a burst beyond it fails at once on
    # the client's side (EAGAIN on a Unix socket), so make room (Linux caps it at somaxconn).
    backlog: int = 1024


def os_user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid{uid}"


def is_operator(uid: int) -> bool:
    """Root and the engine's own OS user: they may act as anyone and hold every role."""
    return uid in (0, os.getuid())


def peer_credentials(sock: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process at the other end of a Unix socket, from the kernel."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", creds)
    return int(pid), int(uid), int(gid)


def over_limit(uid: int, held: int, limits: ListenerLimits) -> Refusal | None:
    """The refusal for one more connection of `uid` while it holds `held`, if it is one."""
    if is_operator(uid) or held < limits.max_connections_per_uid:
        return None
    return Refusal(
        503,
        "Service Unavailable",
        f"OS user {os_user_name(uid)!r} already holds {held} connections to the engine "
        f"(the limit is {limits.max_connections_per_uid}); close some consoles",
    )


class OncePerInterval(logging.Filter):
    """Lets a recurring record (same message template) through at most once per `interval`;
    the next one let through says how many were dropped meanwhile. A peer that can cause a log
    line at will must not be able to fill the disk with it."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval = interval
        self.clock = clock
        self._next: dict[str, float] = {}
        self._dropped: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = str(record.msg)
        now = self.clock()
        if now < self._next.get(key, float("-inf")):
            self._dropped[key] = self._dropped.get(key, 0) + 1
            return False
        self._next[key] = now + self.interval
        if dropped := self._dropped.pop(key, 0):
            record.msg = f"{record.msg} ({dropped} more like it since, not logged)"
        return True


def raise_descriptor_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard one; return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = DESCRIPTOR_CEILING if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open files limit from %d: %s", soft, exc)
    return soft


class _Held(asyncio.Protocol):
    """aiohttp's protocol for one admitted connection, telling the gate when it ends."""

    def __init__(self, inner: asyncio.Protocol, released: Callable[[], None]) -> None:
        self._inner = inner
        self._released = released

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        try:
            self._inner.connection_lost(exc)
        finally:
            self._released()


class GatedUnixSite(web.BaseSite):
    """An aiohttp site on a Unix socket whose connections are admitted by uid first."""

    def __init__(
        self,
        runner: web.BaseRunner,
        path: Path,
        admission: Admission,
        *,
        limits: ListenerLimits,
        group: str = "",
    ) -> None:
        super().__init__(runner, backlog=limits.backlog)
        self._path = path
        self._admission = admission
        self._limits = limits
        self._group = group
        self._sock: socket.socket | None = None
        self._loop = asyncio.get_running_loop()
        self._held: dict[int, int] = {}  # open connections per uid
        self._admitting: set[asyncio.Task[None]] = set()
        self._resume: asyncio.TimerHandle | None = None
        self._quiet = OncePerInterval(limits.log_interval, self._loop.time)

    @property
    def name(self) -> str:
        return f"http://unix:{self._path}:"

    def held(self, uid: int) -> int:
        return self._held.get(uid, 0)

    async def start(self) -> None:
        await super().start()
        for logger in (ACCEPT_LOG, HTTP_LOG):
            logger.addFilter(self._quiet)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(str(self._path))
            # Mode and group before listen(): nobody connects under the wrong permissions.
            os.chmod(self._path, 0o660)
            if self._group:
                os.chown(self._path, -1, grp.getgrnam(self._group).gr_gid)
            sock.listen(self._limits.backlog)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self._loop.add_reader(sock.fileno(), self._accept_ready)

    async def stop(self) -> None:
        if self._resume is not None:
            self._resume.cancel()
        if self._sock is not None:
            self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        for task in list(self._admitting):
            task.cancel()
        await asyncio.gather(*self._admitting, return_exceptions=True)
        for logger in (ACCEPT_LOG, HTTP_LOG):
            logger.removeFilter(self._quiet)
        await super().stop()

    # ---- accepting ----
    def _accept_ready(self) -> None:
        sock = self._sock
        assert sock is not None
        for _ in range(ACCEPT_BATCH):
            try:
                conn, _address = sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue
            except OSError as exc:
                ACCEPT_LOG.error("accepting connections on %s: %s", self._path, exc)
                # Linux keeps reporting the socket readable: stop looking until a descriptor
                # is freed (a connection closes) or a moment has passed.
                self._pause_accepting()
                return
            self._welcome(conn)

    def _pause_accepting(self) -> None:
        if self._sock is None or self._resume is not None:
            return
        self._loop.remove_reader(self._sock.fileno())
        self._resume = self._loop.call_later(ACCEPT_PAUSE, self._resume_accepting)

    def _resume_accepting(self) -> None:
        if self._resume is None:
            return
        self._resume.cancel()
        self._resume = None
        if self._sock is not None:
            self._loop.add_reader(self._sock.fileno(), self._accept_ready)

    def _welcome(self, conn: socket.socket) -> None:
        conn.setblocking(False)
        try:
            _pid, uid, _gid = peer_credentials(conn)
        except OSError:  # the peer is already gone
            conn.close()
            return
        held = self._held.get(uid, 0)
        # Decided here, in accept order: connections accepted in one batch must not all count
        # each other before any of them is looked at.
        refusal = over_limit(uid, held, self._limits)
        self._held[uid] = held + 1
        task = self._loop.create_task(self._admit(conn, uid, refusal))
        self._admitting.add(task)
        task.add_done_callback(self._admitting.discard)

    def _release(self, uid: int) -> None:
        left = self._held.get(uid, 1) - 1
        if left > 0:
            self._held[uid] = left
        else:
            self._held.pop(uid, None)
        self._resume_accepting()  # a descriptor is free again

    async def _admit(self, conn: socket.socket, uid: int, refusal: Refusal | None) -> None:
        handed_over = False
        try:
            if refusal is None:
                refusal = await self._admission(uid)
            if refusal is not None:
                await self._refuse(conn, refusal)
                return
            server = self._runner.server
            assert server is not None
            await self._loop.connect_accepted_socket(
                lambda: _Held(server(), lambda: self._release(uid)), conn
            )
            handed_over = True
        except OSError:
            pass  # the peer went away while we looked at it
        except Exception:
            log.exception("admitting a connection of uid %d", uid)
        finally:
            if not handed_over:
                conn.close()
                self._release(uid)

    async def _refuse(self, conn: socket.socket, refusal: Refusal) -> None:
        """Answer without reading the request, then wait briefly for the peer to hang up:
        closing a Unix socket with unread data resets the peer before it reads the answer."""
        with contextlib.suppress(OSError):  # TimeoutError included
            async with asyncio.timeout(LINGER):
                await self._loop.sock_sendall(conn, refusal.http())
                conn.shutdown(socket.SHUT_WR)
                while await self._loop.sock_recv(conn, 4096):
                    pass
