"""bench/ingest: Postdesk's IMAP ingestion against mbsync on the same mailbox, in one run.

Loads N messages of about 4 KB into a private Dovecot, then
1. mbsync pulls the mailbox into a Maildir (the reference: a mature C IMAP sync tool), and
2. a real engine ingests it: fetched, parsed, stored (blob + rows + checkpoint), committed,
   and routed to the queue.
Prints messages per second for both and the ratio. Target (issue 3): at least 0.5x mbsync.

    uv run python -m bench.ingest [--messages 10000] [--search-cost ROUNDS]

`--search-cost N` also measures what the recordings search (issue 15) costs ingestion: the
engine ingests a second mailbox N times as it is and N times with the search's upkeep taken
out of its database before it starts (`without_search`: the full-text triggers, the message
count's, the indexes the search added), alternately, each into a fresh database. That
mailbox holds mail as `bench/search` generates it (`varied_mail`): bodies of realistic size
from a Zipf vocabulary with names, order numbers and codes, and 4 in 10 replies, which index
their thread's whole text again (the first mailbox's mail is one text, never a reply, which
costs a full-text index next to nothing). Prints the median of each and the difference per
message; there is no goal for it.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

from bench.search import DOMAINS, FIRST, LAST, SUBJECTS, paragraphs, vocabulary
from data.db import Database, sqlite_url
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


def varied_mail(count: int, seed: int = 15) -> list[bytes]:
    """`count` mails as `bench/search` fills its database: a customer of a few thousand, a
    subject of its list, a body of ~900 characters at the median; 4 in 10 answer an earlier
    mail of the same customer (In-Reply-To, References, "Re:"), so the engine threads them."""
    rng = random.Random(seed)
    texts = paragraphs(rng, vocabulary(rng), 2_000)
    sent: list[tuple[int, str, str]] = []  # (n, sender, subject) of the mails so far
    out = []
    for n in range(count):
        msg = EmailMessage()
        if sent and rng.random() < 0.4:
            parent, sender, subject = rng.choice(sent[-300:])
            msg["In-Reply-To"] = f"<varied-{parent}@example.net>"
            msg["References"] = f"<varied-{parent}@example.net>"
            subject = subject if subject.startswith("Re: ") else f"Re: {subject}"
        else:
            k = rng.randrange(5_000)
            sender = f"{rng.choice(FIRST)}.{rng.choice(LAST)}{k}@{rng.choice(DOMAINS)}"
            subject = rng.choice(SUBJECTS).format(n=rng.randrange(10_000, 99_999))
        sent.append((n, sender, subject))
        size = min(int(rng.lognormvariate(6.8, 0.7)), 20_000)
        body: list[str] = []
        while sum(len(p) for p in body) < size:
            body.append(rng.choice(texts))
        code = "".join(rng.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(6))
        body.append(f"Order {rng.randrange(10_000, 99_999)}, reference {code}.")
        msg["From"] = sender
        msg["To"] = "support@postdesk.test"
        msg["Subject"] = subject
        msg["Message-ID"] = f"<varied-{n}@example.net>"
        msg["Date"] = "Fri, 27 Nov 2026 09:00:00 +0000"
        msg.set_content("\n\n".join(body))
        out.append(msg.as_bytes())
    return out


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


# The indexes on `interactions` that only the recordings search reads (migrations 0020, 0035,
# 0038, 0040); 0040 replaced `ix_interactions_agent` (agent, state), which other queries
# use, so `without_search` puts it back.
SEARCH_INDEXES = (
    "ix_interactions_last_message_at",
    "ix_interactions_client_email",
    "ix_interactions_subject",
    "ix_interactions_campaign_created",
    "ix_interactions_agent_last",
    "ix_interactions_direction_created",
    "ix_interactions_created_client",
    "ix_interactions_agent_created",
    "ix_interactions_agent_client",
    "ix_interactions_agent_state_last",
)


def without_search(db: Path) -> None:
    """The database at head as if issue 15's search had never kept anything up to date: its
    triggers (the FTS5 documents, `search_*`; the message count, `messages_count_*`) and
    its indexes dropped. The tables stay: nothing writes them without the triggers."""
    conn = sqlite3.connect(db)
    try:
        triggers = [
            name
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            if name.startswith(("search_", "messages_count_"))
        ]
        for name in triggers:
            conn.execute(f"DROP TRIGGER {name}")
        for name in SEARCH_INDEXES:
            conn.execute(f"DROP INDEX {name}")
        conn.execute("CREATE INDEX ix_interactions_agent ON interactions (agent_id, state)")
        conn.commit()
    finally:
        conn.close()


async def run_postdesk(
    mailbox: Mailbox, work: Path, count: int, name: str = "postdesk", search: bool = True
) -> float:
    settings = Settings(home=work / name)
    db = settings.home / "postdesk.db"
    if not search:  # the schema made (the engine's own start does it too), then stripped
        settings.home.mkdir(parents=True)
        database = Database(sqlite_url(db))
        await database.upgrade()
        await database.close()
        without_search(db)
    engine = Engine(settings)
    await engine.start()
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
    parser.add_argument("--search-cost", type=int, default=0, metavar="ROUNDS")
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
        took: dict[bool, list[float]] = {True: [], False: []}
        if args.search_cost:
            varied = dovecot.new_mailbox("varied")
            dovecot.append_many(varied, varied_mail(args.messages))
        for n in range(args.search_cost):
            for search in (True, False) if n % 2 else (False, True):
                name = f"postdesk-{n}-{'with' if search else 'without'}"
                took[search].append(
                    asyncio.run(run_postdesk(varied, work, args.messages, name, search))
                )
                shutil.rmtree(work / name, ignore_errors=True)
    finally:
        dovecot.stop()
        shutil.rmtree(work, ignore_errors=True)
    n = args.messages
    print(f"messages: {n} of {size} bytes")
    print(f"mbsync:   {mbsync_seconds:7.2f} s  {n / mbsync_seconds:8.0f} msg/s")
    print(f"postdesk: {postdesk_seconds:7.2f} s  {n / postdesk_seconds:8.0f} msg/s")
    print(f"ratio:    {mbsync_seconds / postdesk_seconds:.2f}x mbsync (target >= 0.5x)")
    if args.search_cost:
        with_, without = statistics.median(took[True]), statistics.median(took[False])
        runs = ", ".join(f"{t:.2f}" for t in took[True])
        print(f"varied mail (--search-cost), {n} messages:")
        print(f"with the search index:    median {with_:7.2f} s  {n / with_:8.0f} msg/s  ({runs})")
        runs = ", ".join(f"{t:.2f}" for t in took[False])
        print(
            f"without the search index: median {without:7.2f} s  {n / without:8.0f} msg/s  ({runs})"
        )
        print(
            f"search index upkeep: {(with_ - without) / n * 1e6:+.0f} us per message"
            f" ({(with_ / without - 1) * 100:+.0f}% of ingestion)"
        )
    print(f"target ingest-vs-mbsync: {mbsync_seconds / postdesk_seconds:.2f} x (goal >= 0.5)")


if __name__ == "__main__":
    main()
