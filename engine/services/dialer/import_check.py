"""A list import's checking: the file's rows read, checked and turned into the values they
are stored with, a batch at a time, either in a worker thread (a small list) or in a process
of its own (a large one, `check_file`).

Why a process for a large list: checking is Python (~4.5 µs a row) and so is binding the
rows to the INSERT statements in the database's writer; in one process both take turns on
the GIL, which made a million-row import last as long as both together and stalled the rest
of the engine (routing, consoles' calls) for as long. In a process of its own the checking
runs on another core, holds nothing of the engine's, and hands over each batch's rows
(pickled: ~0.6 µs a row on each side). It only reads the spooled file: every write stays in
the engine, so a crash of either side loses nothing and leaves no half-list (the engine
removes it at once, or `DialerLists.recover` at its next start). If the engine dies, the
process's next hand-over fails on the closed pipe and it ends.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from itertools import islice
from multiprocessing.connection import Connection
from typing import NamedTuple

from engine import failpoints
from engine.api.schemas import ImportLine, ImportReport
from engine.domain.dialer_csv import Accepted, Rejected
from engine.domain.dialer_rows import Ready, json_text, read_rows

__all__ = [
    "BATCH_ROWS",
    "REPORT_LINES",
    "Row",
    "States",
    "check_file",
    "main",
    "next_batch",
]

BATCH_ROWS = 20_000  # rows a transaction: the database's writer is free between them
REPORT_LINES = 500  # reasons listed per kind; the counts are always whole

Row = tuple[int, str, str, str, str, int, int, str, str]


class States(NamedTuple):
    """The stored values of a record's states an import writes (`DialerRecordState`), given
    by the caller: this module stays free of the database's models, which a checking
    process would otherwise import for two strings."""

    pending: str
    failed: str


def next_batch(
    outcomes: Iterator[Ready | Accepted | Rejected],
    list_id: int,
    report: ImportReport,
    token_ids: dict[str, int],
    used: set[int],
    states: States,
) -> tuple[list[Row], bool]:
    """The next rows to insert as the driver takes them, and whether the file is done. A
    `Ready` record (the common row, `dialer_rows.py`) is its columns already; the careful
    reader's outcomes are turned into the same columns, the same JSON text."""
    rows: list[Row] = []
    append = rows.append
    loads = json.loads
    pending, failed = states
    to_send = (list_id, pending, "")
    seen = 0
    for outcome in islice(outcomes, BATCH_ROWS):
        seen += 1
        if type(outcome) is tuple:
            append(outcome + to_send)
            if outcome[3] != "[]":
                used.update(token_ids[t] for t in loads(outcome[3]))
        elif type(outcome) is Accepted:
            error = outcome.error
            attachments = outcome.attachments
            if attachments:
                used.update(token_ids[t] for t in attachments)
            append(
                (
                    outcome.line,
                    outcome.destination,
                    outcome.message,
                    json_text(attachments) if attachments else "[]",
                    outcome.variables_json
                    or (json_text(outcome.variables) if outcome.variables else "{}"),
                    outcome.priority,
                    list_id,
                    failed if error else pending,
                    error,
                )
            )
            if error:
                report.failed += 1
                if len(report.failures) < REPORT_LINES:
                    report.failures.append(ImportLine(line=outcome.line, reason=error))
        else:
            assert isinstance(outcome, Rejected)
            report.rejected += 1
            if len(report.rejections) < REPORT_LINES:
                report.rejections.append(ImportLine(line=outcome.line, reason=outcome.reason))
    report.imported += len(rows)
    return rows, seen < BATCH_ROWS


def check_file(channel: Connection) -> None:
    """A checking process's whole work: the task as the first message (the spooled file,
    its codec, the rules, the list, the tokens, the states, the report to fill), then every
    batch sent as `("batch", rows)` (the send waits while the engine is a batch behind),
    then `("done", report, used attachment ids)`, or `("error", text)` if checking broke."""
    used: set[int] = set()
    try:
        path, codec, rules, list_id, token_ids, states, report = channel.recv()
        with open(path, encoding=codec, newline="") as text:
            outcomes = read_rows(text, rules)
            done = False
            while not done:
                batch, done = next_batch(outcomes, list_id, report, token_ids, used, states)
                channel.send(("batch", batch))
                failpoints.reached("dialer-check-batch")
        channel.send(("done", report, used))
    except (EOFError, BrokenPipeError, ConnectionResetError):
        return  # the engine gave the import up (or died): nobody to tell
    except Exception as exc:  # a bug: the engine fails the import with this text
        channel.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        channel.close()


def main() -> None:
    """`python -m engine.services.dialer.import_check FD`: started by the engine with one end
    of a socket pair as FD. A plain interpreter rather than multiprocessing's spawn, which
    would import the engine's own `__main__` (a script, a test runner) in the child."""
    # This file runs as `__main__`; its classes must travel under their module's name.
    from engine.services.dialer import import_check

    import_check.check_file(Connection(int(sys.argv[1])))


if __name__ == "__main__":
    main()
