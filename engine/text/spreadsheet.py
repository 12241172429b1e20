"""A CSV cell safe to open in a spreadsheet: one that starts like a formula (`=`, `+`, `-`,
`@`, a tab or a carriage return) is quoted with `'`, so a stranger's address or a server's
reply is shown, never run (CSV injection). Used by every CSV Postdesk writes: `ctl ratings
--csv`, `ctl dialer records --csv` and the console's records export."""

from __future__ import annotations

from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text
