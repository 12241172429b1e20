"""Moving a SQLite installation to PostgreSQL (`postdesk ctl db migrate-to`): every table of
the models, rows and binary columns, copied in dependency order, checked row by row, and
resumable after an interruption.

Why this shape:
- The target gets its schema from the same Alembic migrations (upgraded to head first), so
  the copy is data only and the target is exactly what a fresh PostgreSQL installation is.
- Rows go through SQLAlchemy's table types on both sides (enums, UTC timestamps, JSON), not as
  raw SQL values: SQLite's text timestamps become PostgreSQL timestamps as the engine reads them.
- A foreign key pointing at a table copied later, or at its own table (campaign templates,
  the overflow campaign, linked interactions), is inserted NULL and set once every row is in:
  no superuser trick to switch constraints off.
- The target must be a database with no tables at all (a new one); the rows the migrations
  seed there are removed before the copy, the source's own are copied.
- Counts the target's triggers keep (`COUNTED`) are copied as their start value, and the
  triggers count the rows as they arrive.
- Progress lives in the target (`postdesk_migrate_progress`: per table, the last key copied
  and whether it is done), committed in the same transaction as each batch, so a batch is in
  exactly once however the copy was stopped; `resume` goes on from there. A target with
  tables but without that one is refused: it is somebody's data.
- The check reads both sides again in key order, compares every row and prints per table the
  count and a SHA-256 over the rows as the engine would read them.
- Blob files (attachments, raw mail) move into the target's `blobs` table, where an engine on
  PostgreSQL keeps them so that every node reads them (data/db_blobs.py): each file is read,
  its content checked against its name (sha256), inserted with ON CONFLICT DO NOTHING (so a
  resumed move inserts nothing twice), and every one is then checked present in the table,
  whose rows PostgreSQL hashes again. The files are left in place (a backup until the new
  installation is trusted). Not when the engine will use a shared blob directory instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    func,
    insert,
    inspect,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from data.db import Database
from data.models import Base, StoredBlob

BATCH = 2000
# Columns the target's triggers keep as the rows they count are copied: each goes in as its
# start value, or it would count everything twice (interactions.message_count, migration
# 0041: the messages come after their interactions and each insert adds one). The check
# compares them with the source's like every other column.
COUNTED = {"interactions": {"message_count": 0}}

_progress_meta = MetaData()
PROGRESS = Table(
    "postdesk_migrate_progress",
    _progress_meta,
    Column("table_name", String(200), primary_key=True),
    Column("copied", Integer, nullable=False),  # rows in so far
    Column("last_key", String(2000), nullable=True),  # JSON of the last key copied
    Column("done", Boolean, nullable=False),
    Column("deferred_set", Boolean, nullable=False),
)


class MigrateError(Exception):
    """A refusal or a failed check, said so an operator knows what to do."""


@dataclass
class TableReport:
    table: str
    rows: int
    checksum: str  # SHA-256 of the source's rows; the target's was computed alike and equal


@dataclass
class Report:
    tables: list[TableReport] = field(default_factory=list)
    resumed: bool = False
    target: str = ""
    blobs: int = 0  # blob files moved into the target's table (and checked there)
    blob_bytes: int = 0


def postgres_url(url: str) -> str:
    """`postgresql://...` as given by a person, with the driver the engine uses."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise MigrateError(f"{url!r} is not a postgresql:// URL")


def tables() -> list[Table]:
    """The models' tables, each after the tables its (non-deferred) keys point at (not the
    blobs table: SQLite keeps blobs as files, moved by `move_blobs`)."""
    return [t for t in Base.metadata.sorted_tables if t.name != StoredBlob.__tablename__]


def deferred_columns(table: Table, order: Sequence[Table]) -> list[str]:
    """Foreign key columns pointing at this table itself or at one copied after it."""
    position = {t.name: n for n, t in enumerate(order)}
    here = position[table.name]
    return [
        fk.parent.name
        for fk in table.foreign_keys
        if position.get(fk.column.table.name, -1) >= here and fk.parent.nullable
    ]


def key_columns(table: Table) -> list[Column[Any]]:
    return list(table.primary_key.columns)


def normal(value: Any) -> Any:
    """A value as both databases give it back through the models' types, comparable."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value


def row_digest(row: Sequence[Any]) -> bytes:
    return json.dumps([normal(v) for v in row], default=str).encode()


async def _batches(
    conn: AsyncConnection, table: Table, after: list[Any] | None, size: int
) -> AsyncIterator[list[Any]]:
    """Rows of `table` in key order, after the key `after`, `size` at a time."""
    keys = key_columns(table)
    while True:
        query = select(table).order_by(*keys).limit(size)
        if after is not None:
            query = query.where(tuple_(*keys) > tuple_(*after))
        rows = list((await conn.execute(query)).all())
        if not rows:
            return
        yield rows
        after = [rows[-1]._mapping[k.name] for k in keys]


async def _has_progress(conn: AsyncConnection) -> bool:
    def check(sync: Any) -> bool:
        return bool(inspect(sync).has_table(PROGRESS.name))

    return await conn.run_sync(check)


def _key_json(values: list[Any]) -> str:
    return json.dumps([normal(v) for v in values])


async def migrate(
    source: Database,
    target: Database,
    *,
    resume: bool = False,
    batch: int = BATCH,
    on_batch: Callable[[str, int], None] | None = None,
    blob_dir: Path | None = None,
) -> Report:
    """Copy every row of `source` (SQLite, at head) into `target` (PostgreSQL), then check;
    then the blob files under `blob_dir` (if given) into the target's blobs table."""
    if source.engine.dialect.name != "sqlite":
        raise MigrateError("the source must be a SQLite installation")
    if target.engine.dialect.name != "postgresql":
        raise MigrateError("the target must be PostgreSQL")
    if not await source.at_head():
        raise MigrateError(
            "the SQLite database is not at this version's schema: start the engine once"
        )
    order = tables()
    async with target.engine.connect() as conn:
        started = await _has_progress(conn)
    if started and not resume:
        raise MigrateError(
            "the target holds an unfinished copy: run again with --resume to go on with it"
        )
    if not started:
        if resume:
            raise MigrateError("nothing to resume: the target has no copy in progress")
        async with target.engine.connect() as conn:
            present = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        if present:
            raise MigrateError(
                f"the target is not empty (it has tables: {', '.join(sorted(present)[:5])}):"
                " give a new, empty database"
            )
        await target.upgrade()
        async with target.engine.begin() as conn:
            # What the migrations seed (the default break reasons): the source has its own.
            for table in reversed(order):
                await conn.execute(table.delete())
            await conn.run_sync(_progress_meta.create_all)
            await conn.execute(
                insert(PROGRESS),
                [
                    {
                        "table_name": t.name,
                        "copied": 0,
                        "last_key": None,
                        "done": False,
                        "deferred_set": False,
                    }
                    for t in order
                ],
            )
    elif not await target.at_head():
        raise MigrateError("the target's schema is not this version's: it was not made by us")

    async with source.engine.connect() as src:
        for table in order:
            await _copy_table(src, target, table, order, batch, on_batch)
        for table in order:
            await _set_deferred(src, target, table, order, batch)
    async with target.engine.begin() as conn:
        await _reset_sequences(conn, order)
    report = Report(resumed=started, target=target.engine.url.render_as_string(True))
    async with source.engine.connect() as src, target.engine.connect() as dst:
        for table in order:
            report.tables.append(await _check(src, dst, table, batch))
    if blob_dir is not None:
        report.blobs, report.blob_bytes = await move_blobs(blob_dir, target)
    async with target.engine.begin() as conn:
        await conn.run_sync(_progress_meta.drop_all)
    return report


async def _copy_table(
    src: AsyncConnection,
    target: Database,
    table: Table,
    order: Sequence[Table],
    size: int,
    on_batch: Callable[[str, int], None] | None,
) -> None:
    async with target.engine.connect() as dst:
        progress = (
            await dst.execute(select(PROGRESS).where(PROGRESS.c.table_name == table.name))
        ).one()
    if progress.done:
        return
    deferred = set(deferred_columns(table, order))
    counted = COUNTED.get(table.name, {})
    after = json.loads(progress.last_key) if progress.last_key else None
    if after is not None:
        # The key as the source's types hold it (a JSON round trip keeps ints and strings).
        after = list(after)
    copied = progress.copied
    async for rows in _batches(src, table, after, size):
        values = [
            {c: (None if c in deferred else counted.get(c, v)) for c, v in row._mapping.items()}
            for row in rows
        ]
        last = [rows[-1]._mapping[k.name] for k in key_columns(table)]
        copied += len(rows)
        async with target.engine.begin() as dst:
            await dst.execute(insert(table), values)
            await dst.execute(
                update(PROGRESS)
                .where(PROGRESS.c.table_name == table.name)
                .values(copied=copied, last_key=_key_json(last))
            )
        if on_batch is not None:
            on_batch(table.name, copied)
    async with target.engine.begin() as dst:
        await dst.execute(
            update(PROGRESS).where(PROGRESS.c.table_name == table.name).values(done=True)
        )


async def _set_deferred(
    src: AsyncConnection, target: Database, table: Table, order: Sequence[Table], size: int
) -> None:
    deferred = deferred_columns(table, order)
    if not deferred:
        return
    async with target.engine.connect() as dst:
        done = await dst.scalar(
            select(PROGRESS.c.deferred_set).where(PROGRESS.c.table_name == table.name)
        )
    if done:
        return
    keys = key_columns(table)
    source_rows = select(*keys, *(table.c[name] for name in deferred)).where(
        or_(*(table.c[name].is_not(None) for name in deferred))
    )
    rows = (await src.execute(source_rows)).all()
    async with target.engine.begin() as dst:
        for start in range(0, len(rows), size):
            for row in rows[start : start + size]:
                await dst.execute(
                    update(table)
                    .where(and_(*(k == row._mapping[k.name] for k in keys)))
                    .values({name: row._mapping[name] for name in deferred})
                )
        await dst.execute(
            update(PROGRESS).where(PROGRESS.c.table_name == table.name).values(deferred_set=True)
        )


async def _reset_sequences(conn: AsyncConnection, order: Sequence[Table]) -> None:
    """Identity columns go on after the highest copied id, not from 1."""
    for table in order:
        keys = key_columns(table)
        if len(keys) != 1 or not isinstance(keys[0].type, Integer):
            continue
        sequence = await conn.scalar(
            text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": keys[0].name}
        )
        if sequence is None:
            continue
        await conn.execute(
            text(
                f"SELECT setval(:s, COALESCE((SELECT max({keys[0].name}) FROM {table.name}), 0)"
                " + 1, false)"
            ),
            {"s": sequence},
        )


async def _check(
    src: AsyncConnection, dst: AsyncConnection, table: Table, size: int
) -> TableReport:
    """Every row of both sides in key order, compared one by one; the count and checksum."""
    digest, theirs_digest = hashlib.sha256(), hashlib.sha256()
    count = 0
    theirs = _batches(dst, table, None, size)
    pending: list[Any] = []
    async for rows in _batches(src, table, None, size):
        for row in rows:
            if not pending:
                pending = list(await anext(theirs, []))
                if not pending:
                    raise MigrateError(f"{table.name}: the target has fewer rows ({count})")
            other = pending.pop(0)
            mine_bytes, other_bytes = row_digest(row), row_digest(other)
            if mine_bytes != other_bytes:
                key = [row._mapping[k.name] for k in key_columns(table)]
                raise MigrateError(f"{table.name}: the row with key {key} differs in the target")
            digest.update(mine_bytes + b"\n")
            theirs_digest.update(other_bytes + b"\n")
            count += 1
    if pending or await anext(theirs, None) is not None:
        raise MigrateError(f"{table.name}: the target has more rows than the source ({count})")
    if digest.digest() != theirs_digest.digest():
        raise MigrateError(f"{table.name}: the checksums differ")
    return TableReport(table.name, count, digest.hexdigest())


_DIGEST = re.compile(r"[0-9a-f]{64}")
_BLOB_BATCH_BYTES = 32 * 1024 * 1024  # per transaction


def blob_files(root: Path) -> list[Path]:
    """The blob files of a store (both layouts, see data/blobs.py), never temporary ones."""
    found: list[Path] = []
    for directory, _dirs, names in os.walk(root):
        found.extend(Path(directory) / n for n in names if _DIGEST.fullmatch(n))
    return sorted(found)


async def move_blobs(root: Path, target: Database) -> tuple[int, int]:
    """Insert every blob file under `root` into the target's blobs table; check each is there
    and that the table's bytes hash to their names. (files, bytes) moved."""
    files = blob_files(root) if root.is_dir() else []
    total = 0
    pending: list[dict[str, Any]] = []
    held = 0

    async def flush() -> None:
        nonlocal held
        if pending:
            async with target.engine.begin() as conn:
                await conn.execute(
                    pg_insert(StoredBlob).on_conflict_do_nothing(index_elements=["sha256"]),
                    pending,
                )
        pending.clear()
        held = 0

    for path in files:
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != path.name:
            raise MigrateError(f"the blob file {path} does not hold what its name says")
        pending.append({"sha256": path.name, "data": data})
        held += len(data)
        total += len(data)
        if held >= _BLOB_BATCH_BYTES:
            await flush()
    await flush()
    digests = [p.name for p in files]
    async with target.engine.connect() as conn:
        present = 0
        for start in range(0, len(digests), BATCH):
            chunk = digests[start : start + BATCH]
            present += (
                await conn.scalar(
                    select(func.count()).select_from(StoredBlob).where(StoredBlob.sha256.in_(chunk))
                )
                or 0
            )
        wrong = await conn.scalar(
            text("SELECT count(*) FROM blobs WHERE encode(sha256(data), 'hex') <> sha256")
        )
    if present != len(set(digests)):
        raise MigrateError(f"blobs: {len(set(digests)) - present} files are missing in the target")
    if wrong:
        raise MigrateError(f"blobs: {wrong} rows of the target do not hold what their names say")
    return len(files), total
