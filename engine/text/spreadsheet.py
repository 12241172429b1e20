"""A CSV cell safe to open in a spreadsheet and to print on a terminal.

A cell that starts like a formula (`=`, `+`, `-`, `@`, a tab or a carriage return) is quoted
with `'`, so a stranger's address or a server's reply is shown, never run (CSV injection).
The CSV also reaches terminals as it is (`ctl ... --csv` prints it, people `cat` the file),
so each cell first goes through the terminal sanitiser: a bounce's reason or an address can
hold escape sequences (clipboard writes, hyperlinks, screen clears) and bidi overrides.
Line breaks are kept (the CSV quoting carries them).  Used by every CSV Postdesk writes:
`ctl ratings --csv`, `ctl dialer records --csv` and the console's records export."""

from __future__ import annotations

from typing import Any

from engine.text.sanitize import sanitize

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # The formula check looks at the raw text too: a tab or CR the sanitiser turns into
    # spaces or a line break still said "formula" to a spreadsheet.
    risky = text.startswith(_FORMULA_START)
    text = sanitize(text)
    return "'" + text if risky or text.startswith(_FORMULA_START) else text
