"""The search indexes' upkeep (SQLite): merged into one segment each, in bounded steps, and
every search finds the same rows, in the same order, with the same counts as before.

The interactions of `test_recordings_planner` are stored in 30 transactions with FTS5's own
merging off, so each index is many segments, as a live one is; the upkeep merges them in
steps of a few pages (many steps here), and FTS5's integrity check holds after it. Always on
SQLite (PostgreSQL's GIN indexes need no merging): the PostgreSQL pass leaves it out
(tests/conftest.py)."""

from __future__ import annotations

import random
from pathlib import Path

from sqlalchemy import text

from data.db import Database, sqlite_url
from data.models import Campaign, Interaction, Message, User
from engine.services.recordings.search import RecordingsSearch
from engine.services.recordings.upkeep import INDEXES, SearchUpkeep
from tests.test_recordings_planner import AGENTS, CAMPAIGNS, generate, mix


async def segments(db: Database, index: str) -> int:
    async with db.session() as session:
        return int(
            await session.scalar(text(f"SELECT count(DISTINCT segid) FROM {index}_idx")) or 0
        )


async def test_merged_indexes_find_the_same(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path / "upkeep.db"))
    await db.upgrade()
    interactions, messages = generate(random.Random(15))
    async with db.session() as session:
        for index in INDEXES:  # as a live index between FTS5's own merges
            await session.execute(
                text(f"INSERT INTO {index}({index}, rank) VALUES ('automerge', 0)")
            )
        session.add_all(
            Campaign(name=name, email_address=f"c{i}@postdesk.test")
            for i, name in enumerate(CAMPAIGNS)
        )
        session.add_all(User(username=name, roles=["agent"]) for name in AGENTS)
        await session.commit()
    for part in range(30):
        async with db.session() as session:
            await session.execute(Interaction.__table__.insert(), interactions[part::30])
            ids = {row["id"] for row in interactions[part::30]}
            await session.execute(
                Message.__table__.insert(), [m for m in messages if m["interaction_id"] in ids]
            )
            await session.commit()
    assert [await segments(db, index) >= 10 for index in INDEXES] == [True, True]
    search = RecordingsSearch(db, count_cap=30)
    queries = [(query, user) for user in (None, 2) for query in mix(random.Random(3))]
    before = [await search.search(query, user) for query, user in queries]

    steps = await SearchUpkeep(db, pages=8, pause=0).merge()

    assert steps > len(INDEXES)  # bounded steps, several per index
    assert [await segments(db, index) for index in INDEXES] == [1, 1]
    async with db.session() as session:
        for index in INDEXES:
            await session.execute(text(f"INSERT INTO {index}({index}) VALUES ('integrity-check')"))
    after = [await search.search(query, user) for query, user in queries]
    assert [(p.total, p.capped, [r.id for r in p.items]) for p in after] == [
        (p.total, p.capped, [r.id for r in p.items]) for p in before
    ]
    assert sum(len(p.items) for p in after) > 100  # the searches found something
    assert await SearchUpkeep(db, pages=8, pause=0).merge() == 0  # nothing left to merge
    await db.close()
