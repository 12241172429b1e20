"""bench/search: the recordings search (FTS5) against the LIKE scan, same database, same run.

Builds a database of N messages (default 1,000,000; ~1.7 per interaction, bodies of realistic
size drawn from a Zipf vocabulary with names, order numbers and product codes as the rare
tail), inserted with executemany under revision 0019, then upgraded to head: migration 0020
builds the indexes for the existing data (its time is printed). Then a fixed mix of filter
combinations runs through the real service (`RecordingsSearch`: a page of 40 and the count,
capped at 1,000 as the console and ctl ask by default), and through `IssueScan`, the LIKE
scan issue 15 measured (one statement, `lower(col) LIKE '%q%'`, joined with the campaigns,
sorted on the sort column without an index, a page of 40), and prints p50/p99 of both.

    uv run python -m bench.search [--messages 1000000] [--keep DIR] [--scan-schema head]

The scan runs on a copy of the database with the indexes the issue's database had and no
other (the schema of revision 0019, `scan_copy`): the same rows, none of the indexes issue
15 added for the search (an agent's newest, a campaign's period, sent mail by date), and the
one on an agent's states that migration 0040 replaced made again. `--scan-schema head` runs
it on the database itself, with every index of today's schema (a stricter reference than
the issue's; the ratio printed says which).

Both run the same searches (20 rounds of the mix, 300 searches, by default): the mix has
fast and slow kinds for either, so a median of a few rounds of the scan moved with which kinds
fell in its middle (3 rounds: 69-147 ms on one database; 20 rounds: ~71 ms). The scan's 20
rounds take ~5 minutes on 1M messages; `--like-rounds N` measures it on the first N only.

Ends with `target search-p99: N ms (goal <= 50)` and `target search-vs-like: N x (goal >= 100)`
(the slower of the p50 and p99 ratios).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from data.db import Database, sqlite_url
from data.models import Campaign, Interaction
from engine.api.schemas import RecordingPage, RecordingQuery
from engine.services.queries import summaries_where
from engine.services.recordings.search import (
    SORTS,
    FtsBackend,
    LikeBackend,
    RecordingsSearch,
    in_order,
    plan,
)
from engine.services.recordings.upkeep import SearchUpkeep

COMMON = (
    "the to and a of i you is for in my it on this that have we be with your not are please "
    "order was can as but at me if an or from so do would could thank thanks hello regards "
    "will no has about been all our there they what when which any just time one week still "
    "received delivery parcel refund invoice account payment package return item product "
    "price help issue problem email number address customer service support call phone "
    "today yesterday tomorrow again already since before after new know need want like get "
    "send sent got check update change cancel replace broken damaged missing wrong late "
    "tracking courier box size colour color card bank transfer credit charge twice billing "
    "subscription plan login password reset app website page error code message reply "
    "manager complaint urgent soon possible asap kind best dear sir madam team monday friday"
).split()
SYLLABLES = "ka lo mi ne ru sa to ve zi bra chi dro fle gri klo pra sto tre vol wen".split()
DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "gmx.de"] + [
    f"{a}{b}.example" for a in ("acme", "globex", "initech", "umbrella", "stark") for b in "abcd"
]
FIRST = "ana bob carol dana eve frank gina hugo ines jon kim luis maria nils olga pablo".split()
LAST = "smith garcia muller rossi dubois silva kowalski jensen novak horvat quinn".split()
SUBJECTS = [
    "Order {n} not delivered",
    "Refund request for order {n}",
    "Question about invoice INV-{n}",
    "Cannot log in to my account",
    "Damaged item in parcel {n}",
    "Change of address",
    "Subscription cancellation",
    "Charged twice for order {n}",
    "Re: Your ticket {n}",
    "Where is my package?",
]
PAGE = 40


def vocabulary(rng: random.Random, size: int = 30_000) -> list[str]:
    tail = {"".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(size)}
    return COMMON + sorted(tail - set(COMMON))


def paragraphs(rng: random.Random, words: list[str], count: int) -> list[str]:
    weights = [1 / (rank + 1) for rank in range(len(words))]  # Zipf, s = 1
    out = []
    for _ in range(count):
        chosen = rng.choices(words, cum_weights=_cumulative(weights), k=rng.randint(25, 90))
        chosen[0] = chosen[0].capitalize()
        out.append(" ".join(chosen) + ".")
    return out


def _cumulative(weights: list[float], _cache: dict[int, list[float]] = {}) -> list[float]:  # noqa: B006
    key = len(weights)
    if key not in _cache:
        total, acc = 0.0, []
        for w in weights:
            total += w
            acc.append(total)
        _cache[key] = acc
    return _cache[key]


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")  # how SQLAlchemy stores DateTime on SQLite


def insert(conn: sqlite3.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    names = list(rows[0])
    quoted = ", ".join(f'"{n}"' for n in names)
    conn.executemany(
        f"INSERT INTO {table} ({quoted}) VALUES ({', '.join('?' for _ in names)})",
        [tuple(row[n] for n in names) for row in rows],
    )


# How `fill` lays the rows out; a database kept (`--keep`) from another layout is refused,
# not measured: its figures would not compare. "arrival": ids in `created_at` order (until
# 2026-12-07 `created_at` was drawn at random for each id, which no engine writes).
LAYOUT = "arrival"


def fill(path: Path, messages: int, rng: random.Random) -> dict[str, Any]:
    """Campaigns, agents, interactions and messages; returns what the query mix draws from."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    now = datetime(2026, 12, 1, tzinfo=UTC)
    campaigns = ["Support", "Sales", "Billing", "Returns", "Shop DE", "Shop FR", "VIP", "Press"]
    insert(conn, "campaigns", [_campaign(i + 1, name, now) for i, name in enumerate(campaigns)])
    agents = [f"agent{n:02d}" for n in range(1, 61)]
    insert(conn, "users", [_user(i + 1, name, now) for i, name in enumerate(agents)])
    words = vocabulary(rng)
    texts = paragraphs(rng, words, 20_000)
    customers = [
        (f"{rng.choice(FIRST)}.{rng.choice(LAST)}{n}@{rng.choice(DOMAINS)}", n)
        for n in range(max(messages // 5, 10))
    ]
    interactions: list[dict[str, Any]] = []
    batch: list[dict[str, Any]] = []
    message_id = 0
    interaction_id = 0
    span = 730 * 86400
    while message_id < messages:
        interaction_id += 1
        email, n = rng.choice(customers)
        first, last = email.split("@")[0].rstrip("0123456789").split(".")
        # In arrival order, as the engine numbers them: an interaction is inserted when its
        # first mail comes (`created_at` = now), so ids grow with `created_at` in every
        # Postdesk database, and a period's rows sit together in the table.
        created = now - timedelta(seconds=span * (messages - message_id) / messages)
        thread = min(1 + int(rng.expovariate(1 / 1.2)), messages - message_id)
        last_at = created + timedelta(minutes=rng.randrange(1, 4000) * (thread - 1))
        outbound = rng.random() < 0.1
        interactions.append(
            {
                "id": interaction_id,
                "campaign_id": rng.randrange(1, len(campaigns) + 1),
                "agent_id": rng.randrange(1, len(agents) + 1) if rng.random() < 0.9 else None,
                "state": "closed" if rng.random() < 0.85 else rng.choice(["queued", "assigned"]),
                "direction": "outbound" if outbound else "inbound",
                "client_email": email,
                "client_name": f"{first.title()} {last.title()}",
                "subject": rng.choice(SUBJECTS).format(n=rng.randrange(10_000, 99_999)),
                "cc": "[]",
                "bcc": "[]",
                "unread": 0,
                "draft": "",
                "created_at": stamp(created),
                "queued_at": stamp(created),
                "last_message_at": stamp(last_at),
                "overflow": 0,
                "handling_seconds": 0,
            }
        )
        for k in range(thread):
            message_id += 1
            size = min(int(rng.lognormvariate(6.8, 0.7)), 20_000)  # median ~900 characters
            body = []
            while sum(len(p) for p in body) < size:
                body.append(rng.choice(texts))
            code = "".join(rng.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(6))
            body.append(f"Order {rng.randrange(10_000, 99_999)}, reference {code}.")
            body.append(f"{first.title()} {last.title()}")
            batch.append(
                {
                    "id": message_id,
                    "interaction_id": interaction_id,
                    "direction": "inbound" if (k % 2 == 0) != outbound else "outbound",
                    "state": "received",
                    "message_id": f"<{message_id}@bench.example>",
                    "in_reply_to": "",
                    "references": "[]",
                    "from_email": email,
                    "from_name": "",
                    "to": "[]",
                    "cc": "[]",
                    "bcc": "[]",
                    "subject": interactions[-1]["subject"],
                    "text": "\n\n".join(body),
                    "html": "",
                    "raw_sha256": "",
                    "auto_submitted": 0,
                    "attempts": 0,
                    "error": "",
                    "created_at": stamp(created),
                    "kind": "customer",
                }
            )
        if len(batch) >= 20_000:
            insert(conn, "interactions", interactions)
            insert(conn, "messages", batch)
            conn.commit()
            interactions, batch = [], []
    if interactions:
        insert(conn, "interactions", interactions)
    if batch:
        insert(conn, "messages", batch)
    conn.commit()
    rare_codes = [
        row[0].rsplit("reference ", 1)[1].split(".")[0]
        for row in conn.execute(
            "SELECT text FROM messages WHERE id IN (?, ?, ?, ?)",
            tuple(rng.randrange(1, message_id + 1) for _ in range(4)),
        )
    ]
    conn.close()
    return {
        "layout": LAYOUT,
        "interactions": interaction_id,
        "campaigns": campaigns,
        "agents": agents,
        "customers": [email for email, _ in customers],
        "codes": rare_codes,
        "words": words,
    }


def _campaign(cid: int, name: str, now: datetime) -> dict[str, Any]:
    return {
        "id": cid, "name": name, "enabled": 1, "receive_emails": 0, "service_level_seconds": 3600,
        "from_name": name, "email_address": f"c{cid}@postdesk.test", "inbound": "maildir",
        "imap_host": "", "imap_port": 993, "imap_security": "tls", "imap_username": "",
        "imap_folder": "INBOX", "imap_sent_folder": "", "maildir_path": "", "smtp_host": "",
        "smtp_port": 25, "smtp_security": "plain", "smtp_username": "", "tls_verify": 1,
        "max_interactions_per_agent": 5, "max_interactions_in_queue": 0,
        "qualification_enabled": 0, "qualification_motivation": "", "qualification_thanks": "",
        "threshold_warning_seconds": 0, "threshold_critical_seconds": 0,
        "confirmation_enabled": 0, "created_at": stamp(now), "time_zone": "UTC",
        "availability": "up-to-max", "delivery": "least-active", "track_replies": 0,
    }  # fmt: skip


def _user(uid: int, name: str, now: datetime) -> dict[str, Any]:
    return {
        "id": uid, "username": name, "display_name": name.title(), "roles": '["agent"]',
        "status": "offline", "status_reason": "", "status_since": stamp(now),
        "screen_monitoring_allowed": 0, "created_at": stamp(now),
    }  # fmt: skip


def query_mix(facts: dict[str, Any], rng: random.Random) -> list[tuple[str, RecordingQuery]]:
    """The fixed mix: what supervisors ask, each kind with fresh values per round."""
    customer = rng.choice(facts["customers"])
    local = customer.split("@")[0]
    words: list[str] = facts["words"]
    mid = words[len(COMMON) + rng.randrange(500, 5000)]  # a word of the middle of the tail
    campaign = rng.choice(facts["campaigns"])
    agent = rng.choice(facts["agents"])
    month = date(2026, rng.randrange(1, 12), 1)
    month_end = month + timedelta(days=30)
    q = RecordingQuery
    return [
        ("everything, latest first", q()),
        ("email: one customer", q(email=local)),
        ("email: a domain", q(email=customer.split("@")[1])),
        ("subject: an invoice number", q(subject=f"INV-{rng.randrange(10_000, 99_999)}")),
        ("subject: a common word", q(subject="refund")),
        ("text: a reference code", q(text=rng.choice(facts["codes"]))),
        ("text: a mid-frequency word", q(text=mid)),
        ("text: a common word", q(text=rng.choice(["parcel", "invoice", "refund", "broken"]))),
        ("text: two words", q(text=f"{rng.choice(COMMON[40:])} {mid}")),
        ("campaign + a month", q(campaign=campaign, start=month, end=month_end)),
        ("agent + closed", q(agent=agent, state="closed")),
        ("campaign + text + open", q(campaign=campaign, text="refund", state="open")),
        ("email domain + a month", q(email=customer.split("@")[1], start=month, end=month_end)),
        ("text common, page 5 by client", q(text="parcel", sort="client", page=5)),
        ("outbound + a month by created",
         q(direction="outbound", start=month, end=month_end, sort="created")),
    ]  # fmt: skip


class IssueScan:
    """The reference: the search as issue 15 measured it before any index, one statement per
    page. Each text filter is `lower(col) LIKE '%q%'` (`LikeBackend`: address or name,
    subject, a message's text), the plain filters are the same conditions as the service's,
    the campaigns are joined (the old box looked in their names too), and the rows are sorted
    on the sort column as the issue's database had it: without an index (`+col` keeps SQLite
    from walking the sort indexes that issue 15 added; `created` had one before and keeps
    it). A page of 40, no count (the old search counted nothing), the same summaries.

    It is not the service's planner with the LIKE backend: that one walks the sort indexes
    and shares the capped count, which is the work of issue 15, not the scan it replaces.
    It runs on `scan_copy`'s database: with today's indexes the `+col` spared the sort
    indexes only, and an agent's rows (every third round) or a campaign's period were sought
    in the indexes issue 15 added for them (migrations 0020, 0035, 0038, 0040)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.backend = LikeBackend()

    async def search(self, query: RecordingQuery, user_id: int | None) -> RecordingPage:
        async with self.db.session() as session:
            found = await plan(session, self.backend, query, user_id)
            key = SORTS[query.sort]
            name = f"interactions.{key.key}"
            column_ = name if query.sort == "created" else f"+{name}"
            way = "DESC" if query.descending else "ASC"
            statement = (
                select(Interaction.id)
                .join(Campaign, Campaign.id == Interaction.campaign_id)
                .where(*found.conditions, *(h.probe() for h in found.hits))
                .order_by(text(f"{column_} {way}, interactions.id {way}"))
                .limit(query.page_size)
                .offset((query.page - 1) * query.page_size)
            )
            ids = list((await session.execute(statement)).scalars())
            rows = await summaries_where(session, Interaction.id.in_(ids), limit=len(ids) or 1)
        return RecordingPage(
            total=len(ids), page=query.page, page_size=query.page_size, items=in_order(rows, ids)
        )


async def measure(
    search: RecordingsSearch | IssueScan,
    mixes: list[list[tuple[str, RecordingQuery]]],
    user: Callable[[int], int | None],
    pages: dict[tuple[int, str], list[list[int]]] | None = None,
) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {}
    for n, mix in enumerate(mixes):
        for name, query in mix:
            started = time.perf_counter()
            found = await search.search(query, user(n))
            times.setdefault(name, []).append((time.perf_counter() - started) * 1000)
            if pages is not None:
                pages.setdefault((n, name), []).append([row.id for row in found.items])
    return times


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def issue_indexes() -> dict[str, str]:
    """The indexes (name: definition) of the schema issue 15 measured its scan on (revision
    0019), read from an empty database migrated to it."""
    with tempfile.TemporaryDirectory(prefix="bench-search-0019-") as work:
        db = Database(sqlite_url(Path(work) / "schema.db"))
        await db.upgrade("0019")
        await db.close()
        conn = sqlite3.connect(Path(work) / "schema.db")
        try:
            return dict(conn.execute(INDEXES).fetchall())
        finally:
            conn.close()


# Named indexes only: SQLite's own (primary keys, UNIQUE) have no definition.
INDEXES = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"


def scan_copy(path: Path, copy: Path, schema: dict[str, str]) -> tuple[list[str], list[str]]:
    """`path` copied to `copy` (its log checkpointed first: the same rows), then given the
    indexes of `schema` and no other: those it lacks or defines otherwise dropped, those
    later migrations removed or changed made again (0040 replaced the 0001 index on an
    agent's states, which the issue's scan sought an agent's rows in). Returns the names
    dropped and made."""
    conn = sqlite3.connect(path)
    try:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        conn.close()
    if busy:
        raise SystemExit(f"{path}: its log could not be checkpointed (a reader holds it)")
    for leftover in (copy, copy.with_name(copy.name + "-wal"), copy.with_name(copy.name + "-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(path, copy)
    conn = sqlite3.connect(copy)
    try:
        now = dict(conn.execute(INDEXES).fetchall())
        dropped = sorted(name for name, sql in now.items() if schema.get(name) != sql)
        made = sorted(name for name, sql in schema.items() if now.get(name) != sql)
        for name in dropped:
            conn.execute(f'DROP INDEX "{name}"')
        for name in made:
            conn.execute(schema[name])
        conn.commit()
        return dropped, made
    finally:
        conn.close()


def warm(path: Path) -> None:
    """`path` read once from start to end, into the page cache."""
    with path.open("rb", buffering=0) as f:
        while f.read(16 << 20):
            pass


def index_bytes(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        row = conn.execute(
            "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'search\\_%' ESCAPE '\\'"
            " OR name IN ('ix_interactions_last_message_at', 'ix_interactions_client_email',"
            " 'ix_interactions_subject')"
        ).fetchone()
        return int(row[0] or 0)
    finally:
        conn.close()


async def run(messages: int, rounds: int, like_rounds: int, work: Path, scan_schema: str) -> None:
    path = work / "search.db"
    rng = random.Random(15)
    db = Database(sqlite_url(path))
    fresh = not path.exists()
    if fresh:
        await db.upgrade("0019")
        started = time.perf_counter()
        facts = fill(path, messages, rng)
        print(f"generated {messages:,} messages in {facts['interactions']:,} interactions"
              f" in {time.perf_counter() - started:.0f} s")  # fmt: skip
        started = time.perf_counter()
        await db.upgrade()  # migration 0020: the indexes for the existing data
        print(f"migration 0020 (index build) took {time.perf_counter() - started:.1f} s")
        (work / "facts.repr").write_text(repr(facts))
    else:
        facts = eval((work / "facts.repr").read_text())  # noqa: S307  # our own file
        if facts.get("layout") != LAYOUT:
            raise SystemExit(
                f"{path} was generated with another layout of the rows than {LAYOUT!r}:"
                " delete it (or give --keep another directory) to generate it again"
            )
        await db.upgrade()
    # What a running engine does on start and every 15 minutes (upkeep.py): the indexes merged
    # into one segment each. The scan reads no index: its figures do not depend on it.
    started = time.perf_counter()
    steps = await SearchUpkeep(db, pause=0).merge()
    print(f"index upkeep: {steps} merge steps in {time.perf_counter() - started:.1f} s")
    size = os.path.getsize(path) + sum(
        os.path.getsize(p) for p in (work / "search.db-wal",) if p.exists()
    )
    print(f"database {size / 2**20:,.0f} MiB; search index {index_bytes(path) / 2**20:,.0f} MiB")

    agents = len(facts["agents"])
    # Every third round asks as an agent (their own interactions only), the rest as a supervisor.
    as_user: Callable[[int], int | None] = lambda n: (n % agents) + 1 if n % 3 == 2 else None  # noqa: E731
    mixes = [query_mix(facts, random.Random(1000 + n)) for n in range(rounds)]
    fts = RecordingsSearch(db, FtsBackend())
    # Warm: the file read through once, so the index's searches do not depend on what the
    # machine's page cache kept of it since the last run (the scan's copy, just written, is).
    warm(path)
    await measure(fts, mixes[:1], as_user)
    answers: dict[tuple[int, str], list[list[int]]] = {}
    fts_times = await measure(fts, mixes, as_user, answers)
    # The copy after the index's searches: writing 3 GB leaves the disk busy for a while.
    scan_db = None
    if like_rounds and scan_schema == "issue":
        schema = await issue_indexes()
        started = time.perf_counter()
        dropped, made = scan_copy(path, work / "scan.db", schema)
        print(
            f"the scan's copy with the issue's indexes in {time.perf_counter() - started:.0f} s;"
            f" dropped: {', '.join(dropped) or 'none'}; made again: {', '.join(made) or 'none'}"
        )
        scan_db = Database(sqlite_url(work / "scan.db"))
    like = IssueScan(scan_db or db)
    like_times = await measure(like, mixes[:like_rounds], as_user, answers)
    # Substrings of addresses and subjects: the index must find exactly what the scan finds
    # (words in bodies differ on purpose: `parcel` is not `parcels`).
    for (n, name), got in answers.items():
        if len(got) == 2 and "text" not in name and got[0] != got[1]:
            print(f"MISMATCH {name} (round {n}): fts page {got[0][:5]}..., scan {got[1][:5]}...")
    await db.close()
    if scan_db is not None:
        await scan_db.close()
        for name in ("scan.db", "scan.db-wal", "scan.db-shm"):  # made again each run
            (work / name).unlink(missing_ok=True)

    print(f"\n{'query':34} {'fts p50':>9} {'fts max':>9} {'like p50':>9}")
    for name in fts_times:
        f, lk = fts_times[name], like_times.get(name)
        scan = f"{statistics.median(lk):8.0f}" if lk else f"{'-':>8}"
        print(f"{name:34} {statistics.median(f):8.1f}  {max(f):8.1f}  {scan}")
    all_fts = [t for ts in fts_times.values() for t in ts]
    all_like = [t for ts in like_times.values() for t in ts]
    p50, p99 = percentile(all_fts, 50), percentile(all_fts, 99)
    print(f"\nfts:  p50 {p50:.1f} ms  p99 {p99:.1f} ms  ({len(all_fts)} searches)")
    print(f"messages: {messages:,}")
    print(f"target search-p99: {p99:.1f} ms (goal <= 50)")
    if not all_like:  # --like-rounds 0: the index alone, no ratio to print
        return
    lp50, lp99 = percentile(all_like, 50), percentile(all_like, 99)
    print(
        f"like: p50 {lp50:.0f} ms  p99 {lp99:.0f} ms  ({len(all_like)} searches,"
        f" {scan_schema} schema's indexes)"
    )
    ratio = min(lp50 / p50, lp99 / p99)
    print(f"target search-vs-like: {ratio:.0f} x (goal >= 100)")


async def ingest_cost(messages: int) -> None:
    """The same N messages written (executemany, one commit per 20,000) into a database
    without the search triggers (revision 0019) and one with them (head): the difference is
    what keeping the index in the writer's transaction costs each message."""
    took = {}
    for revision in ("0019", "head"):
        with tempfile.TemporaryDirectory(prefix="bench-ingest-cost-") as name:
            work = Path(name)
            db = Database(sqlite_url(work / "cost.db"))
            await db.upgrade(revision)
            await db.close()
            started = time.perf_counter()
            fill(work / "cost.db", messages, random.Random(15))
            took[revision] = time.perf_counter() - started
    extra = (took["head"] - took["0019"]) / messages * 1e6
    print(f"writing {messages:,} messages: {took['0019']:.1f} s without the index triggers,"
          f" {took['head']:.1f} s with them: +{extra:.0f} us per message")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=20, help="rounds of the mix, FTS")
    parser.add_argument(
        "--like-rounds",
        type=int,
        default=None,
        help="rounds of the mix, LIKE (default: as many as FTS, the same searches both ways)",
    )
    parser.add_argument("--keep", type=Path, default=None, help="reuse/keep the database here")
    parser.add_argument(
        "--scan-schema",
        choices=("issue", "head"),
        default="issue",
        help="the scan's indexes: the issue's database's (revision 0019) or today's every one",
    )
    parser.add_argument(
        "--ingest-cost", action="store_true", help="only: what the triggers cost per message"
    )
    args = parser.parse_args()
    if args.ingest_cost:
        asyncio.run(ingest_cost(args.messages))
        return
    like_rounds = args.rounds if args.like_rounds is None else args.like_rounds
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    # Without --keep, a directory removed after the run (3 GB for 1M messages).
    place = (
        nullcontext(str(args.keep))
        if args.keep
        else tempfile.TemporaryDirectory(prefix="bench-search-")
    )
    with place as work:
        asyncio.run(run(args.messages, args.rounds, like_rounds, Path(work), args.scan_schema))


if __name__ == "__main__":
    main()
