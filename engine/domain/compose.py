"""Build outgoing mail: addresses, subjects, threading headers and the message itself.

Pure functions over the stdlib ``email`` package so every rule about what Postdesk sends
(no header injection, no Bcc leak, threading that survives long message ids) lives in one
place that tests can pin down without a mail server.

Decisions:

* Every header value is made by ``engine.domain.header_values``, never parsed by the stdlib:
  Python 3.11 decodes encoded words in a value it is handed and folds decoded CR/LF onto the
  wire.  Values are checked after any decoding, and the finished message is read back and
  compared with what was meant (``engine.domain.verify_message``) before anyone stores it.
* Addresses may have quoted local parts (``"system administrator"@example.com``) and,
  with SMTPUTF8, non-ASCII local parts; such a message is generated with UTF-8 headers and
  :func:`needs_smtputf8` tells the outbox to ask the server for SMTPUTF8.
* In-Reply-To and References fold only between ids.  The default policy turns an id longer
  than a line into RFC 2047 encoded words, which breaks threading in every client.
* Ids for In-Reply-To/References come from strangers' mail; ones that are not plausible
  msg-ids (spaces, brackets, non-ASCII, encoded words) are dropped rather than failing.
* ``forward_subject`` writes ``FWD:``, as the product manual specifies; every client
  recognises it (``Fwd:``, ``FW:`` and ``FWD:`` are all collapsed into one).
"""

from __future__ import annotations

import os
import re
import time
import unicodedata
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from email import policy as email_policy
from email import utils as email_utils
from email.errors import NonASCIILocalPartDefect
from email.headerregistry import AddressHeader, BaseHeader
from email.message import EmailMessage

from engine.domain.header_values import (
    HeaderInjectionError,
    address_header,
    check_header_value,
    disposition_value,
    id_list_header,
    mailbox,
    text_header,
    untrusted_text,
)
from engine.domain.mime_headers import Address, mask_encoded_words, unmask_display_name
from engine.domain.mime_parts import MEDIA_TYPE
from engine.domain.verify_message import Expected, verify_message

__all__ = [
    "AddressError",
    "HeaderInjectionError",
    "build_message",
    "check_header_value",
    "envelope_recipients",
    "format_address",
    "forward_subject",
    "make_message_id",
    "needs_smtputf8",
    "parse_address_list",
    "quote_history",
    "references_for_reply",
    "reply_subject",
]


class AddressError(ValueError):
    """An address is not acceptable for sending; the message names the entry."""


# Enough ancestry for any client to thread; more only bloats every reply.
MAX_REFERENCES = 20

_HEADER_NAME = re.compile(r"[!-9;-~]+")
_MSG_ID = re.compile(r"[!-;=?-~]+")  # printable ASCII without "<" and ">"
# Local parts: a dot-atom or a quoted string (RFC 5322), UTF-8 beyond ASCII (RFC 6531).
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u00a0-\ud7ff\ue000-\U0010ffff]"
_LOCAL_DOT_ATOM = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*")
_LOCAL_QUOTED = re.compile(r'"(?:[ !#-\[\]-~\u00a0-\ud7ff\ue000-\U0010ffff]|\\[ -~])*"')
_DOMAIN_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_UNSAFE_NAME = re.compile(r"[\u2028\u2029]")
_REPLY_PREFIX = re.compile(r"^(?:re(?:\[\d+\]|\(\d+\))?\s*:\s*)+", re.IGNORECASE | re.ASCII)
_FORWARD_PREFIX = re.compile(r"^(?:fwd?\s*:\s*)+", re.IGNORECASE | re.ASCII)

# Headers build_message owns; letting extra_headers set them would duplicate or leak them.
_MANAGED_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "in-reply-to",
        "references",
        "mime-version",
    }
)

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# CRLF line endings because the bytes go to SMTP and IMAP APPEND as they are; UTF-8
# headers only for a message to or from an internationalised local part (SMTPUTF8).
_POLICY = email_policy.SMTP
_POLICY_UTF8 = email_policy.SMTPUTF8


def _check_header_name(name: str) -> str:
    if not _HEADER_NAME.fullmatch(name):
        raise HeaderInjectionError(f"invalid header name {name!r}")
    return name


def _ascii_domain(domain: str) -> str | None:
    """The domain in ASCII (IDNA) form if it is a usable host name, else None."""
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except (UnicodeError, ValueError):
        return None
    if ascii_domain.lower() == "localhost":
        return ascii_domain
    labels = ascii_domain.split(".")
    if len(labels) < 2 or len(ascii_domain) > 253:
        return None
    if not all(_DOMAIN_LABEL.fullmatch(label) for label in labels):
        return None
    # An all-numeric last label is an IP address written without brackets.
    return None if labels[-1].isdigit() else ascii_domain


def _split_entries(text: str) -> list[str]:
    # Commas and semicolons separate entries except inside quotes, comments and <...>;
    # each entry is then parsed by the stdlib.  Escapes are honoured inside quotes and
    # comments, where RFC 5322 allows them.
    entries: list[str] = []
    current: list[str] = []
    in_quotes = escaped = False
    depth_comment = depth_angle = 0
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and (in_quotes or depth_comment):
            escaped = True
        elif in_quotes:
            in_quotes = char != '"'
        elif depth_comment:
            depth_comment += {"(": 1, ")": -1}.get(char, 0)
        elif char == '"':
            in_quotes = True
        elif char == "(":
            depth_comment = 1
        elif char == "<":
            depth_angle += 1
        elif char == ">" and depth_angle:
            depth_angle -= 1
        elif char in ",;" and not depth_angle:
            entries.append("".join(current))
            current = []
            continue
        current.append(char)
    entries.append("".join(current))
    return [entry.strip() for entry in entries if entry.strip()]


def _local_part_ok(local: str) -> bool:
    if not local or len(local.encode("utf-8", "surrogatepass")) > 64 or "=?" in local:
        return False
    # No controls, format characters (bidi overrides) or separators hide in an address.
    if any(unicodedata.category(c)[0] in "CZ" and c != " " for c in local):
        return False
    return bool(_LOCAL_DOT_ATOM.fullmatch(local) or _LOCAL_QUOTED.fullmatch(local))


def _wire_addr_spec(addr_spec: str) -> str | None:
    """``addr_spec`` with an IDNA domain if Postdesk can send to it, else None.

    The local part is a dot-atom or a quoted string, in ASCII or (for SMTPUTF8) UTF-8;
    non-ASCII domains are fine once IDNA-encoded.
    """
    local, at, domain = addr_spec.rpartition("@")
    if not (at and len(addr_spec) <= 254 and _local_part_ok(local)):
        return None
    ascii_domain = _ascii_domain(domain)
    return f"{local}@{ascii_domain}" if ascii_domain else None


def needs_smtputf8(addresses: Iterable[str]) -> bool:
    """True when one of these envelope addresses has a non-ASCII local part."""
    return any(not address.isascii() for address in addresses)


def _parse_entry(entry: str) -> Address:
    bad = AddressError(f"invalid address: {entry!r}")
    if _CONTROLS.search(entry):
        raise bad
    # As for received mail: the structure is read with encoded words masked, so a pasted
    # encoded word can only ever be a display name, checked once decoded.
    masked, words, tag = mask_encoded_words(entry)
    try:
        header = email_policy.default.header_factory("to", masked)
    except Exception as exc:
        raise bad from exc
    if not isinstance(header, AddressHeader) or not isinstance(header, BaseHeader):
        raise bad
    # A UTF-8 local part is a defect to the stdlib and valid with SMTPUTF8 (RFC 6531).
    if any(not isinstance(d, NonASCIILocalPartDefect) for d in header.defects):
        raise bad
    if len(header.addresses) != 1 or any(g.display_name is not None for g in header.groups):
        raise bad
    (parsed,) = header.addresses
    if not parsed.username or _wire_addr_spec(parsed.addr_spec) is None:
        raise bad
    if words and tag in parsed.addr_spec:  # RFC 2047 5: never an encoded word in an addr-spec
        raise bad
    name = unmask_display_name(parsed.display_name, words, tag)
    if _CONTROLS.search(name) or _UNSAFE_NAME.search(name):
        raise bad
    return Address(email=parsed.addr_spec, name=name)


def parse_address_list(text: str) -> list[Address]:
    """Strictly parse comma- or semicolon-separated addresses; "" gives ``[]``.

    Each entry must be ``local@domain`` (optionally with a display name); the first bad
    entry raises :class:`AddressError` naming it.
    """
    return [_parse_entry(entry) for entry in _split_entries(text)]


def _wire_entry(addr: Address, role: str) -> tuple[str, str]:
    """``(display name, wire addr-spec)`` for a header, or raise naming the role."""
    check_header_value(role, addr.name)
    check_header_value(role, addr.email)
    wire = _wire_addr_spec(addr.email.strip())
    if wire is None:
        raise AddressError(f"invalid {role} address: {addr.email!r}")
    return addr.name, wire


def format_address(addr: Address) -> str:
    """RFC 5322 form of ``addr``; names that are not plain ASCII become encoded words."""
    return mailbox(*_wire_entry(addr, "address"))


def _clean_subject(subject: str) -> str:
    # A decoded subject may hold line breaks, controls or bidi overrides; cleaning it here
    # means a reply to such a mail is sendable and reads as what it says.
    return untrusted_text(subject)


def reply_subject(subject: str) -> str:
    """``Re: subject`` without stacking prefixes (``Re:``, ``RE:``, ``Re[2]:``...)."""
    rest = _REPLY_PREFIX.sub("", _clean_subject(subject))
    return f"Re: {rest}" if rest else "Re:"


def forward_subject(subject: str) -> str:
    """``FWD: subject`` without stacking prefixes (``Fwd:``, ``FW:``, ``FWD:``)."""
    rest = _FORWARD_PREFIX.sub("", _clean_subject(subject))
    return f"FWD: {rest}" if rest else "FWD:"


def make_message_id(domain: str) -> str:
    """A fresh ``<unique@domain>``; raises ``ValueError`` for an unusable domain."""
    ascii_domain = _ascii_domain(domain)
    if ascii_domain is None:
        raise ValueError(f"invalid message-id domain: {domain!r}")
    return f"<{time.time_ns():x}.{uuid.uuid4().hex}@{ascii_domain}>"


def make_message_ids(domain: str, count: int) -> list[str]:
    """`count` fresh ``<unique@domain>`` at once (a dialer's batch): the domain checked once,
    the randomness read in one call; the same shape as `make_message_id`'s."""
    ascii_domain = _ascii_domain(domain)
    if ascii_domain is None:
        raise ValueError(f"invalid message-id domain: {domain!r}")
    stamp = f"{time.time_ns():x}"
    random = os.urandom(16 * count).hex()
    return [f"<{stamp}.{random[at : at + 32]}@{ascii_domain}>" for at in range(0, 32 * count, 32)]


def _bare_id(message_id: str) -> str | None:
    """The id without brackets if it is a plausible msg-id, else None."""
    bare = message_id.strip()
    if bare.startswith("<") and bare.endswith(">"):
        bare = bare[1:-1].strip()
    # "=?" would make the id look like an encoded word to a lenient reader; an id that
    # cannot fit on a header line (998) is no id anyone made.
    plausible = _MSG_ID.fullmatch(bare) and "=?" not in bare and len(bare) <= 900
    return bare if plausible else None


def references_for_reply(parent_message_id: str | None, parent_references: list[str]) -> list[str]:
    """References for a reply: the parent's, then the parent, deduplicated, bare ids.

    Capped at :data:`MAX_REFERENCES`, keeping the thread root and the most recent ids.
    """
    parent = _bare_id(parent_message_id) if parent_message_id else None
    ids: list[str] = []
    seen: set[str] = set()
    for candidate in parent_references:
        bare = _bare_id(candidate)
        if bare and bare not in seen and bare != parent:
            seen.add(bare)
            ids.append(bare)
    if parent:
        ids.append(parent)
    if len(ids) > MAX_REFERENCES:
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1) :]]
    return ids


def _thread_ids(name: str, ids: Iterable[str]) -> list[str]:
    bracketed: list[str] = []
    for message_id in ids:
        # Stored ids never hold a line break, so one here is an attempt, not a quirk;
        # other implausible ids from strangers' mail are dropped.
        if any(char in message_id for char in "\r\n\x00"):
            check_header_value(name, message_id)
        bare = _bare_id(message_id)
        if bare and f"<{bare}>" not in bracketed:
            bracketed.append(f"<{bare}>")
    return bracketed


def _own_message_id(message_id: str) -> str:
    check_header_value("Message-ID", message_id)
    bare = _bare_id(message_id)
    if bare is None or "@" not in bare:
        raise ValueError(f"invalid Message-ID: {message_id!r}")
    return f"<{bare}>"


def _add_attachment(msg: EmailMessage, filename: str, content_type: str, data: bytes) -> None:
    disposition = disposition_value(filename)
    match = MEDIA_TYPE.fullmatch(content_type.strip())
    if match is None:
        raise ValueError(f"invalid attachment content type: {content_type!r}")
    maintype, subtype = match.group(1).lower(), match.group(2).lower()
    if maintype == "message":
        # message/* parts may not be base64-encoded (RFC 2046 5.2.1); send a mail that is
        # 7-bit clean as it is (with CRLF line ends: a parsed or uploaded mail often has LF)
        # and anything else as an opaque file.
        lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        if data.isascii() and b"\x00" not in data and all(len(line) <= 998 for line in lines):
            data = b"\r\n".join(lines)
            msg.add_attachment(data, maintype, subtype, cte="7bit", disposition="attachment")
        else:
            msg.add_attachment(data, "application", "octet-stream", disposition="attachment")
    else:
        msg.add_attachment(data, maintype, subtype, disposition="attachment")
    # The name is written by header_values, never by the stdlib's parameter parser, which
    # would decode an encoded word inside a quoted filename.
    parts = msg.get_payload()
    part = parts[-1] if isinstance(parts, list) else None
    if not isinstance(part, EmailMessage):
        raise ValueError("attachment part was not created")
    del part["Content-Disposition"]
    part["Content-Disposition"] = disposition


def build_message(
    *,
    from_: Address,
    to: list[Address],
    cc: list[Address],
    bcc: list[Address],
    subject: str,
    text: str,
    html: str | None = None,
    message_id: str,
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    extra_headers: dict[str, str] | None = None,
    attachments: list[tuple[str, str, bytes]] | None = None,
    date: datetime | None = None,
    calendar: bytes | None = None,
) -> EmailMessage:
    """Assemble an outgoing message; Bcc is validated but never written to a header.

    ``calendar``: an iCalendar invitation (``METHOD:REQUEST``), added as the last
    alternative (``text/calendar; method=REQUEST``), where Gmail and Outlook look for it.

    Message ids may be given with or without angle brackets.  ``attachments`` are
    ``(filename, content_type, data)``.  ``date`` must be timezone-aware (default: now).
    The result has been serialised and read back: it carries exactly the headers set
    here, with exactly these values (:class:`HeaderInjectionError` otherwise).
    """
    sender = _wire_entry(from_, "From")
    recipients = {
        "To": [_wire_entry(a, "To") for a in to],
        "Cc": [_wire_entry(a, "Cc") for a in cc],
    }
    bcc_entries = [_wire_entry(addr, "Bcc") for addr in bcc]
    if not (to or cc or bcc):
        raise AddressError("message has no recipients")
    if date is None:
        date = datetime.now(UTC)
    elif date.tzinfo is None:
        raise ValueError("date must be timezone-aware")
    every_entry = [sender, *recipients["To"], *recipients["Cc"], *bcc_entries]
    utf8 = needs_smtputf8(wire for _, wire in every_entry)

    msg = EmailMessage(policy=_POLICY_UTF8 if utf8 else _POLICY)
    msg["From"] = address_header("From", [sender])
    for name, entries in recipients.items():
        if entries:
            msg[name] = address_header(name, entries)
    msg["Subject"] = text_header("Subject", subject)
    msg["Date"] = email_utils.format_datetime(date)
    msg["Message-ID"] = _own_message_id(message_id)
    parent = _thread_ids("In-Reply-To", [in_reply_to] if in_reply_to else [])
    if parent:
        msg["In-Reply-To"] = id_list_header("In-Reply-To", parent[:1])
    ancestry = _thread_ids("References", references or [])
    if ancestry:
        msg["References"] = id_list_header("References", ancestry)
    for name, value in (extra_headers or {}).items():
        _check_header_name(name)
        lowered = name.lower()
        if lowered in _MANAGED_HEADERS or lowered.startswith("content-"):
            raise ValueError(f"header {name!r} is set by build_message itself")
        msg[name] = text_header(name, value)

    # A NUL means nothing in mail text and may not go on the wire; a customer's NUL would
    # otherwise make every quoting reply and forward of their mail unsendable.
    msg.set_content(text.replace("\x00", ""))
    if html is not None:
        msg.add_alternative(html.replace("\x00", ""), subtype="html")
    if calendar is not None:
        if html is None:
            raise ValueError("an invitation goes with an HTML part (an alternative of it)")
        msg.add_alternative(
            calendar.decode("utf-8"), subtype="calendar", params={"method": "REQUEST"}
        )
    for filename, content_type, data in attachments or []:
        _add_attachment(msg, filename, content_type, data)
    verify_message(
        msg,
        Expected(
            subject=subject,
            addresses={
                "from": [sender],
                "to": recipients["To"],
                "cc": recipients["Cc"],
            },
            filenames=[filename for filename, _, _ in attachments or []],
        ),
    )
    return msg


def envelope_recipients(to: list[Address], cc: list[Address], bcc: list[Address]) -> list[str]:
    """SMTP RCPT TO list: every To, Cc and Bcc address once, compared case-insensitively.

    Domains are given in IDNA form, as they appear in the headers build_message writes.
    """
    seen: set[str] = set()
    recipients: list[str] = []
    for addr in [*to, *cc, *bcc]:
        mailbox = addr.email.strip()
        mailbox = _wire_addr_spec(mailbox) or mailbox
        key = mailbox.lower()
        if key and key not in seen:
            seen.add(key)
            recipients.append(mailbox)
    return recipients


def quote_history(text: str, *, author: str, date: datetime | None) -> str:
    """``On <date>, <author> wrote:`` followed by ``text`` quoted with ``>``.

    The date is written in English with fixed names, independent of the process locale.
    """
    who = " ".join(author.split()) or "Someone"
    if date is None:
        attribution = f"{who} wrote:"
    else:
        zone = f" {date:%z}" if date.tzinfo is not None else ""
        when = (
            f"{_DAYS[date.weekday()]}, {date.day} {_MONTHS[date.month - 1]} {date.year}"
            f" at {date:%H:%M}{zone}"
        )
        attribution = f"On {when}, {who} wrote:"
    quoted = [
        f">{line}" if line.startswith(">") else (f"> {line}" if line else ">")
        for line in text.rstrip().splitlines()
    ]
    return "\n".join([attribution, *quoted]) + "\n"
