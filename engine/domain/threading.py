"""Which earlier Message-IDs an incoming mail refers to, and who may join a thread.

Pure helpers for the threading rule: In-Reply-To first, then References from newest to oldest;
a sender who is not a participant of the matched interaction never joins it silently.
"""

from __future__ import annotations


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
