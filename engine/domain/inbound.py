"""What an inbound mail does: which interaction it joins or starts, and what it changes.

Why this exists: these rules were decided inline while the ingest wrote its rows, so they could
only be tested through a real mailbox and database, and a wrong effect (every bounce
blacklisting the customer) sat there unseen by the tests.  Here they are a pure function of the
parsed mail, its classification and what is already known (the interactions its headers name,
our own sent messages); the ingest looks those up, calls `decide` and carries the decision out.

The rules:

- Our own mail coming back (its Message-ID is one we sent) is ``own`` mail, whatever else it
  looks like: a forwarding loop or a BCC to ourselves is not a customer's nor a bounce.
- A bounce or a complaint is filed with the message of ours it reports (by the returned copy's
  Message-ID, then In-Reply-To/References, then the last message sent to the failed address)
  and changes that message and its address as `engine.domain.feedback.effects` says.  One that
  names none of our messages is filed alone, closed, and changes nothing.
- Other mail joins the interaction of In-Reply-To, then References newest first, then the
  subject's ``[#id]`` token, but only when its sender is the client or a CC of it: a known
  hole in other helpdesks lets anyone who saw a Message-ID read a thread.  A stranger's reply
  starts an interaction of its own, linked to the one it named.
- A customer's mail joining an interaction makes it unread, its CC follows this mail (the
  manual's rule: the last received message decides), and a closed one is queued again.
- Automated mail (auto-replies, lists, our own) is kept and searchable but never queued for an
  agent: it joins its thread unchanged, or starts a closed interaction.
- A bounce or complaint naming the Message-ID of a dialer record's mail (dialer mail has no
  message row) changes that record as `engine.domain.dialer_tracking` says (rejected, spam),
  and its address as for our messages: the record's address is what the mail was sent to.
- A mail to the unsubscribe address of our dialer mail (subject ``unsubscribe <token>``, the
  token one of ours) unsubscribes the recipient of that message and is filed as list mail: it
  never reaches an agent.  A subject that merely says "unsubscribe" is a person's mail.

Threads and messages are the caller's own objects (``ref``), seen through the plain views
`Thread` and `Sent`; the decision hands the same objects back.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from engine.domain.classify import Classification, Kind
from engine.domain.dialer_tracking import DialerChange, DialerSent, change
from engine.domain.feedback import effects
from engine.domain.mime import ParsedMessage
from engine.domain.threading import find_subject_token, is_participant, thread_candidates
from engine.domain.unsubscribe import token_of_request

__all__ = [
    "Action",
    "Decision",
    "Known",
    "Sent",
    "Thread",
    "decide",
    "reported_address",
    "reported_id",
]

T = TypeVar("T")  # the caller's interaction
M = TypeVar("M")  # the caller's message of ours

# The generic dataclasses below are frozen without slots: on Python 3.11 a frozen slotted
# generic cannot be built through its alias (``Known[str, str](...)`` raises a TypeError).


class Action(enum.StrEnum):
    NEW = "new"  # a customer's new interaction, queued for an agent
    JOIN = "join"  # a customer's reply to an open interaction
    REOPEN = "reopen"  # a customer's reply to a closed interaction: queued again
    AUTOMATED = "automated"  # machine mail: filed, never queued
    REPORT = "report"  # a bounce or complaint: filed with our message it reports


@dataclass(frozen=True)
class Thread(Generic[T]):
    """An interaction a mail may join, as the rules see it."""

    ref: T
    client_email: str
    cc: tuple[str, ...]
    closed: bool


@dataclass(frozen=True)
class Sent(Generic[M]):
    """A message of ours a bounce or complaint may report."""

    ref: M
    message_id: str
    recipients: tuple[str, ...]  # to, cc and bcc
    failed: bool


@dataclass(frozen=True)
class Known(Generic[T, M]):
    """What is already stored, looked up by the caller.  Any mapping will do: the ingest
    passes views of its batch's live indexes, so a mail sees the ones before it."""

    # Interactions by the Message-ID of one of their messages (ours included).
    threads: Mapping[str, Thread[T]] = field(default_factory=dict)
    # Interactions by id, for the ``[#id]`` subject token.
    by_token: Mapping[int, Thread[T]] = field(default_factory=dict)
    # Our sent messages by Message-ID.
    outbound: Mapping[str, Sent[M]] = field(default_factory=dict)
    # The last message of ours sent to an address (lower-case), for a bounce naming only it.
    last_sent_to: Mapping[str, Sent[M]] = field(default_factory=dict)
    # Unsubscribe tokens of our dialer messages named by the batch's subjects.
    unsubscribe_tokens: frozenset[str] = frozenset()
    # Dialer records by the Message-ID their mail carried (no angle brackets).
    dialer: Mapping[str, DialerSent] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision(Generic[T, M]):
    """What one mail does; the defaults change nothing stored before it."""

    action: Action
    kind: Kind  # the stored message's kind
    thread: T | None = None  # the interaction it joins; None: a new one
    linked: T | None = None  # the interaction a new one is linked to (a stranger's reply)
    cc: tuple[str, ...] | None = None  # the interaction's CC from now on; None leaves it
    # Our message a report changes, announced once committed.
    reported: M | None = None
    fail_reported: bool = False  # it is failed from now on
    reported_error: str | None = None  # the note to record on it; None leaves its note
    blacklist: str | None = None  # an address nothing is sent to again, lower-case
    blacklist_reason: str = ""
    bouncing: str | None = None  # an address marked bouncing, lower-case
    bouncing_reason: str = ""
    unsubscribe: str | None = None  # the token of our message whose recipient unsubscribes
    dialer: DialerChange | None = None  # what a report does to the dialer record it names

    @property
    def queued(self) -> bool:
        """Whether an agent gets the interaction: new, or back in the queue."""
        return self.action in (Action.NEW, Action.REOPEN)


def decide(
    mail: ParsedMessage,
    classification: Classification | None,
    known: Known[T, M],
    *,
    own_address: str,
) -> Decision[T, M]:
    """What `mail` does; ``own_address`` is its campaign's address (never a CC)."""
    own_address = own_address.lower()
    cc = tuple(a.email.lower() for a in mail.cc if a.email.lower() != own_address)
    kind: Kind = classification.kind if classification else "customer"
    if mail.message_id and mail.message_id in known.outbound:
        kind = "own"
    if kind in ("bounce", "complaint") and classification is not None:
        return _report(mail, classification, known, kind, cc)
    token = token_of_request(mail.subject)
    if token is not None and token in known.unsubscribe_tokens:
        return Decision(Action.AUTOMATED, "list", unsubscribe=token)
    sender = mail.from_.email.lower() if mail.from_ else ""
    thread, linked = _thread_of(mail, sender, known)
    if thread is None:
        action = Action.NEW if kind == "customer" else Action.AUTOMATED
        return Decision(action, kind, linked=linked.ref if linked else None, cc=cc)
    if kind != "customer":
        return Decision(Action.AUTOMATED, kind, thread.ref)
    return Decision(Action.REOPEN if thread.closed else Action.JOIN, kind, thread.ref, cc=cc)


def _report(
    mail: ParsedMessage,
    classification: Classification,
    known: Known[T, M],
    kind: Kind,
    cc: tuple[str, ...],
) -> Decision[T, M]:
    # A complaint must name our message by its Message-ID: by the address alone, anyone who
    # knows whom we wrote to could have them blacklisted everywhere (a bounce only notes it).
    original = _reported_message(mail, classification, known, by_address=kind == "bounce")
    record = _reported_record(mail, classification, known)
    # A dialer mail has no message row: the record's address is what it was sent to.
    sent_to = (
        original.recipients
        if original is not None
        else ((record.destination,) if record is not None else None)
    )
    effect = effects(classification, sent_to)
    thread = None if original is None else known.threads.get(original.message_id)
    changed = original is not None and bool(effect.message_error)
    # A later delay notice undoes no failure: the note of a failed message stays.
    keeps_note = original is not None and original.failed and not effect.fail_message
    return Decision(
        Action.REPORT,
        kind,
        thread.ref if thread else None,
        cc=None if thread else cc,
        reported=original.ref if original is not None and changed else None,
        fail_reported=changed and effect.fail_message,
        reported_error=effect.message_error if changed and not keeps_note else None,
        blacklist=effect.blacklist,
        blacklist_reason=effect.blacklist_reason,
        bouncing=effect.bouncing,
        bouncing_reason=effect.bouncing_reason,
        dialer=None if record is None else change(classification, record),
    )


def _reported_record(
    mail: ParsedMessage, classification: Classification, known: Known[T, M]
) -> DialerSent | None:
    """The dialer record a bounce or complaint is about: by Message-ID only."""
    for mid in (reported_id(classification), *thread_candidates(mail.in_reply_to, mail.references)):
        if mid and (found := known.dialer.get(mid.strip("<>"))) is not None:
            return found
    return None


def _reported_message(
    mail: ParsedMessage, classification: Classification, known: Known[T, M], *, by_address: bool
) -> Sent[M] | None:
    """Our message a bounce or complaint is about, if it can be told: by a Message-ID, else
    (`by_address`) the last one sent to the address the report names."""
    for mid in (reported_id(classification), *thread_candidates(mail.in_reply_to, mail.references)):
        if mid and mid in known.outbound:
            return known.outbound[mid]
    if not by_address:
        return None
    address = reported_address(classification)
    return known.last_sent_to.get(address) if address else None


def _thread_of(
    mail: ParsedMessage, sender: str, known: Known[T, M]
) -> tuple[Thread[T] | None, Thread[T] | None]:
    """(the interaction to join, or else an interaction the new one is linked to)."""
    linked: Thread[T] | None = None
    for mid in thread_candidates(mail.in_reply_to, mail.references):
        thread = known.threads.get(mid)
        if thread is None:
            continue
        if is_participant(sender, thread.client_email, list(thread.cc)):
            return thread, None
        linked = linked or thread
    token = find_subject_token(mail.subject)
    by_token = known.by_token.get(token) if token is not None else None
    if by_token is not None:
        if is_participant(sender, by_token.client_email, list(by_token.cc)):
            return by_token, None
        linked = linked or by_token
    return None, linked


def reported_id(classification: Classification | None) -> str | None:
    """The Message-ID of ours a bounce's or complaint's returned copy carries."""
    if classification is None:
        return None
    if classification.bounce is not None:
        return classification.bounce.original_message_id
    if classification.complaint is not None:
        return classification.complaint.original_message_id
    return None


def reported_address(classification: Classification | None) -> str | None:
    """The address a bounce failed for or a complaint came from, lower-case."""
    if classification is None:
        return None
    if classification.bounce is not None:
        address = classification.bounce.recipient
    elif classification.complaint is not None:
        address = classification.complaint.original_recipient
    else:
        return None
    return address.strip().lower() if address and address.strip() else None
