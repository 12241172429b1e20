"""bench/dialer: a dialer list of N records (default 100,000) sent by the engine to postfix's
`smtp-sink`, in messages per second with durable per-record state (each record committed
`sending` before its SMTP transaction and `sent` after), against, in the same run and to the
same sink:

- postfix's `smtp-source` (C, parallel sessions, messages of the same size): the ceiling;
- a bare aiosmtplib loop (one connection, `sendmail` after `sendmail`) sending the same
  mails, made beforehand: what a straightforward Python sender does without any state.

The list's template has three variables; the engine runs in-process with its mail services
(SQLite in a temp data dir). postfix is installed when missing and this runs as root
(scripts/ensure-postfix.sh); its own mail service is never started.

`--postgresql` runs the engine's part again on a throwaway PostgreSQL cluster
(tests/postgres_server.py) with a per-day cap on the account, so every claim also takes the
account's turn and counts in `smtp_sends`, as several engine nodes do (docs/deploy.md).

    uv run python -m bench.dialer [--records 100000] [--connections 32] [--bare 20000]
                                  [--postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiosmtplib

from engine.api.schemas import CampaignIn, DialerIn, DialerProgress, SmtpCaps, TemplateIn
from engine.client import EngineClient
from engine.config import Settings
from engine.domain.dialer_fastmail import MailMaker
from engine.domain.dialer_mail import MailSpec, RecordMail
from engine.domain.mime_headers import Address
from engine.engine import Engine

GOAL_RATE = 1000
GOAL_VS_BARE = 1.7
FROM = "news@bench.example.com"
TEMPLATE = (
    "Dear ${name},\n\nyour order ${order} is on its way to ${city}. It should arrive within"
    " three working days; the carrier will call before coming.\n\nThank you for buying"
    " with us.\n"
)
SUBJECT = "Your order ${order}, ${name}"
UNSUBSCRIBE = '<p style="font-size:small">Had enough? <a id="unsubscribe_link">Unsubscribe</a></p>'


def sink_binary(name: str) -> str:
    found = shutil.which(name) or (
        f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else ""
    )
    if found:
        return found
    script = Path(__file__).resolve().parent.parent / "scripts" / "ensure-postfix.sh"
    subprocess.run(["bash", str(script)], check=True)
    return shutil.which(name) or f"/usr/sbin/{name}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_sink(port: int) -> subprocess.Popen[bytes]:
    as_user = ["-u", "nobody"] if os.geteuid() == 0 else []  # it refuses to run as root
    proc = subprocess.Popen(
        [sink_binary("smtp-sink"), *as_user, "-m", "1000", f"127.0.0.1:{port}", "1024"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("smtp-sink did not start")


def smtp_source(port: int, messages: int, size: int, sessions: int) -> float:
    """msg/s of postfix's own C client to the same sink."""
    start = time.perf_counter()
    subprocess.run(
        [
            sink_binary("smtp-source"),
            "-s",
            str(sessions),
            "-m",
            str(messages),
            "-l",
            str(size),
            "-d",
            "-f",
            FROM,
            "-t",
            "someone@example.org",
            f"127.0.0.1:{port}",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return messages / (time.perf_counter() - start)


def sample_mails(count: int) -> list[tuple[str, bytes]]:
    """The same mails the dialer sends (the same spec, the same way of making them)."""
    spec = MailSpec(
        sender=Address(FROM, "Bench News"),
        reply_address=FROM,
        subject=SUBJECT,
        template_text=TEMPLATE,
        template_html="",
        unsubscribe_html=UNSUBSCRIBE,
        base_url="https://web.bench.example.com",
    )
    now = datetime.now(UTC)
    maker = MailMaker(spec, now)
    mails = []
    for i in range(count):
        to = f"user{i}@example.org"
        record = RecordMail(to, "", variables(i))
        token = f"{i:022d}"
        mails.append(
            (to, maker.make(record, token=token, message_id=f"<{i}.bare@bench.example>", now=now))
        )
    return mails


def variables(i: int) -> dict[str, str]:
    return {"name": f"Person {i}", "order": f"A{i:08d}", "city": "Montevideo"}


async def bare_loop(port: int, mails: list[tuple[str, bytes]]) -> float:
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, use_tls=False)
    await smtp.connect()
    start = time.perf_counter()
    for to, raw in mails:
        await smtp.sendmail(FROM, [to], raw)
    rate = len(mails) / (time.perf_counter() - start)
    await smtp.quit()
    return rate


def write_csv(path: Path, records: int) -> None:
    with open(path, "w", encoding="utf-8", newline="") as out:
        for i in range(records):
            v = variables(i)
            out.write(
                f"Bench;user{i}@example.org;;;name={v['name']}:order={v['order']}"
                f":city={v['city']};\r\n"
            )


async def postdesk(
    port: int, records: int, connections: int, tmp: Path, database_url: str = ""
) -> tuple[float, dict[str, int]]:
    home = tmp / ("home-pg" if database_url else "home")
    engine = Engine(
        Settings(home=home, web_base_url="https://web.bench.example.com", database_url=database_url)
    )
    await engine.start()
    try:
        async with EngineClient(engine.socket_path) as client:
            await client.add_campaign(
                CampaignIn(
                    check=False,
                    name="Bench",
                    email_address=FROM,
                    from_name="Bench News",
                    inbound="none",
                    smtp_host="127.0.0.1",
                    smtp_port=port,
                    smtp_security="plain",
                )
            )
            await client.add_template(TemplateIn(name="Order", kind="dialer", body_text=TEMPLATE))
            await client.add_dialer(
                DialerIn(
                    name="Orders",
                    campaign="Bench",
                    template="Order",
                    seconds_between_messages=0,
                    unsubscribe_html=UNSUBSCRIBE,
                    # On PostgreSQL a cap that never stops it, so that it is counted.
                    caps=SmtpCaps(
                        connections=connections, per_day=100_000_000 if database_url else 0
                    ),
                )
            )
            listing = tmp / "list.csv"
            write_csv(listing, records)
            report = await client.upload_list(
                "Orders", listing.read_bytes(), name="All", subject=SUBJECT
            )
            assert report.imported == records and report.failed == 0, report
            events_before = engine.dialer_progress.published
            # The end is heard from the progress events, as a dashboard would: no polling.
            async with EngineClient(engine.socket_path) as listener:
                events = listener.events()
                start = time.perf_counter()
                await client.play_dialer("Orders")
                async for event in events:
                    if isinstance(event, DialerProgress) and event.not_processed == 0:
                        progress = event
                        break
            elapsed = time.perf_counter() - start
            await client.stop_dialer("Orders")
            counts = {
                "sent": progress.sent,
                "failed": progress.failed,
                "skipped": progress.skipped,
                "events": engine.dialer_progress.published - events_before,
            }
            return records / elapsed, counts
    finally:
        await engine.stop()


async def run(records: int, connections: int, bare: int, postgresql: bool = False) -> None:
    port = free_port()
    sink = start_sink(port)
    try:
        with tempfile.TemporaryDirectory(prefix="postdesk-dialer-") as tmp_dir:
            tmp = Path(tmp_dir)
            mails = sample_mails(bare)
            size = sum(len(raw) for _, raw in mails) // len(mails)
            print(f"{records:,} records, a template with 3 variables, mails of ~{size} bytes")
            source = smtp_source(port, min(records, 100_000), size, connections)
            print(f"smtp-source ({connections} sessions): {source:,.0f} msg/s")
            bare_rate = await bare_loop(port, mails)
            print(f"bare aiosmtplib loop ({bare:,} mails, one connection): {bare_rate:,.0f} msg/s")
            rate, counts = await postdesk(port, records, connections, tmp)
            print(
                f"postdesk dialer ({connections} connections, durable state): {rate:,.0f} msg/s;"
                f" sent {counts['sent']:,}, failed {counts['failed']}, skipped"
                f" {counts['skipped']}, {counts['events']} progress events"
            )
            assert counts["sent"] == records
            print(f"postdesk vs smtp-source: {rate / source:.2f} x (stretch >= 0.15)")
            print(f"target dialer-msg-per-s: {rate:.0f} msg/s (goal >= {GOAL_RATE})")
            print(f"target dialer-vs-bare-loop: {rate / bare_rate:.2f} x (goal >= {GOAL_VS_BARE})")
            if postgresql:
                from tests.postgres_server import PostgresServer

                server = PostgresServer().start()
                try:
                    pg_rate, counts = await postdesk(
                        port, records, connections, tmp, server.new_database()
                    )
                finally:
                    server.stop()
                assert counts["sent"] == records
                print(
                    f"postdesk dialer on PostgreSQL (claims SKIP LOCKED, a per-day cap counted"
                    f" in smtp_sends): {pg_rate:,.0f} msg/s, {pg_rate / rate:.2f} x SQLite"
                )
                print(
                    f"target dialer-msg-per-s-postgresql: {pg_rate:.0f} msg/s (goal >= {GOAL_RATE})"
                )
    finally:
        sink.terminate()
        sink.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--bare", type=int, default=20_000, help="mails of the bare loop")
    parser.add_argument("--postgresql", action="store_true", help="the engine on PostgreSQL too")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(run(args.records, args.connections, args.bare, args.postgresql))


if __name__ == "__main__":
    main()
