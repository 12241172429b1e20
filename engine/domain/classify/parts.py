"""The MIME structure of a report, read again from the raw bytes only when it can matter,
with the transfer encoding undone and the declared charset honoured.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.utils
import quopri
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
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
from engine.domain.mime import ParsedMessage, decode_text


@dataclass(frozen=True, slots=True)
class Report:
    kind: str
    parts: list[Message]


def _safe_parse(raw: bytes) -> Message | None:
    try:
        return email.message_from_bytes(bytes(raw), policy=policy.compat32)
    except Exception:
        return None


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
            self._tree = _safe_parse(self._raw)
            if self._tree is None:
                self._found.insert(0, ("customer", "could not read the MIME structure"))
        return self._tree


def content_type_of(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "application/octet-stream"


def _param(part: Message, name: str) -> str:
    try:
        value = part.get_param(name)
        if value is None:
            return ""
        return str(email.utils.collapse_rfc2231_value(value)).strip().lower()
    except Exception:
        return ""


def _children(part: Message) -> list[Message]:
    if not content_type_of(part).startswith("multipart/"):
        return []
    try:
        payload = part.get_payload()
    except Exception:
        return []
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def _descendants(part: Message, depth: int = 0) -> Iterator[Message]:
    """Parts below ``part``, never inside an enclosed message (that is somebody else's mail)."""
    for child in _children(part):
        yield child
        if depth < MAX_DEPTH:
            yield from _descendants(child, depth + 1)


def all_parts(tree: Message | None) -> list[Message]:
    return [] if tree is None else [tree, *_descendants(tree)]


def find_report(tree: Message) -> Report | None:
    """The multipart/report at the top, or just inside a top-level mixed/signed wrapper."""
    candidates = [tree]
    if content_type_of(tree) in ("multipart/mixed", "multipart/signed"):
        candidates.extend(_children(tree))
    for part in candidates:
        if content_type_of(part) != "multipart/report":
            continue
        parts = list(_descendants(part))
        kind = _param(part, "report-type")
        if kind in ("", "global-delivery-status"):
            types = {content_type_of(p) for p in parts}
            if types & DELIVERY_STATUS_TYPES:
                kind = "delivery-status"
            elif "message/feedback-report" in types:
                kind = "feedback-report"
        return Report(kind, parts)
    return None


def _to_bytes(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


def _message_text(msg: Message) -> str:
    try:
        lines = [f"{name}: {value}" for name, value in msg.raw_items()]
    except Exception:
        lines = []
    try:
        body = msg.get_payload()
    except Exception:
        body = None
    if isinstance(body, str) and body.strip():
        lines.extend(["", body])
    return "\n".join(lines)


def text_of_part(part: Message) -> str:
    """A leaf or message/* part's content as text, transfer encoding undone."""
    try:
        payload = part.get_payload()
    except Exception:
        return ""
    if isinstance(payload, list):
        # message/delivery-status arrives as one pseudo-message per block of fields.
        text = "\n\n".join(_message_text(p) for p in payload if isinstance(p, Message))
    elif isinstance(payload, str):
        text = payload
    else:
        return ""
    data = _to_bytes(text[: MAX_SCAN * 2])
    try:
        encoding = str(part.get("content-transfer-encoding", "")).strip().lower()
    except Exception:
        encoding = ""
    if encoding == "base64":
        try:
            data = base64.b64decode(data)
        except (binascii.Error, ValueError):
            pass
    elif encoding == "quoted-printable":
        data = quopri.decodestring(data)
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    # mime's decoding: the declared charset (or its common superset), then UTF-8, then
    # windows-1252; a report in KOI8-R or Shift_JIS reads as written, not as mojibake.
    text = decode_text(data[:MAX_SCAN], charset)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def field_blocks(text: str) -> list[list[tuple[str, str]]]:
    """Blank-line separated blocks of ``Name: value`` fields; names lower-cased, unfolded."""
    blocks: list[list[tuple[str, str]]] = []
    current: list[tuple[str, list[str]]] = []

    def close() -> None:
        if current:
            blocks.append([(name, " ".join(pieces).strip()) for name, pieces in current])
            current.clear()

    for line in text[:MAX_SCAN].split("\n"):
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
        if content_type_of(part) in ORIGINAL_TYPES:
            blocks = field_blocks(text_of_part(part))
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
