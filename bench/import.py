"""bench/import: a dialer list of N rows (default 1,000,000) imported through the engine's API
(uploaded, streamed to disk, every row checked, stored with batch inserts, committed), in
rows per second, against Python's `csv` module merely reading the same file in the same run.

The CSV is generated in a temp dir: the manual's format with both variable syntaxes, a quoted
message holding the separator on one row in ten, an attachment token on one in a hundred,
priorities, and one invalid recipient in a thousand (stored as failed, as an import must).
The engine runs in-process without mail services, on its own temp data dir (SQLite).

    uv run python -m bench.import [--rows 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import logging
import tempfile
import time
from pathlib import Path

from engine.api.schemas import CampaignIn, DialerIn, TemplateIn
from engine.client import EngineClient
from engine.config import Settings
from engine.engine import Engine

GOAL = 100_000


def write_csv(path: Path, rows: int, token: str) -> None:
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("campaign;emailRecipient;message;attachments;variables;priority\r\n")
        for i in range(rows):
            address = f"user{i}@example.com" if i % 1000 != 999 else f"user{i} at example.com"
            message = '"Hello ${name}; your code is ${code}."' if i % 10 == 0 else ""
            attachment = token if i % 100 == 0 else ""
            if i % 2:
                variables = f'"name":"Person {i}","code":"C{i:07d}","city":"Montevideo"'
            else:
                variables = f"name=Person {i}:code=C{i:07d}:city=Montevideo"
            priority = str(i % 7) if i % 3 else ""
            out.write(f"Support;{address};{message};{attachment};{variables};{priority}\r\n")


def csv_read_seconds(path: Path) -> tuple[float, int]:
    start = time.perf_counter()
    with open(path, encoding="utf-8", newline="") as fh:
        count = sum(1 for _ in csv.reader(fh, delimiter=";"))
    return time.perf_counter() - start, count - 1


async def run(rows: int) -> None:
    with tempfile.TemporaryDirectory(prefix="postdesk-import-") as tmp:
        home = Path(tmp) / "home"
        engine = Engine(Settings(home=home), run_mail=False)
        await engine.start()
        try:
            async with EngineClient(engine.socket_path) as client:
                await client.add_campaign(
                    CampaignIn(
                        name="Support",
                        email_address="support@example.com",
                        inbound="none",
                        smtp_host="localhost",
                        smtp_port=2525,
                        check=False,  # no SMTP server: an import sends nothing
                    )
                )
                await client.add_template(
                    TemplateIn(
                        name="News", kind="dialer", body_text="Dear ${name}, ${code} awaits."
                    )
                )
                await client.add_dialer(DialerIn(name="News", campaign="Support", template="News"))
                attached = await client.attach_dialer_file("terms.pdf", b"%PDF-1.4 terms")
                path = Path(tmp) / "list.csv"
                write_csv(path, rows, attached.token)
                size = path.stat().st_size
                print(f"list:     {rows:,} rows, {size / 1e6:.0f} MB")
                reference, counted = csv_read_seconds(path)
                assert counted == rows, counted
                print(
                    f"csv:      {reference:6.2f} s  {rows / reference:12,.0f} rows/s"
                    "  (the csv module reading the file, nothing else)"
                )
                data = path.read_bytes()
                start = time.perf_counter()
                report = await client.upload_list(
                    "News", data, name="big", subject="News for ${name}"
                )
                seconds = time.perf_counter() - start
        finally:
            await engine.stop()
    assert report.imported == rows, report
    assert report.failed == rows // 1000, report.failed
    rate = rows / seconds
    print(
        f"postdesk: {seconds:6.2f} s  {rate:12,.0f} rows/s  (uploaded, checked, stored,"
        f" committed; {report.failed:,} failed as invalid recipients)"
    )
    print(f"ratio:    {reference / seconds:.2f}x the csv module's reading speed")
    print(f"target import-rows-per-s: {rate:.0f} rows/s (goal >= {GOAL})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run(args.rows))


if __name__ == "__main__":
    main()
