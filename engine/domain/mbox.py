"""A thread as one mbox file (the mboxrd flavour), for mail programs that open a folder.

mboxrd, because it is the one reversible variant: every body line that starts with any
number of `>` followed by `From ` gets one more `>`, and a reader removes exactly one, so a
message that itself quotes an mbox comes back unchanged. Lines end in LF, as mbox files do
on Unix (the raw messages are CRLF on the wire; the `.eml` export keeps those bytes as
they are). Each message is preceded by a `From ` line (sender, date in asctime form) and
followed by an empty line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

_FROM_LINE = re.compile(rb"^(>*From )", re.MULTILINE)
_UNSAFE_SENDER = re.compile(rb"[^\x21-\x7e]")


@dataclass(frozen=True, slots=True)
class MboxEntry:
    sender: str  # the envelope sender for the separator line ("" when unknown)
    when: datetime
    raw: bytes  # the message as stored (CRLF or LF line ends)


def separator(sender: str, when: datetime) -> bytes:
    """`From ana@example.com Sun Dec  6 09:14:00 2026`: one token for the sender, never
    a space or a control character from a stranger's address."""
    who = _UNSAFE_SENDER.sub(b"", sender.encode("utf-8", "replace")) or b"MAILER-DAEMON"
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return b"From " + who + b" " + when.strftime("%a %b %e %H:%M:%S %Y").encode() + b"\n"


def quote_body(raw: bytes) -> bytes:
    """LF line ends, `From ` lines quoted the mboxrd way, ending in exactly one LF."""
    text = raw.replace(b"\r\n", b"\n")
    text = _FROM_LINE.sub(rb">\1", text)
    return text if text.endswith(b"\n") else text + b"\n"


def mboxrd(entries: Iterable[MboxEntry]) -> bytes:
    return b"".join(
        separator(entry.sender, entry.when) + quote_body(entry.raw) + b"\n" for entry in entries
    )
