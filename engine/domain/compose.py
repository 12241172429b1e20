"""Build outgoing mail: addresses, subjects, threading headers and the message itself.

Pure functions over the stdlib ``email`` package so every rule about what Postdesk sends
(no header injection, no Bcc leak, threading that survives long message ids) lives in one
place that tests can pin down without a mail server.

Decisions:

* Header values are checked for CR, LF and NUL before they reach ``email``: Python 3.11
  does not reliably refuse them (CVE-2024-6923), and a refusal is better than a repair.
* Subjects and other free-text headers are encoded by ``email.header.Header`` when they
  are not ASCII; the default folder can drop a space at a fold between encoded words.
* In-Reply-To and References use a header class that folds only between ids.  The
  default policy turns an id longer than a line into RFC 2047 encoded words, which
  breaks threading in every client.
* Ids for In-Reply-To/References come from strangers' mail; ones that are not plausible
  msg-ids (spaces, brackets, non-ASCII) are dropped rather than failing the reply.
* ``forward_subject`` writes ``FWD:``, as the product manual specifies; every client
  recognises it (``Fwd:``, ``FW:`` and ``FWD:`` are all collapsed into one).
"""

from __future__ import annotations

import re
import sys
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from email import policy as email_policy
from email import utils as email_utils
from email.header import Header
from email.headerregistry import Address as HeaderAddress
from email.headerregistry import AddressHeader, BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import Policy

from engine.domain.mime import Address

__all__ = [
    "AddressError",
    "HeaderInjectionError",
    "build_message",
    "check_header_value",
    "envelope_recipients",
    "format_address",
    "forward_subject",
    "make_message_id",
    "parse_address_list",
    "quote_history",
    "references_for_reply",
    "reply_subject",
]


class HeaderInjectionError(ValueError):
    """A header name or value would break out of its header line."""


class AddressError(ValueError):
    """An address is not acceptable for sending; the message names the entry."""


# Enough ancestry for any client to thread; more only bloats every reply.
MAX_REFERENCES = 20

_INJECTION_CHARS = {"\r": "CR", "\n": "LF", "\x00": "NUL"}
_HEADER_NAME = re.compile(r"[!-9;-~]+")
_MSG_ID = re.compile(r"[!-;=?-~]+")  # printable ASCII without "<" and ">"
_DOMAIN_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTENT_TYPE = re.compile(r"([A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*)/([A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*)")
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


class _MessageIdListHeader(UnstructuredHeader, BaseHeader):
    """Unstructured header that folds between ids and never encodes them."""

    def fold(self, *, policy: Policy) -> str:
        limit = policy.max_line_length or sys.maxsize
        lines: list[str] = []
        line = f"{self.name}:"
        has_id = False
        for token in str(self).split():
            if has_id and len(line) + 1 + len(token) > limit:
                lines.append(line)
                line = ""
            line = f"{line} {token}"
            has_id = True
        lines.append(line)
        return policy.linesep.join(lines) + policy.linesep


class _TextHeader(UnstructuredHeader, BaseHeader):
    """Unstructured header whose non-ASCII text survives folding intact.

    CPython's folder can put a space between two encoded words, where RFC 2047 says it
    is ignored, so a long non-ASCII subject could come back with two words glued
    together.  The older ``email.header.Header`` encoder keeps spaces inside the words.
    """

    def fold(self, *, policy: Policy) -> str:
        value = str(self)
        if value.isascii() or getattr(policy, "utf8", False):
            return super().fold(policy=policy)
        try:
            encoded = Header(value, "utf-8", header_name=self.name).encode(
                linesep=policy.linesep, maxlinelen=policy.max_line_length or 0
            )
        except UnicodeEncodeError:
            # Lone surrogates cannot be UTF-8; the stdlib folder writes them as unknown-8bit.
            return super().fold(policy=policy)
        return f"{self.name}: {encoded}{policy.linesep}"


class _UniqueTextHeader(_TextHeader):
    max_count = 1


def _registry() -> HeaderRegistry:
    registry = HeaderRegistry(default_class=_TextHeader)
    registry.map_to_type("subject", _UniqueTextHeader)
    registry.map_to_type("in-reply-to", _MessageIdListHeader)
    registry.map_to_type("references", _MessageIdListHeader)
    return registry


# CRLF line endings because the bytes go to SMTP and IMAP APPEND as they are.
_POLICY = email_policy.SMTP.clone(header_factory=_registry())


def check_header_value(name: str, value: str) -> str:
    """Return ``value`` unchanged, or raise if it contains CR, LF or NUL."""
    for char, label in _INJECTION_CHARS.items():
        if char in value:
            raise HeaderInjectionError(f"header {name!r} contains {label}")
    return value


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


def _wire_addr_spec(addr_spec: str) -> str | None:
    """``addr_spec`` with an IDNA domain if Postdesk can send to it, else None.

    Non-ASCII local parts need SMTPUTF8, which Postdesk does not speak, so they are
    refused; non-ASCII domains are fine once IDNA-encoded.
    """
    local, at, domain = addr_spec.rpartition("@")
    if not (at and local and local.isascii() and len(local) <= 64 and len(addr_spec) <= 254):
        return None
    if any(char.isspace() for char in addr_spec) or _CONTROLS.search(addr_spec):
        return None
    ascii_domain = _ascii_domain(domain)
    return f"{local}@{ascii_domain}" if ascii_domain else None


def _parse_entry(entry: str) -> Address:
    bad = AddressError(f"invalid address: {entry!r}")
    if _CONTROLS.search(entry):
        raise bad
    try:
        header = email_policy.default.header_factory("to", entry)
    except Exception as exc:
        raise bad from exc
    if not isinstance(header, AddressHeader) or not isinstance(header, BaseHeader):
        raise bad
    if header.defects:
        raise bad
    if len(header.addresses) != 1 or any(g.display_name is not None for g in header.groups):
        raise bad
    (parsed,) = header.addresses
    if not parsed.username or _wire_addr_spec(parsed.addr_spec) is None:
        raise bad
    return Address(email=parsed.addr_spec, name=parsed.display_name)


def parse_address_list(text: str) -> list[Address]:
    """Strictly parse comma- or semicolon-separated addresses; "" gives ``[]``.

    Each entry must be ``local@domain`` (optionally with a display name); the first bad
    entry raises :class:`AddressError` naming it.
    """
    return [_parse_entry(entry) for entry in _split_entries(text)]


def _header_address(addr: Address, role: str) -> HeaderAddress:
    check_header_value(role, addr.name)
    check_header_value(role, addr.email)
    wire = _wire_addr_spec(addr.email)
    if wire is None:
        raise AddressError(f"invalid {role} address: {addr.email!r}")
    try:
        return HeaderAddress(display_name=addr.name, addr_spec=wire)
    except Exception as exc:
        raise AddressError(f"invalid {role} address: {addr.email!r}") from exc


def format_address(addr: Address) -> str:
    """RFC 5322 form of ``addr``; non-ASCII names become RFC 2047 encoded words."""
    check_header_value("address", addr.name)
    check_header_value("address", addr.email)
    addr_spec = _wire_addr_spec(addr.email) or addr.email
    try:
        return email_utils.formataddr((addr.name, addr_spec))
    except UnicodeEncodeError:
        # A non-ASCII local part has no ASCII form (it needs SMTPUTF8): leave it as UTF-8.
        return str(HeaderAddress(display_name=addr.name, addr_spec=addr_spec))


def _clean_subject(subject: str) -> str:
    # A decoded subject may hold line breaks or controls; collapsing them here means a
    # reply to such a mail is sendable instead of tripping the injection check.
    return " ".join(_CONTROLS.sub(" ", subject).split())


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


def _bare_id(message_id: str) -> str | None:
    """The id without brackets if it is a plausible msg-id, else None."""
    bare = message_id.strip()
    if bare.startswith("<") and bare.endswith(">"):
        bare = bare[1:-1].strip()
    return bare if _MSG_ID.fullmatch(bare) else None


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
    check_header_value("attachment filename", filename)
    match = _CONTENT_TYPE.fullmatch(content_type.strip())
    if match is None:
        raise ValueError(f"invalid attachment content type: {content_type!r}")
    maintype, subtype = match.group(1).lower(), match.group(2).lower()
    if maintype == "message":
        # message/* parts may not be base64-encoded (RFC 2046 5.2.1); send a mail that is
        # 7-bit clean as it is and anything else as an opaque file.
        if data.isascii() and all(len(line) <= 998 for line in data.splitlines()):
            msg.add_attachment(data, maintype, subtype, cte="7bit", filename=filename)
            return
        maintype, subtype = "application", "octet-stream"
    msg.add_attachment(data, maintype, subtype, filename=filename)


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
) -> EmailMessage:
    """Assemble an outgoing message; Bcc is validated but never written to a header.

    Message ids may be given with or without angle brackets.  ``attachments`` are
    ``(filename, content_type, data)``.  ``date`` must be timezone-aware (default: now).
    """
    sender = _header_address(from_, "From")
    recipients = {
        "To": [_header_address(a, "To") for a in to],
        "Cc": [_header_address(a, "Cc") for a in cc],
    }
    for addr in bcc:
        _header_address(addr, "Bcc")
    if not (to or cc or bcc):
        raise AddressError("message has no recipients")
    if date is None:
        date = datetime.now(UTC)
    elif date.tzinfo is None:
        raise ValueError("date must be timezone-aware")

    msg = EmailMessage(policy=_POLICY)
    msg["From"] = sender
    for name, addresses in recipients.items():
        if addresses:
            msg[name] = addresses
    msg["Subject"] = check_header_value("Subject", subject)
    msg["Date"] = email_utils.format_datetime(date)
    msg["Message-ID"] = _own_message_id(message_id)
    parent = _thread_ids("In-Reply-To", [in_reply_to] if in_reply_to else [])
    if parent:
        msg["In-Reply-To"] = parent[0]
    ancestry = _thread_ids("References", references or [])
    if ancestry:
        msg["References"] = " ".join(ancestry)
    for name, value in (extra_headers or {}).items():
        _check_header_name(name)
        lowered = name.lower()
        if lowered in _MANAGED_HEADERS or lowered.startswith("content-"):
            raise ValueError(f"header {name!r} is set by build_message itself")
        msg[name] = check_header_value(name, value)

    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments or []:
        _add_attachment(msg, filename, content_type, data)
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
