"""Every header value Postdesk writes is made here, and only here.

Header values come from people and from strangers' mail: subjects, display names,
attachment names.  Python 3.11's ``email`` package, handed a string, parses it as if it had
come off the wire: it *decodes* any RFC 2047 encoded word in it and then folds the decoded
text, CR and LF included, onto the wire.  A customer who double-encodes a subject
(``=?utf-8?q?hi=0D=0ABcc:_x@y?=`` inside an encoded word) would otherwise write headers of
their choice into our replies and confirmations.  So the library never parses a value of
ours: each value is written out here into its final wire form and handed to the message as
a :class:`PreparedHeader`, which the library stores and emits as it is.

Rules:

* A value is checked on the text that will be shown, i.e. after any decoding: CR, LF, NUL,
  every other C0/C1 control and the characters ``str.splitlines`` breaks lines on are
  refused (:class:`HeaderInjectionError`).  Tabs are whitespace and allowed.
* Text that is printable ASCII without ``=?`` goes out as it is; anything else (non-ASCII,
  or text that merely looks like an encoded word) is encoded by us into RFC 2047 words, so
  a reader decodes it back to exactly the text we meant, never one level further.
* Attachment names that are not plain ASCII use RFC 2231 (``filename*=utf-8''...``), which
  no client decodes as RFC 2047.
* :func:`untrusted_text` is the one way text from mail or uploads becomes header text: the
  terminal sanitiser's rules (controls, escape sequences, bidi overrides removed), one line.
"""

from __future__ import annotations

import re
import urllib.parse
from email.header import Header
from email.policy import Policy

from engine.text.sanitize import one_line

__all__ = [
    "HeaderInjectionError",
    "PreparedHeader",
    "address_header",
    "check_header_value",
    "disposition_value",
    "id_list_header",
    "is_plain",
    "mailbox",
    "text_header",
    "untrusted_text",
]


class HeaderInjectionError(ValueError):
    """A header name or value would break out of, or hide inside, its header line."""


_NAMED = {"\r": "CR", "\n": "LF", "\x00": "NUL"}
# C0 and C1 controls but TAB, DEL, and the separators str.splitlines() (and therefore the
# stdlib's folder) splits lines on: VT, FF, FS, GS, RS, NEL, U+2028, U+2029.
_UNSAFE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
# Printable ASCII with no encoded-word opener: what may go on the wire untouched.
_PLAIN = re.compile(r"[\t\x20-\x7e]*")
_MAX_LINE = 78


def check_header_value(name: str, value: str) -> str:
    """Return ``value`` unchanged, or raise if a character in it breaks the header line."""
    found = _UNSAFE.search(value)
    if found is not None:
        char = found.group()
        label = _NAMED.get(char, f"control character U+{ord(char):04X}")
        raise HeaderInjectionError(f"header {name!r} contains {label}")
    return value


def is_plain(value: str) -> bool:
    """True when ``value`` can be written as it is: printable ASCII, no ``=?``."""
    return _PLAIN.fullmatch(value) is not None and "=?" not in value


def untrusted_text(value: str) -> str:
    """Text from a stranger made fit for a header: no controls, no bidi overrides, one line."""
    return one_line(value)


class PreparedHeader(str):
    """A header value already in wire form; ``email`` stores and emits it untouched.

    ``str()`` is the text as the reader sees it; :meth:`fold` returns the exact bytes
    (as str) that go on the wire.  The ``name`` attribute is what makes the library take
    it as a ready header object instead of parsing it.
    """

    name: str
    _wire: str

    def __new__(cls, name: str, text: str, wire: str) -> PreparedHeader:
        self = super().__new__(cls, text)
        self.name = name
        self._wire = wire
        return self

    def fold(self, *, policy: Policy) -> str:
        linesep = policy.linesep
        return f"{self.name}: " + self._wire.replace("\r\n", linesep) + linesep


def _fold_words(first_width: int, words: list[str]) -> str:
    """Join ``words`` with spaces, breaking lines (CRLF + space) before 78 columns.

    Lines break only before a word that is not empty, so runs of spaces never leave a
    continuation line of whitespace alone (RFC 5322 3.2.2).
    """
    lines: list[str] = []
    line: str | None = None
    width = first_width
    for word in words:
        if line is None:
            line = word
        elif word and line and width + len(line) + 1 + len(word) > _MAX_LINE:
            lines.append(line)
            line = word
            width = 1
        else:
            line = f"{line} {word}"
    lines.append(line or "")
    return "\r\n ".join(lines)


# A word longer than this cannot be folded onto a line of 998; it is encoded instead,
# since encoded words may be split anywhere.
_LONGEST_WORD = 900


def _foldable(value: str) -> bool:
    return all(len(word) <= _LONGEST_WORD for word in value.split(" "))


def _encoded(name: str, value: str) -> str:
    # Header() never decodes what it is given; with UTF-8 it always writes encoded words.
    return Header(value, "utf-8", header_name=name).encode(linesep="\r\n", maxlinelen=_MAX_LINE)


def text_header(name: str, value: str) -> PreparedHeader:
    """An unstructured header (Subject, our own extra headers) carrying ``value`` exactly."""
    check_header_value(name, value)
    if is_plain(value) and _foldable(value):
        wire = _fold_words(len(name) + 2, value.split(" ")) if value else ""
    else:
        wire = _encoded(name, value)
    return PreparedHeader(name, value, wire)


_ATOM_PHRASE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]*")


def _quoted(value: str) -> str:
    """The inside of an RFC 5322 quoted string: backslash and double quote escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _encode_phrase(value: str) -> str:
    """A display name in wire form: as it is, quoted, or as our own encoded words."""
    check_header_value("display name", value)
    if not (is_plain(value) and _foldable(value)):
        # Our own encoded words, one line: the caller folds between them.
        return " ".join(_encoded("To", value).split())
    if _ATOM_PHRASE.fullmatch(value) and value.strip() == value and "  " not in value:
        return value
    return f'"{_quoted(value)}"'


def mailbox(display: str, addr_spec: str) -> str:
    """One mailbox in wire form: ``addr-spec``, or ``name <addr-spec>`` with the name as it
    is, quoted, or as our own encoded words."""
    check_header_value("address", addr_spec)
    return f"{_encode_phrase(display)} <{addr_spec}>" if display else addr_spec


def address_header(name: str, entries: list[tuple[str, str]]) -> PreparedHeader:
    """An address header from ``(display name, wire addr-spec)`` pairs."""
    words: list[str] = []
    for index, (display, addr_spec) in enumerate(entries):
        entry = mailbox(display, addr_spec)
        # Folding may happen at any space: between words of a phrase, inside a quoted
        # string, between encoded words and between entries (RFC 5322 FWS).
        entry_words = entry.split(" ")
        if index < len(entries) - 1:
            entry_words[-1] += ","
        words.extend(entry_words)
    text = ", ".join(f"{display} <{spec}>" if display else spec for display, spec in entries)
    return PreparedHeader(name, text, _fold_words(len(name) + 2, words))


def id_list_header(name: str, ids: list[str]) -> PreparedHeader:
    """In-Reply-To or References: bracketed ids, folded only between ids, never encoded."""
    for message_id in ids:
        check_header_value(name, message_id)
        if not is_plain(message_id) or " " in message_id:
            raise HeaderInjectionError(f"header {name!r} has an invalid id {message_id!r}")
    return PreparedHeader(name, " ".join(ids), _fold_words(len(name) + 2, ids))


def disposition_value(filename: str) -> PreparedHeader:
    """``Content-Disposition: attachment`` naming ``filename`` so every client shows it as is."""
    check_header_value("attachment filename", filename)
    text = f"attachment; filename={filename}"
    quoted = _quoted(filename)
    if is_plain(filename) and len(quoted) <= 60:
        return PreparedHeader("Content-Disposition", text, f'attachment; filename="{quoted}"')
    # RFC 2231: percent-encoded UTF-8, split into numbered sections that fit on a line.
    sections: list[str] = []
    current = ""
    for char in filename:
        piece = urllib.parse.quote(char, safe="")
        if len(current) + len(piece) > 60:
            sections.append(current)
            current = ""
        current += piece
    sections.append(current)
    if len(sections) == 1:
        return PreparedHeader(
            "Content-Disposition", text, f"attachment;\r\n filename*=utf-8''{sections[0]}"
        )
    charset = "utf-8''"
    params = [
        f"filename*{index}*={charset if index == 0 else ''}{section}"
        for index, section in enumerate(sections)
    ]
    return PreparedHeader("Content-Disposition", text, "attachment;\r\n " + ";\r\n ".join(params))
