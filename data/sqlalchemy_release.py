"""A closed database leaves nothing of itself in SQLAlchemy's ORM (the mappers' statement caches).

Each ORM mapper caches the INSERT/UPDATE/DELETE statements its flushes compile, in an LRU
cache of 100-150 entries per mapper (`Mapper._compiled_cache`), keyed by the SQLAlchemy
dialect of the engine that flushed. The mappers live as long as `data.models`, that is, the
process: the key kept the dialect of every engine that once flushed a row of that model,
and the dialect keeps its type memos, which hold the Alembic migration's tables, enums and
metadata (the whole schema built again per database). The tests open a database per test,
so a model flushed once a test kept the last hundred or so of them; each full garbage
collection walked them all, with the event loop stopped (a console's toast came and went
unseen in CI). Dropping a closed engine's entries costs a live engine nothing.

The PostgreSQL dialect also caches its reflection queries (has a table, its enums, ...) with
`functools.lru_cache` on instance methods, so those caches, on the class, keep every dialect
that reflected (up to 128 per method). They can only be emptied whole: they are, and a live
engine builds its few queries again when it next reflects.
"""

from __future__ import annotations

import functools

from sqlalchemy.engine import Dialect

from data.models import Base


def release_compiled_statements(dialect: Dialect) -> None:
    """Forget the statements the mappers compiled for `dialect`, and with them the dialect."""
    for mapper in Base.registry.mappers:
        cache = mapper.__dict__.get("_compiled_cache")  # created on a mapper's first flush
        if cache is None:
            continue
        for key in [key for key in list(cache) if key[0] is dialect]:
            cache.pop(key, None)
    for cls in type(dialect).__mro__:
        for attribute in vars(cls).values():
            if isinstance(attribute, functools._lru_cache_wrapper):  # keyed by the dialect
                attribute.cache_clear()
