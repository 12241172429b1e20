"""The persistent outbox: queued outgoing messages leave over SMTP, retried until they go.

The exact bytes to send are built and stored when a message is queued, so a retry after a
restart sends the same Message-ID and body. SMTP 4xx and dropped connections are retried with
exponential backoff (the schedule is in the database, so it survives restarts); 5xx is a
permanent failure recorded with the server's reply for the agent who sent it.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aioimaplib
import aiosmtplib
from sqlalchemy import Select, or_, select, update

from data.db import Database
from data.db_blobs import Blobs
from data.models import Campaign, Direction, Interaction, Message, MessageState, Security
from data.secrets import SecretBox, SecretError
from engine.domain.compose import needs_smtputf8
from engine.domain.oauth import Bearer
from engine.services.notify import Notifier
from engine.services.outbound.smtp_oauth import bearer_login

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=1)
GIVE_UP_AFTER = 30  # attempts: about a day at the capped backoff


def _utf8_addresses(addresses: list[str]) -> str:
    return ", ".join(a for a in addresses if not a.isascii()) or "the sender"


def describe_smtp_error(exc: BaseException) -> str:
    """What an SMTP failure says, for the record (the server's code and words)."""
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{exc.code} {exc.message}"
    return f"{exc.__class__.__name__}: {exc}"


async def reset_after_refusal(smtp: aiosmtplib.SMTP) -> bool:
    """RSET after a refused message; False when the connection is no longer usable."""
    try:
        await smtp.rset()
    except (aiosmtplib.SMTPException, OSError):
        return False
    return True


def tls_context(verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class Outbox:
    def __init__(
        self,
        db: Database,
        blobs: Blobs,
        secrets: SecretBox,
        notifier: Notifier,
        *,
        retry_base: float = 30.0,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.secrets = secrets
        self.notifier = notifier
        self.retry_base = retry_base
        self._wake = asyncio.Event()
        # OAuth2 campaigns send with bearer tokens (set by the engine: admin/oauth.py).
        self.bearer_for: Callable[[int], Awaitable[Bearer | None]] | None = None
        # Several nodes (engine/services/nodes/leases.py): the campaigns whose mail this node
        # sends, as a subquery checked in the claiming statement; None: all (one node).
        self.owned: Callable[[], Select[Any]] | None = None
        self._idle = asyncio.Event()  # no round of sending in progress (see `settled`)
        self._idle.set()

    async def settled(self) -> None:
        """Wait until no round of sending is in progress (a lease given back waits for it)."""
        await self._idle.wait()

    async def recover_campaign(self, campaign_id: int) -> None:
        """A node took over the campaign: what its old owner left SENDING goes again (as after
        a crash on one node, only mail in flight at that moment can arrive twice)."""
        async with self.db.session() as session, session.begin():
            await session.execute(
                update(Message)
                .where(
                    Message.state == MessageState.SENDING,
                    Message.interaction_id.in_(
                        select(Interaction.id).where(Interaction.campaign_id == campaign_id)
                    ),
                )
                .values(state=MessageState.QUEUED)
            )
        self.kick()

    def kick(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        await self._recover_in_flight()
        while True:
            sent_any = await self.send_due()
            if sent_any:
                continue
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the
                # cancellation of Engine.stop() when a wake-up lands at the same time.
                async with asyncio.timeout(1.0):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()

    async def _recover_in_flight(self) -> None:
        if self.owned is not None:
            return  # several nodes: each campaign's when its lease is taken (recover_campaign)
        # A message left SENDING by a crash may or may not have reached the server; sending it
        # again is the only way not to lose it (at most the in-flight ones can arrive twice).
        async with self.db.session() as session, session.begin():
            await session.execute(
                update(Message)
                .where(Message.state == MessageState.SENDING)
                .values(state=MessageState.QUEUED)
            )

    async def send_due(self) -> bool:
        self._idle.clear()
        try:
            due = await self._claim_due()
            if due:
                await self._send_pooled(due)
            return bool(due)
        finally:
            self._idle.set()

    async def _claim_due(self) -> list[int]:
        now = datetime.now(UTC)
        query = select(Message.id).where(
            Message.direction == Direction.OUTBOUND,
            Message.state == MessageState.QUEUED,
            or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now),
        )
        if self.owned is not None:
            query = query.where(
                Message.interaction_id.in_(
                    select(Interaction.id).where(Interaction.campaign_id.in_(self.owned()))
                )
            )
        async with self.db.session() as session, session.begin():
            due = (await session.execute(query.order_by(Message.id).limit(50))).scalars().all()
            if due:
                await session.execute(
                    update(Message).where(Message.id.in_(due)).values(state=MessageState.SENDING)
                )
        return list(due)

    async def _send_pooled(self, due: list[int]) -> None:
        """Send over one SMTP connection per campaign (pooling), in queue order."""
        async with self.db.session() as session:
            rows = await session.execute(
                select(Message.id, Interaction.campaign_id)
                .join(Interaction)
                .where(Message.id.in_(due))
                .order_by(Message.id)
            )
            by_campaign: dict[int, list[int]] = {}
            for message_id, campaign_id in rows:
                by_campaign.setdefault(campaign_id, []).append(message_id)
        for campaign_id, ids in by_campaign.items():
            await self._send_campaign(campaign_id, ids)

    async def _send_campaign(self, campaign_id: int, ids: list[int]) -> None:
        async with self.db.session() as session:
            campaign = await session.get_one(Campaign, campaign_id)
        bearer = await self.bearer_for(campaign_id) if self.bearer_for else None
        try:
            password = "" if bearer else self.secrets.decrypt(campaign.smtp_password_enc)
        except SecretError as exc:
            # This campaign's mail waits for its password; the others' goes on.
            for message_id in ids:
                await self._record(message_id, str(exc), permanent=False)
            return
        smtp = aiosmtplib.SMTP(
            hostname=campaign.smtp_host,
            port=campaign.smtp_port,
            use_tls=campaign.smtp_security == Security.TLS,
            start_tls=campaign.smtp_security == Security.STARTTLS,
            tls_context=tls_context(campaign.tls_verify)
            if campaign.smtp_security != Security.PLAIN
            else None,
            timeout=60,
        )
        try:
            if bearer is not None:
                await bearer.token("")  # a revoked grant fails before the server is bothered
            await smtp.connect()
            if bearer is not None:
                user = campaign.smtp_username or campaign.email_address
                await bearer_login(smtp, user, bearer)
            elif campaign.smtp_username:
                await smtp.login(campaign.smtp_username, password)
        except (aiosmtplib.SMTPException, OSError) as exc:
            # Cannot even talk to the server: every message waits for the next attempt.
            error = describe_smtp_error(exc)
            for message_id in ids:
                await self._record(message_id, error, permanent=False)
            smtp.close()
            return
        sent: list[int] = []
        try:
            for index, message_id in enumerate(ids):
                error, permanent, connection_ok = await self._send_on(smtp, campaign, message_id)
                await self._record(message_id, error, permanent)
                if not error:
                    sent.append(message_id)
                if not connection_ok:
                    await self._requeue(ids[index + 1 :])
                    return
        finally:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                smtp.close()
            if sent and campaign.imap_sent_folder:
                await self._copy_to_sent(campaign, sent)

    async def _copy_to_sent(self, campaign: Campaign, ids: list[int]) -> None:
        """Append what was sent to the campaign's IMAP Sent folder, for other mail clients.

        Best effort: the mail has already left, so a failure here is logged, not retried.
        """
        # Imported here: the IMAP module uses this module's TLS settings (an import cycle).
        from engine.services.inbound.imap_protocol import ImapAccount, ImapError, connect

        async with self.db.session() as session:
            digests = (
                (await session.execute(select(Message.raw_sha256).where(Message.id.in_(ids))))
                .scalars()
                .all()
            )
        bearer = await self.bearer_for(campaign.id) if self.bearer_for else None
        try:
            password = "" if bearer else self.secrets.decrypt(campaign.imap_password_enc)
        except SecretError as exc:
            log.warning("not copied to %s: %s", campaign.imap_sent_folder, exc)
            return
        account = ImapAccount(
            host=campaign.imap_host,
            port=campaign.imap_port,
            security=campaign.imap_security,
            username=campaign.imap_username or campaign.email_address,
            password=password,
            folder=campaign.imap_sent_folder,
            tls_verify=campaign.tls_verify,
            bearer=bearer,
        )
        try:
            client = await connect(account)
        except (ImapError, OSError, TimeoutError) as exc:
            log.warning("cannot copy sent mail of %s to %s: %s", campaign.name, account.folder, exc)
            return
        try:
            for digest in digests:
                raw = await self.blobs.get(digest)
                response = await client.append(raw, mailbox=account.folder, flags="(\\Seen)")
                if response.result != "OK":
                    await client.create(account.folder)
                    response = await client.append(raw, mailbox=account.folder, flags="(\\Seen)")
                if response.result != "OK":
                    log.warning("APPEND to %s refused: %s", account.folder, response.lines)
                    return
        except (aioimaplib.AioImapException, OSError, TimeoutError) as exc:
            log.warning("copy to %s failed: %s", account.folder, exc)
        finally:
            try:
                await asyncio.wait_for(client.logout(), 5)
            except (aioimaplib.AioImapException, OSError, TimeoutError):
                pass

    async def _send_on(
        self, smtp: aiosmtplib.SMTP, campaign: Campaign, message_id: int
    ) -> tuple[str, bool, bool]:
        """(error, permanent, connection still usable) for one message."""
        async with self.db.session() as session:
            message = await session.get_one(Message, message_id)
            raw = await self.blobs.get(message.raw_sha256)
            recipients = list(dict.fromkeys([*message.to, *message.cc, *message.bcc]))
        # An internationalised local part (RFC 6531) needs the server's SMTPUTF8.
        options = ["SMTPUTF8"] if needs_smtputf8([campaign.email_address, *recipients]) else []
        try:
            refused, _reply = await smtp.sendmail(
                campaign.email_address, recipients, raw, mail_options=options
            )
        except aiosmtplib.SMTPNotSupported as exc:
            # The server will not take this message however often it is tried.
            return f"not sent: {exc} (needed for {_utf8_addresses(recipients)})", True, True
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            error = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            return error, all(500 <= c < 600 for c in codes), await reset_after_refusal(smtp)
        except aiosmtplib.SMTPServerDisconnected as exc:
            return describe_smtp_error(exc), False, False
        except aiosmtplib.SMTPResponseException as exc:
            usable = exc.code != 421 and await reset_after_refusal(
                smtp
            )  # 421: the server is closing
            return f"{exc.code} {exc.message}", 500 <= exc.code < 600, usable
        except (aiosmtplib.SMTPException, OSError) as exc:
            return describe_smtp_error(exc), False, False
        # Accepted for at least one recipient: it is sent (refusals of others are in the log).
        for recipient, (code, text) in refused.items():
            log.warning("message %s not accepted for %s: %s %s", message_id, recipient, code, text)
        return "", False, True

    async def _requeue(self, ids: list[int]) -> None:
        if not ids:
            return
        async with self.db.session() as session, session.begin():
            await session.execute(
                update(Message).where(Message.id.in_(ids)).values(state=MessageState.QUEUED)
            )

    async def _record(self, message_id: int, error: str, permanent: bool) -> None:
        now = datetime.now(UTC)
        async with self.db.session() as session, session.begin():
            message = await session.get_one(Message, message_id)
            message.attempts += 1
            if not error:
                message.state = MessageState.SENT
                message.sent_at = now
                message.error = ""
            elif permanent or message.attempts >= GIVE_UP_AFTER:
                message.state = MessageState.FAILED
                message.error = error
                log.warning("message %s failed for good: %s", message_id, error)
            else:
                delay = min(
                    timedelta(seconds=self.retry_base * 2 ** (message.attempts - 1)), MAX_BACKOFF
                )
                message.state = MessageState.QUEUED
                message.next_attempt_at = now + delay
                message.error = error
                log.info("message %s deferred %s: %s", message_id, delay, error)
            interaction_id = message.interaction_id
        self.notifier.message_added(interaction_id, message_id)
