"""Plain-text bounces (Postfix, Exim, qmail, Exchange, GroupWise, Domino and others), read by
their wording once the sender is known to be a machine.
"""

from __future__ import annotations

from collections.abc import Callable
from email.message import Message

from engine.domain.classify.kinds import Bounce
from engine.domain.classify.parts import original_message_id
from engine.domain.classify.patterns import (
    ANY_ADDR,
    BASIC_CODE,
    BOUNCE_BODY,
    BOUNCE_BODY_PHRASES,
    BOUNCE_SUBJECT,
    COPY_MARKER,
    DAEMON_LOCAL,
    DELAY_PHRASES,
    DIAGNOSTIC_PATTERNS,
    ENHANCED_TEXT,
    RECIPIENT_PATTERNS,
    WHITESPACE,
)
from engine.domain.classify.values import (
    basic_class,
    diagnostic_text,
    enhanced_code,
    is_hard_bounce,
    quoted,
    squashed_subject,
)
from engine.domain.mime import ParsedMessage


def failure_section(text: str) -> str:
    """The bounce's own words: everything before the returned copy of the original."""
    marker = COPY_MARKER.search(text)
    return text[: marker.start()] if marker else text


def read_plain_bounce(
    parsed: ParsedMessage, text: str, parts: Callable[[], list[Message]]
) -> tuple[Bounce, str] | None:
    headers = parsed.headers
    sender = parsed.from_.email if parsed.from_ is not None else headers.get("from", "")
    section = failure_section(text)
    lowered = WHITESPACE.sub(" ", section.lower())  # phrases wrap at any word
    subject = squashed_subject(parsed)
    phrase = next((p for p in BOUNCE_BODY_PHRASES if p in lowered), None)
    if phrase is None:
        found = BOUNCE_SUBJECT.match(subject) or BOUNCE_BODY.search(lowered)
        if found is None:
            return None
        phrase = found.group(0)

    delayed = "delayed" in subject or any(p in lowered or p in subject for p in DELAY_PHRASES)
    action = "delayed" if delayed else "failed"
    diagnostic = plain_diagnostic(section)
    status = enhanced_code(diagnostic or section, ENHANCED_TEXT)
    recipient = next(iter(parsed.failed_recipients), None) or _plain_recipient(section, sender)
    # With a code the server's own text decides; without one the bounce's wording may
    # ("This is a permanent error", "Technical details of temporary failure").
    decisive = status is not None or basic_class(diagnostic.lower()) != ""
    hard_text = diagnostic if decisive else f"{diagnostic}\n{section}"
    bounce = Bounce(
        original_message_id=original_message_id(parts(), text, parsed),
        recipient=recipient,
        status=status,
        action=action,
        diagnostic=diagnostic,
        hard=is_hard_bounce(status, action, hard_text),
    )
    return bounce, f"plain-text bounce: {quoted(phrase)}"


def _plain_recipient(section: str, sender: str) -> str | None:
    for pattern in RECIPIENT_PATTERNS:
        for match in pattern.finditer(section):
            address = match.group(1).rstrip(".")
            if _plausible_recipient(address, sender):
                return address
    for match in ANY_ADDR.finditer(section):
        address = match.group(1).rstrip(".")
        if _plausible_recipient(address, sender):
            return address
    return None


def _plausible_recipient(address: str, sender: str) -> bool:
    local = address.rpartition("@")[0]
    return address.lower() != sender.lower() and not DAEMON_LOCAL.fullmatch(local)


def plain_diagnostic(section: str) -> str:
    """The remote server's words in a plain-text bounce ("" when none can be told apart)."""
    for pattern, paragraph in DIAGNOSTIC_PATTERNS:
        match = pattern.search(section)
        if match is None:
            continue
        rest = section[match.end() :]
        found = _paragraph(rest) if paragraph else rest.split("\n", 1)[0].rstrip("'")
        if found.strip():
            return diagnostic_text(found)
    # Else the first line carrying an SMTP or enhanced code, to the end of its paragraph.
    offset = 0
    for line in section.split("\n"):
        if BASIC_CODE.search(line) or ENHANCED_TEXT.search(line):
            return diagnostic_text(_paragraph(section[offset:]))
        offset += len(line) + 1
    return ""


def _paragraph(text: str) -> str:
    """Lines from the start of ``text`` to the next blank line (leading blank lines skipped)."""
    lines: list[str] = []
    for line in text.split("\n", 40)[:40]:
        if line.strip():
            lines.append(line.strip())
        elif lines:
            break
    return " ".join(lines[:12])
