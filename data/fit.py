"""Text cut to the column, and the indexes, that keep it.

A stranger's mail decides how long a subject, a display name, a file name, a content type or
a Message-ID is, and storage has limits: a column's length in characters, and PostgreSQL's
btree index row (about 2,700 bytes, whatever the characters). PostgreSQL refuses a value
over either (SQLite keeps it), which failed the whole inbound batch, so one such mail held
up its mailbox for good. Rows of strangers' text are fitted here before they are written:
a value too long keeps its start and its last characters (a file name its extension) around
an ellipsis, the same on both databases. Lengths and indexes are read from the tables
themselves, so a column or index that changes needs no change here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from sqlalchemy import String, Table, event

__all__ = ["clip", "fit_row", "install"]

_ELLIPSIS = "…"
_TAIL = 16  # the end kept: an extension, the domain of an id, the last words of a subject
# The text columns of one index row together, in UTF-8 bytes: PostgreSQL's btree row limit
# (2,704 bytes) less its header and the index's other columns.
INDEX_BYTES = 2400


def clip(value: str, limit: int) -> str:
    """``value`` in at most ``limit`` characters: its start, "…" and its last characters."""
    if len(value) <= limit:
        return value
    if limit <= _TAIL * 2:
        return value[:limit]
    return value[: limit - _TAIL - 1] + _ELLIPSIS + value[-_TAIL:]


def clip_bytes(value: str, budget: int) -> str:
    """``value`` in at most ``budget`` bytes of UTF-8, cut like :func:`clip`."""
    data = value.encode("utf-8", "surrogatepass")
    if len(data) <= budget:
        return value
    tail = _ELLIPSIS + value[-_TAIL:]
    room = budget - len(tail.encode("utf-8", "surrogatepass"))
    if room < _TAIL:
        return data[: max(budget, 0)].decode("utf-8", "ignore")
    return data[:room].decode("utf-8", "ignore") + tail


@cache
def _lengths(table: Table) -> tuple[tuple[str, int], ...]:
    return tuple(
        (column.name, column.type.length)
        for column in table.columns
        if isinstance(column.type, String) and column.type.length
    )


@cache
def _indexed_text(table: Table) -> tuple[tuple[str, ...], ...]:
    """For each index, the names of its text columns."""
    found = []
    for index in table.indexes:
        names = tuple(c.name for c in index.columns if isinstance(c.type, String))
        if names:
            found.append(names)
    return tuple(found)


def _fit(
    lengths: tuple[tuple[str, int], ...],
    indexes: tuple[tuple[str, ...], ...],
    get: Callable[[str], Any],
    put: Callable[[str, str], None],
) -> None:
    for name, limit in lengths:
        value = get(name)
        if isinstance(value, str) and len(value) > limit:
            put(name, clip(value, limit))
    for names in indexes:
        while True:
            sizes = {
                n: len(v.encode("utf-8", "surrogatepass"))
                for n in names
                if isinstance(v := get(n), str)
            }
            over = sum(sizes.values()) - INDEX_BYTES
            if over <= 0:
                break
            longest = max(sizes, key=lambda n: sizes[n])
            put(longest, clip_bytes(get(longest), sizes[longest] - over))


def fit_row(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` (changed in place and returned) with every text fitted to its column and
    every index's text to the index row."""
    _fit(_lengths(table), _indexed_text(table), row.get, row.__setitem__)
    return row


@cache
def _attribute_keys(mapper: Any) -> dict[str, str]:
    """Column name -> the attribute that holds it."""
    return {prop.columns[0].name: prop.key for prop in mapper.column_attrs}


def _fit_instance(mapper: Any, _connection: Any, target: Any) -> None:
    table = mapper.local_table
    if not isinstance(table, Table):
        return
    keys = _attribute_keys(mapper)
    state = target.__dict__  # only loaded or set values: nothing is loaded to be fitted

    def get(name: str) -> Any:
        return state.get(keys.get(name, name))

    def put(name: str, value: str) -> None:
        setattr(target, keys.get(name, name), value)

    _fit(_lengths(table), _indexed_text(table), get, put)


def install(base: type) -> None:
    """Fit every ORM write of ``base``'s classes (a bounce's recipient on the bouncing list,
    a complaint's address on the blacklist): the same rule as :func:`fit_row` for the rows
    inserted without the ORM."""
    if not event.contains(base, "before_insert", _fit_instance):
        event.listen(base, "before_insert", _fit_instance, propagate=True)
        event.listen(base, "before_update", _fit_instance, propagate=True)
