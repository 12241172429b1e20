"""Signals outside any report: headers (RFC 3834, vendor auto-reply and list headers), a
null return path, machine sender names, auto-reply subjects, our own addresses, and notices
(antivirus, list moderation and loops) that count only from a machine.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from collections.abc import Set as AbstractSet

from engine.domain.classify.kinds import Kind
from engine.domain.classify.patterns import (
    ANTIVIRUS_BODY,
    ANTIVIRUS_SUBJECT,
    AUTO_REPLY_SUBJECT,
    AUTOMATED_LOCAL,
    AUTOREPLY_HEADERS,
    AWAY_SUBJECT,
    DAEMON_LOCAL,
    LIST_HEADERS,
    LOOP,
    MACHINE_LOCAL,
    MACHINE_NAME,
    MAX_SCAN,
    MAX_TOKEN,
    MODERATION,
    NEGATIVE_VALUES,
    NULL_ADDRESS,
    PRECEDENCE_AUTO,
    WHITESPACE,
)
from engine.domain.classify.plain import failure_section
from engine.domain.classify.values import (
    every_value,
    first_token,
    quoted,
    squashed_subject,
    without_comments,
)
from engine.domain.mime import ParsedMessage


def machine_sender(parsed: ParsedMessage) -> bool:
    """Whether the sender looks like a machine without being sure enough to say so alone."""
    headers = parsed.headers
    if "x-failed-recipients" in headers or "x-ms-exchange-message-is-ndr" in headers:
        return True
    if parsed.from_ is None:
        return bool(NULL_ADDRESS.search(headers.get("from", "")[:MAX_TOKEN]))
    local = parsed.from_.email.rpartition("@")[0] or parsed.from_.email
    return bool(
        DAEMON_LOCAL.search(local[:MAX_TOKEN])
        or MACHINE_LOCAL.search(local[:MAX_TOKEN])
        or MACHINE_NAME.search(parsed.from_.name[:MAX_TOKEN])
    )


def machine_notices(parsed: ParsedMessage, text: str) -> Iterator[tuple[Kind, str]]:
    """Antivirus, list moderation and list loop notices (the sender is known to be a machine)."""
    subject = squashed_subject(parsed)
    body = WHITESPACE.sub(" ", failure_section(text)[:MAX_SCAN]).casefold()
    found = ANTIVIRUS_SUBJECT.search(subject) or ANTIVIRUS_BODY.search(body)
    if found:
        yield "auto_reply", f"antivirus notice: {quoted(found.group(0))}"
    found = MODERATION.search(subject) or MODERATION.search(body)
    if found:
        yield "list", f"list moderation notice: {quoted(found.group(0))}"
    found = LOOP.search(subject) or LOOP.search(body)
    if found:
        yield "list", f"mail loop notice: {quoted(found.group(0))}"


def auto_reply_subject(parsed: ParsedMessage) -> Iterator[tuple[Kind, str]]:
    """Out-of-office replies whose server added no header saying so."""
    subject = squashed_subject(parsed)
    if AUTO_REPLY_SUBJECT.match(subject):
        yield "auto_reply", f"auto-reply subject: {quoted(parsed.subject)}"
        return
    if AWAY_SUBJECT.match(subject):
        yield "auto_reply", f"out-of-office subject: {quoted(parsed.subject)}"


def header_signals(
    parsed: ParsedMessage, addresses: AbstractSet[str]
) -> Iterator[tuple[Kind, str]]:
    headers = parsed.headers
    for auto_submitted in every_value(parsed, "auto-submitted"):
        token = first_token(auto_submitted)
        if token != "no":
            yield "auto_reply", f"Auto-Submitted: {quoted(token) or '(empty)'}"
    for name, label in AUTOREPLY_HEADERS.items():
        for value in every_value(parsed, name):
            if without_comments(value).strip().lower() not in NEGATIVE_VALUES:
                yield "auto_reply", f"{label}: {quoted(value) or '(empty)'}"
    for value in every_value(parsed, "precedence"):
        precedence = first_token(value)
        if precedence == "list":
            yield "list", "Precedence: list"
        elif precedence in PRECEDENCE_AUTO:
            yield "auto_reply", f"Precedence: {precedence}"
    for x_loop in every_value(parsed, "x-loop"):
        yield "auto_reply", f"X-Loop: {quoted(x_loop) or '(empty)'}"
        lowered = x_loop.lower()
        for address in sorted(addresses):
            if address in lowered:
                yield "own", f"X-Loop names our address {quoted(address)}"
    # An inbox rule's answer: Exchange marks what a rule sent (the loop header) and asks for
    # no answer to it. A rule that forwards a person's mail leaves the second out.
    suppress = headers.get("x-auto-response-suppress", "")[:MAX_SCAN]
    tokens = {t.lower() for t in re.split(r"[\s,;]+", suppress) if t}
    if "x-ms-exchange-inbox-rules-loop" in headers and "all" in tokens:
        yield "auto_reply", "Exchange inbox rule's reply (Rules-Loop, Auto-Response-Suppress: All)"
    for name, label in LIST_HEADERS.items():
        listed = headers.get(name)
        if listed is not None:
            yield "list", f"{label}: {quoted(listed) or '(empty)'}"
    if any(_is_null_path(value) for value in every_value(parsed, "return-path")):
        yield "auto_reply", "Return-Path: <> (null sender)"
    if parsed.from_ is None and NULL_ADDRESS.search(headers.get("from", "")[:MAX_TOKEN]):
        yield "auto_reply", "From: <> (null sender)"
    sender = parsed.from_.email if parsed.from_ is not None else ""
    local = sender.rpartition("@")[0] if "@" in sender else sender
    if local and AUTOMATED_LOCAL.fullmatch(local[:MAX_TOKEN]):
        yield "auto_reply", f"automated sender address: {quoted(sender)}"


def own_signals(parsed: ParsedMessage, addresses: AbstractSet[str]) -> Iterator[str]:
    if parsed.from_ is not None:
        sender = parsed.from_.email.strip().lower()
        if sender in addresses:
            yield f"sender is our own address: {quoted(sender)}"


def _is_null_path(value: str) -> bool:
    # Comments and whitespace are CFWS around the path: "<> (bounce)" is still null.
    return "".join(without_comments(value).split()) == "<>"
