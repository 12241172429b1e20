"""Inbound over IMAP: fetch new UIDs after the checkpoint, then wait with IDLE (or poll).

One `ImapMailbox.run()` per receiving campaign, restarted with backoff by the engine when it
fails. Messages are fetched in UID order, in batches that each commit with the checkpoint of
their last UID, so a crash resumes exactly after the last committed batch. A UIDVALIDITY
change restarts from UID 1; content-hash deduplication in the ingestor keeps that from
duplicating anything. Responses are read by `_Protocol`, aioimaplib's reader without its
copying, so a bulk download costs the event loop little.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aioimaplib
from sqlalchemy import select

from data.db import Database
from data.models import Campaign, MailboxCheckpoint, Security
from data.secrets import SecretBox
from engine.services.ingest import Ingestor, Position, Prepared
from engine.services.outbox import tls_context

log = logging.getLogger(__name__)
T = TypeVar("T")

# Messages per UID FETCH (and per ingest transaction). aioimaplib handles a response with a
# recursion per line (about three per message): this stays well under Python's limit.
FETCH_BATCH = 200
# Mail larger than this is fetched on its own, so a batch holds at most FETCH_BATCH small ones.
LARGE_MESSAGE = 256 * 1024
# Batches prepared (parsed, blobs stored) at the same time, each in a worker thread, while
# another commits. Two: creating a blob file can take the kernel longer than parsing the mail,
# and meanwhile the other batch is parsed.
PREPARING = 2
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_FETCH_UID = re.compile(rb"UID (\d+)")


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


class _Protocol(aioimaplib.IMAP4ClientProtocol):  # type: ignore[misc]
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


class _Client(aioimaplib.IMAP4):  # type: ignore[misc]
    """aioimaplib's client on `_Protocol`; implicit TLS when given an SSL context."""

    def create_client(
        self,
        host: str,
        port: int,
        loop: asyncio.AbstractEventLoop | None,
        conn_lost_cb: Callable[[Exception | None], None] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        local_loop = loop if loop is not None else asyncio.get_running_loop()
        self.protocol = _Protocol(local_loop, conn_lost_cb)
        self._client_task = local_loop.create_task(
            local_loop.create_connection(lambda: self.protocol, host, port, ssl=ssl_context)
        )


async def connect(account: ImapAccount, timeout: float = 30.0) -> aioimaplib.IMAP4:
    context = tls_context(account.tls_verify)
    implicit_tls = context if account.security == Security.TLS else None
    client = _Client(account.host, account.port, timeout=timeout, ssl_context=implicit_tls)
    try:
        try:
            await client.wait_hello_from_server()
        except (OSError, TimeoutError) as exc:
            raise ImapError(f"cannot connect to {account.host}:{account.port}: {exc}") from exc
        if account.security == Security.STARTTLS:
            await _starttls(client, account.host, context)
        response = await client.login(account.username, account.password)
        if response.result != "OK":
            raise ImapError(f"login refused for {account.username}: {_text(response.lines)}")
    except BaseException:
        # Do not leak the socket: the engine retries a failing mailbox forever.
        if client.protocol.transport is not None:
            client.protocol.transport.close()
        raise
    return client


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
        raise ImapError(f"STARTTLS refused: {_text(response.lines)}")
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


def _watch_connection(client: aioimaplib.IMAP4, account: ImapAccount) -> asyncio.Future[str]:
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


async def _unless_lost(awaitable: Awaitable[T], lost: asyncio.Future[str]) -> T:
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


def _search_uids(lines: list[bytes | bytearray]) -> list[int]:
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


def _uid_set(uids: list[int]) -> str:
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


def _batches(uids: list[int], large: set[int]) -> list[list[int]]:
    """Consecutive runs of up to FETCH_BATCH UIDs; a large mail is a batch of its own."""
    batches: list[list[int]] = []
    current: list[int] = []
    for uid in uids:
        if uid in large:
            if current:
                batches.append(current)
                current = []
            batches.append([uid])
            continue
        current.append(uid)
        if len(current) == FETCH_BATCH:
            batches.append(current)
            current = []
    if current:
        batches.append(current)
    return batches


class _BulkFetch(aioimaplib.FetchCommand):  # type: ignore[misc]
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


def _text(lines: list[bytes | bytearray]) -> str:
    return " ".join(bytes(line).decode("utf-8", "replace") for line in lines)[:300]


class ImapMailbox:
    def __init__(
        self,
        campaign_id: int,
        db: Database,
        secrets: SecretBox,
        ingestor: Ingestor,
        *,
        poll_seconds: float = 30.0,
        idle_seconds: float = 25 * 60.0,
        on_connected: Callable[[], None] | None = None,
    ) -> None:
        self.campaign_id = campaign_id
        self.on_connected = on_connected  # told each time the folder is open (health.py)
        self.db = db
        self.secrets = secrets
        self.ingestor = ingestor
        self.poll_seconds = poll_seconds
        self.idle_seconds = idle_seconds

    async def _account(self) -> ImapAccount:
        async with self.db.session() as session:
            c = await session.get_one(Campaign, self.campaign_id)
            return ImapAccount(
                host=c.imap_host,
                port=c.imap_port,
                security=c.imap_security,
                username=c.imap_username or c.email_address,
                password=self.secrets.decrypt(c.imap_password_enc),
                folder=c.imap_folder or "INBOX",
                tls_verify=c.tls_verify,
            )

    async def _checkpoint(self, folder: str) -> tuple[int, int]:
        async with self.db.session() as session:
            row = await session.scalar(
                select(MailboxCheckpoint).where(
                    MailboxCheckpoint.campaign_id == self.campaign_id,
                    MailboxCheckpoint.folder == folder,
                )
            )
            return (row.uidvalidity, row.last_uid) if row else (0, 0)

    async def run(self) -> None:
        account = await self._account()
        client = await connect(account)
        lost = _watch_connection(client, account)
        try:
            response = await client.select(account.folder)
            if response.result != "OK":
                raise ImapError(f"mailbox {account.folder!r} missing: {_text(response.lines)}")
            match = _UIDVALIDITY.search(b" ".join(bytes(x) for x in response.lines))
            uidvalidity = int(match.group(1)) if match else 0
            idle_ok = client.has_capability("IDLE")
            if self.on_connected is not None:
                self.on_connected()
            while True:
                await self.fetch_new(client, account.folder, uidvalidity)
                # Python 3.11's wait_for (inside aioimaplib) can swallow a cancellation that
                # lands as a response completes; without this the task would go on to IDLE
                # for 25 minutes and an admin's save of the campaign would wait on it.
                if _cancelling():
                    raise asyncio.CancelledError
                if idle_ok:
                    await self._idle(client, lost)
                else:
                    await asyncio.sleep(self.poll_seconds)
                    await _unless_lost(client.noop(), lost)
        finally:
            # Cancelled (the campaign was changed or the engine stops): hang up at once; a
            # polite LOGOUT could keep an admin's save waiting on a slow server.
            if not lost.done() and not _cancelling():
                try:
                    await asyncio.wait_for(client.logout(), 5)
                except (aioimaplib.AioImapException, OSError, TimeoutError):
                    pass
            if client.protocol.transport is not None:
                client.protocol.transport.close()  # if LOGOUT failed; no-op once closed

    async def _idle(self, client: aioimaplib.IMAP4, lost: asyncio.Future[str]) -> None:
        idle = await client.idle_start(timeout=self.idle_seconds)
        try:
            await _unless_lost(client.wait_server_push(timeout=self.idle_seconds + 5), lost)
        except TimeoutError:
            pass
        finally:
            if lost.done() or _cancelling():
                idle.cancel()  # the connection is closed next; no DONE round trip
            else:
                client.idle_done()
                await _unless_lost(asyncio.wait_for(idle, timeout=30), lost)
        if lost.done():  # e.g. "* BYE Server shutting down" woke us, then the server hung up
            raise ImapError(lost.result())

    async def fetch_new(self, client: aioimaplib.IMAP4, folder: str, uidvalidity: int) -> int:
        known_validity, last_uid = await self._checkpoint(folder)
        if known_validity and known_validity != uidvalidity:
            log.warning(
                "campaign %s: UIDVALIDITY of %s changed %s -> %s, rescanning",
                self.campaign_id,
                folder,
                known_validity,
                uidvalidity,
            )
            last_uid = 0
        response = await client.uid_search(f"UID {last_uid + 1}:*")
        if response.result != "OK":
            raise ImapError(f"UID SEARCH failed: {_text(response.lines)}")
        uids = sorted(u for u in _search_uids(response.lines) if u > last_uid)
        large: set[int] = set()
        if len(uids) > 1:
            response = await client.uid_search(f"UID {uids[0]}:* LARGER {LARGE_MESSAGE}")
            if response.result != "OK":
                raise ImapError(f"UID SEARCH failed: {_text(response.lines)}")
            large = set(_search_uids(response.lines))
        stored = 0
        batches = _batches(uids, large)
        ours = await self.ingestor.own_addresses() if uids else set()
        # Three stages, each a batch ahead of the next: downloading (the server works on the
        # next batch meanwhile), preparing (parse, blobs; in worker threads) and committing,
        # which stays in UID order so the checkpoint only ever moves forward. Batches are
        # prepared side by side (see PREPARING).
        Items = list[tuple[bytes, Position]]
        downloaded: asyncio.Queue[Items | BaseException | None] = asyncio.Queue(maxsize=1)
        # Unbounded, but the semaphore holds the batches between downloaded and committed to
        # PREPARING being prepared while one commits.
        ready: asyncio.Queue[asyncio.Task[list[Prepared]] | BaseException | None] = asyncio.Queue()
        slots = asyncio.Semaphore(PREPARING + 1)
        preparing: list[asyncio.Task[list[Prepared]]] = []

        async def download() -> None:
            try:
                for batch in batches:
                    fetched = await self._fetch(client, batch)
                    await downloaded.put(
                        [(raw, Position(folder, uidvalidity, uid)) for uid, raw in fetched]
                    )
                await downloaded.put(None)
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # handed down to the committing side, which raises it
                await downloaded.put(exc)

        async def prepare() -> None:
            try:
                while (items := await downloaded.get()) is not None:
                    if isinstance(items, BaseException):
                        await ready.put(items)
                        return
                    await slots.acquire()
                    task = asyncio.create_task(self.ingestor.prepare(items, ours))
                    preparing.append(task)
                    ready.put_nowait(task)
                await ready.put(None)
            except asyncio.CancelledError:
                raise
            except BaseException as exc:
                await ready.put(exc)

        stages = [asyncio.create_task(download()), asyncio.create_task(prepare())]
        try:
            while (next_batch := await ready.get()) is not None:
                if isinstance(next_batch, BaseException):
                    raise next_batch
                prepared = await next_batch
                preparing.remove(next_batch)
                try:
                    await self.ingestor.commit(self.campaign_id, prepared)
                finally:
                    slots.release()
                stored += len(prepared)
        finally:
            for stage in stages:
                stage.cancel()
            for stage in stages:
                with contextlib.suppress(asyncio.CancelledError):
                    await stage
            # Batches prepared but not committed: their blobs are stored, harmlessly (the mail
            # is fetched again and its blobs are recognised); their failures are not news.
            for task in preparing:
                task.cancel()
            await asyncio.gather(*preparing, return_exceptions=True)
        return stored

    async def _fetch(self, client: aioimaplib.IMAP4, uids: list[int]) -> list[tuple[int, bytes]]:
        protocol = client.protocol
        command = _BulkFetch(
            protocol.new_tag(),
            _uid_set(uids),
            "(UID BODY.PEEK[])",
            loop=protocol.loop,
            timeout=client.timeout,
        )
        response = await protocol.execute(command)
        if response.result != "OK":
            raise ImapError(f"UID FETCH failed: {_text(response.lines)}")
        found: list[tuple[int, bytes]] = []
        lines = response.lines
        for i, line in enumerate(lines):
            # aioimaplib yields "* n FETCH (UID u BODY[] {size}" followed by the literal bytes.
            if isinstance(line, bytearray) or not bytes(line).rstrip().endswith(b"}"):
                continue
            match = _FETCH_UID.search(bytes(line))
            if match and i + 1 < len(lines) and isinstance(lines[i + 1], bytearray):
                found.append((int(match.group(1)), bytes(lines[i + 1])))
        found.sort()
        return found


def _cancelling() -> bool:
    """Whether the running task is being cancelled (its cleanup must not wait on a server)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
