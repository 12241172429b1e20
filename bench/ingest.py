"""bench/ingest: Postdesk's IMAP ingestion against mbsync on the same mailbox, in one run.

Loads N messages of about 4 KB into a private Dovecot, then
1. mbsync pulls the mailbox into a Maildir (the reference: a mature C IMAP sync tool), and
2. a real engine ingests it: fetched, parsed, stored (blob + rows + checkpoint), committed,
   and routed to the queue.
Prints messages per second for both and the ratio. Target (issue 3): at least 0.5x mbsync.

    uv run python -m bench.ingest [--messages 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sqlite3
import subprocess
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

from engine.client import EngineClient
from engine.config import Settings
from engine.engine import Engine
from tests.servers import DovecotServer, Mailbox, start_dovecot

PARAGRAPH = (
    "Hello, I am writing about my order. The parcel was supposed to arrive last week and the "
    "tracking page has not changed since. Could you please check with the carrier and let me "
    "know what happened? I have attached nothing, but here is some more text to make the "
    "message about the size of a real customer mail.\n"
)


def message(n: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Customer {n} <customer{n % 500}@example.net>"
    msg["To"] = "support@postdesk.test"
    msg["Subject"] = f"Order {n} has not arrived"
    msg["Message-ID"] = f"<bench-{n}@example.net>"
    msg["Date"] = "Fri, 27 Nov 2026 09:00:00 +0000"
    msg.set_content(PARAGRAPH * 11)
    return msg.as_bytes()


def run_mbsync(mailbox: Mailbox, work: Path) -> float:
    maildir = work / "mbsync-maildir"
    maildir.mkdir()
    config = work / "mbsyncrc"
    config.write_text(
        f"IMAPAccount bench\nHost {mailbox.host}\nPort {mailbox.port}\nUser {mailbox.user}\n"
        f"Pass {mailbox.password}\nSSLType None\nAuthMechs LOGIN\n\n"
        "IMAPStore remote\nAccount bench\n\n"
        f"MaildirStore local\nPath {maildir}/\nInbox {maildir}/INBOX\n\n"
        "Channel pull\nFar :remote:\nNear :local:\nPatterns INBOX\nSync Pull\n"
        "Create Near\nSyncState *\n"
    )
    started = time.perf_counter()
    subprocess.run(["mbsync", "-q", "-c", str(config), "pull"], check=True)
    return time.perf_counter() - started


async def run_postdesk(mailbox: Mailbox, work: Path, count: int) -> float:
    settings = Settings(home=work / "postdesk")
    engine = Engine(settings)
    await engine.start()
    db = settings.home / "postdesk.db"
    try:
        started = time.perf_counter()
        async with EngineClient(engine.socket_path) as operator:
            await operator.add_campaign(mailbox.campaign("Bench"))
        # One connection, queried in a thread: polling must not hold up the engine's event
        # loop, which it shares (a fresh connection and query on the loop every 20 ms did).
        conn = sqlite3.connect(db, check_same_thread=False)
        try:
            while True:
                (stored,) = await asyncio.to_thread(
                    lambda: conn.execute("SELECT count(*) FROM messages").fetchone()
                )
                if stored >= count:
                    return time.perf_counter() - started
                await asyncio.sleep(0.02)
        finally:
            conn.close()
    finally:
        await engine.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    args = parser.parse_args()
    if shutil.which("mbsync") is None:
        raise SystemExit("mbsync is missing: run scripts/ensure-mbsync.sh (package isync)")
    work = Path(tempfile.mkdtemp(prefix="postdesk-bench-"))
    dovecot: DovecotServer = start_dovecot(work / "dovecot")
    try:
        mailbox = dovecot.new_mailbox("bench")
        dovecot.append_many(mailbox, [message(n) for n in range(args.messages)])
        size = len(message(0))
        mbsync_seconds = run_mbsync(mailbox, work)
        postdesk_seconds = asyncio.run(run_postdesk(mailbox, work, args.messages))
    finally:
        dovecot.stop()
        shutil.rmtree(work, ignore_errors=True)
    n = args.messages
    print(f"messages: {n} of {size} bytes")
    print(f"mbsync:   {mbsync_seconds:7.2f} s  {n / mbsync_seconds:8.0f} msg/s")
    print(f"postdesk: {postdesk_seconds:7.2f} s  {n / postdesk_seconds:8.0f} msg/s")
    print(f"ratio:    {mbsync_seconds / postdesk_seconds:.2f}x mbsync (target >= 0.5x)")
    print(f"target ingest-vs-mbsync: {mbsync_seconds / postdesk_seconds:.2f} x (goal >= 0.5)")


if __name__ == "__main__":
    main()
