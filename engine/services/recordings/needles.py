"""What a person typed, made safe for the search's indexes and scans: FTS5 strings where
nothing is an operator, the words as FTS5's unicode61 tokenizer cuts them, LIKE patterns
where `%` and `_` are characters. Shared by the SQLAlchemy plan (`search.py`) and the plain
SQL one for SQLite (`on_sqlite.py`)."""

from __future__ import annotations

import re

# The words of a text as FTS5's unicode61 tokenizer cuts them: letters and digits (not `_`).
_WORD = re.compile(r"[^\W_]+")
# A trigram index answers substrings of three characters or more; shorter ones are scanned.
TRIGRAM = 3


def quoted(value: str) -> str:
    """`value` as one FTS5 string: whatever it holds (`"`, `*`, `NEAR`, `-`, `:`) is text."""
    return '"' + value.replace('"', '""') + '"'


def words(value: str) -> list[str]:
    return _WORD.findall(value)


def like_pattern(value: str) -> str:
    """`%value%` for LIKE ... ESCAPE '\\': `%` and `_` typed by a person are characters."""
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
