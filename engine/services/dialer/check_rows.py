"""Checked rows of a list import as ready values, a batch at a time: what the import
inserts. Light on purpose (no database layer): for a large file it runs in a process of its
own (`main`), so checking, which is Python, goes on beside the inserts instead of
taking turns with them for the interpreter's lock.
"""

from __future__ import annotations

import json
import pickle
import sys
from collections.abc import Iterator
from itertools import islice

from engine.api.schemas import ImportLine, ImportReport
from engine.domain.dialer_csv import Accepted, Rejected, read_list

__all__ = [
    "BATCH_ROWS",
    "FAILED",
    "PENDING",
    "RECORD_COLUMNS",
    "REPORT_LINES",
    "Row",
    "main",
    "next_batch",
]

BATCH_ROWS = 20_000  # rows a transaction: the database's writer is free between them
REPORT_LINES = 500  # reasons listed per kind; the counts are always whole
PENDING, FAILED = "pending", "failed"  # DialerRecordState values (checked in import_rows)
RECORD_COLUMNS = (
    "list_id",
    "line_number",
    "destination",
    "message",
    "attachments",
    "variables",
    "priority",
    "state",
    "error",
)
Row = tuple[int, int, str, str, str, str, int, str, str]


def next_batch(
    outcomes: Iterator[Accepted | Rejected],
    list_id: int,
    report: ImportReport,
    token_ids: dict[str, int],
    used: set[int],
) -> tuple[list[Row], bool]:
    """The next rows to insert as the driver takes them, and whether the file is done (in
    a worker thread: reading and checking is the CPU part)."""
    rows: list[Row] = []
    append = rows.append
    dumps = json.dumps
    pending, failed = PENDING, FAILED
    seen = 0
    for outcome in islice(outcomes, BATCH_ROWS):
        seen += 1
        if type(outcome) is Accepted:
            error = outcome.error
            attachments = outcome.attachments
            if attachments:
                used.update(token_ids[t] for t in attachments)
            append(
                (
                    list_id,
                    outcome.line,
                    outcome.destination,
                    outcome.message,
                    dumps(attachments) if attachments else "[]",
                    outcome.variables_json
                    or (dumps(outcome.variables) if outcome.variables else "{}"),
                    outcome.priority,
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


def main() -> None:
    """`python -m engine.services.dialer.check_rows`, started by the import for a large
    file: reads (path, codec, rules, list_id, token_ids, report) pickled on stdin, writes
    ("rows", batch) frames as each batch is checked, then ("done", (report, used file ids)).
    A frame is its length (8 bytes, big-endian) and a pickle. The pipe holds little, so the
    child stays about one batch ahead of the inserts; it ends when the engine hangs up."""
    path, codec, rules, list_id, token_ids, report = pickle.load(sys.stdin.buffer)
    out = sys.stdout.buffer
    used: set[int] = set()

    def send(message: object) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        out.write(len(data).to_bytes(8, "big") + data)
        out.flush()

    try:
        with open(path, encoding=codec, newline="") as text:
            outcomes = read_list(text, rules)
            done = False
            while not done:
                rows, done = next_batch(outcomes, list_id, report, token_ids, used)
                send(("rows", rows))
        send(("done", (report, used)))
    except BrokenPipeError:
        pass  # the engine stopped listening: the import is being undone


if __name__ == "__main__":
    main()
