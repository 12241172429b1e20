"""Turn raw RFC 5322 bytes into a typed :class:`ParsedMessage`.

Incoming mail is hostile or just broken far more often than the RFCs admit: undeclared or
invented charsets, raw 8-bit headers, address headers that do not parse, multiparts
without boundaries.  A contact centre must still show *something* for every message, so
this parser degrades field by field instead of failing the whole message, and the only
exception it ever raises is :class:`MimeError` (for input that is not mail at all, or as
a wrapper around an unexpected failure).  Everything is pure: bytes in, values out.

The stdlib ``email`` package with ``policy.default`` semantics does the real parsing; this
module only chooses the body, classifies attachments and supplies fallbacks where the
stdlib gives up.  ``policy.default`` runs every header it is asked for through a full RFC
5322 grammar, which is most of the cost of parsing a message, so header values simple
enough to read without it (plain text, ``Name <a@b.example>``, ``text/plain;
charset=utf-8``, ``<id@host>``, RFC 5322 dates) are decoded by ``header_fastpath`` to
exactly what the grammar would give, and only the rest goes through ``policy.default``.

Charset fallback order for bodies and raw 8-bit headers: the declared charset (upgraded to
its common superset, e.g. ISO-8859-1 -> windows-1252, GB2312 -> GB18030, as browsers do),
then UTF-8, then windows-1252, then latin-1, which cannot fail.  All are strict until
latin-1, so the first that fits wins instead of filling the text with U+FFFD.

Header values come back on one line: an encoded word that decodes to CR/LF yields a
space.  Whitespace between adjacent encoded words is dropped before parsing (RFC 2047
6.2), which CPython fails to do inside display names.  ``text`` is the plain-text body;
when there is none, or it is blank next to an HTML body, it is derived from the HTML.

One part of a MIME tree is read with the part toolkit below (:func:`content_type`,
:func:`content_param`, :func:`subparts`, :func:`payload_bytes`, :func:`part_text`, and
:func:`message_tree` for the tree itself): never raising, transfer encoding undone by the
stdlib's tolerant decoders, text in the declared charset and the fallbacks above.  The parser
reads bodies with it and ``classify`` its report parts, so a part reads the same wherever it
is read.

Over ~500 lines because it is still the whole toolkit in one module (parser, header reading,
part toolkit); the header reading (``_Headers``, encoded words, addresses, ids) or the part
toolkit are the cuts to make next, each into a module of its own.

Returned strings are *not* sanitised for the terminal; that is ``engine.text.sanitize``'s
job at display time.  Attachment filenames are reduced to a bare name without control
characters, but code that writes them to disk must still confine them itself.
"""

from __future__ import annotations

import codecs
import email
import email.header
import email.utils
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.headerregistry import AddressHeader, DateHeader
from email.message import Message

import html2text

from engine.domain.header_fastpath import (
    ADDRESS,
    DATE,
    PARSE_POLICY,
    header_kind,
    simple_date,
    simple_mailboxes,
    simple_text,
    unfold_for_policy,
)

__all__ = [
    "Address",
    "MimeError",
    "ParsedAttachment",
    "ParsedMessage",
    "content_charset",
    "content_param",
    "content_type",
    "decode_text",
    "html_to_text",
    "mask_encoded_words",
    "message_tree",
    "parse_message",
    "part_text",
    "payload_bytes",
    "subparts",
    "unmask_display_name",
]


class MimeError(ValueError):
    """The input is not a mail message, or parsing failed in an unexpected way."""


@dataclass(frozen=True, slots=True)
class Address:
    """One mailbox: the addr-spec and the (decoded) display name, "" when absent."""

    email: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class ParsedAttachment:
    """A non-body part; ``inline`` parts are meant to be shown inside the HTML body."""

    filename: str
    content_type: str
    data: bytes
    inline: bool
    content_id: str | None


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """Everything the engine needs from one message.  Message ids carry no brackets."""

    message_id: str | None
    in_reply_to: str | None
    references: list[str]
    subject: str
    from_: Address | None
    to: list[Address]
    cc: list[Address]
    reply_to: list[Address]
    date: datetime | None
    text: str
    html: str | None
    attachments: list[ParsedAttachment]
    headers: dict[str, str]
    # X-Failed-Recipients read like an address header: from its structure, never decoded.
    failed_recipients: list[str] = field(default_factory=list)


# The null sender of bounces ("MAILER-DAEMON <>") is not somebody to reply to.
_NO_ADDRESS = frozenset({"", "<>"})

# Deeper nesting than this is a parser bomb, not correspondence.
_MAX_DEPTH = 40

_SURROGATE = re.compile("[\ud800-\udfff]")
_BRACKETED_ID = re.compile(r"<([^<>]*)>")
_ADJACENT_ENCODED_WORDS = re.compile(r"(=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)\s+(?==\?[^?\s]+\?[bBqQ]\?)")
_LINE_BREAKS = re.compile(r"[\r\n]+")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_FILENAME_JUNK = re.compile(r"[\x00-\x1f\x7f-\x9f]")

# Labels that real mail uses for a narrower charset than it actually contains; decoding
# with the superset is what browsers do (WHATWG Encoding) and what senders meant.
_SUPERSETS = {
    "iso8859-1": "cp1252",
    "ascii": "utf-8",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "euc_kr": "cp949",
    "shift_jis": "cp932",
    "iso8859-9": "cp1254",
    "iso8859-11": "cp874",
    "tis-620": "cp874",
}
_FALLBACK_CHARSETS = ("utf-8", "cp1252")

_EMBEDDED_MAIL = ("message/rfc822", "message/global")
_EXTENSIONS = {
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "text/csv": ".csv",
    "application/pdf": ".pdf",
    "application/zip": ".zip",
    "application/ics": ".ics",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "message/rfc822": ".eml",
    "message/global": ".eml",
}


def _codec_name(charset: str | None) -> str | None:
    if not charset:
        return None
    try:
        name = codecs.lookup(charset.strip().strip("\"'")).name
    except (LookupError, ValueError):
        return None
    return _SUPERSETS.get(name, name)


def decode_text(data: bytes, charset: str | None, *, truncated: bool = False) -> str:
    """Text of ``data`` in ``charset`` or the fallbacks above; never fails.

    ``truncated`` says that ``data`` was cut from something longer: a character cut in two
    at its end is dropped instead of failing the charset (and falling back to the next).
    """
    declared = _codec_name(charset)
    candidates = [declared] if declared else []
    candidates.extend(c for c in _FALLBACK_CHARSETS if c != declared)
    for candidate in candidates:
        try:
            return _decoded(data, candidate, truncated)
        except Exception:
            continue
    return data.decode("latin-1")


def _decoded(data: bytes, codec: str, truncated: bool) -> str:
    if not truncated:
        return data.decode(codec)
    # bytes.decode refuses codecs that are not text encodings (a charset="base64" or "zlib"
    # label); their incremental decoders would not.
    data[:0].decode(codec)
    text = codecs.getincrementaldecoder(codec)().decode(data, final=False)
    if not isinstance(text, str):
        raise LookupError(codec)
    return text


def _repair(text: str) -> str:
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
    return _LINE_BREAKS.sub(" ", _repair(value))


def _decode_header(name: str, raw: str, parse: _HeaderParser = _parse_header) -> str:
    text = _header_text(name, raw, parse)
    if text is not None:
        return _single_line(text)
    try:
        value = str(email.header.make_header(email.header.decode_header(_unfold(raw))))
    except Exception:
        value = _unfold(raw)
    return _single_line(value)


class _Headers:
    """Raw header access that never raises, grouped by lower-cased name."""

    def __init__(self, msg: Message) -> None:
        self.raw: dict[str, list[str]] = {}
        for name, value in msg.raw_items():
            # Raw 8-bit header bytes arrive surrogate-escaped; decoding them here (UTF-8,
            # then windows-1252) beats the parser's own choice of U+FFFD for non-UTF-8.
            self.raw.setdefault(name.lower(), []).append(_repair(str(value)))
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
        return [] if raw is None else _message_ids(_repair(_unfold(raw)))

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
                value = email.utils.parsedate_to_datetime(_repair(_unfold(raw)))
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
    names are decoded afterwards.
    """
    simple = simple_mailboxes(unfold_for_policy(raw)) if header_kind(name) == ADDRESS else None
    if simple is not None:
        return [
            Address(email=_single_line(a.addr_spec), name=_single_line(a.display_name))
            for a in simple
            if a.addr_spec not in _NO_ADDRESS
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


# --- One part of a MIME tree, read tolerantly: the parser above and classify's report readers
# both use these, so a part reads the same wherever it is read.  None of them raises.


def message_tree(raw: bytes) -> Message | None:
    """The stdlib's MIME tree of ``raw`` with header text as it came (``compat32``), or None
    when even that fails; for readers of the part structure :class:`ParsedMessage` flattens."""
    try:
        return email.message_from_bytes(bytes(raw), policy=policy.compat32)
    except Exception:
        return None


def content_type(part: Message) -> str:
    """The media type, lower-case; ``application/octet-stream`` when it cannot be read."""
    try:
        ctype = part.get_content_type()
    except Exception:
        return "application/octet-stream"
    return ctype if "/" in ctype else "application/octet-stream"


def content_param(part: Message, name: str) -> str:
    """A Content-Type parameter (RFC 2231 continuations joined), stripped; "" if unreadable."""
    try:
        value = part.get_param(name)
        if value is None:
            return ""
        return str(email.utils.collapse_rfc2231_value(value)).strip()
    except Exception:
        return ""


def content_charset(part: Message) -> str | None:
    """The declared charset, lower-case, or None."""
    try:
        return part.get_content_charset()
    except Exception:
        return None


def subparts(part: Message) -> list[Message]:
    """The parts directly inside a multipart; none for any other part (an enclosed message/*
    is somebody else's mail, not a part of this one)."""
    if not content_type(part).startswith("multipart/"):
        return []
    payload = _raw_payload(part)
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def payload_bytes(part: Message) -> bytes:
    """A leaf part's content with the transfer encoding undone (the stdlib's tolerant
    decoding: bad base64 padding is repaired, undecodable data comes back as it was)."""
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    payload = _raw_payload(part)
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogateescape")
    return b""


def part_text(part: Message, *, limit: int | None = None) -> str:
    """A part's content as text: transfer encoding undone, then decoded in the declared
    charset or the fallbacks of :func:`decode_text`, CRLF read as LF.  Never fails.

    A message/* part the parser opened (message/rfc822, message/delivery-status, ...) reads
    as the header lines of each enclosed message or field block, as they came, followed by
    its body when that is not itself multipart.  ``limit`` bounds the characters returned,
    and the bytes decoded to what that many characters can take.
    """
    payload = _raw_payload(part)
    if isinstance(payload, list):
        text = "\n\n".join(_opened_text(p) for p in payload if isinstance(p, Message))
        data = _transfer_decoded(text, part)
    else:
        data = payload_bytes(part)
    truncated = limit is not None and len(data) > limit * 4
    if limit is not None:
        data = data[: limit * 4]  # four bytes a character: UTF-8, UTF-16, GB18030 all fit
    text = decode_text(data, content_charset(part), truncated=truncated)
    text = text.replace("\r\n", "\n")
    return text if limit is None else text[:limit]


def _opened_text(msg: Message) -> str:
    try:
        lines = [f"{name}: {value}" for name, value in msg.raw_items()]
    except Exception:
        lines = []
    body = _raw_payload(msg)
    if isinstance(body, str) and body.strip():
        lines.extend(["", body])
    return "\n".join(lines)


def _transfer_decoded(text: str, part: Message) -> bytes:
    """``text`` (an opened message/* part written back) with the part's transfer encoding
    undone: message/global-delivery-status may come base64-encoded (RFC 6533), and the
    parser then opens the encoded lines as if they were fields."""
    leaf = Message()
    try:
        encoding = str(part.get("content-transfer-encoding", "")).strip()
        if encoding:
            leaf["Content-Transfer-Encoding"] = encoding
    except Exception:
        pass
    leaf.set_payload(text)
    return payload_bytes(leaf)


def _raw_payload(part: Message) -> object:
    try:
        payload: object = part.get_payload()
    except Exception:
        return None
    return payload


@dataclass
class _Bodies:
    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    attachments: list[ParsedAttachment] = field(default_factory=list)


def _disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:
        return None


def _clean_filename(name: str | None) -> str | None:
    if not name:
        return None
    name = _FILENAME_JUNK.sub("", _repair(name))
    name = re.split(r"[/\\]", name)[-1].strip()
    return None if name in ("", ".", "..") else name


def _filename(part: Message) -> str | None:
    try:
        return _clean_filename(part.get_filename())
    except Exception:
        return None


def _message_bytes(msg: Message) -> bytes:
    # policy.default can refuse to re-serialise headers it parsed with defects; compat32
    # writes them back as they came, and the str route survives even that failing.
    for serialisation_policy in (policy.default, policy.compat32):
        try:
            return msg.as_bytes(policy=serialisation_policy)
        except Exception:
            continue
    try:
        return msg.as_string(policy=policy.compat32).encode("utf-8", "surrogateescape")
    except Exception:
        return b""


def _embedded_message_data(part: Message) -> tuple[bytes, str]:
    """Bytes of a message/* part and the subject to name it by."""
    payload = _raw_payload(part)
    if isinstance(payload, list):
        inner = [p for p in payload if isinstance(p, Message)]
        subject = ""
        if inner:
            raw_subject = _Headers(inner[0]).decoded("subject")
            subject = raw_subject or ""
        return b"".join(_message_bytes(p) for p in inner), subject
    return payload_bytes(part), ""


def _content_id(part: Message) -> str | None:
    raw = _Headers(part).first("content-id")
    if raw is None:
        return None
    value = _repair(_unfold(raw))
    found = _BRACKETED_ID.findall(value)
    cid = "".join((found[0] if found else value).split())
    return cid or None


def _default_filename(ctype: str, subject: str, index: int) -> str:
    if ctype in _EMBEDDED_MAIL:
        stem = _clean_filename(" ".join(subject.split())[:80].replace(":", ""))
        return f"{stem}.eml" if stem else f"message-{index}.eml"
    extension = _EXTENSIONS.get(ctype)
    if extension is None:
        # Delivery reports and other message/* parts are readable text, not mail.
        extension = ".txt" if ctype.startswith(("text/", "message/")) else ".bin"
    stem = "invite" if extension == ".ics" else "attachment"
    return f"{stem}-{index}{extension}"


def _make_attachment(
    part: Message, ctype: str, filename: str | None, index: int
) -> ParsedAttachment:
    subject = ""
    if ctype.startswith("message/"):
        data, subject = _embedded_message_data(part)
    else:
        data = payload_bytes(part)
    content_id = _content_id(part)
    disposition = _disposition(part)
    return ParsedAttachment(
        filename=filename or _default_filename(ctype, subject, index),
        content_type=ctype,
        data=data,
        inline=disposition == "inline" or (disposition is None and content_id is not None),
        content_id=content_id,
    )


def _walk(part: Message, out: _Bodies, depth: int) -> None:
    if depth > _MAX_DEPTH:
        return
    ctype = content_type(part)
    payload = _raw_payload(part)
    if ctype.startswith("message/"):
        out.attachments.append(
            _make_attachment(part, ctype, _filename(part), len(out.attachments) + 1)
        )
        return
    if isinstance(payload, list):
        children = [p for p in payload if isinstance(p, Message)]
        if ctype == "multipart/alternative":
            _walk_alternative(children, out, depth)
        else:
            for child in children:
                _walk(child, out, depth + 1)
        return
    filename = _filename(part)
    is_body = _disposition(part) != "attachment" and filename is None
    if is_body and ctype == "text/html":
        out.htmls.append(part_text(part))
    elif is_body and (ctype == "text/plain" or ctype.startswith("multipart/")):
        # A multipart with no usable boundary arrives as one string: show it as text.
        out.texts.append(part_text(part))
    else:
        out.attachments.append(_make_attachment(part, ctype, filename, len(out.attachments) + 1))


def _walk_alternative(children: list[Message], out: _Bodies, depth: int) -> None:
    # Later alternatives are the sender's preferred ones (RFC 2046 5.1.4), so the last
    # plain and the last HTML rendering win; attachments from every branch are kept.
    best_text: str | None = None
    best_html: str | None = None
    for child in children:
        branch = _Bodies(attachments=out.attachments)
        _walk(child, branch, depth + 1)
        if branch.texts:
            best_text = "\n".join(branch.texts)
        if branch.htmls:
            best_html = "\n".join(branch.htmls)
    if best_text is not None:
        out.texts.append(best_text)
    if best_html is not None:
        out.htmls.append(best_html)


def _is_empty_message(msg: Message) -> bool:
    return not msg.keys() and not payload_bytes(msg).strip()


def _parse(raw: bytes) -> ParsedMessage:
    msg = email.message_from_bytes(raw, policy=PARSE_POLICY)
    if _is_empty_message(msg):
        raise MimeError("input has neither headers nor a body")
    headers = _Headers(msg)
    bodies = _Bodies()
    _walk(msg, bodies, 0)
    html = "\n".join(bodies.htmls) if bodies.htmls else None
    text = "\n".join(bodies.texts)
    if not text.strip() and html is not None:
        # Some senders ship an empty text/plain alternative next to the real HTML.
        text = html_to_text(html)
    in_reply_to = headers.ids("in-reply-to")
    message_ids = headers.ids("message-id")
    senders = headers.addresses("from")
    decoded_headers: dict[str, str] = {}
    for name in headers.raw:
        decoded_headers[name] = headers.decoded(name) or ""
    return ParsedMessage(
        message_id=message_ids[0] if message_ids else None,
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=headers.ids("references"),
        subject=headers.decoded("subject") or "",
        from_=senders[0] if senders else None,
        to=headers.addresses("to"),
        cc=headers.addresses("cc"),
        reply_to=headers.addresses("reply-to"),
        date=headers.date(),
        text=text,
        html=html,
        attachments=bodies.attachments,
        headers=decoded_headers,
        failed_recipients=[
            a.email for a in headers.addresses("x-failed-recipients") if "@" in a.email
        ],
    )


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse one message; raise :class:`MimeError` and nothing else."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise MimeError(f"expected bytes, got {type(raw).__name__}")
    data = bytes(raw)
    if not data.strip():
        raise MimeError("empty input is not a mail message")
    try:
        return _parse(data)
    except MimeError:
        raise
    except Exception as exc:
        raise MimeError(f"could not parse message: {exc!r}") from exc


def _converter() -> html2text.HTML2Text:
    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_images = True
    converter.ignore_links = False
    converter.unicode_snob = True
    return converter


def html_to_text(html: str) -> str:
    """Readable plain text (Markdown-ish, links kept, images dropped) for an HTML body."""
    # The stdlib HTMLParser under html2text raises AssertionError on malformed "<![" marked
    # sections (Outlook's conditional comments come close); neutralise them and retry,
    # and as a last resort show the markup rather than nothing.
    for source in (html, html.replace("<![", "&lt;![")):
        try:
            text: str = _converter().handle(source)
        except Exception:
            continue
        # Trailing spaces are Markdown hard breaks, meaningless on a terminal.
        return "\n".join(line.rstrip() for line in text.splitlines()).strip("\n")
    return html
