"""Turn raw RFC 5322 bytes into a typed :class:`ParsedMessage`.

Incoming mail is hostile or just broken far more often than the RFCs admit: undeclared or
invented charsets, raw 8-bit headers, address headers that do not parse, multiparts
without boundaries.  A contact centre must still show *something* for every message, so
this parser degrades field by field instead of failing the whole message, and the only
exception it ever raises is :class:`MimeError` (for input that is not mail at all, or as
a wrapper around an unexpected failure).  Everything is pure: bytes in, values out.

The stdlib ``email`` package does the real parsing; this module only chooses the body,
classifies attachments and ties the pieces together.  Headers are read by
:mod:`engine.domain.mime_headers` (decoded values on one line, addresses from their structure
alone, ids, dates; simple values through ``header_fastpath``), and every part by the part
toolkit of :mod:`engine.domain.mime_parts` (never raising, text in the declared charset and
its fallbacks), which ``classify`` reads its report parts with too, so a part reads the same
wherever it is read.  ``text`` is the plain-text body; when there is none, or it is blank
next to an HTML body, it is derived from the HTML.

Returned strings are *not* sanitised for the terminal; that is ``engine.text.sanitize``'s
job at display time.  Attachment filenames are reduced to a bare name without control
characters, but code that writes them to disk must still confine them itself.
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import Message

import html2text

from engine.domain.header_fastpath import PARSE_POLICY
from engine.domain.mime_headers import Address, Headers, content_id, repair_text
from engine.domain.mime_parts import content_type, part_text, payload_bytes, raw_payload

__all__ = [
    "MimeError",
    "ParsedAttachment",
    "ParsedMessage",
    "html_to_text",
    "parse_message",
]


class MimeError(ValueError):
    """The input is not a mail message, or parsing failed in an unexpected way."""


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
    # Every instance of every header, as written (undecoded; `decode_value` reads one):
    # `headers` keeps the first only, and a repeated header may say something else later.
    header_values: dict[str, list[str]] = field(default_factory=dict)


# Deeper nesting than this is a parser bomb, not correspondence.
_MAX_DEPTH = 40

_FILENAME_JUNK = re.compile(r"[\x00-\x1f\x7f-\x9f]")

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
    name = _FILENAME_JUNK.sub("", repair_text(name))
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
    payload = raw_payload(part)
    if isinstance(payload, list):
        inner = [p for p in payload if isinstance(p, Message)]
        subject = ""
        if inner:
            raw_subject = Headers(inner[0]).decoded("subject")
            subject = raw_subject or ""
        return b"".join(_message_bytes(p) for p in inner), subject
    return payload_bytes(part), ""


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
    cid = content_id(part)
    disposition = _disposition(part)
    return ParsedAttachment(
        filename=filename or _default_filename(ctype, subject, index),
        content_type=ctype,
        data=data,
        inline=disposition == "inline" or (disposition is None and cid is not None),
        content_id=cid,
    )


def _walk(part: Message, out: _Bodies, depth: int) -> None:
    if depth > _MAX_DEPTH:
        return
    ctype = content_type(part)
    payload = raw_payload(part)
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


# A field name with space before its colon ("Subject : hi"), obsolete syntax RFC 5322 still
# asks readers to accept (obs-optional). Python's parser takes that line for the body's start
# and loses every header after it: an Auto-Submitted or a From among them.
_SPACED_COLON = re.compile(rb"^([!-9;-~]+)[ \t]+:", re.MULTILINE)
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")


_MAX_BOUNDARIES = 32
# Every boundary a Content-Type anywhere in the mail declares: the parts' header blocks
# follow their delimiter lines (RFC 2046 5.1.1).
_BOUNDARY = re.compile(rb'boundary[ \t]*=[ \t]*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))', re.I)


def _closed_up_colons(raw: bytes) -> bytes:
    """`raw` with the spaced colons of its header blocks closed up: the mail's own and each
    MIME part's (after a line `--boundary` of a boundary the mail declares). Bodies are left
    as written: "Remarque : ..." in a text stays."""
    blank = _BLANK_LINE.search(raw)
    end = blank.start() if blank else len(raw)
    head, count = _SPACED_COLON.subn(rb"\1:", raw[:end])
    body = raw[end:]
    if _SPACED_COLON.search(body):
        # A pass over the body each: a mail declaring thousands is not read thousands of
        # times (_MAX_BOUNDARIES; a real one nests a handful).
        declared = dict.fromkeys(m[1] or m[2] for m in _BOUNDARY.finditer(raw))
        for boundary in list(declared)[:_MAX_BOUNDARIES]:
            # The delimiter line, then the part's header lines: up to its first empty line.
            part_head = re.compile(
                rb"(\n--" + re.escape(boundary) + rb"[ \t]*\r?\n)((?:[^\r\n]+(?:\r?\n|$))*)"
            )
            body, n = part_head.subn(lambda m: m[1] + _SPACED_COLON.sub(rb"\1:", m[2]), body)
            count += n
    return head + body if count else raw


def _parse(raw: bytes) -> ParsedMessage:
    msg = email.message_from_bytes(_closed_up_colons(raw), policy=PARSE_POLICY)
    if _is_empty_message(msg):
        raise MimeError("input has neither headers nor a body")
    headers = Headers(msg)
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
        header_values=headers.raw,
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
