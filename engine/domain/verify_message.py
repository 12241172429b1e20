"""Read a generated message back before it may enter the outbox.

``header_values`` is written so that what we set is what goes out, but the stdlib does the
MIME assembly and its folding has surprised us before (Python 3.11 writes decoded CR/LF;
other versions have their own CVEs).  So the finished bytes are parsed as a recipient would
parse them and compared with what was meant: the same header names in every part, no
header we did not set, the same subject, addresses and attachment names, and nothing on
the wire that ends a line other than CRLF.  A mismatch is a refusal
(:class:`HeaderInjectionError`), never a repair: the caller tells the person who sent it.
"""

from __future__ import annotations

import email
import re
from collections import Counter
from dataclasses import dataclass, field
from email import policy
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage, Message

from engine.domain.header_values import HeaderInjectionError
from engine.domain.mime import parse_message

__all__ = ["Expected", "verify_message"]

_BARE_CR = re.compile(rb"\r(?!\n)")
_BARE_LF = re.compile(rb"(?<!\r)\n")


@dataclass(frozen=True)
class Expected:
    """What the message was meant to say; addresses are ``(name, wire addr-spec)``."""

    subject: str
    addresses: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    filenames: list[str] = field(default_factory=list)


def _words(text: str) -> str:
    return " ".join(text.split())


def _canonical(addr_spec: str) -> str:
    # The same mailbox may be written with or without needless quotes around its local part.
    try:
        return HeaderAddress(addr_spec=addr_spec).addr_spec.lower()
    except Exception:
        return addr_spec.lower()


def _parts(msg: Message) -> list[Message]:
    """Every MIME part, an attached message/* counting as one part (we never built inside it)."""
    found = [msg]
    payload = msg.get_payload()
    if msg.get_content_maintype() == "multipart" and isinstance(payload, list):
        for child in payload:
            if isinstance(child, Message):
                found.extend(_parts(child))
    return found


def _header_names(part: Message) -> Counter[str]:
    return Counter(name.lower() for name in part.keys())


def _refuse(what: str) -> HeaderInjectionError:
    return HeaderInjectionError(f"generated message failed its check: {what}")


def verify_message(msg: EmailMessage, expected: Expected) -> bytes:
    """The wire bytes of ``msg`` once they match ``expected``; raise otherwise."""
    wire = msg.as_bytes()
    if b"\x00" in wire or _BARE_CR.search(wire) or _BARE_LF.search(wire):
        raise _refuse("a line does not end in CRLF")
    # Structure as a recipient reads it, without decoding anything.
    reread = email.message_from_bytes(wire, policy=policy.compat32)
    ours, theirs = _parts(msg), _parts(reread)
    if len(ours) != len(theirs):
        raise _refuse(f"{len(theirs)} MIME parts where {len(ours)} were made")
    for mine, read in zip(ours, theirs, strict=True):
        if _header_names(mine) != _header_names(read):
            extra = sorted((_header_names(read) - _header_names(mine)).keys())
            raise _refuse(f"headers {extra or 'missing'} that were not set")
    parsed = parse_message(wire)
    if _words(parsed.subject) != _words(expected.subject):
        raise _refuse("the subject reads differently")
    found = {"from": [parsed.from_] if parsed.from_ else [], "to": parsed.to, "cc": parsed.cc}
    for name, entries in expected.addresses.items():
        got = [(_words(a.name), _canonical(a.email)) for a in found.get(name, [])]
        want = [(_words(display), _canonical(wire_spec)) for display, wire_spec in entries]
        if got != want:
            raise _refuse(f"the {name.title()} addresses read differently")
    if not expected.filenames:
        return wire  # the third reading is only about attachment names
    attached = email.message_from_bytes(wire, policy=policy.default)
    names = [
        part.get_filename() or ""
        for part in _parts(attached)
        if part.get_content_disposition() == "attachment"
    ]
    # get_filename() strips one pair of quotes too many ('"x"' reads x): compare without.
    if [_words(n).strip('"') for n in names] != [_words(n).strip('"') for n in expected.filenames]:
        raise _refuse("an attachment name reads differently")
    return wire
