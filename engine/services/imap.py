"""Inbound over IMAP: fetch new UIDs after the checkpoint, then wait with IDLE (or poll).

One `ImapMailbox.run()` per receiving campaign, restarted with backoff by the engine when it
fails. Messages are fetched in UID order and each is committed (with the checkpoint) before the
next, so a crash resumes exactly after the last committed UID. A UIDVALIDITY change restarts
from UID 1; content-hash deduplication in the ingestor keeps that from duplicating anything.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from dataclasses import dataclass

import aioimaplib
from sqlalchemy import select

from data.db import Database
from data.models import Campaign, MailboxCheckpoint, Security
from data.secrets import SecretBox
from engine.services.ingest import Ingestor, Position
from engine.services.outbox import tls_context

log = logging.getLogger(__name__)

FETCH_BATCH = 50
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


async def connect(account: ImapAccount, timeout: float = 30.0) -> aioimaplib.IMAP4:
    context = tls_context(account.tls_verify)
    if account.security == Security.TLS:
        client = aioimaplib.IMAP4_SSL(
            account.host, account.port, ssl_context=context, timeout=timeout
        )
    else:
        client = aioimaplib.IMAP4(account.host, account.port, timeout=timeout)
    try:
        await client.wait_hello_from_server()
    except (OSError, TimeoutError) as exc:
        raise ImapError(f"cannot connect to {account.host}:{account.port}: {exc}") from exc
    if account.security == Security.STARTTLS:
        await _starttls(client, account.host, context)
    response = await client.login(account.username, account.password)
    if response.result != "OK":
        raise ImapError(f"login refused for {account.username}: {_text(response.lines)}")
    return client


async def _starttls(client: aioimaplib.IMAP4, host: str, context: ssl.SSLContext) -> None:
    # aioimaplib lists STARTTLS but has no method for it: upgrade the transport ourselves.
    response = await client.protocol.execute(
        aioimaplib.Command("STARTTLS", client.protocol.new_tag())
    )
    if response.result != "OK":
        raise ImapError(f"STARTTLS refused: {_text(response.lines)}")
    loop = asyncio.get_running_loop()
    protocol = client.protocol
    transport = await loop.start_tls(protocol.transport, protocol, context, server_hostname=host)
    protocol.transport = transport
    await client.capability()


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
    ) -> None:
        self.campaign_id = campaign_id
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
        try:
            response = await client.select(account.folder)
            if response.result != "OK":
                raise ImapError(f"mailbox {account.folder!r} missing: {_text(response.lines)}")
            match = _UIDVALIDITY.search(b" ".join(bytes(x) for x in response.lines))
            uidvalidity = int(match.group(1)) if match else 0
            idle_ok = client.has_capability("IDLE")
            while True:
                await self.fetch_new(client, account.folder, uidvalidity)
                if idle_ok:
                    await self._idle(client)
                else:
                    await asyncio.sleep(self.poll_seconds)
                    await client.noop()
        finally:
            try:
                await asyncio.wait_for(client.logout(), 5)
            except (aioimaplib.AioImapException, OSError, TimeoutError):
                pass

    async def _idle(self, client: aioimaplib.IMAP4) -> None:
        idle = await client.idle_start(timeout=self.idle_seconds)
        try:
            await client.wait_server_push(timeout=self.idle_seconds + 5)
        except TimeoutError:
            pass
        finally:
            client.idle_done()
            await asyncio.wait_for(idle, timeout=30)

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
        stored = 0
        for start in range(0, len(uids), FETCH_BATCH):
            batch = uids[start : start + FETCH_BATCH]
            fetched = await self._fetch(client, batch)
            await self.ingestor.ingest_batch(
                self.campaign_id,
                [(raw, Position(folder, uidvalidity, uid)) for uid, raw in fetched],
            )
            stored += len(fetched)
        return stored

    async def _fetch(self, client: aioimaplib.IMAP4, uids: list[int]) -> list[tuple[int, bytes]]:
        uid_set = ",".join(str(u) for u in uids)
        response = await client.uid("fetch", uid_set, "(UID BODY.PEEK[])")
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
