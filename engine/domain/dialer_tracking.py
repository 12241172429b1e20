"""What a bounce or a complaint does to the dialer record whose mail it reports.

Why this exists: a dialer record's later states (seen, rejected, spam) come from three places
that run apart (the web service's image, the ingest's bounces and complaints), so the order
they may take is written once, here, as plain values:

- sent -> seen: the tracking image was fetched (the web service; once). Not from `sending`:
  the sender's own move to `sent` must find the record where it left it.
- sending | sent | seen -> rejected: a delivery report says the mail was not delivered
  (action failed, hard or soft: the remote server gave up). A delay notice changes nothing:
  the mail may still arrive.
- sending | sent | seen | rejected -> spam: the recipient reported it as spam. Spam is the
  last word; nothing changes a spam record again, and a seen image never undoes a bounce.

`sending` is included because a bounce can beat the sender's own commit of `sent` by a
moment (the remote server answers 250, then bounces at once); the sender moves a record out
of `sending` only when it is still there, so the bounce is not overwritten.

The record is found by the Message-ID the report names, never by the address alone: one
address may be in many lists, and an address must not be marked on a stranger's word.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.domain.classify import Classification
from engine.domain.feedback import COMPLAINT_ARF, COMPLAINT_PLAIN

__all__ = ["DialerChange", "DialerSent", "REJECTED_FROM", "SEEN_FROM", "SPAM_FROM", "change"]

# "sending" too: a fetch of the mail's own image proves it arrived, and a mail gateway's
# link scanner may fetch it before the runner has recorded the server's answer.
SEEN_FROM = frozenset({"sending", "sent"})
REJECTED_FROM = frozenset({"sending", "sent", "seen"})
SPAM_FROM = frozenset({"sending", "sent", "seen", "rejected"})


@dataclass(frozen=True, slots=True)
class DialerSent:
    """A dialer record a report may name: its id, address and state (a state's value)."""

    record_id: int
    destination: str
    state: str


@dataclass(frozen=True, slots=True)
class DialerChange:
    record_id: int
    state: str  # "rejected" | "spam"
    reason: str  # the record's error from now on: why


def change(classification: Classification, record: DialerSent) -> DialerChange | None:
    """What the report `classification` does to `record`, or None (nothing)."""
    complaint = classification.complaint
    if classification.kind == "complaint" and complaint is not None:
        if record.state not in SPAM_FROM:
            return None
        reason = COMPLAINT_ARF if complaint.arf else COMPLAINT_PLAIN
        if complaint.feedback_type and complaint.feedback_type != "abuse":
            reason = f"{reason}: {complaint.feedback_type}"
        return DialerChange(record.record_id, "spam", reason)
    bounce = classification.bounce
    if classification.kind != "bounce" or bounce is None or bounce.action == "delayed":
        return None
    if record.state not in REJECTED_FROM:
        return None
    detail = " ".join(x for x in (bounce.status, bounce.diagnostic) if x).strip()
    what = "bounced" if bounce.hard else "bounced (temporary failure, not retried)"
    return DialerChange(record.record_id, "rejected", f"{what}: {detail or 'no reason given'}")
