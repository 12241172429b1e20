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

Over ~500 lines (about 620) because the batch's lookups, its in-memory rows and its multi-row
INSERTs are the state of one transaction (`_Batch`) and are read together; the lookups
(`_Batch.load`, what `decide` reads) are the piece to move out next if it grows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from data.db import Database
from data.db_blobs import Blobs
from data.models import (
    Attachment,
    BlacklistEntry,
    BouncingAddress,
    Campaign,
    DialerRecord,
    Direction,
    Interaction,
    InteractionState,
    MailboxCheckpoint,
    Message,
    MessageLink,
    MessageState,
    Quarantine,
)
from engine import failpoints
from engine.domain.inbound import (
    Action,
    Decision,
    Known,
    Sent,
    Thread,
    decide,
    reported_address,
    reported_id,
)
from engine.domain.mime import ParsedMessage
from engine.domain.threading import find_subject_token, thread_candidates
from engine.domain.unsubscribe import token_of_request
from engine.services.customer.feedback import UNSUBSCRIBE_KINDS
from engine.services.inbound import dialer_reports
from engine.services.inbound.prepare import Position, Prepared, prepare_batch
from engine.services.notify import Notifier
from engine.services.work.overflow import apply_queue_limit

log = logging.getLogger(__name__)

_INTERACTIONS: Table = Interaction.__table__  # type: ignore[assignment]
_MESSAGES: Table = Message.__table__  # type: ignore[assignment]
_ATTACHMENTS: Table = Attachment.__table__  # type: ignore[assignment]
# How far back a bounce naming only the failed address (X-Failed-Recipients) may reach.
_BOUNCE_WINDOW = timedelta(days=7)


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
        self.dialer_threads: (
            Callable[[AsyncSession, int, list[tuple[str | None, list[str]]]], Awaitable[int]] | None
        ) = None
        # Several nodes (engine/services/nodes/leases.py): raises unless this node still owns
        # the campaign's mailbox, in the transaction, just before a mailbox's batch commits.
        self.fence: Callable[[AsyncSession, int], Awaitable[None]] | None = None

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
        async with self.db.writing() as session:
            # Blobs the database keeps go in with the rows naming them (data/db_blobs.py).
            await self.blobs.save(session, {d: b for p in prepared for d, b in p.blobs.items()})
            if self.dialer_threads is not None:
                await self.dialer_threads(
                    session,
                    campaign_id,
                    [
                        (p.parsed.in_reply_to, p.parsed.references)
                        for p in prepared
                        if isinstance(p.parsed, ParsedMessage)
                    ],
                )
            batch = _Batch(session, await session.get_one(Campaign, campaign_id))
            await batch.load([p for p in prepared if isinstance(p.parsed, ParsedMessage)])
            pending = [batch.add(item) for item in prepared]
            await batch.write()
            if prepared:
                await _checkpoint(session, campaign_id, prepared[-1].position)
            await session.flush()
            results = [p.result() for p in pending]
            changed = [m.id for p in pending for m in p.changed_outbound]
            overflowed = await apply_queue_limit(
                session,
                batch.campaign,
                [
                    r.interaction_id
                    for r in results
                    if r.new_customer_interaction and r.interaction_id
                ],
            )
            if fenced and self.fence is not None:
                await self.fence(session, campaign_id)
            failpoints.reached("ingest-before-commit")
        # Committed: the mail is safe, but not yet flagged, routed, announced or confirmed.
        failpoints.reached("ingest-committed")
        for result in results:
            if result.quarantined:
                log.warning("quarantined a mail of campaign %s", campaign_id)
            elif not result.duplicate and result.interaction_id is not None:
                self.notifier.message_added(
                    result.interaction_id, result.message_row_id, queue=result.queued
                )
        for message_id in changed:
            self.notifier.outbound_changed(message_id)
        new_customers = [
            r.interaction_id
            for r in results
            if r.new_customer_interaction and r.interaction_id is not None
        ]
        if new_customers and self.on_new_customer is not None:
            await self.on_new_customer(campaign_id, new_customers, overflowed)
        return results


@dataclass(eq=False)
class _NewInteraction:
    """An interaction this batch creates; inserted with the others, its id known after."""

    client_email: str
    cc: list[str]
    state: InteractionState
    unread: bool
    queued_at: datetime
    closed_at: datetime | None
    last_message_at: datetime
    row: dict[str, Any]
    linked: Interaction | _NewInteraction | None = None
    agent_id: int | None = None
    id: int = 0

    def values(self) -> dict[str, Any]:
        row = self.row
        row["cc"] = self.cc
        row["state"] = self.state
        row["unread"] = self.unread
        row["queued_at"] = self.queued_at
        row["closed_at"] = self.closed_at
        row["last_message_at"] = self.last_message_at
        row["agent_id"] = self.agent_id
        linked = self.linked
        # A link to an interaction of this same batch is set once its id is known.
        row["linked_interaction_id"] = linked.id if isinstance(linked, Interaction) else None
        return row


_Thread = Interaction | _NewInteraction


@dataclass(eq=False)
class _NewMessage:
    thread: _Thread
    kind: str
    row: dict[str, Any]
    attachments: list[dict[str, Any]]
    id: int = 0


@dataclass
class _Pending:
    """What one mail became, readable once the batch is written (ids are known then)."""

    interaction: _Thread | None = None
    message: _NewMessage | None = None
    new_interaction: bool = False
    duplicate_of: int | _NewMessage | None = None
    quarantined: bool = False
    queued: bool = False  # its interaction entered the queue (new and queued, or reopened)
    changed_outbound: list[Message] = field(default_factory=list)  # bounced messages of ours

    def result(self) -> Ingested:
        if self.quarantined:
            return Ingested(None, None, quarantined=True)
        if self.duplicate_of is not None:
            first = self.duplicate_of
            return Ingested(
                None, first.id if isinstance(first, _NewMessage) else first, duplicate=True
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


class _Batch:
    """Threading and deduplication state for one ingest transaction."""

    def __init__(self, session: AsyncSession, campaign: Campaign) -> None:
        self.session = session
        self.campaign = campaign
        self.own_address = campaign.email_address.lower()
        self.known_digests: dict[str, int | _NewMessage] = {}
        self.by_message_id: dict[str, _Thread] = {}
        self.outbound: dict[str, Message] = {}  # our sent mail, by Message-ID
        self.by_token: dict[int, Interaction] = {}  # interactions named by [#id] tokens
        self.blacklisted: set[str] = set()
        # Unsubscribe mail: token -> (recipient, campaign), and the entries they have.
        self.unsubscribes: dict[str, tuple[str, int]] = {}
        self.unsubscribed: set[tuple[str, int | None]] = set()
        self.dialer_unsubscribes: dict[str, int] = {}  # token -> its dialer record
        self.dialer: dict[str, DialerRecord] = {}  # records reports name, by Message-ID
        self.bouncing: dict[str, BouncingAddress] = {}
        # The last message sent to an address, for bounces that name only the address.
        self.last_sent_to: dict[str, Message] = {}
        self.now = datetime.now(UTC)
        self.new_interactions: list[_NewInteraction] = []
        self.new_messages: list[_NewMessage] = []
        # What `decide` reads: views of the indexes above, which grow as the batch is added.
        self.known: Known[_Thread, Message] = Known(
            threads=_Views(self.by_message_id, _thread_view),
            by_token=_Views(self.by_token, _thread_view),
            outbound=_Views(self.outbound, _sent_view),
            last_sent_to=_Views(self.last_sent_to, _sent_view),
            dialer=_Views(self.dialer, dialer_reports.view),
        )

    async def load(self, parsed: list[Prepared]) -> None:
        digests = [p.digest for p in parsed]
        if digests:
            rows = await self.session.execute(
                select(Message.raw_sha256, Message.id)
                .join(Interaction)
                .where(
                    Interaction.campaign_id == self.campaign.id,
                    Message.direction == Direction.INBOUND,
                    Message.raw_sha256.in_(digests),
                )
            )
            self.known_digests = {digest: mid for digest, mid in rows}
        candidates = {
            mid
            for p in parsed
            if isinstance(p.parsed, ParsedMessage)
            for mid in thread_candidates(p.parsed.in_reply_to, p.parsed.references)
        }
        if candidates:
            threads = await self.session.execute(
                select(Message.message_id, Interaction)
                .join(Interaction)
                .where(
                    Interaction.campaign_id == self.campaign.id,
                    Message.message_id.in_(candidates),
                )
            )
            self.by_message_id.update((mid, interaction) for mid, interaction in threads)
        # A reply whose client dropped the threading headers still carries our subject token.
        tokens = {
            token
            for p in parsed
            if isinstance(p.parsed, ParsedMessage)
            and (token := find_subject_token(p.parsed.subject)) is not None
        }
        if tokens:
            found = await self.session.execute(
                select(Interaction).where(
                    Interaction.id.in_(tokens), Interaction.campaign_id == self.campaign.id
                )
            )
            self.by_token.update((i.id, i) for i in found.scalars())
        # Bounces and complaints name one of our messages; our own mail looping back is
        # recognised by its Message-ID in our outbox.
        ours = {
            mid
            for p in parsed
            if isinstance(p.parsed, ParsedMessage)
            for mid in (reported_id(p.classification), p.parsed.message_id)
            if mid
        } | candidates
        if ours:
            sent = await self.session.execute(
                select(Message, Interaction)
                .join(Interaction)
                .where(Message.direction == Direction.OUTBOUND, Message.message_id.in_(ours))
            )
            for message, interaction in sent:
                self.outbound[message.message_id] = message
                self.by_message_id.setdefault(message.message_id, interaction)
        # Dialer mail has no message row: its record is found by its Message-ID.
        reported = {
            mid
            for p in parsed
            if isinstance(p.parsed, ParsedMessage)
            and p.classification is not None
            and p.classification.kind in ("bounce", "complaint")
            for mid in (
                reported_id(p.classification),
                *thread_candidates(p.parsed.in_reply_to, p.parsed.references),
            )
            if mid
        }
        if reported:
            self.dialer.update(await dialer_reports.records_by_message_id(self.session, reported))
        unlinked = {
            address
            for p in parsed
            if isinstance(p.parsed, ParsedMessage)
            and (address := reported_address(p.classification)) is not None
            and not any(
                mid in self.outbound
                for mid in (
                    reported_id(p.classification),
                    *thread_candidates(p.parsed.in_reply_to, p.parsed.references),
                )
            )
        }
        if unlinked:
            # Bounces come within days; an older message is not what a bare address means.
            newest = (
                select(func.max(Message.id))
                .join(Interaction)
                .where(
                    Interaction.campaign_id == self.campaign.id,
                    func.lower(Interaction.client_email).in_(unlinked),
                    Message.direction == Direction.OUTBOUND,
                    Message.state.in_([MessageState.SENT, MessageState.FAILED]),
                    Message.sent_at >= self.now - _BOUNCE_WINDOW,
                )
                .group_by(func.lower(Interaction.client_email))
            )
            latest = await self.session.execute(
                select(Message, Interaction).join(Interaction).where(Message.id.in_(newest))
            )
            for message, interaction in latest:
                self.last_sent_to[interaction.client_email.lower()] = message
                self.by_message_id.setdefault(message.message_id, interaction)
        # Every address a report could name: the complainers and whoever we sent to.
        addresses = {a for p in parsed if (a := reported_address(p.classification))} | {
            a.lower()
            for m in (*self.outbound.values(), *self.last_sent_to.values())
            for a in (*m.to, *m.cc, *m.bcc)
        }
        addresses |= {r.destination.lower() for r in self.dialer.values()}
        if addresses:
            self.blacklisted = set(
                (
                    await self.session.execute(
                        # A complaint blocks every campaign: only entries for all count.
                        select(BlacklistEntry.email).where(
                            BlacklistEntry.email.in_(addresses),
                            BlacklistEntry.campaign_id.is_(None),
                        )
                    )
                ).scalars()
            )
            marked = await self.session.execute(
                select(BouncingAddress).where(BouncingAddress.email.in_(addresses))
            )
            self.bouncing = {b.email: b for b in marked.scalars()}
        await self._load_unsubscribes(parsed)

    async def _load_unsubscribes(self, parsed: list[Prepared]) -> None:
        """The dialer messages whose unsubscribe tokens the batch's subjects name, and the
        entries their recipients have already."""
        tokens = {
            token
            for p in parsed
            if isinstance(p.parsed, ParsedMessage)
            and (token := token_of_request(p.parsed.subject)) is not None
        }
        if not tokens:
            return
        rows = await self.session.execute(
            select(MessageLink.token, Message.to, Interaction.campaign_id)
            .join(Message, MessageLink.message_id == Message.id)
            .join(Interaction, Message.interaction_id == Interaction.id)
            .where(MessageLink.token.in_(tokens), Message.kind.in_(UNSUBSCRIBE_KINDS))
        )
        self.unsubscribes = {token: (to[0].lower(), cid) for token, to, cid in rows if to}
        found = await dialer_reports.unsubscribe_tokens(
            self.session, tokens - set(self.unsubscribes)
        )
        for token, (email, campaign_id, record_id) in found.items():
            self.unsubscribes[token] = (email, campaign_id)
            self.dialer_unsubscribes[token] = record_id
        emails = {email for email, _ in self.unsubscribes.values()}
        listed = await self.session.execute(
            select(BlacklistEntry.email, BlacklistEntry.campaign_id).where(
                BlacklistEntry.email.in_(emails)
            )
        )
        self.unsubscribed = {(email, cid) for email, cid in listed}
        self.known = replace(self.known, unsubscribe_tokens=frozenset(self.unsubscribes))

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
        interaction: _Thread
        if decision.thread is None:
            interaction = _NewInteraction(
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
        message = _NewMessage(
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

    def _apply_unsubscribe(self, decision: Decision[_Thread, Message]) -> None:
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

    def _apply_report(self, decision: Decision[_Thread, Message], pending: _Pending) -> None:
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

    async def write(self) -> None:
        """Insert the batch's new rows, a table at a time, in source order.

        Changes to rows that already exist (a reply reopening its interaction, a bounce
        marking our message failed) stay with the ORM session and are flushed first.
        """
        if not self.new_messages:
            return
        await self.session.flush()
        if self.new_interactions:
            rows = [i.values() for i in self.new_interactions]
            ids = await _insert_ids(self.session, _INTERACTIONS, rows)
            for interaction, new_id in zip(self.new_interactions, ids, strict=True):
                interaction.id = new_id
            links = [
                {"b_id": i.id, "b_linked": i.linked.id}
                for i in self.new_interactions
                if isinstance(i.linked, _NewInteraction)
            ]
            if links:
                await self.session.execute(
                    update(_INTERACTIONS)
                    .where(_INTERACTIONS.c.id == bindparam("b_id"))
                    .values(linked_interaction_id=bindparam("b_linked")),
                    links,
                )
        rows = []
        for message in self.new_messages:
            message.row["interaction_id"] = message.thread.id
            rows.append(message.row)
        # Each new message has its own content hash (the batch deduplicates): it maps the
        # returned ids back to the messages whatever order the database returns them in.
        returned = await self.session.execute(
            insert(_MESSAGES).returning(_MESSAGES.c.id, _MESSAGES.c.raw_sha256), rows
        )
        message_ids = {digest: message_id for message_id, digest in returned}
        attachments: list[dict[str, Any]] = []
        for message in self.new_messages:
            message.id = message_ids[message.row["raw_sha256"]]
            for attachment in message.attachments:
                attachment["message_id"] = message.id
                attachments.append(attachment)
        if attachments:
            await self.session.execute(insert(_ATTACHMENTS), attachments)


_S = TypeVar("_S")
_K = TypeVar("_K")
_V = TypeVar("_V")


class _Views(Mapping[_K, _V], Generic[_K, _S, _V]):
    """A live index of the batch, read as the domain's plain values (made when looked up)."""

    def __init__(self, source: dict[_K, _S], view: Callable[[_S], _V]) -> None:
        self.source = source
        self.view = view

    def __getitem__(self, key: _K) -> _V:
        return self.view(self.source[key])

    def __contains__(self, key: object) -> bool:
        return key in self.source

    def __iter__(self) -> Iterator[_K]:
        return iter(self.source)

    def __len__(self) -> int:
        return len(self.source)


def _thread_view(interaction: _Thread) -> Thread[_Thread]:
    closed = interaction.state == InteractionState.CLOSED
    return Thread(interaction, interaction.client_email, tuple(interaction.cc), closed)


def _sent_view(message: Message) -> Sent[Message]:
    recipients = (*message.to, *message.cc, *message.bcc)
    return Sent(message, message.message_id, recipients, message.state == MessageState.FAILED)


async def _checkpoint(session: AsyncSession, campaign_id: int, position: Position) -> None:
    if not position.uid:
        return
    checkpoint = await session.scalar(
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


async def _insert_ids(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows with one multi-row INSERT; their new primary keys, in the rows' order.

    SQLAlchemy can only order RETURNING rows on SQLite by inserting one row per statement.
    SQLite numbers the rows of one INSERT in ascending order instead (a new rowid is one more
    than the largest, and our transaction holds the write lock), so the sorted ids are in
    the order of the rows; the returned client addresses double-check it.
    """
    if session.get_bind().dialect.name != "sqlite":
        result = await session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
        )
        return list(result.scalars())
    result = await session.execute(insert(table).returning(table.c.id, table.c.client_email), rows)
    returned = sorted(result.all())
    if [email for _id, email in returned] != [row["client_email"] for row in rows]:
        raise RuntimeError(f"{table.name}: inserted ids are not in the order of the rows")
    return [new_id for new_id, _email in returned]
