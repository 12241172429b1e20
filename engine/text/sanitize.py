"""The one terminal sanitiser for untrusted text.

Everything Postdesk shows comes from strangers: mail subjects, bodies, display names,
attachment names, CSV imports.  A terminal interprets some of those characters as
commands (colours, cursor moves, window titles, OSC 52 clipboard writes, hyperlinks) and
Unicode bidi controls can make text read differently from what it is.  Every place that
puts untrusted text on screen goes through this module so there is exactly one policy to
audit and test.

The result is always a plain ``str``; Rich markup is never interpreted or escaped here.
The console must wrap the result in ``rich.text.Text`` (see :func:`safe_text`), which
treats ``[bold]`` as literal characters.

Decisions:

* Escape sequences are removed whole, payload included, so an OSC 52 clipboard write
  leaves no ``52;c;...`` residue.  A string sequence (OSC/DCS/APC/PM/SOS) without a
  terminator only loses its introducer: its payload is inert text once the introducer is
  gone, and swallowing "to the end" would let one stray byte (say U+009D in a message
  mis-decoded as latin-1) erase the rest of a mail.
* Unicode format characters (category Cf) are dropped, except ZWJ (U+200D), which emoji
  sequences need, and ZWNJ (U+200C), which Persian and Indic spelling needs.  Neither
  reorders text.  Emoji tag characters (U+E0020-U+E007F) are dropped too: they are also
  used to smuggle invisible ASCII, and only cost subdivision flags their region.
* Lone surrogates (left over from undecodable bytes) become U+FFFD: writing them to the
  terminal would raise in the encoder.
* U+2028/U+2029 count as line breaks; tabs become four spaces so column maths on cells
  stays predictable.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import cache

from rich.cells import cell_len, chop_cells
from rich.text import Text

__all__ = ["one_line", "safe_text", "sanitize"]

_TAB = "    "

# Terminators for string sequences: BEL, 7-bit ST (ESC \) and 8-bit ST (U+009C).
# CAN/SUB abort a sequence in real terminals, and a fresh ESC starts a new one, so the
# payload may contain none of those; otherwise the sequence counts as unterminated.
_STRING_SEQ = r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\x18\x1a]*(?:\x07|\x1b\\|\x9c)"
_CSI_SEQ = r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
# nF / Fp / Fe / Fs escapes: ESC, optional intermediates, one final byte.
_ESC_SEQ = r"\x1b[\x20-\x2f]*[\x30-\x7e]"
_ESCAPES = re.compile(f"{_STRING_SEQ}|{_CSI_SEQ}|{_ESC_SEQ}")

_NEWLINES = re.compile(r"\n+")

# Kept although they are category Cf; see the module docstring.
_KEPT_FORMAT_CHARS = frozenset({0x200C, 0x200D})
_LINE_SEPARATORS = (0x2028, 0x2029)


@cache
def _translation() -> dict[int, str | None]:
    # Built on first use rather than at import: scanning the code space costs ~75 ms,
    # which the console should not pay just for importing the module.
    table: dict[int, str | None] = {}
    for code in range(0x20):
        table[code] = None
    table[ord("\n")] = "\n"
    table[ord("\t")] = _TAB
    table[0x7F] = None
    for code in range(0x80, 0xA0):
        table[code] = None
    for code in range(sys.maxunicode + 1):
        if code in _KEPT_FORMAT_CHARS:
            continue
        category = unicodedata.category(chr(code))
        if category == "Cf":
            table[code] = None
        elif category == "Cs":
            table[code] = "\ufffd"
    for code in _LINE_SEPARATORS:
        table[code] = "\n"
    return table


_NOT_PLAIN_ASCII = re.compile(r"[^\x20-\x7e\n]")


def _is_plain_ascii(text: str) -> bool:
    # Fast path for the overwhelmingly common case: nothing to remove or translate.
    return _NOT_PLAIN_ASCII.search(text) is None


def sanitize(text: str, *, multiline: bool = True) -> str:
    """Return ``text`` with everything a terminal could act on removed.

    With ``multiline=False`` every run of line breaks becomes one space, for table cells
    and header lines.  The function is idempotent.
    """
    if not _is_plain_ascii(text):
        text = _ESCAPES.sub("", text)
        # Normalised before the character filter so that a CR separated from its LF by a
        # removed character still yields the same line count on a second pass.
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        text = text.translate(_translation())
    if not multiline:
        text = _NEWLINES.sub(" ", text)
    return text


def safe_text(text: str, *, multiline: bool = True, style: str = "") -> Text:
    """Sanitise ``text`` into a Rich ``Text``; markup-looking input stays literal."""
    return Text(sanitize(text, multiline=multiline), style=style)


def one_line(text: str, width: int | None = None) -> str:
    """Sanitise ``text`` into a single line for a table cell.

    Whitespace runs collapse to one space.  With ``width`` the result fits in that many
    terminal cells (wide characters count double), ending in ``…`` when cut.
    """
    line = " ".join(sanitize(text, multiline=False).split())
    if width is None or cell_len(line) <= width:
        return line
    if width <= 0:
        return ""
    if width == 1:
        return "…"
    return chop_cells(line, width - 1)[0] + "…"
