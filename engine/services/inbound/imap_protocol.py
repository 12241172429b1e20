"""IMAP framing for the mailbox loop: reading responses, bulk UID FETCH, connection watch.

Kept apart from the loop in ``imap.py`` (as aiosmtplib keeps ``protocol.py`` apart from
``smtp.py``): `ResponseReader` is aioimaplib's reader without its copying, so a bulk download
costs the event loop little; `BulkFetch` collects a large FETCH response with one timer
instead of one per line; `watch_connection` turns a lost connection into a future the loop
can wait on beside IDLE.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aioimaplib

from data.models import Security
from engine.domain.oauth import Bearer, sasl_b64
from engine.services.outbound.outbox import tls_context

log = logging.getLogger(__name__)
T = TypeVar("T")


class ImapError(ConnectionError):
    """The IMAP server refused or broke a step; the message says which."""


@dataclass(frozen=True)
class ImapAccount:
    host: str
    port: int
    security: Security
    username: str
    password: str
    folder: str
    tls_verify: bool
    # OAuth2 campaigns: AUTHENTICATE XOAUTH2/OAUTHBEARER with these tokens instead of LOGIN.
    bearer: Bearer | None = None


class ResponseReader(aioimaplib.IMAP4ClientProtocol):  # type: ignore[misc]
    """aioimaplib's protocol, reading the same lines and literals without copying the rest.

    aioimaplib (2.0) takes each line off the received data with `partition`, which copies
    all the data after it, handles that copy with a recursive call, and formats every chunk
    it receives for a debug message even when debug logging is off. A bulk FETCH arrives in
    chunks of up to 256 KB, so each 4 KB message cost hundreds of KB of copying (about
    125 us; 7 us here), the largest share of the event loop's time while ingesting. This
    walks the data with an offset instead and makes exactly the calls aioimaplib's
    `_handle_responses` makes, in the same order (tests/test_imap_protocol.py compares them).
    """

    incomplete_line: bytes
    current_command: aioimaplib.Command | None
    # While STARTTLS is under way: its tag, and whatever came after its tagged reply (sent in
    # clear text, so never to be read as if it came through TLS).
    starttls_tag: bytes = b""
    starttls_agreed = False
    after_starttls: bytes = b""
    # Set when the connection drops. aioimaplib only logs that: a command under way, or one
    # sent after it (the mailbox loop going on to IDLE after a fetch the server's BYE cut
    # short), waited for its timeout, minutes for IDLE, before anything noticed.
    lost: ImapError | None = None

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = ImapError(
            f"connection lost: {exc}" if exc else "connection lost (closed by the server)"
        )
        waiting = [self.pending_sync_command, *self.pending_async_commands.values()]
        for command in waiting:
            if command is not None and not command._event.is_set():
                command._exception = self.lost
                command.close(b"", "NO")
        super().connection_lost(exc)

    async def execute(self, command: aioimaplib.Command, scrub: str | None = None) -> Any:
        if self.lost is not None:
            raise self.lost
        return await super().execute(command, scrub)

    def _continuation(self, line: bytes) -> None:
        command = self.pending_sync_command
        if isinstance(command, SaslAuthenticate):
            # The server refused the token and explains in a challenge (XOAUTH2, RFC 7628
            # 3.2.3): answer it so the tagged NO follows, instead of waiting for a timeout.
            self.transport.write(command.abort_line + b"\r\n")
            return
        super()._continuation(line)

    def data_received(self, d: bytes) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("Received : %s", d)
        if self.starttls_agreed:  # clear text between the server's OK and the handshake
            self.after_starttls += d
            return
        data = self.incomplete_line + d if self.incomplete_line else d
        command = self.current_command
        self.incomplete_line = b""
        self.current_command = None
        pos, end = 0, len(data)
        while True:
            if pos == end:
                if self.pending_sync_command is not None:
                    self.pending_sync_command.flush()
                if command is not None and command.wait_data():
                    self.current_command = command
                return
            if command is not None and command.wait_literal_data():
                needed = command._expected_size - len(command._resp_literal_data)
                command.append_literal_data(data[pos : pos + needed])
                pos = min(pos + needed, end)
                if command.wait_literal_data():
                    self.current_command = command
                    return
            crlf = data.find(b"\r\n", pos)
            if crlf < 0:
                self.current_command = command
                self.incomplete_line = data[pos:]
                return
            line = data[pos:crlf]
            pos = crlf + 2
            if self.starttls_tag and line.startswith(self.starttls_tag + b" "):
                self.starttls_tag = b""
                self.starttls_agreed = line.split(b" ", 2)[1:2] == [b"OK"]
                self.after_starttls = data[pos:]
                self._handle_line(line, command)
                return  # nothing more is read in clear text
            handled = self._handle_line(line, command)
            literal = aioimaplib.literal_data_re.match(line)
            if literal:
                if handled is None:
                    handled = aioimaplib.Command("NIL", "unused")
                handled.begin_literal_data(int(literal.group("size")))
                command = handled
            elif handled is not None and handled.wait_data():
                command = handled
            else:
                command = None


class Client(aioimaplib.IMAP4):  # type: ignore[misc]
    """aioimaplib's client on `ResponseReader`; implicit TLS when given an SSL context."""

    def create_client(
        self,
        host: str,
        port: int,
        loop: asyncio.AbstractEventLoop | None,
        conn_lost_cb: Callable[[Exception | None], None] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        local_loop = loop if loop is not None else asyncio.get_running_loop()
        self.protocol = ResponseReader(local_loop, conn_lost_cb)
        self._client_task = local_loop.create_task(
            local_loop.create_connection(lambda: self.protocol, host, port, ssl=ssl_context)
        )


async def connect(account: ImapAccount, timeout: float = 30.0) -> aioimaplib.IMAP4:
    context = tls_context(account.tls_verify)
    implicit_tls = context if account.security == Security.TLS else None
    client = Client(account.host, account.port, timeout=timeout, ssl_context=implicit_tls)
    try:
        try:
            await client.wait_hello_from_server()
        except (OSError, TimeoutError) as exc:
            raise ImapError(f"cannot connect to {account.host}:{account.port}: {exc}") from exc
        if account.security == Security.STARTTLS:
            await _starttls(client, account.host, context)
        if account.bearer is not None:
            await _authenticate(client, account, account.bearer)
        else:
            response = await client.login(account.username, account.password)
            if response.result != "OK":
                raise ImapError(
                    f"login refused for {account.username}: {response_text(response.lines)}"
                )
    except BaseException:
        # Do not leak the socket: the engine retries a failing mailbox forever.
        if client.protocol.transport is not None:
            client.protocol.transport.close()
        raise
    return client


class SaslAuthenticate(aioimaplib.Command):  # type: ignore[misc]
    """AUTHENTICATE with an initial response (RFC 4959); `abort_line` answers an error
    challenge (empty for XOAUTH2, "%x01" base64-encoded for OAUTHBEARER)."""

    def __init__(self, tag: str, mechanism: str, initial: str, abort_line: bytes, **kw: Any):
        super().__init__("AUTHENTICATE", tag, mechanism, initial, **kw)
        self.abort_line = abort_line


class BearerRefused(ImapError):
    """The server refused the OAuth2 access token (twice: a fresh one was tried too)."""


async def _authenticate(client: aioimaplib.IMAP4, account: ImapAccount, bearer: Bearer) -> None:
    """AUTHENTICATE with a bearer token; once more with a fresh token if it is refused."""
    protocol = client.protocol
    token = ""
    for _attempt in range(2):
        token = await bearer.token(token)  # the second time: a fresh one for the refused one
        initial = sasl_b64(bearer.mechanism, account.username, token, account.host, account.port)
        abort = b"" if bearer.mechanism == "xoauth2" else b"AQ=="
        command = SaslAuthenticate(
            protocol.new_tag(), bearer.mechanism.upper(), initial, abort, loop=protocol.loop
        )
        async with protocol.state_condition:
            # The token is scrubbed from aioimaplib's debug log along with its base64 form.
            response = await protocol.execute(command, scrub=initial)
            if response.result == "OK":
                protocol.state = aioimaplib.AUTH
                protocol.state_condition.notify_all()
                await protocol.capability()  # RFC 3501 6.2.2: they may change after login
                return
    raise BearerRefused(
        f"login refused for {account.username}: the server did not accept the OAuth2 token "
        f"({response_text(response.lines)}); check that IMAP access is enabled for the "
        "account and that it is the account that was authorised"
    )


async def _starttls(client: aioimaplib.IMAP4, host: str, context: ssl.SSLContext) -> None:
    # aioimaplib lists STARTTLS but has no method for it: upgrade the transport ourselves.
    protocol = client.protocol
    tag = protocol.new_tag()
    protocol.starttls_tag = tag.encode()
    try:
        response = await protocol.execute(aioimaplib.Command("STARTTLS", tag))
    finally:
        protocol.starttls_tag = b""
    if response.result != "OK":
        raise ImapError(f"STARTTLS refused: {response_text(response.lines)}")
    # Bytes after the OK were sent in clear text and would be read as if from inside TLS:
    # a man in the middle could inject responses there (the STARTTLS "command injection"
    # class of bugs, CVE-2011-0411 and kin).
    if protocol.after_starttls or protocol.incomplete_line:
        raise ImapError("the server sent data after agreeing to STARTTLS; refusing to go on")
    loop = asyncio.get_running_loop()
    transport = await loop.start_tls(protocol.transport, protocol, context, server_hostname=host)
    protocol.transport = transport
    protocol.starttls_agreed = False
    # Capabilities seen before TLS cannot be trusted (RFC 3501 6.2.1): ask again.
    await protocol.capability()


def watch_connection(client: aioimaplib.IMAP4, account: ImapAccount) -> asyncio.Future[str]:
    """A future that is done (with a description) as soon as the connection drops.

    aioimaplib only logs a lost connection: an IDLE would wait for its timeout (minutes) and
    every later command for its own, so a restarted server went unnoticed for that long.
    """
    lost: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def on_lost(exc: Exception | None) -> None:
        if not lost.done():
            reason = f": {exc}" if exc else " (closed by the server)"
            lost.set_result(f"connection to {account.host}:{account.port} lost{reason}")

    client.protocol.conn_lost_cb = on_lost
    transport = client.protocol.transport
    if transport is None or transport.is_closing():
        on_lost(None)
    return lost


async def unless_lost(awaitable: Awaitable[T], lost: asyncio.Future[str]) -> T:
    """Await ``awaitable``, but raise ``ImapError`` as soon as the connection drops."""
    task = asyncio.ensure_future(awaitable)
    waiters: set[asyncio.Future[Any]] = {task, lost}
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not task.done():
            task.cancel()
    if task.done() and not task.cancelled():
        return task.result()
    raise ImapError(lost.result())


def search_uids(lines: list[bytes | bytearray]) -> list[int]:
    """UIDs of a SEARCH response; aioimaplib may or may not leave the `SEARCH` keyword in."""
    uids: list[int] = []
    for line in lines:
        tokens = bytes(line).split()
        if tokens[:1] == [b"*"]:
            tokens = tokens[1:]
        if tokens[:1] == [b"SEARCH"]:
            tokens = tokens[1:]
        if tokens and all(t.isdigit() for t in tokens):
            uids.extend(int(t) for t in tokens)
    return uids


def uid_set(uids: list[int]) -> str:
    """`1:3,7` for [1, 2, 3, 7] (sorted UIDs)."""
    ranges: list[str] = []
    start = prev = uids[0]
    for uid in uids[1:]:
        if uid != prev + 1:
            ranges.append(f"{start}:{prev}" if prev != start else str(start))
            start = uid
        prev = uid
    ranges.append(f"{start}:{prev}" if prev != start else str(start))
    return ",".join(ranges)


class BulkFetch(aioimaplib.FetchCommand):  # type: ignore[misc]
    """aioimaplib's FETCH command, linear in the size of the response.

    aioimaplib's own rescans every line received so far after each line (to see whether the
    parentheses of the last FETCH item are closed) and replaces its inactivity timer for each
    line: quadratic in the batch, and one timer handle per line. This one keeps the balance
    of parentheses as lines arrive, and pushes the inactivity deadline back lazily: its timer
    only re-arms itself when it fires before the deadline.
    """

    def __init__(
        self, tag: str, *args: str, loop: asyncio.AbstractEventLoop, timeout: float | None
    ) -> None:
        self._depth = 0
        self._touched = 0.0
        super().__init__(tag, *args, prefix="UID", loop=loop, timeout=timeout)

    def append_to_resp(self, line: bytes | bytearray, result: str = "Pending") -> None:
        super().append_to_resp(line, result)
        if type(line) is bytes:  # literal data arrives as a bytearray and is not counted
            if self.FETCH_MESSAGE_DATA_RE.match(line):
                self._depth = 0
            self._depth += line.count(b"(") - line.count(b")")

    def wait_data(self) -> bool:
        return self._depth != 0

    def _set_timer(self) -> None:
        if self._timeout is not None:
            self._touched = self._loop.time()
            self._timer = self._loop.call_later(self._timeout, self._on_timer)

    def _reset_timer(self) -> None:
        self._touched = self._loop.time()

    def _on_timer(self) -> None:
        idle = self._loop.time() - self._touched
        if idle < self._timeout:
            self._timer = self._loop.call_later(self._timeout - idle, self._on_timer)
        else:
            self._timeout_callback()


def response_text(lines: list[bytes | bytearray]) -> str:
    return " ".join(bytes(line).decode("utf-8", "replace") for line in lines)[:300]
