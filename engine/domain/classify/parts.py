"""The MIME structure of a report, read again from the raw bytes only when it can matter.

Parts are read with mime's toolkit (:func:`~engine.domain.mime_parts.part_text` and its
neighbours), so a report part decodes like a body: transfer encoding undone, declared
charset honoured, then mime's fallbacks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message

from engine.domain.classify.kinds import Kind
from engine.domain.classify.patterns import (
    DELIVERY_STATUS_TYPES,
    FIELD,
    MAX_DEPTH,
    MAX_SCAN,
    MESSAGE_ID_LINE,
    ORIGINAL_TYPES,
)
from engine.domain.classify.values import read_message_id
from engine.domain.mime import ParsedMessage
from engine.domain.mime_parts import (
    content_param,
    content_type,
    message_tree,
    part_text,
    subparts,
)


@dataclass(frozen=True, slots=True)
class Report:
    kind: str
    parts: list[Message]


class LazyTree:
    """The compat32 tree of the raw bytes, parsed on first use (most mail never needs it)."""

    def __init__(self, raw: bytes, found: list[tuple[Kind, str]]) -> None:
        self._raw = raw
        self._found = found
        self._tree: Message | None = None
        self._parsed = False

    def get(self) -> Message | None:
        if not self._parsed:
            self._parsed = True
            self._tree = message_tree(self._raw)
            if self._tree is None:
                self._found.insert(0, ("customer", "could not read the MIME structure"))
        return self._tree


def _descendants(part: Message, depth: int = 0) -> Iterator[Message]:
    """Parts below ``part``, never inside an enclosed message (that is somebody else's mail)."""
    for child in subparts(part):
        yield child
        if depth < MAX_DEPTH:
            yield from _descendants(child, depth + 1)


def all_parts(tree: Message | None) -> list[Message]:
    return [] if tree is None else [tree, *_descendants(tree)]


def find_report(tree: Message) -> Report | None:
    """The multipart/report at the top, or just inside a top-level mixed/signed wrapper."""
    candidates = [tree]
    if content_type(tree) in ("multipart/mixed", "multipart/signed"):
        candidates.extend(subparts(tree))
    for part in candidates:
        if content_type(part) != "multipart/report":
            continue
        parts = list(_descendants(part))
        kind = content_param(part, "report-type").lower()
        if kind in ("", "global-delivery-status"):
            types = {content_type(p) for p in parts}
            if types & DELIVERY_STATUS_TYPES:
                kind = "delivery-status"
            elif "message/feedback-report" in types:
                kind = "feedback-report"
        return Report(kind, parts)
    return None


def part_fields(part: Message) -> list[list[tuple[str, str]]]:
    """The field blocks of a report part (delivery status, feedback report, headers)."""
    return field_blocks(part_text(part, limit=MAX_SCAN))


def field_blocks(text: str) -> list[list[tuple[str, str]]]:
    """Blank-line separated blocks of ``Name: value`` fields; names lower-cased, unfolded."""
    blocks: list[list[tuple[str, str]]] = []
    current: list[tuple[str, list[str]]] = []

    def close() -> None:
        if current:
            blocks.append([(name, " ".join(pieces).strip()) for name, pieces in current])
            current.clear()

    # part_text has read CRLF as LF; a CR left alone ends a line too.
    for line in text[:MAX_SCAN].replace("\r", "\n").split("\n"):
        if not line.strip():
            close()
        elif line[0] in " \t" and current:
            current[-1][1].append(line.strip())
        elif match := FIELD.fullmatch(line.strip()):
            current.append((match.group(1).lower(), [match.group(2)]))
    close()
    return blocks


def field_value(block: list[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in block if key == name), None)


def original_headers(parts: list[Message]) -> list[tuple[str, str]] | None:
    """The header fields of the returned or reported original message, if it is enclosed."""
    for part in parts:
        if content_type(part) in ORIGINAL_TYPES:
            blocks = part_fields(part)
            if blocks:
                return blocks[0]
    return None


def original_message_id(parts: list[Message], text: str, parsed: ParsedMessage) -> str | None:
    """The returned message's Message-ID: enclosed copy, quoted copy, then In-Reply-To."""
    headers = original_headers(parts)
    if headers is not None:
        found = read_message_id(field_value(headers, "message-id"))
        if found:
            return found
    for match in MESSAGE_ID_LINE.finditer(text):
        found = read_message_id(match.group(1))
        if found and found != parsed.message_id:
            return found
    if parsed.in_reply_to:
        return parsed.in_reply_to
    return parsed.references[-1] if parsed.references else None
