"""Store inbound mail: message rows and mailbox checkpoint in a single transaction.

Both IMAP and Maildir transports call `Ingestor.ingest` (or the batch form). The raw bytes and
attachments are written to the blob store first, by `engine.services.inbound.prepare`
(idempotent, durable when `prepare` returns), then the message rows, their attachments, the
threading decisions and the checkpoint commit together here; only after the commit is the mail
routed or announced. A crash at any point therefore either leaves nothing (the mail is fetched
again) or everything.

A batch is decided in memory first (duplicates, threads, classification), then written with
a few multi-row INSERTs: new interactions, new messages, their attachments. The ORM unit of
work is kept for the rare rows that change (an existing interaction a reply joins, our own
message a bounce reports, blacklist, bouncing-address and quarantine entries).

What each mail does (the thread it joins, a reopen, automated mail filed closed, a bounce
failing our message or a complaint blacklisting its address, the CC following the last mail)
is decided by `engine.domain.inbound.decide` from plain values; this module looks up what the
decision reads (the interactions a batch's headers name, our sent messages, the last message
sent to an address a bounce names alone) and carries the decision out.

The batch's lookups (what `decide` reads) are in `engine.services.inbound.lookups`, its new
rows and their multi-row INSERTs in `engine.services.inbound.new_rows`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from data.db import Database
from data.db_blobs import Blobs
from data.models import (
    BlacklistEntry,
    BouncingAddress,
    Campaign,
    Direction,
    InteractionState,
    MailboxCheckpoint,
    Message,
    MessageState,
    Quarantine,
)
from engine import failpoints
from engine.domain.dialer_mail import AnsweredMail
from engine.domain.inbound import Action, Decision, decide
from engine.domain.mime import ParsedMessage
from engine.services.inbound import dialer_reports
from engine.services.inbound.lookups import BatchLookups
from engine.services.inbound.new_rows import BatchThread, NewInteraction, NewMessage, insert_rows
from engine.services.inbound.prepare import Position, Prepared, prepare_batch
from engine.services.notify import Notifier
from engine.services.work.overflow import apply_queue_limit
from engine.services.work.router import Routed, Router

log = logging.getLogger(__name__)


class DialerThreads(Protocol):
    """Answers to dialer mail (`engine.services.dialer.answers.DialerAnswers`): `prepare`
    reads and makes what opening their threads needs, before the transaction; `open` opens
    them in it (in the database's thread)."""

    async def prepare(
        self, campaign_id: int, replies: list[tuple[str | None, list[str]]]
    ) -> list[AnsweredMail]: ...

    def open(self, session: Session, campaign_id: int, answered: list[AnsweredMail]) -> int: ...


@dataclass(frozen=True)
class Ingested:
    interaction_id: int | None
    message_row_id: int | None
    new_interaction: bool = False
    duplicate: bool = False
    quarantined: bool = False
    new_customer_interaction: bool = False
    queued: bool = False  # its interaction entered the queue with it (new or reopened)


class Ingestor:
    def __init__(
        self,
        db: Database,
        blobs: Blobs,
        notifier: Notifier,
        *,
        max_attachment_bytes: int,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.notifier = notifier
        # An attachment larger than this gets no blob of its own (see `prepare_batch`).
        self.max_attachment_bytes = max_attachment_bytes
        # Called after the commit for the new customer interactions (automatic answers), with
        # those that overflowed the campaign's queue limit.
        self.on_new_customer: Callable[[int, list[int], set[int]], Awaitable[object]] | None = None
        # Answers to dialer mail: the sent mail's thread is made before threads are looked up
        # (engine/services/dialer/answers.py, set by the engine).
        self.dialer_threads: DialerThreads | None = None
        # Several nodes (engine/services/nodes/leases.py): raises unless this node still owns
        # the campaign's mailbox, in the transaction, just before a mailbox's batch commits.
        # Called in the database's thread (`Database.write_at_once`).
        self.fence: Callable[[Session, int], None] | None = None
        # The router (set by the engine): a batch's new mail is routed in the transaction
        # that stores it (`Router.inline`).
        self.router: Router | None = None

    async def ingest(self, campaign_id: int, raw: bytes, position: Position) -> Ingested:
        return (await self.ingest_batch(campaign_id, [(raw, position)]))[0]

    async def ingest_batch(
        self, campaign_id: int, items: list[tuple[bytes, Position]]
    ) -> list[Ingested]:
        """Store mails in source order in one transaction, with the checkpoint of the last.

        Lookups (duplicates, threads) are made once for the whole batch and the new rows are
        inserted a table at a time: the cost per mail is parsing and the blob write.
        """
        return await self.commit(campaign_id, await self.prepare(items))

    async def own_addresses(self) -> set[str]:
        """Every campaign's address: mail from them is our own (see `classify`)."""
        async with self.db.session() as session:
            return set((await session.execute(select(Campaign.email_address))).scalars())

    async def prepare(
        self, items: list[tuple[bytes, Position]], ours: set[str] | None = None
    ) -> list[Prepared]:
        """Parse, classify and store the blobs of a batch; nothing is committed yet.

        `ours` is `own_addresses()`, when the caller already has it.
        """
        if ours is None:
            ours = await self.own_addresses()
        # In a worker thread: the event loop stays free for the consoles, the commits and the
        # next IMAP download meanwhile (the blob writes and their barrier release the GIL).
        return await asyncio.to_thread(
            prepare_batch, self.blobs, items, ours, self.max_attachment_bytes
        )

    async def commit(
        self, campaign_id: int, prepared: list[Prepared], *, fenced: bool = False
    ) -> list[Ingested]:
        """Store a prepared batch in one transaction, with the checkpoint of its last mail.

        `fenced`: the batch comes from the campaign's mailbox, which only the node owning its
        lease may commit (see `fence`)."""
        answered = None
        if self.dialer_threads is not None:
            # What answered dialer mail needs (the sent mail made again) is made before the
            # transaction; its thread is opened inside it (`DialerAnswers`).
            answered = await self.dialer_threads.prepare(
                campaign_id,
                [
                    (p.parsed.in_reply_to, p.parsed.references)
                    for p in prepared
                    if isinstance(p.parsed, ParsedMessage)
                ],
            )
        route: Callable[[Session], Routed | None] | None = None

        def store(session: Session) -> _Stored:
            # Blobs the database keeps go in with the rows naming them (data/db_blobs.py).
            self.blobs.save(session, {d: b for p in prepared for d, b in p.blobs.items()})
            if answered and self.dialer_threads is not None:
                self.dialer_threads.open(session, campaign_id, answered)
            batch = _Batch(session, session.get_one(Campaign, campaign_id))
            batch.load([p for p in prepared if isinstance(p.parsed, ParsedMessage)])
            pending = [batch.add(item) for item in prepared]
            batch.write()
            if prepared:
                _checkpoint(session, campaign_id, prepared[-1].position)
            session.flush()
            results = [p.result() for p in pending]
            changed = [m.id for p in pending for m in p.changed_outbound]
            overflowed = apply_queue_limit(
                session,
                batch.campaign,
                [
                    r.interaction_id
                    for r in results
                    if r.new_customer_interaction and r.interaction_id
                ],
            )
            if fenced and self.fence is not None:
                self.fence(session, campaign_id)
            # What entered a queue goes to its agent in this same commit (`Router.inline`).
            queued = any(r.queued for r in results)
            routed = route(session) if route is not None and queued else None
            failpoints.reached("ingest-before-commit")
            return _Stored(results, changed, overflowed, routed)

        # Not under the router's status lock: batches of fifty mailboxes queued for it kept
        # the router's own pass waiting 0.7 s (bench/routing.py). An agent's status is
        # checked where the assignment is written (`router._ASSIGN`).
        route = None if self.router is None else self.router.inline(campaign_id)
        # One trip to the database's thread for the whole transaction: statement by
        # statement, a batch held SQLite's write turn 30-80 ms on a busy engine, and the
        # router's passes waited behind it (bench/routing.py).
        try:
            stored = await self.db.write_at_once(store)
        except DBAPIError as error:
            if not refused(error):
                raise  # a connection lost or a lock: the whole batch again, later
            return await self._refused(campaign_id, prepared, fenced, error)
        self._announce(campaign_id, stored)
        if stored.routed is not None and self.router is not None:
            self.router.committed(stored.routed)  # their agents are told
        for message_id in stored.changed:
            self.notifier.outbound_changed(message_id)
        new_customers = [
            r.interaction_id
            for r in stored.results
            if r.new_customer_interaction and r.interaction_id is not None
        ]
        if new_customers and self.on_new_customer is not None:
            await self.on_new_customer(campaign_id, new_customers, stored.overflowed)
        return stored.results

    async def _refused(
        self, campaign_id: int, prepared: list[Prepared], fenced: bool, error: Exception
    ) -> list[Ingested]:
        """The database refused a value of the batch (a stranger's text it cannot hold, a
        rule it enforces): retried without it, never forever. A batch is stored a mail at a
        time; the one mail refused alone is quarantined with the reason, raw bytes and all,
        so its mailbox goes on and nothing is lost (an admin can retry it)."""
        if len(prepared) > 1:
            log.warning(
                "campaign %s: the database refused a batch of %d mails (%s); storing them"
                " one at a time",
                campaign_id,
                len(prepared),
                type(error).__name__,
            )
            results: list[Ingested] = []
            for item in prepared:
                results += await self.commit(campaign_id, [item], fenced=fenced)
            return results
        [item] = prepared
        if isinstance(item.parsed, str):  # already a quarantine entry: nothing to fall back to
            raise error
        reason = refusal_reason(error)
        log.warning("campaign %s: the database refused a mail: %s", campaign_id, reason)
        return await self.commit(campaign_id, [replace(item, parsed=reason)], fenced=fenced)

    def _announce(self, campaign_id: int, stored: _Stored) -> None:
        """Committed: the mail is safe, but not yet announced or confirmed."""
        failpoints.reached("ingest-committed")
        # A new interaction assigned in the same commit is told with its assignment
        # (`Router.committed`): its first message is on nobody's screen yet.
        told = set() if stored.routed is None else {i for i, _ in stored.routed.pairs}
        for result in stored.results:
            if result.quarantined:
                log.warning("quarantined a mail of campaign %s", campaign_id)
            elif not result.duplicate and result.interaction_id is not None:
                self.notifier.message_added(
                    result.interaction_id,
                    result.message_row_id,
                    queue=result.queued,
                    routed=stored.routed is not None,
                    told=result.new_interaction and result.interaction_id in told,
                )


def refused(error: DBAPIError) -> bool:
    """The database will not store a value of the batch: SQLite's constraint or data errors,
    PostgreSQL's data exceptions (too long, out of range, not in the encoding: SQLSTATE class
    22) and rule refusals (a constraint, a trigger: class 23), read from the SQLSTATE since
    SQLAlchemy's asyncpg driver reports most of them as a plain `Error`. A connection lost, a
    lock or a lease lost are none of these: their batch is retried whole."""
    if isinstance(error, DataError | IntegrityError):
        return True
    state = getattr(error.orig, "sqlstate", None) or ""
    return state[:2] in ("22", "23")


def refusal_reason(error: Exception) -> str:
    """Why the database refused a mail, for the quarantine list: its own words, first line,
    without the statement and parameters SQLAlchemy adds (a stranger's text)."""
    cause = getattr(error, "orig", None) or error
    first = (str(cause).strip().splitlines() or [""])[0]
    return f"the database refused it ({type(cause).__name__}): {first[:300]}"


@dataclass(frozen=True)
class _Stored:
    """What a batch's transaction did, for after its commit."""

    results: list[Ingested]
    changed: list[int]  # our sent messages it changed (bounced)
    overflowed: set[int]  # new interactions held over the queue limit
    routed: Routed | None  # what was assigned in it (None: nothing was routed in it)


@dataclass
class _Pending:
    """What one mail became, readable once the batch is written (ids are known then)."""

    interaction: BatchThread | None = None
    message: NewMessage | None = None
    new_interaction: bool = False
    duplicate_of: int | NewMessage | None = None
    quarantined: bool = False
    queued: bool = False  # its interaction entered the queue (new and queued, or reopened)
    changed_outbound: list[Message] = field(default_factory=list)  # bounced messages of ours

    def result(self) -> Ingested:
        if self.quarantined:
            return Ingested(None, None, quarantined=True)
        if self.duplicate_of is not None:
            first = self.duplicate_of
            return Ingested(
                None, first.id if isinstance(first, NewMessage) else first, duplicate=True
            )
        assert self.interaction is not None and self.message is not None
        customer = self.message.kind == "customer"
        return Ingested(
            self.interaction.id,
            self.message.id,
            self.new_interaction,
            new_customer_interaction=self.new_interaction and customer,
            queued=self.queued,
        )


class _Batch(BatchLookups):
    """Threading and deduplication state for one ingest transaction: the lookups it reads
    (`BatchLookups`), the new rows it makes and the changes it carries out."""

    def __init__(self, session: Session, campaign: Campaign) -> None:
        super().__init__(session, campaign)
        self.new_interactions: list[NewInteraction] = []
        self.new_messages: list[NewMessage] = []

    def add(self, item: Prepared) -> _Pending:
        parsed = item.parsed
        if isinstance(parsed, str):
            self.session.add(
                Quarantine(
                    campaign_id=self.campaign.id,
                    raw_sha256=item.digest,
                    error=parsed,
                    imap_uid=item.position.uid or None,
                )
            )
            return _Pending(quarantined=True)
        # The same bytes seen again (UIDVALIDITY reset, a Maildir file not yet moved): skip.
        if item.digest in self.known_digests:
            return _Pending(duplicate_of=self.known_digests[item.digest])
        sender = parsed.from_.email.lower() if parsed.from_ else ""
        sender_name = parsed.from_.name if parsed.from_ else ""
        decision = decide(parsed, item.classification, self.known, own_address=self.own_address)
        pending = _Pending()
        self._apply_report(decision, pending)
        self._apply_unsubscribe(decision)
        interaction: BatchThread
        if decision.thread is None:
            interaction = NewInteraction(
                client_email=sender,
                cc=list(decision.cc or ()),
                # Automated mail is kept and searchable, but never queued for an agent.
                state=InteractionState.QUEUED if decision.queued else InteractionState.CLOSED,
                unread=decision.queued,
                queued_at=self.now,
                closed_at=None if decision.queued else self.now,
                last_message_at=self.now,
                linked=decision.linked,
                row={
                    "campaign_id": self.campaign.id,
                    "direction": Direction.INBOUND,
                    "client_email": sender,
                    "client_name": sender_name,
                    "subject": parsed.subject,
                    "created_at": self.now,
                    # The service level this mail is held to, fixed as it arrives.
                    "service_due_at": (
                        self.now + timedelta(seconds=self.campaign.service_level_seconds)
                        if decision.queued
                        else None
                    ),
                },
            )
            self.new_interactions.append(interaction)
        else:
            interaction = decision.thread
            if decision.cc is not None:
                interaction.cc = list(decision.cc)
            if decision.action in (Action.JOIN, Action.REOPEN):
                interaction.unread = True
                interaction.last_message_at = self.now
            if decision.action is Action.REOPEN:
                interaction.state = InteractionState.QUEUED
                interaction.agent_id = None
                interaction.queued_at = self.now
                interaction.closed_at = None
        kind = decision.kind
        message = NewMessage(
            interaction,
            kind,
            {
                "direction": Direction.INBOUND,
                "state": MessageState.RECEIVED,
                "message_id": parsed.message_id or "",
                "in_reply_to": parsed.in_reply_to or "",
                "references": parsed.references,
                "from_email": sender,
                "from_name": sender_name,
                "to": [a.email for a in parsed.to],
                "cc": [a.email.lower() for a in parsed.cc],
                "subject": parsed.subject,
                "text": parsed.text,
                "html": parsed.html or "",
                "raw_sha256": item.digest,
                "imap_uid": item.position.uid or None,
                "created_at": self.now,
                "kind": kind,
                "auto_submitted": kind != "customer",
            },
            [
                {
                    "filename": part.filename,
                    "content_type": part.content_type,
                    "size": len(part.data),
                    "sha256": stored.digest,
                    "inline": part.inline,
                    "over_limit": stored.over_limit,
                }
                for part, stored in zip(parsed.attachments, item.attachments, strict=True)
            ],
        )
        self.new_messages.append(message)
        self.known_digests[item.digest] = message
        if parsed.message_id:
            self.by_message_id[parsed.message_id] = interaction
        pending.interaction, pending.message = interaction, message
        pending.new_interaction = decision.thread is None
        pending.queued = (decision.thread is None and decision.queued) or (
            decision.action is Action.REOPEN
        )
        return pending

    def _apply_unsubscribe(self, decision: Decision[BatchThread, Message]) -> None:
        """A mail to the unsubscribe address: its token's recipient gets no more mail from
        the campaign that sent it (once; an entry for all campaigns covers it already)."""
        if decision.unsubscribe is None:
            return
        email, campaign_id = self.unsubscribes[decision.unsubscribe]
        if {(email, campaign_id), (email, None)} & self.unsubscribed:
            return
        self.unsubscribed.add((email, campaign_id))
        self.session.add(
            BlacklistEntry(
                email=email,
                campaign_id=campaign_id,
                source="mailto",
                reason=f"unsubscribed by mail to {self.own_address}"[:200],
            )
        )
        if (record_id := self.dialer_unsubscribes.get(decision.unsubscribe)) is not None:
            dialer_reports.unsubscribed(self.session, record_id)

    def _apply_report(self, decision: Decision[BatchThread, Message], pending: _Pending) -> None:
        """Carry out what a bounce or complaint does to our message and its address."""
        original = decision.reported
        if original is not None:
            if decision.fail_reported:
                original.state = MessageState.FAILED
            if decision.reported_error is not None:
                original.error = decision.reported_error
            pending.changed_outbound.append(original)
        if decision.dialer is not None:
            [record] = [r for r in self.dialer.values() if r.id == decision.dialer.record_id]
            dialer_reports.apply(self.session, record, decision.dialer)
        if decision.blacklist and decision.blacklist not in self.blacklisted:
            self.blacklisted.add(decision.blacklist)
            self.session.add(
                BlacklistEntry(
                    email=decision.blacklist, reason=decision.blacklist_reason, source="complaint"
                )
            )
        if decision.bouncing:
            entry = self.bouncing.get(decision.bouncing)
            if entry is None:
                entry = BouncingAddress(email=decision.bouncing, created_at=self.now)
                self.bouncing[decision.bouncing] = entry
                self.session.add(entry)
            entry.reason = decision.bouncing_reason
            entry.updated_at = self.now

    def write(self) -> None:
        """Insert the batch's new rows, a table at a time, in source order.

        Changes to rows that already exist (a reply reopening its interaction, a bounce
        marking our message failed) stay with the ORM session and are flushed first.
        """
        if not self.new_messages:
            return
        self.session.flush()
        insert_rows(self.session, self.new_interactions, self.new_messages)


def _checkpoint(session: Session, campaign_id: int, position: Position) -> None:
    if not position.uid:
        return
    checkpoint = session.scalar(
        select(MailboxCheckpoint).where(
            MailboxCheckpoint.campaign_id == campaign_id,
            MailboxCheckpoint.folder == position.folder,
        )
    )
    if checkpoint is None:
        session.add(
            MailboxCheckpoint(
                campaign_id=campaign_id,
                folder=position.folder,
                uidvalidity=position.uidvalidity,
                last_uid=position.uid,
            )
        )
    elif checkpoint.uidvalidity != position.uidvalidity:
        checkpoint.uidvalidity = position.uidvalidity
        checkpoint.last_uid = position.uid
    else:
        checkpoint.last_uid = max(checkpoint.last_uid, position.uid)
