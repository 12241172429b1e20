"""Read the headers of received mail: decoded values on one line, addresses, ids and dates.

A module of its own because header reading is the part of parsing where hostile input does
its damage (an encoded word decoding to ``Bcc: victim@bank.example`` must never become an
address) and it has rules of its own that :mod:`engine.domain.mime` (the whole message) and
:mod:`engine.domain.compose` (the addresses an agent types) share; :class:`Headers` never
raises, and a value it cannot parse degrades to what can be read of it.

``policy.default`` runs every header it is asked for through a full RFC 5322 grammar, which is
most of the cost of parsing a message, so header values simple enough to read without it
(plain text, ``Name <a@b.example>``, ``text/plain; charset=utf-8``, ``<id@host>``, RFC 5322
dates) are decoded by ``header_fastpath`` to exactly what the grammar would give, and only
the rest goes through ``policy.default``.

Header values come back on one line: an encoded word that decodes to CR/LF yields a space.
Whitespace between adjacent encoded words is dropped before parsing (RFC 2047 6.2), which
CPython fails to do inside display names.  Raw 8-bit header bytes are decoded with the
charset fallbacks of :func:`~engine.domain.mime_parts.decode_text`.
"""

from __future__ import annotations

import email
import email.header
import email.utils
import re
import unicodedata
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.headerregistry import AddressHeader, DateHeader
from email.message import Message

from engine.domain.header_fastpath import (
    ADDRESS,
    DATE,
    header_kind,
    simple_date,
    simple_mailboxes,
    simple_text,
    unfold_for_policy,
)
from engine.domain.mime_parts import decode_text

__all__ = [
    "Address",
    "Headers",
    "content_id",
    "decode_value",
    "is_address_text",
    "mask_encoded_words",
    "repair_text",
    "unmask_display_name",
]


@dataclass(frozen=True, slots=True)
class Address:
    """One mailbox: the addr-spec and the (decoded) display name, "" when absent."""

    email: str
    name: str = ""


# The null sender of bounces ("MAILER-DAEMON <>") is not somebody to reply to.
_NO_ADDRESS = frozenset({"", "<>"})

_SURROGATE = re.compile("[\ud800-\udfff]")
_BRACKETED_ID = re.compile(r"<([^<>]*)>")
_ADJACENT_ENCODED_WORDS = re.compile(r"(=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)\s+(?==\?[^?\s]+\?[bBqQ]\?)")
_LINE_BREAKS = re.compile(r"[\r\n]+")
_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Controls, format characters (bidi overrides, zero-width), line/paragraph separators and
# lone surrogates: none is ever part of a real address, and each one either acts on a
# terminal or makes an address read as another (``\u200bhelp@shop.example`` as ours).
_NOT_IN_ADDRESSES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


# No mail system takes a longer address (RFC 5321: 64 + 1 + 255), and it is what the
# address columns hold.
_LONGEST_ADDRESS = 320


def is_address_text(addr_spec: str) -> bool:
    """Whether ``addr_spec`` holds only characters an address may show, and fits."""
    if len(addr_spec) > _LONGEST_ADDRESS:
        return False
    if addr_spec.isascii():
        return _ASCII_CONTROL.search(addr_spec) is None
    return not any(unicodedata.category(c) in _NOT_IN_ADDRESSES for c in addr_spec)


_FOLD = re.compile(r"\r?\n(?=[ \t])")


def repair_text(text: str) -> str:
    """Turn surrogate-escaped raw bytes (8-bit headers, unknown charsets) into text."""
    if not _SURROGATE.search(text):
        return text
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return decode_text(data, None)


def _unfold(value: str) -> str:
    return _FOLD.sub("", value).replace("\r", "").replace("\n", "")


def _without_ew_gaps(raw: str) -> str:
    # RFC 2047 6.2: whitespace between adjacent encoded words is not part of the text.
    # CPython keeps it inside display names, so a long name folded into several words
    # (as every mailer, the stdlib included, does) would come back with stray spaces.
    return _ADJACENT_ENCODED_WORDS.sub(r"\1", raw) if "=?" in raw else raw


def _parse_header(name: str, raw: str) -> object | None:
    try:
        header: object = policy.default.header_fetch_parse(name, _without_ew_gaps(raw))
    except Exception:
        return None
    return header


_HeaderParser = Callable[[str, str], object | None]


def _header_text(name: str, raw: str, parse: _HeaderParser = _parse_header) -> str | None:
    """str of what :func:`_parse_header` gives, None where that is None."""
    simple = simple_text(header_kind(name), unfold_for_policy(_without_ew_gaps(raw)))
    if simple is not None:
        return simple
    header = parse(name, raw)
    return None if header is None else str(header)


def _single_line(value: str) -> str:
    # An encoded word may decode to CR/LF; a header value is one line by definition.
    return _LINE_BREAKS.sub(" ", repair_text(value))


def _decode_header(name: str, raw: str, parse: _HeaderParser = _parse_header) -> str:
    text = _header_text(name, raw, parse)
    if text is not None:
        return _single_line(text)
    try:
        value = str(email.header.make_header(email.header.decode_header(_unfold(raw))))
    except Exception:
        value = _unfold(raw)
    return _single_line(value)


def decode_value(name: str, raw: str) -> str:
    """One raw value of header ``name`` decoded as :meth:`Headers.decoded` decodes the first."""
    return _decode_header(name, raw)


class Headers:
    """Raw header access that never raises, grouped by lower-cased name."""

    def __init__(self, msg: Message) -> None:
        self.raw: dict[str, list[str]] = {}
        for name, value in msg.raw_items():
            # Raw 8-bit header bytes arrive surrogate-escaped; decoding them here (UTF-8,
            # then windows-1252) beats the parser's own choice of U+FFFD for non-UTF-8.
            self.raw.setdefault(name.lower(), []).append(repair_text(str(value)))
        self._parsed: dict[tuple[str, str], object | None] = {}

    def _parse(self, name: str, raw: str) -> object | None:
        # Complex values go through the (slow) grammar; address headers are read twice.
        key = (name, raw)
        if key not in self._parsed:
            self._parsed[key] = _parse_header(name, raw)
        return self._parsed[key]

    def first(self, name: str) -> str | None:
        values = self.raw.get(name)
        return values[0] if values else None

    def decoded(self, name: str) -> str | None:
        raw = self.first(name)
        return None if raw is None else _decode_header(name, raw, self._parse)

    def addresses(self, name: str) -> list[Address]:
        found: list[Address] = []
        for raw in self.raw.get(name, []):
            found.extend(_addresses_from(name, raw, self._parse))
        return found

    def ids(self, name: str) -> list[str]:
        raw = self.first(name)
        return [] if raw is None else _message_ids(repair_text(_unfold(raw)))

    def date(self) -> datetime | None:
        raw = self.first("date")
        if raw is None:
            return None
        simple = simple_date(unfold_for_policy(_without_ew_gaps(raw)))
        if simple is not None and header_kind("date") == DATE:
            value = simple[1]
        else:
            header = self._parse("date", raw)
            value = header.datetime if isinstance(header, DateHeader) else None
        if value is None:
            try:
                value = email.utils.parsedate_to_datetime(repair_text(_unfold(raw)))
            except Exception:
                return None
        # "-0000" means "zone unknown"; UTC is the only honest reading.
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# What the stdlib decodes as an encoded word: "=?", then up to the first "?=", split by "?"
# into charset, encoding and text, whitespace allowed anywhere (it decodes "=?x y?q?a?="
# with an ASCII fallback, even inside an addr-spec). No part may hold "?", which also keeps
# the search linear: a lazy ".*?" made a header of unclosed "=?" quadratic.
_ENCODED_WORD = re.compile(r"=\?[^?]*\?[^?]*\?[^?]*\?=")
_MASK = re.compile(r"pdew([0-9a-f]{8})x([0-9]+)z")


def mask_encoded_words(value: str) -> tuple[str, list[str], str]:
    """``value`` with each encoded word replaced by a plain atom, the words, the atoms' tag."""
    words: list[str] = []
    tag = f"{zlib.crc32(value.encode('utf-8', 'surrogatepass')):08x}"

    def atom(match: re.Match[str]) -> str:
        words.append(match.group())
        return f"pdew{tag}x{len(words) - 1}z"

    return _ENCODED_WORD.sub(atom, value), words, tag


def unmask_display_name(text: str, words: list[str], tag: str) -> str:
    """``text`` with the encoded words put back and decoded."""

    def word(match: re.Match[str]) -> str:
        if match.group(1) != tag or int(match.group(2)) >= len(words):
            return match.group()  # text that merely looks like our mask: keep it
        return words[int(match.group(2))]

    restored = _MASK.sub(word, text)
    if not words:
        return restored
    try:
        return str(email.header.make_header(email.header.decode_header(restored)))
    except Exception:
        return restored


def _addresses_from(name: str, raw: str, parse: _HeaderParser = _parse_header) -> list[Address]:
    """The mailboxes of an address header, read from its structure alone.

    A display name may be an encoded word that decodes to anything, including CR/LF and
    ``Bcc: victim@bank.example``; decoding before parsing would turn that into an address.
    So encoded words are masked as plain atoms, the structure is parsed, an addr-spec
    that contains one is dropped (RFC 2047 5: never in an addr-spec), and only display
    names are decoded afterwards.  An addr-spec holding a control, a format character
    (bidi override, zero-width) or a line separator is dropped too: nobody has such an
    address, and it would reach terminals, logs and our answers' headers.
    """
    simple = simple_mailboxes(unfold_for_policy(raw)) if header_kind(name) == ADDRESS else None
    if simple is not None:
        return [
            Address(email=_single_line(a.addr_spec), name=_single_line(a.display_name))
            for a in simple
            if a.addr_spec not in _NO_ADDRESS and is_address_text(a.addr_spec)
        ]
    masked, words, tag = mask_encoded_words(unfold_for_policy(_without_ew_gaps(raw)))
    pairs: list[tuple[str, str]] = []
    header = parse(name, masked)
    if isinstance(header, AddressHeader):
        try:
            pairs = [(a.display_name, a.addr_spec) for a in header.addresses]
        except Exception:
            pairs = []
    else:
        pairs = email.utils.getaddresses([masked])
    found: list[Address] = []
    for display, addr_spec in pairs:
        if addr_spec in _NO_ADDRESS or _MASK.search(addr_spec) or "=?" in addr_spec:
            continue
        if not _written_out(addr_spec, masked):
            continue  # made by some decoding, not written by the sender
        if not is_address_text(addr_spec):
            continue  # a quoted local part can hold anything; such text is nobody
        decoded = unmask_display_name(display, words, tag)
        found.append(Address(email=_single_line(addr_spec), name=_single_line(decoded)))
    return found


def _written_out(addr_spec: str, masked: str) -> bool:
    """Whether the local part and domain stand in the header as written (a second line of
    defence: whatever the parser decodes, an address is only what the sender wrote)."""
    local, _, domain = addr_spec.rpartition("@")
    return local.strip('"') in masked and domain in masked


def _message_ids(value: str) -> list[str]:
    ids = ["".join(m.split()) for m in _BRACKETED_ID.findall(value)]
    if not ids:
        # Some clients omit the brackets; only accept tokens that look like ids.
        ids = [tok.strip("<>") for tok in re.split(r"[\s,]+", value) if "@" in tok]
    seen: set[str] = set()
    unique: list[str] = []
    for mid in ids:
        if mid and mid not in seen:
            seen.add(mid)
            unique.append(mid)
    return unique


def content_id(part: Message) -> str | None:
    """The Content-ID of a part, without brackets or whitespace; None when there is none."""
    raw = Headers(part).first("content-id")
    if raw is None:
        return None
    value = repair_text(_unfold(raw))
    found = _BRACKETED_ID.findall(value)
    cid = "".join((found[0] if found else value).split())
    return cid or None
