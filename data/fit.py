"""Text cut to the column that keeps it.

A stranger's mail decides how long a subject, a display name, a file name, a content type or
a Message-ID is, and a column has a length: PostgreSQL refuses a longer value (SQLite keeps
it), which failed the whole inbound batch, so one such mail held up its mailbox for good.
Rows of strangers' text are fitted here before they are inserted: a value longer than its
column keeps its start and its last characters (a file name its extension) around an
ellipsis, the same on both databases. The lengths are read from the tables themselves, so a
column that grows needs no change here.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import String, Table, event

__all__ = ["clip", "fit_row", "install"]

_ELLIPSIS = "…"
_TAIL = 16  # the end kept: an extension, the domain of an id, the last words of a subject


def clip(value: str, limit: int) -> str:
    """``value`` in at most ``limit`` characters: its start, "…" and its last characters."""
    if len(value) <= limit:
        return value
    if limit <= _TAIL * 2:
        return value[:limit]
    return value[: limit - _TAIL - 1] + _ELLIPSIS + value[-_TAIL:]


@cache
def _lengths(table: Table) -> tuple[tuple[str, int], ...]:
    return tuple(
        (column.name, column.type.length)
        for column in table.columns
        if isinstance(column.type, String) and column.type.length
    )


def fit_row(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` (changed in place and returned) with every text fitted to its column."""
    for name, limit in _lengths(table):
        value = row.get(name)
        if isinstance(value, str) and len(value) > limit:
            row[name] = clip(value, limit)
    return row


@cache
def _attribute_lengths(mapper: Any) -> tuple[tuple[str, int], ...]:
    found = []
    for prop in mapper.column_attrs:
        column_type = prop.columns[0].type
        if isinstance(column_type, String) and column_type.length:
            found.append((prop.key, column_type.length))
    return tuple(found)


def _fit_instance(mapper: Any, _connection: Any, target: Any) -> None:
    state = target.__dict__  # only loaded or set values: nothing is loaded to be fitted
    for key, limit in _attribute_lengths(mapper):
        value = state.get(key)
        if isinstance(value, str) and len(value) > limit:
            setattr(target, key, clip(value, limit))


def install(base: type) -> None:
    """Fit every ORM write of ``base``'s classes (a bounce's recipient on the bouncing list,
    a complaint's address on the blacklist): the same rule as :func:`fit_row` for the rows
    inserted without the ORM."""
    if not event.contains(base, "before_insert", _fit_instance):
        event.listen(base, "before_insert", _fit_instance, propagate=True)
        event.listen(base, "before_update", _fit_instance, propagate=True)
