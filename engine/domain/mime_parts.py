"""One part of a MIME tree, read tolerantly: the toolkit the parser's bodies and ``classify``'s
report parts share, so a part reads the same wherever it is read.

A module of its own because two readers use it (:mod:`engine.domain.mime` for bodies and
attachments, :mod:`engine.domain.classify` for delivery and feedback reports) and neither
needs the other: the tree itself (:func:`message_tree`), a part's type and parameters
(:func:`content_type`, :func:`content_param`, :func:`content_charset`), its children
(:func:`subparts`) and its content (:func:`payload_bytes`, :func:`part_text`).  None of them
raises; transfer encodings are undone by the stdlib's tolerant decoders.

Charset fallback order for bodies, report parts and raw 8-bit headers (:func:`decode_text`):
the declared charset (upgraded to its common superset, e.g. ISO-8859-1 -> windows-1252,
GB2312 -> GB18030, as browsers do), then UTF-8, then windows-1252, then latin-1, which cannot
fail.  All are strict until latin-1, so the first that fits wins instead of filling the text
with U+FFFD.
"""

from __future__ import annotations

import codecs
import email
import email.utils
import re
from email import policy
from email.message import Message

__all__ = [
    "MEDIA_TYPE",
    "content_charset",
    "content_param",
    "content_type",
    "decode_text",
    "message_tree",
    "part_text",
    "payload_bytes",
    "raw_payload",
    "subparts",
]

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


def message_tree(raw: bytes) -> Message | None:
    """The stdlib's MIME tree of ``raw`` with header text as it came (``compat32``), or None
    when even that fails; for readers of the part structure that
    :class:`~engine.domain.mime.ParsedMessage` flattens."""
    try:
        return email.message_from_bytes(bytes(raw), policy=policy.compat32)
    except Exception:
        return None


# A media type as RFC 6838 names them (type "/" subtype, restricted names): what we write,
# and all a received part's type may be. The stdlib decodes encoded words in Content-Type
# and keeps controls, spaces and quotes, so "=?utf-8?q?application/pdf=0D=0ABcc:...?=" read
# as a type would reach a terminal and, forwarded, a header of ours.
MEDIA_TYPE = re.compile(r"([A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*)/([A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*)")


def content_type(part: Message) -> str:
    """The media type, lower-case; ``application/octet-stream`` when it cannot be read or
    is not a media type at all."""
    try:
        ctype = part.get_content_type()
    except Exception:
        return "application/octet-stream"
    return ctype if MEDIA_TYPE.fullmatch(ctype) else "application/octet-stream"


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
    payload = raw_payload(part)
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
    payload = raw_payload(part)
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
    payload = raw_payload(part)
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
    body = raw_payload(msg)
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


def raw_payload(part: Message) -> object:
    """The stdlib's payload as it is (a list of parts, a string or None); None if unreadable."""
    try:
        payload: object = part.get_payload()
    except Exception:
        return None
    return payload
