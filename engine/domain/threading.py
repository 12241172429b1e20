"""Which earlier Message-IDs an incoming mail refers to, and who may join a thread.

Pure helpers for the threading rule: In-Reply-To first, then References from newest to oldest;
a sender who is not a participant of the matched interaction never joins it silently.
"""

from __future__ import annotations

import re


def thread_candidates(in_reply_to: str | None, references: list[str]) -> list[str]:
    seen: set[str] = set()
    ordered: list[str] = []
    for mid in ([in_reply_to] if in_reply_to else []) + list(reversed(references)):
        if mid and mid not in seen:
            seen.add(mid)
            ordered.append(mid)
    return ordered


def is_participant(sender: str, client_email: str, cc: list[str]) -> bool:
    sender = sender.strip().lower()
    return sender == client_email.strip().lower() or sender in {c.strip().lower() for c in cc}


_TOKEN = re.compile(r"\[#(\d{1,12})\]")
# Ids are INTEGER columns, 32-bit on PostgreSQL (engine/api/schemas.py ID_MAX): a token of a
# larger number names no interaction, and looking it up would fail the whole inbound batch.
_LARGEST_ID = 2**31 - 1


def subject_token(interaction_id: int) -> str:
    return f"[#{interaction_id}]"


def with_subject_token(subject: str, interaction_id: int) -> str:
    """`subject` ending with the interaction's token, added once."""
    token = subject_token(interaction_id)
    if token in subject:
        return subject
    return f"{subject} {token}".strip()


def find_subject_token(subject: str) -> int | None:
    """The interaction id in a `[#123]` token, the last one when a subject has several."""
    found = [int(token) for token in _TOKEN.findall(subject)]
    found = [token for token in found if 0 < token <= _LARGEST_ID]
    return found[-1] if found else None
