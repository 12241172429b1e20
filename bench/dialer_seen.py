"""bench/dialer_seen: the tracking image of dialer mail, Postdesk's public web service against
a minimal aiohttp handler, in one run (the dialer half of bench/web).

A dialer record's token is looked up after the message links (it is not one), marked seen
once (sent -> seen, seen_at, a `customer_events` row, in the group's transaction) and answered;
a repeat fetch finds the record already seen and changes nothing. The first round hits every
token for the first time, the later rounds repeat them: both figures are printed. Afterwards
every record must be seen with exactly one event: every first hit durable, once. The figure
is the median round's, the lower of first and repeat.

    uv run python -m bench.dialer_seen [--hits 2000] [--rounds 5] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench.web import MINIMAL, load, start, stop, wait_listening
from data.db import Database
from data.models import Campaign, Dialer, DialerList, DialerRecord, DialerRecordState
from engine.config import Settings
from engine.services.customer.links import new_token
from tests.servers import free_port


async def prepare(home: Path, tokens: int) -> list[str]:
    """A data dir with one dialer whose list holds `tokens` sent records."""
    settings = Settings(home=home)
    home.mkdir(parents=True, exist_ok=True)
    db = Database(settings.db_url)
    await db.upgrade()
    made = [new_token() for _ in range(tokens)]
    now = datetime.now(UTC)
    async with db.session() as session, session.begin():
        campaign = Campaign(name="Bench", email_address="bench@postdesk.test", smtp_host="x")
        session.add(campaign)
        await session.flush()
        dialer = Dialer(name="Bench", campaign_id=campaign.id)
        session.add(dialer)
        await session.flush()
        listed = DialerList(dialer_id=dialer.id, name="L")
        session.add(listed)
        await session.flush()
        for n, token in enumerate(made):
            session.add(
                DialerRecord(
                    list_id=listed.id,
                    line_number=n + 1,
                    destination=f"r{n}@example.org",
                    state=DialerRecordState.SENT,
                    rfc_message_id=f"{n}.bench@postdesk.test",
                    link_token=token,
                    sent_at=now,
                )
            )
    await db.close()
    return made


def seen(home: Path) -> tuple[int, int]:
    """(records seen, dialer-seen events) in the database."""
    conn = sqlite3.connect(f"file:{home / 'postdesk.db'}?mode=ro", uri=True, timeout=10)
    try:
        records = conn.execute("SELECT COUNT(*) FROM dialer_records WHERE state = 'seen'")
        events = conn.execute("SELECT COUNT(*) FROM customer_events WHERE kind = 'dialer-seen'")
        return int(records.fetchone()[0]), int(events.fetchone()[0])
    finally:
        conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hits", type=int, default=2000, help="per server and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=64)
    options = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTDESK_")}
    with tempfile.TemporaryDirectory(prefix="postdesk-bench-seen-") as tmp:
        home = Path(tmp) / "home"
        tokens = await prepare(home, options.hits * options.rounds)
        minimal_port, postdesk_port = free_port(), free_port()
        web_env = env | {
            "POSTDESK_WEB_BIND": f"127.0.0.1:{postdesk_port}",
            "POSTDESK_WEB_RATE": "0",  # the limit per client is off: one client makes all hits
        }
        minimal = start([sys.executable, "-c", MINIMAL, str(minimal_port)], env)
        postdesk = start(
            [sys.executable, "-m", "postdesk.cli", "web", "--data-dir", str(home)], web_env
        )
        # Rounds alternate between the two servers (a busy machine slows both alike). Each
        # first round hits records never fetched; each repeat round hits one of them again.
        reference: list[float] = []
        first: list[float] = []
        repeat: list[float] = []
        answered = 0
        rounds = [tokens[r * options.hits : (r + 1) * options.hits] for r in range(options.rounds)]
        try:
            await wait_listening(minimal_port, minimal)
            await wait_listening(postdesk_port, postdesk)
            for into, batches in ((first, rounds), (repeat, rounds)):
                for batch in batches:
                    rate, _ok = await load(minimal_port, batch, options.hits, options.concurrency)
                    reference.append(rate)
                    rate, ok = await load(postdesk_port, batch, options.hits, options.concurrency)
                    into.append(rate)
                    answered += ok
        finally:
            stop(minimal)
            stop(postdesk)
        records, events = seen(home)

    n = options.rounds
    first_x = statistics.median(f / r for f, r in zip(first, reference[:n], strict=True))
    repeat_x = statistics.median(f / r for f, r in zip(repeat, reference[n:], strict=True))
    print(
        f"hits:     {options.hits} per server in each of {n} first and {n} repeat rounds, "
        f"{options.concurrency} in flight, {len(tokens)} dialer records"
    )
    print(f"minimal:  {statistics.median(reference):8.0f} hits/s (aiohttp, nothing recorded)")
    print(
        f"first:    {statistics.median(first):8.0f} hits/s (each marks a record seen, writes its "
        f"event) {first_x:.2f} x"
    )
    print(f"repeats:  {statistics.median(repeat):8.0f} hits/s (already seen) {repeat_x:.2f} x")
    print(f"durable:  {records} records seen, {events} events, {answered} hits answered")
    if records != len(tokens) or events != len(tokens) or answered != options.hits * n * 2:
        print("FAILED: a first hit was not recorded once, or a hit was not answered")
        sys.exit(1)
    print(f"target dialer-pixel-vs-aiohttp: {min(first_x, repeat_x):.2f} x (goal >= 0.5)")


if __name__ == "__main__":
    asyncio.run(main())
