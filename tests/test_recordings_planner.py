"""The recordings search's planner gives the same rows, in the same order, as a plain scan.

A small generated database (a few thousand interactions, addresses, subjects, bodies of a
Zipf vocabulary) is searched with every kind of query of `bench/search.py`'s mix, several
sorts, pages and visibility, once through the real service (whatever path its planner
picks: copy the hits, walk the sort's index, filters first; counts capped) and once
through a reference that only scans (LIKE, each word in any message of the thread, exact
counts). The thresholds are shrunk so that every path of the planner runs on this size.
Runs on SQLite and, in the PostgreSQL pass, on PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import and_, exists

from data.db import Database, sqlite_url
from data.models import (
    Campaign,
    Direction,
    Interaction,
    InteractionState,
    Message,
    MessageState,
    User,
)
from engine.api.schemas import RecordingQuery
from engine.services.recordings import on_sqlite, search
from engine.services.recordings.search import (
    Filter,
    LikeBackend,
    RecordingsSearch,
    backend_for,
    words,
)
from tests.engine_fixtures import database_url_for

CAMPAIGNS = ["Support", "Sales", "Billing"]
AGENTS = ["ana", "bob", "cy", "dee"]
DOMAINS = ["gmail.com", "acme.example", "shop.example", "mail.test"]
FIRST = ["ana", "bob", "carla", "dmitri", "eve"]
SUBJECTS = ["Order {n} late", "Refund for {n}", "Invoice INV-{n}", "Hello", "Broken item {n}"]
# Words of equal length: none is part of another, so a LIKE scan finds what a word index finds.
VOCABULARY = [a + b for a in ("ka", "lo", "mi", "ne", "ru", "sa", "to", "ve") for b in
              ("pa", "qi", "ro", "su", "ty", "wu")]  # fmt: skip
INTERACTIONS = 3000
NOW = datetime(2026, 12, 1, tzinfo=UTC)


class Reference(LikeBackend):
    """The scan, with the documented meaning of several words: each in any message."""

    def text(self, value: str) -> Filter:
        return and_(
            *(
                exists().where(
                    Message.interaction_id == Interaction.id,
                    Message.text.ilike(f"%{term}%"),
                )
                for term in words(value)
            )
        )


def generate(rng: random.Random) -> tuple[list[dict], list[dict]]:  # type: ignore[type-arg]
    weights = [1 / (rank + 1) for rank in range(len(VOCABULARY))]
    interactions, messages = [], []
    for n in range(1, INTERACTIONS + 1):
        first = rng.choice(FIRST)
        email = f"{first}.{rng.randrange(300)}@{rng.choice(DOMAINS)}"
        created = NOW - timedelta(minutes=rng.randrange(400 * 24 * 60))
        # Ties on purpose: the id breaks them, in both directions.
        last = created + timedelta(hours=rng.choice([0, 0, 1, 5, 30]))
        outbound = rng.random() < 0.2
        interactions.append(
            {
                "id": n,
                "campaign_id": rng.randrange(1, len(CAMPAIGNS) + 1),
                "agent_id": rng.randrange(1, len(AGENTS) + 1) if rng.random() < 0.9 else None,
                "state": rng.choice(
                    [InteractionState.CLOSED] * 6
                    + [InteractionState.QUEUED, InteractionState.ASSIGNED]
                ),  # fmt: skip
                "direction": Direction.OUTBOUND if outbound else Direction.INBOUND,
                "client_email": email,
                "client_name": first.title(),
                "subject": rng.choice(SUBJECTS).format(n=rng.randrange(100, 400)),
                "created_at": created,
                "queued_at": created,
                "last_message_at": last,
            }
        )
        for _ in range(rng.choice([1, 1, 2, 3])):
            body = " ".join(rng.choices(VOCABULARY, weights=weights, k=rng.randint(3, 12)))
            messages.append(
                {
                    "interaction_id": n,
                    "direction": Direction.INBOUND,
                    "state": MessageState.RECEIVED,
                    "text": f"{body}. Reference r{rng.randrange(10_000, 99_999)}.",
                    "created_at": created,
                }
            )
    return interactions, messages


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(database_url_for(tmp_path) or sqlite_url(tmp_path / "planner.db"))
    await database.upgrade()
    interactions, messages = generate(random.Random(15))
    async with database.session() as session:
        session.add_all(
            Campaign(name=name, email_address=f"c{i}@postdesk.test")
            for i, name in enumerate(CAMPAIGNS)
        )
        session.add_all(User(username=name, roles=["agent"]) for name in AGENTS)
        await session.flush()
        await session.execute(Interaction.__table__.insert(), interactions)
        await session.execute(Message.__table__.insert(), messages)
        await session.commit()
    yield database
    await database.close()


def mix(rng: random.Random) -> list[RecordingQuery]:
    month = date(2026, rng.randrange(1, 12), 1)
    end = month + timedelta(days=30)
    rare = f"r{rng.randrange(10_000, 99_999)}"
    q = RecordingQuery
    return [
        q(),
        q(email=f"{rng.choice(FIRST)}.{rng.randrange(300)}"),
        q(email=rng.choice(DOMAINS)),
        q(email="e.", sort="client", descending=False),
        q(subject=f"INV-{rng.randrange(100, 400)}"),
        q(subject="refund"),
        q(text=rare),
        q(text=VOCABULARY[rng.randrange(20, 40)]),  # a middling word
        q(text=VOCABULARY[rng.randrange(0, 3)]),  # a common word
        q(text=f"{VOCABULARY[1]} {VOCABULARY[rng.randrange(10, 30)]}"),
        q(campaign=rng.choice(CAMPAIGNS), start=month, end=end),
        q(agent=rng.choice(AGENTS), state="closed"),
        q(campaign=rng.choice(CAMPAIGNS), text=VOCABULARY[0], state="open"),
        q(campaign=rng.choice(CAMPAIGNS), text=VOCABULARY[25], state="open"),
        q(direction="inbound", text=VOCABULARY[2]),
        q(email=rng.choice(DOMAINS), start=month, end=end),
        q(text=VOCABULARY[1], sort="client", page=5),
        q(text=VOCABULARY[1], sort="subject", descending=False, page=3),
        q(direction="outbound", start=month, end=end, sort="created"),
        q(any=rng.choice(["gmail", "refund", VOCABULARY[4]])),
        q(any="order", state="closed", page=2),
        # A period by last message, either way, past page 1: only the late-ending rows
        # sorted (`on_sqlite.Runner.bound`).
        q(campaign=rng.choice(CAMPAIGNS), start=month, end=end, descending=False),
        q(campaign=rng.choice(CAMPAIGNS), start=month, end=end, page=2),
        q(start=month, end=end, state="closed", descending=False, page=2),
        # Walks that read only matches, counted only to the cap (migration 0040).
        q(agent=rng.choice(AGENTS), state="closed", page=3, descending=False),
        q(campaign=rng.choice(CAMPAIGNS), start=month, end=end, sort="created"),
        q(agent=rng.choice(AGENTS), start=month, sort="created", descending=False),
        # A recent period (walked newest first) and an old long one (its late-ending rows
        # sorted): `on_sqlite.period_by_last`.
        q(start=date(2026, 11, 1), state="closed"),
        q(campaign=rng.choice(CAMPAIGNS), start=date(2025, 1, 1), end=date(2025, 12, 31)),
        q(start=date(2026, 10, 1), descending=False, page=2),
    ]


def sized(query: RecordingQuery, page_size: int) -> RecordingQuery:
    fields = {f: getattr(query, f) for f in query.__struct_fields__}
    return RecordingQuery(**{**fields, "page_size": page_size})


@pytest.mark.parametrize("rare_trigrams", [True, False])
async def test_every_path_finds_what_the_scan_finds(
    db: Database, monkeypatch: pytest.MonkeyPatch, rare_trigrams: bool
) -> None:
    # Shrunk to this database's size, so that each branch of the planner runs here.
    monkeypatch.setattr(search, "ROWS_FEW", 60)
    monkeypatch.setattr(search, "ROWS_MANY", 700)
    # A period by last message: walked when few rows end after its bound (`period_by_last`).
    monkeypatch.setattr(on_sqlite, "PERIOD_WALK", 60 if rare_trigrams else 10_000)
    if not rare_trigrams:
        # On SQLite, every trigram of an address or subject counted as common: the whole
        # phrase is looked up (with rare ones, the rarest and each candidate's row). And
        # no handful of hits is checked row by row before the filters' rows are counted.
        monkeypatch.setattr(on_sqlite, "RANK_LIMIT", 0)
        monkeypatch.setattr(on_sqlite, "TINY", 0)
    planned = RecordingsSearch(db, backend_for(db.engine.dialect.name), count_cap=30)
    scanned = RecordingsSearch(db, Reference())
    rng = random.Random(7)
    capped_seen = exact_seen = 0
    for round_ in range(4):
        user = None if round_ % 2 == 0 else rng.randrange(1, len(AGENTS) + 1)
        for base in mix(rng):
            for page_size in (3, 40):
                query = sized(base, page_size)
                got = await planned.search(query, user)
                want = await scanned.search(
                    RecordingQuery(**{**_fields(query), "exact_count": True}), user
                )
                what = f"{query} as user {user}"
                assert [r.id for r in got.items] == [r.id for r in want.items], what
                if got.capped:
                    capped_seen += 1
                    end = query.page * query.page_size
                    assert got.total >= max(30, end + 1), what
                    assert want.total >= got.total, what
                else:
                    exact_seen += 1
                    assert got.total == want.total, what
                exact = await planned.search(
                    RecordingQuery(**{**_fields(query), "exact_count": True}), user
                )
                assert (exact.total, exact.capped) == (want.total, False), what
                assert [r.id for r in exact.items] == [r.id for r in want.items], what
    assert capped_seen > 20 and exact_seen > 20  # both kinds of count were exercised


def _fields(query: RecordingQuery) -> dict[str, object]:
    return {f: getattr(query, f) for f in query.__struct_fields__}


async def test_a_capped_count_still_reaches_every_page(db: Database) -> None:
    """Past the cap, the next page is always there to ask for, and the last page ends it."""
    planned = RecordingsSearch(db, backend_for(db.engine.dialect.name), count_cap=30)
    word = VOCABULARY[25]  # a few hundred matches: past the cap, several pages
    everything = await RecordingsSearch(db, Reference()).search(
        RecordingQuery(text=word, page_size=500, exact_count=True), None
    )
    seen: list[int] = []
    page = 1
    while True:
        got = await planned.search(RecordingQuery(text=word, page=page, page_size=40), None)
        seen += [r.id for r in got.items]
        if not got.total > page * 40:  # what the console and ctl check for "a next page"
            break
        page += 1
    assert 120 < len(everything.items) < 500
    assert seen == [r.id for r in everything.items]
