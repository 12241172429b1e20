"""What an inbound batch looks up before `decide` reads it: duplicates, threads, our sent mail.

A module of its own because these are the read half of one ingest transaction
(`engine.services.inbound.ingest`): `BatchLookups.load` makes a few queries for the whole
batch (the interactions its headers and subject tokens name, our outbound mail and dialer
records its reports name, the last message sent to an address a bounce names alone, the
blacklist, bouncing and unsubscribe entries of those addresses) and keeps them as indexes;
`known` shows them to `engine.domain.inbound.decide` as plain values. The ingest batch
extends this class and adds to the indexes as each mail of the batch is decided.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.models import (
    BlacklistEntry,
    BouncingAddress,
    Campaign,
    DialerRecord,
    Direction,
    Interaction,
    InteractionState,
    Message,
    MessageLink,
    MessageState,
)
from engine.domain.inbound import Known, Sent, Thread, reported_address, reported_id
from engine.domain.mime import ParsedMessage
from engine.domain.threading import find_subject_token, thread_candidates
from engine.domain.unsubscribe import token_of_request
from engine.services.customer.feedback import UNSUBSCRIBE_KINDS
from engine.services.inbound import dialer_reports
from engine.services.inbound.new_rows import BatchThread, NewMessage
from engine.services.inbound.prepare import Prepared

# How far back a bounce naming only the failed address (X-Failed-Recipients) may reach.
_BOUNCE_WINDOW = timedelta(days=7)


class BatchLookups:
    """The indexes one ingest transaction reads, loaded once for its whole batch."""

    def __init__(self, session: Session, campaign: Campaign) -> None:
        self.session = session
        self.campaign = campaign
        self.own_address = campaign.email_address.lower()
        self.known_digests: dict[str, int | NewMessage] = {}
        self.by_message_id: dict[str, BatchThread] = {}
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
        # What `decide` reads: views of the indexes above, which grow as the batch is added.
        self.known: Known[BatchThread, Message] = Known(
            threads=_Views(self.by_message_id, _thread_view),
            by_token=_Views(self.by_token, _thread_view),
            outbound=_Views(self.outbound, _sent_view),
            last_sent_to=_Views(self.last_sent_to, _sent_view),
            dialer=_Views(self.dialer, dialer_reports.view),
        )

    def load(self, parsed: list[Prepared]) -> None:
        digests = [p.digest for p in parsed]
        if digests:
            rows = self.session.execute(
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
            threads = self.session.execute(
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
            found = self.session.execute(
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
            sent = self.session.execute(
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
            self.dialer.update(dialer_reports.records_by_message_id(self.session, reported))
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
            latest = self.session.execute(
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
                    self.session.execute(
                        # A complaint blocks every campaign: only entries for all count.
                        select(BlacklistEntry.email).where(
                            BlacklistEntry.email.in_(addresses),
                            BlacklistEntry.campaign_id.is_(None),
                        )
                    )
                ).scalars()
            )
            marked = self.session.execute(
                select(BouncingAddress).where(BouncingAddress.email.in_(addresses))
            )
            self.bouncing = {b.email: b for b in marked.scalars()}
        self._load_unsubscribes(parsed)

    def _load_unsubscribes(self, parsed: list[Prepared]) -> None:
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
        rows = self.session.execute(
            select(MessageLink.token, Message.to, Interaction.campaign_id)
            .join(Message, MessageLink.message_id == Message.id)
            .join(Interaction, Message.interaction_id == Interaction.id)
            .where(MessageLink.token.in_(tokens), Message.kind.in_(UNSUBSCRIBE_KINDS))
        )
        self.unsubscribes = {token: (to[0].lower(), cid) for token, to, cid in rows if to}
        found = dialer_reports.unsubscribe_tokens(self.session, tokens - set(self.unsubscribes))
        for token, (email, campaign_id, record_id) in found.items():
            self.unsubscribes[token] = (email, campaign_id)
            self.dialer_unsubscribes[token] = record_id
        emails = {email for email, _ in self.unsubscribes.values()}
        listed = self.session.execute(
            select(BlacklistEntry.email, BlacklistEntry.campaign_id).where(
                BlacklistEntry.email.in_(emails)
            )
        )
        self.unsubscribed = {(email, cid) for email, cid in listed}
        self.known = replace(self.known, unsubscribe_tokens=frozenset(self.unsubscribes))


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


def _thread_view(interaction: BatchThread) -> Thread[BatchThread]:
    closed = interaction.state == InteractionState.CLOSED
    return Thread(interaction, interaction.client_email, tuple(interaction.cc), closed)


def _sent_view(message: Message) -> Sent[Message]:
    recipients = (*message.to, *message.cc, *message.bcc)
    return Sent(message, message.message_id, recipients, message.state == MessageState.FAILED)
