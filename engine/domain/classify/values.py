"""Small readers for the values inside reports: addresses, message ids, status codes,
and whether a failure means the address is dead (is_hard_bounce).
"""

from __future__ import annotations

import email
import email.utils
import re

from engine.domain.classify.patterns import (
    ADDRESS_UNKNOWN,
    ANGLE,
    ANY_ADDR,
    BASIC_CODE,
    COMMENT,
    ENHANCED_FIELD,
    ENHANCED_TEXT,
    MAILBOX_FULL,
    MAX_DIAGNOSTIC,
    MAX_INSTANCES,
    MAX_QUOTE,
    MAX_SCAN,
    MAX_TOKEN,
    PERMANENT,
    TEMPORARY,
    TYPE_PREFIX,
    WHITESPACE,
)
from engine.domain.mime import ParsedMessage
from engine.domain.mime_headers import decode_value, is_address_text


def is_hard_bounce(status: str | None, action: str | None, text: str) -> bool:
    """Whether a failed delivery means the address is unusable, by status *and* wording.

    Delayed deliveries and 4.x.x are soft.  5.x.x is hard, except a full mailbox (5.2.2 or its
    wording) and temporary policy wording ("try again later", "temporarily", greylisting),
    which are soft; an addressing status (5.1.x) stays hard whatever the text adds.  Without an
    enhanced status the basic SMTP code, then the wording decides: "user unknown", "no such
    user", "does not exist", "recipient address rejected" and "permanent error" are hard.
    Nothing decisive at all is soft: marking an address dead on a guess is the worse mistake.
    """
    lowered = text[:MAX_SCAN].lower()
    if (action or "").strip().lower() == "delayed":
        return False
    code = enhanced_code(status, ENHANCED_FIELD) or enhanced_code(lowered, ENHANCED_TEXT)
    klass, subject, detail = basic_class(lowered), "", ""
    if code is not None:
        klass, subject, detail = code.split(".")
    if klass in ("2", "4"):
        return False
    if klass == "5" and subject == "1":
        return True
    if (subject, detail) == ("2", "2") or MAILBOX_FULL.search(lowered):
        return False
    if TEMPORARY.search(lowered):
        return False
    if klass == "5" or ADDRESS_UNKNOWN.search(lowered):
        return True
    return bool(PERMANENT.search(lowered))


def every_value(parsed: ParsedMessage, name: str) -> list[str]:
    """Each instance of header ``name``, decoded, first first; [] when it is absent.

    A signal of automated mail counts in any instance: a gateway or list adds its own copy
    of a header, and reading only the first would let an early ``no`` hide a later ``yes``."""
    first = parsed.headers.get(name)
    if first is None:
        return []
    raws = parsed.header_values.get(name, [])
    return [first, *(decode_value(name, raw) for raw in raws[1:MAX_INSTANCES])]


def squashed_subject(parsed: ParsedMessage) -> str:
    return WHITESPACE.sub(" ", parsed.subject[: MAX_TOKEN * 4]).strip().casefold()


def quoted(value: str) -> str:
    squashed = WHITESPACE.sub(" ", value[: MAX_QUOTE * 4]).strip()
    return squashed if len(squashed) <= MAX_QUOTE else squashed[: MAX_QUOTE - 1] + "…"


def without_comments(value: str) -> str:
    """``value`` with its RFC 5322 comments (nested too) and double quotes removed."""
    value = value[:MAX_TOKEN]
    while True:
        shorter = COMMENT.sub(" ", value)
        if shorter == value:
            return value.replace('"', "")
        value = shorter


def first_token(value: str) -> str:
    """The leading keyword of a structured value ("auto-replied; owner-email=..." -> ...);
    comments and quotes are CFWS, not the keyword ('(list) "bulk"' -> 'bulk')."""
    head = without_comments(value).split(";", 1)[0].strip().lower()
    return head.split()[0] if head.split() else ""


def read_message_id(value: str | None) -> str | None:
    if not value:
        return None
    value = value[:MAX_SCAN]
    for inner in ANGLE.findall(value):
        mid = "".join(inner.split())
        if mid:
            return mid[:998]
    for token in value.split():
        token = token.strip("<>")
        if "@" in token:
            return token[:998]
    return None


def read_address(value: str | None) -> str | None:
    """The address of a DSN/ARF address field ("rfc822; a@b", "<a@b>", "a@b"); None when
    it is no address anyone has (no "@", spaces, controls, bidi overrides, too long): the
    same rule as a header's addresses, since a report is a stranger's text too."""
    if not value:
        return None
    value = value[:MAX_SCAN]
    typed = TYPE_PREFIX.match(value)
    if typed:
        value = value[typed.end() :]
    inner = ANGLE.findall(value)
    candidate = (inner[0] if inner else value).strip().strip("<>").strip()
    candidate = candidate.split(",")[0].strip()
    plausible = "@" in candidate and not any(c.isspace() for c in candidate)
    return candidate if plausible and is_address_text(candidate) else None


def first_address(value: str | None) -> str | None:
    if not value:
        return None
    try:
        pairs = email.utils.getaddresses([value[:MAX_SCAN]])
    except Exception:
        pairs = []
    for _, addr in pairs:
        if "@" in addr:
            return addr.strip()
    found = ANY_ADDR.search(value[:MAX_SCAN])
    return found.group(1) if found else None


def enhanced_code(text: str | None, pattern: re.Pattern[str]) -> str | None:
    if not text:
        return None
    match = pattern.search(text[:MAX_SCAN])
    if match is None:
        return None
    return ".".join(str(int(group)) for group in match.groups())


def basic_class(text: str) -> str:
    match = BASIC_CODE.search(text)
    return match.group(1) if match else ""


def strip_type(value: str) -> str:
    """Drop the ``smtp;`` diagnostic type of a Diagnostic-Code value."""
    typed = TYPE_PREFIX.match(value)
    return value[typed.end() :] if typed else value


def diagnostic_text(value: str) -> str:
    squashed = WHITESPACE.sub(" ", value[: MAX_DIAGNOSTIC * 4]).strip()
    return squashed[:MAX_DIAGNOSTIC]
