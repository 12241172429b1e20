"""`postdesk ctl db migrate-to postgresql://...`: moves this data dir's SQLite database to
PostgreSQL (data/migrate_to.py does the copy and the check).

Unlike every other `ctl` command it does not go through the engine: the engine must be
stopped, so that the SQLite file does not change under the copy. The command holds the
engine's lock while it runs, so an engine started meanwhile refuses to start rather than
write rows the copy would miss. Prints per table the rows copied and their checksum (`--json`
for scripts), then the variable to set for the engine.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import sys
from typing import Any

from data.db import Database, sqlite_url
from data.migrate_to import MigrateError, Report, migrate, move_blobs, postgres_url
from engine.config import Settings
from engine.text.sanitize import sanitize

__all__ = ["add_db_parser", "run_db"]


def add_db_parser(group: Any) -> None:
    db = group("db", "the database: move a SQLite installation (or its blobs) to PostgreSQL")
    move = db.add_parser(
        "migrate-to",
        help="copy every row of this data dir's SQLite database to an empty PostgreSQL one",
        description="The engine must be stopped. The target database must exist and be empty "
        "(or hold a copy this command left unfinished: --resume). Every row is checked "
        "after the copy; blob files are copied into the database too (and left in place), "
        "unless POSTDESK_SHARED_BLOB_DIR is set.",
    )
    move.add_argument("url", help="postgresql://user@host:port/database")
    move.add_argument(
        "--resume", action="store_true", help="go on with a copy that was interrupted"
    )
    move.add_argument("--batch", type=int, default=2000, help="rows per transaction")
    db.add_parser(
        "move-blobs",
        help="copy this data dir's blob files into the PostgreSQL database (several nodes)",
        description="For an installation already on PostgreSQL (POSTDESK_DATABASE_URL) that "
        "kept its blobs as files in the data dir: every node reads blobs from the database, "
        "so they go there, checked; the files are left in place. Safe while engines run.",
    )


def _lines(report: Report) -> list[str]:
    width = max(len(t.table) for t in report.tables)
    lines = [f"{t.table:<{width}}  {t.rows:>9}  sha256 {t.checksum[:16]}" for t in report.tables]
    total = sum(t.rows for t in report.tables)
    lines.append(f"{len(report.tables)} tables, {total} rows copied and checked row by row")
    lines.append(f"{report.blobs} blob files ({report.blob_bytes} bytes) moved into the database")
    lines.append("start the engine with POSTDESK_DATABASE_URL=<the URL> on this data dir")
    return lines


async def _run(settings: Settings, args: argparse.Namespace) -> Report:
    if settings.database_url:
        raise MigrateError("POSTDESK_DATABASE_URL is set: the source must be the data dir's SQLite")
    path = settings.home / "postdesk.db"
    if not path.is_file():
        raise MigrateError(f"no SQLite database at {path}")
    source = Database(sqlite_url(path))
    target = Database(postgres_url(args.url))
    try:
        # Blobs move into the database (where every node reads them) unless the engine is
        # to keep them as files in a shared directory (POSTDESK_SHARED_BLOB_DIR).
        blob_dir = None if settings.shared_blob_dir else settings.blob_dir
        return await migrate(
            source, target, resume=args.resume, batch=max(1, args.batch), blob_dir=blob_dir
        )
    finally:
        await source.close()
        await target.close()


async def _move_blobs(settings: Settings) -> tuple[int, int]:
    if not settings.database_url.startswith(("postgresql", "postgres")):
        raise MigrateError("POSTDESK_DATABASE_URL does not name a PostgreSQL database")
    if settings.shared_blob_dir:
        raise MigrateError("POSTDESK_SHARED_BLOB_DIR is set: the blobs stay files there")
    target = Database(postgres_url(settings.database_url))
    try:
        return await move_blobs(settings.home / "blobs", target)
    finally:
        await target.close()


def _run_move_blobs(settings: Settings, args: argparse.Namespace) -> int:
    try:
        moved, size = asyncio.run(_move_blobs(settings))
    except MigrateError as exc:
        print(sanitize(f"postdesk ctl: {exc}"), file=sys.stderr)
        return 1
    except OSError as exc:
        print(sanitize(f"postdesk ctl: cannot reach the database: {exc}"), file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"blobs": moved, "blob_bytes": size}))
    else:
        print(f"{moved} blob files ({size} bytes) copied into the database and checked there")
    return 0


def run_db(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "move-blobs":
        return _run_move_blobs(settings, args)
    lock_path = settings.socket.parent / "engine.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("postdesk ctl: the engine is running: stop it first", file=sys.stderr)
            return 1
        try:
            report = asyncio.run(_run(settings, args))
        except MigrateError as exc:
            print(sanitize(f"postdesk ctl: {exc}"), file=sys.stderr)
            return 1
        except OSError as exc:  # the server cannot be reached
            print(sanitize(f"postdesk ctl: cannot reach the database: {exc}"), file=sys.stderr)
            return 1
    if args.json:
        print(
            json.dumps(
                {
                    "resumed": report.resumed,
                    "blobs": report.blobs,
                    "blob_bytes": report.blob_bytes,
                    "tables": [
                        {"table": t.table, "rows": t.rows, "sha256": t.checksum}
                        for t in report.tables
                    ],
                }
            )
        )
    else:
        print("\n".join(_lines(report)))
    return 0
