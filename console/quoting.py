"""Find the quoted history at the end of a mail, so the thread can fold it into one line.

Most customer mail ends with everything said before: `>` lines under "On …, Carol wrote:",
or Outlook's "-----Original Message-----" / "From: … Sent: …" block with the old mail
unmarked below it. The agent already sees those messages in the thread, so the console folds
that tail by default. Pure string work (no Textual, no I/O) so it is tested on its own.

The policy, kept narrow so that nothing the customer wrote is hidden:

* Only the trailing block is folded: quoted lines (blank lines among them allowed) that end
  the message, with the attribution line(s) just above them; or an Outlook header block and
  everything after it. Quotes with the customer's text below them are answers interleaved
  with the question (point-by-point replies) and stay as they are: the answer does not read
  without them. In such a reply only an unanswered quoted tail is folded.
* Nothing is folded when nothing else would be left to read (a message that is only a quote),
  or when fewer than `MIN_LINES` lines would go (the fold line would save nothing).
* A forwarded message ("---------- Forwarded message ---------") is content, not history.

Callers pass sanitised text (see `engine.text.sanitize`): line breaks are `\\n` only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MAX_ATTRIBUTION", "MIN_LINES", "Folded", "split_history"]

MIN_LINES = 3
# Longer lines are never taken for (part of) an attribution. Real ones, with a long name, a
# date and an address, stay well under this; the bound also keeps the work per line small
# whatever a stranger puts in a mail (this runs on the console's UI loop).
MAX_ATTRIBUTION = 300

# What comes before the colon that ends an attribution line, the colon itself cut off:
# "… wrote", "… a écrit ", or "schrieb"/"schreef" anywhere before it ("Am … schrieb Carol
# <c@x>"). No `.*`: each alternative only reads a word and the blanks after it, so the search
# stays linear in the line's length.
_ATTRIBUTION_VERB = re.compile(
    r"\b(?:(?:wrote|a\s+écrit|escribió|ha\s+scritto|escreveu|skrev|napisał|kirjoitti)\s*\Z"
    r"|(?:schrieb|schreef)\b)",
    re.IGNORECASE,
)
# How a long attribution starts when a client wrapped it ("On Mon, 3 Mar 2025 … <" / "c@x>
# wrote:"): English, French, German, Spanish, Italian, Dutch, Portuguese.
_ATTRIBUTION_START = re.compile(r"^\s*(?:On|Le|Am|El|Il|Op|Em)\b", re.IGNORECASE)
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{3,}\s*(?:original message|ursprüngliche nachricht|message d'origine"
    r"|mensaje original|messaggio originale|oorspronkelijk bericht|mensagem original)"
    r"\s*-{3,}\s*$",
    re.IGNORECASE,
)
# Outlook's header block: "From: …", "Sent: …", then "To:" or "Subject:" (html2text bolds
# the labels: "**From:**"). Three labels, so a customer's own "From: Paris" stays put.
_HEADER_FROM = re.compile(r"^\s*[*_]*(?:from|von|de|van|da)\s*:[*_]*\s*\S", re.IGNORECASE)
_HEADER_SENT = re.compile(
    r"^\s*[*_]*(?:sent|date|gesendet|datum|envoyé|enviado|inviato|verzonden|data)\s*:",
    re.IGNORECASE,
)
_HEADER_OTHER = re.compile(
    r"^\s*[*_]*(?:to|subject|cc|an|betreff|à|objet|para|asunto|a|oggetto|aan|onderwerp)\s*:",
    re.IGNORECASE,
)
_RULE = re.compile(r"^\s*_{10,}\s*$")
_FORWARDED = re.compile(
    r"forwarded message|weitergeleitete nachricht|message transféré|mensaje reenviado",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Folded:
    """A message split into what was written now and the quoted history below it."""

    reply: str
    history: str

    @property
    def lines(self) -> int:
        return self.history.count("\n") + 1


def _quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _blank(line: str) -> bool:
    return not line or line.isspace()


def _attribution_end(line: str) -> bool:
    """Whether `line` ends an attribution: "… wrote:", "… a écrit :", "Am … schrieb …:"."""
    if len(line) > MAX_ATTRIBUTION:
        return False
    line = line.rstrip()
    return line.endswith(":") and _ATTRIBUTION_VERB.search(line[:-1]) is not None


def _attribution_opening(line: str) -> bool:
    """Whether `line` starts an attribution ("On …", "Le …", "Am …")."""
    return len(line) <= MAX_ATTRIBUTION and _ATTRIBUTION_START.match(line) is not None


def _previous_filled(lines: list[str], index: int, *, gap: int = 1) -> int | None:
    """The nearest non-blank line above `index`, skipping at most `gap` blank lines."""
    j = index - 1
    while j >= 0 and _blank(lines[j]) and gap > 0:
        j -= 1
        gap -= 1
    return j if j >= 0 and not _blank(lines[j]) else None


def _attribution_start(lines: list[str], quote_start: int) -> int:
    """Where the attribution above the quote at `quote_start` starts (itself if none)."""
    last = _previous_filled(lines, quote_start)
    if last is None or not _attribution_end(lines[last]):
        return quote_start
    if _attribution_opening(lines[last]):
        return last
    # Wrapped: look up to two lines higher for the opening words, in consecutive lines.
    for first in (last - 1, last - 2):
        if first < 0 or _blank(lines[first]) or _quoted(lines[first]):
            break
        if _attribution_opening(lines[first]):
            return first
    return last


def _trailing_quote(lines: list[str], end: int) -> int | None:
    """Start of the `>` block (blank lines allowed inside) that ends at `end`, if any."""
    if end == 0 or not _quoted(lines[end - 1]):
        return None
    start = end - 1
    j = start - 1
    while j >= 0 and (_quoted(lines[j]) or _blank(lines[j])):
        if _quoted(lines[j]):
            start = j
        j -= 1
    return _attribution_start(lines, start)


def _outlook_header(lines: list[str], end: int) -> int | None:
    """Start of the first Outlook-style header block ("Original Message", or From+Sent)."""
    for i in range(end):
        line = lines[i]
        if _ORIGINAL_MESSAGE.match(line):
            return i
        if not _HEADER_FROM.match(line):
            continue
        block = lines[i + 1 : min(i + 6, end)]
        if not any(map(_HEADER_SENT.match, block)) or not any(map(_HEADER_OTHER.match, block)):
            continue
        above = _previous_filled(lines, i)
        if above is not None and _FORWARDED.search(lines[above]):
            continue
        if above is not None and _RULE.match(lines[above]):
            return above
        return i
    return None


def split_history(text: str) -> Folded | None:
    """Split off the quoted history that ends `text`; None when there is nothing to fold."""
    lines = text.split("\n")
    end = len(lines)
    while end > 0 and _blank(lines[end - 1]):
        end -= 1
    starts = [
        s for s in (_trailing_quote(lines, end), _outlook_header(lines, end)) if s is not None
    ]
    if not starts:
        return None
    start = min(starts)
    if end - start < MIN_LINES or all(_blank(line) for line in lines[:start]):
        return None
    reply = "\n".join(lines[:start]).rstrip()
    return Folded(reply=reply, history="\n".join(lines[start:end]))
