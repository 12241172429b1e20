"""What a bounce or an abuse complaint does to our message and to the address it is about.

Why this exists: these effects were decided inline while storing mail, and every bounce of a
known message blacklisted the customer as a complaint, a delayed 4.4.7 notice included.  The
rules, as pure functions of the classification and of what we sent:

- A complaint (an RFC 5965 report, or an abuse report sent as plain mail) about a message
  of ours blacklists the address that complained: nothing is sent to it again.  Our message
  is left as it is.  A complaint that names none of our messages does nothing, and the
  address blacklisted is one our message was really sent to: anybody can write an abuse
  report, and one naming any address would otherwise stop all mail to it, for every
  campaign, on a stranger's word.
- A hard bounce fails our message and marks the address as *bouncing*, for dialers to skip;
  it is not a complaint, so the address is not blacklisted.
- A soft bounce (full mailbox, greylisting) or a delay notice only notes it on our message.
- A bounce that names none of our messages does nothing: anybody can send a bounce, and an
  address must not be marked on a stranger's word.  For the same reason the address marked
  bouncing is one our message was really sent to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine.domain.classify import Classification

__all__ = ["Effects", "effects"]

COMPLAINT_ARF = "complaint (RFC 5965)"
COMPLAINT_PLAIN = "complaint (abuse report)"


@dataclass(frozen=True, slots=True)
class Effects:
    """What to change; the defaults change nothing."""

    fail_message: bool = False  # our message is now failed
    message_error: str = ""  # the note to record on our message ("" leaves it)
    blacklist: str | None = None  # the address to blacklist, lower-case
    blacklist_reason: str = ""
    bouncing: str | None = None  # the address to mark bouncing, lower-case
    bouncing_reason: str = ""


NOTHING = Effects()


def effects(classification: Classification, sent_to: Sequence[str] | None) -> Effects:
    """The effects of one inbound mail; ``sent_to`` are the recipients of the message of ours
    it reports (to, cc and bcc), or None when it names none of our messages."""
    linked = [a.strip().lower() for a in sent_to or () if a.strip()]
    complaint = classification.complaint
    if classification.kind == "complaint" and complaint is not None:
        address = (complaint.original_recipient or "").strip().lower()
        if address not in linked:
            # Not named, or not as we wrote it (a forwarded copy, an alias): whom we wrote
            # to when that is one address; several, and we cannot tell which complained.
            address = linked[0] if len(linked) == 1 else ""
        if not address:
            return NOTHING
        reason = COMPLAINT_ARF if complaint.arf else COMPLAINT_PLAIN
        return Effects(blacklist=address, blacklist_reason=reason)
    bounce = classification.bounce
    if classification.kind != "bounce" or bounce is None or sent_to is None:
        return NOTHING
    detail = " ".join(x for x in (bounce.status, bounce.diagnostic) if x).strip()
    if not bounce.hard:
        what = "delivery delayed" if bounce.action == "delayed" else "soft bounce"
        return Effects(message_error=f"{what}: {detail or 'temporary failure'}")
    recipient = (bounce.recipient or "").strip().lower()
    if not recipient and len(linked) == 1:
        recipient = linked[0]
    bouncing = recipient if recipient in linked else None
    return Effects(
        fail_message=True,
        message_error=f"bounced: {detail or 'permanent failure'}",
        bouncing=bouncing,
        bouncing_reason=f"hard bounce: {detail or 'permanent failure'}"[:200],
    )
