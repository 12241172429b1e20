"""What a classification says: the kind of mail, and the bounce or complaint it carries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["customer", "auto_reply", "bounce", "complaint", "list", "own"]


# Most specific first: a bounce from our own relay is a bounce, a list's auto-reply a list mail.
PRECEDENCE: tuple[Kind, ...] = ("complaint", "bounce", "own", "list", "auto_reply")


@dataclass(frozen=True, slots=True)
class Bounce:
    """One failed (or delayed) delivery of a message we sent.

    ``status`` is the RFC 3463 enhanced code ("5.1.1"), from the report or, failing that, from
    the server's text; ``diagnostic`` is the remote server's text on one line ("" if none).
    ``hard`` means the address itself is unusable (see :func:`is_hard_bounce`).
    """

    original_message_id: str | None
    recipient: str | None
    status: str | None
    action: str | None
    diagnostic: str
    hard: bool


@dataclass(frozen=True, slots=True)
class Complaint:
    """An abuse report: ``original_recipient`` is the address that complained.

    ``arf`` is false for a complaint sent as plain mail with the original attached (Hotmail's).
    """

    feedback_type: str
    original_recipient: str | None
    original_message_id: str | None
    arf: bool = True


@dataclass(frozen=True, slots=True)
class Classification:
    """What an inbound mail is, why, and whether it may ever be answered automatically."""

    kind: Kind
    reasons: list[str]
    never_auto_answer: bool
    bounce: Bounce | None = None
    complaint: Complaint | None = None
