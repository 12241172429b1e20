"""Inbound over IMAP: fetch new UIDs after the checkpoint, then wait with IDLE (or poll).

IDLE is never trusted alone: it ends every `idle_check_seconds` (60 s) for a UID SEARCH of
its own, so mail whose push the server missed waits no longer than that, and a connection
dropped without a word (a NAT's timeout) is found out when its DONE goes unanswered.

One `ImapMailbox.run()` per receiving campaign, restarted with backoff by the engine when it
fails. Messages are fetched in UID order, in batches that each commit with the checkpoint of
their last UID, so a crash resumes exactly after the last committed batch. A UIDVALIDITY
change restarts from UID 1; content-hash deduplication in the ingestor keeps that from
duplicating anything. Responses are read by `ResponseReader`, aioimaplib's reader without its
copying, so a bulk download costs the event loop little.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aioimaplib
from sqlalchemy import select

from data.db import Database
from data.models import Campaign, MailboxCheckpoint
from data.secrets import SecretBox
from engine.domain.oauth import Bearer
from engine.services.inbound.imap_protocol import (
    BulkFetch,
    ImapAccount,
    ImapError,
    connect,
    response_text,
    search_uids,
    uid_set,
    unless_lost,
    watch_connection,
)
from engine.services.inbound.ingest import Ingestor
from engine.services.inbound.prepare import Position, Prepared

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
        idle_check_seconds: float = 60.0,
        on_connected: Callable[[], None] | None = None,
        bearer_for: Callable[[int], Awaitable[Bearer | None]] | None = None,
    ) -> None:
        self.campaign_id = campaign_id
        self.bearer_for = bearer_for  # OAuth2 campaigns log in with tokens (admin/oauth.py)
        self.on_connected = on_connected  # told each time the folder is open (health.py)
        self.db = db
        self.secrets = secrets
        self.ingestor = ingestor
        self.poll_seconds = poll_seconds
        # IDLE ends after the shorter of the two: the server's limit, or the check for mail
        # the server did not push (see Settings.idle_check_seconds).
        self.idle_seconds = min(idle_seconds, idle_check_seconds)
        self._told_of_new_mail = False  # a higher `* N EXISTS` came with a command's answer
        self._exists = 0  # the folder's message count as the server last said it

    async def _account(self) -> ImapAccount:
        bearer = await self.bearer_for(self.campaign_id) if self.bearer_for else None
        async with self.db.session() as session:
            c = await session.get_one(Campaign, self.campaign_id)
            return ImapAccount(
                host=c.imap_host,
                port=c.imap_port,
                security=c.imap_security,
                username=c.imap_username or c.email_address,
                password="" if bearer else self.secrets.decrypt(c.imap_password_enc),
                folder=c.imap_folder or "INBOX",
                tls_verify=c.tls_verify,
                bearer=bearer,
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
        if account.bearer is not None:
            # A revoked grant fails here, before the mail server is bothered at all.
            await account.bearer.token("")
        client = await connect(account)
        lost = watch_connection(client, account)
        try:
            response = await client.select(account.folder)
            if response.result != "OK":
                raise ImapError(
                    f"mailbox {account.folder!r} missing: {response_text(response.lines)}"
                )
            match = _UIDVALIDITY.search(b" ".join(bytes(x) for x in response.lines))
            uidvalidity = int(match.group(1)) if match else 0
            self._exists = exists_count(response.lines) or 0
            idle_ok = client.has_capability("IDLE")
            if self.on_connected is not None:
                self.on_connected()
            while True:
                self._told_of_new_mail = False
                await self.fetch_new(client, account.folder, uidvalidity)
                if self._told_of_new_mail:
                    # Mail came while we fetched: the server said so inside the answer to
                    # one of our commands, and will not say it again to the IDLE below.
                    continue
                # Python 3.11's wait_for (inside aioimaplib) can swallow a cancellation that
                # lands as a response completes; without this the task would go on to IDLE
                # (up to idle_check_seconds) and an admin's save of the campaign would wait on
                # it.
                if _cancelling():
                    raise asyncio.CancelledError
                if idle_ok:
                    await self._idle(client, lost)
                else:
                    await asyncio.sleep(self.poll_seconds)
                    await unless_lost(client.noop(), lost)
        finally:
            # Cancelled (the campaign was changed or the engine stops): hang up at once; a
            # polite LOGOUT could keep an admin's save waiting on a slow server.
            if not lost.done() and not _cancelling():
                try:
                    await asyncio.wait_for(client.logout(), 5)
                except (aioimaplib.AioImapException, OSError, TimeoutError):
                    pass
            # aioimaplib's own tasks left behind: an IDLE whose start a cancellation cut short
            # would fail with the closed connection and be logged as never retrieved.
            for task in list(client.tasks):
                task.cancel()
                task.add_done_callback(_retrieve)
            if (timer := getattr(client, "_idle_waiter", None)) is not None:
                timer.cancel()  # the end of an IDLE cut short: nothing to end on a closed line
            if client.protocol.transport is not None:
                client.protocol.transport.close()  # if LOGOUT failed; no-op once closed

    async def _idle(self, client: aioimaplib.IMAP4, lost: asyncio.Future[str]) -> None:
        # Dropped while we fetched: raised at once, not IDLE sent on a dead connection.
        idle = await unless_lost(client.idle_start(timeout=self.idle_seconds), lost)
        try:
            push = await unless_lost(client.wait_server_push(timeout=self.idle_seconds + 5), lost)
            # The folder's count follows what the server said while we listened (a mail
            # expunged meanwhile must not make the next `* N EXISTS` look old).
            self._notice_new_mail(push)
        except TimeoutError:
            pass
        finally:
            if lost.done() or _cancelling():
                idle.cancel()  # the connection is closed next; no DONE round trip
                # It may have failed with the lost connection first: read, not logged as
                # an exception nobody retrieved.
                idle.add_done_callback(_retrieve)
            else:
                client.idle_done()
                await unless_lost(asyncio.wait_for(idle, timeout=30), lost)
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
            raise ImapError(f"UID SEARCH failed: {response_text(response.lines)}")
        self._notice_new_mail(response.lines)
        uids = sorted(u for u in search_uids(response.lines) if u > last_uid)
        large: set[int] = set()
        if len(uids) > 1:
            response = await client.uid_search(f"UID {uids[0]}:* LARGER {LARGE_MESSAGE}")
            if response.result != "OK":
                raise ImapError(f"UID SEARCH failed: {response_text(response.lines)}")
            self._notice_new_mail(response.lines)
            large = set(search_uids(response.lines))
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
                    await self.ingestor.commit(self.campaign_id, prepared, fenced=True)
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

    def _notice_new_mail(self, lines: list[bytes | bytearray]) -> None:
        # Only a count above the last one is news: some servers repeat the count unasked,
        # and reading again for each repeat would never rest in IDLE.
        count = exists_count(lines, self._exists)
        if count is not None and count > self._exists:
            self._told_of_new_mail = True
        if count is not None:
            self._exists = count

    async def _fetch(self, client: aioimaplib.IMAP4, uids: list[int]) -> list[tuple[int, bytes]]:
        protocol = client.protocol
        command = BulkFetch(
            protocol.new_tag(),
            uid_set(uids),
            "(UID BODY.PEEK[])",
            loop=protocol.loop,
            timeout=client.timeout,
        )
        response = await protocol.execute(command)
        if response.result != "OK":
            raise ImapError(f"UID FETCH failed: {response_text(response.lines)}")
        self._notice_new_mail(response.lines)
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


_COUNT_NEWS = re.compile(rb"(\d+) (EXISTS|EXPUNGE)\s*")


def exists_count(lines: list[bytes | bytearray], known: int | None = None) -> int | None:
    """The folder's message count after a command's answer lines: the last `* N EXISTS`,
    less one for each `* N EXPUNGE` after it (or after `known`); None when they tell nothing.
    aioimaplib puts the server's news in the answer of the command it came with; literals
    are bytearrays."""
    count = known
    for line in lines:
        if isinstance(line, bytearray) or not (match := _COUNT_NEWS.fullmatch(line)):
            continue
        if match.group(2) == b"EXISTS":
            count = int(match.group(1))
        elif count is not None:
            count = max(0, count - 1)
    return count


def _retrieve(task: asyncio.Future[object]) -> None:
    """Read a task's end, so that one failed with its lost connection is not logged as an
    exception nobody retrieved."""
    if not task.cancelled():
        task.exception()


def _cancelling() -> bool:
    """Whether the running task is being cancelled (its cleanup must not wait on a server)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
