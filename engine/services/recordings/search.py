"""The recordings search: every filter of the manual's "Email recordings" (plus the messages'
text, state and direction), combined, paged, sorted, counted (up to a cap unless asked).

All query building lives here. What depends on the database is one `Backend`: how "any part
of the address", "any part of the subject" and "these words in the messages" become
conditions on `interactions`. `FtsBackend` uses SQLite FTS5 (the tables and triggers of
migration 0020); `PgBackend` uses PostgreSQL's pg_trgm and word (tsvector) indexes of
migration 0029; `LikeBackend` is the portable scan (the reference `bench/search.py` measures
against). Visibility is
applied here too, so no caller can forget it: an agent finds only interactions assigned to
them, supervisors and admins everything.

Paging is by offset: supervisors jump between pages and change the sort; each sort has an
index ending in the id, so the order is total. Counts stop at `COUNT_CAP` unless the caller
asks for the exact figure: on a large database the exact count of a common word costs far
more than its first page (docs/recordings.md, "Query planning, paging, counts").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    TextClause,
    and_,
    bindparam,
    column,
    exists,
    func,
    insert,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from data.db import Database
from data.models import Campaign, Direction, Interaction, InteractionState, Message, User
from engine.api.schemas import (
    InteractionSummary,
    RecordingChoices,
    RecordingPage,
    RecordingQuery,
)
from engine.errors import Invalid
from engine.services.queries import summaries_where, working_campaigns
from engine.services.recordings import on_sqlite
from engine.services.recordings.needles import TRIGRAM, quoted, words
from engine.services.recordings.needles import like_pattern as like_pattern  # re-exported
from engine.services.work import wrapups

SORTS = {
    "last": Interaction.last_message_at,
    "created": Interaction.created_at,
    "client": Interaction.client_email,
    "subject": Interaction.subject,
}


def _like(col: QueryableAttribute[str], value: str) -> ColumnElement[bool]:
    return col.ilike(like_pattern(value), escape="\\")


@dataclass(frozen=True)
class Hits:
    """A text filter an index answers: interactions matching any of `alternatives`, each a
    (FTS5 table, MATCH string). Kept apart from plain conditions so the planner can count
    it in the index alone and choose how to join it. `scan`, when set, is a condition on the
    row that selects exactly the same interactions (LIKE on the address or subject for an
    ASCII needle): checking one row that way costs a row read, far less than probing a
    trigram phrase, whose doclists (`.co`, `com`: every address) are re-read at each probe."""

    alternatives: tuple[tuple[str, str], ...]
    scan: ColumnElement[bool] | None = None

    def ids_sql(self, params: dict[str, str]) -> str:
        """`SELECT id ...` of the matching interaction ids; binds go into `params`."""
        parts = []
        for fts, match in self.alternatives:
            name = f"m{len(params)}"
            params[name] = match
            parts.append(f"SELECT rowid AS id FROM {fts} WHERE {fts} MATCH :{name}")
        return " UNION ".join(parts)

    def probe(self) -> ColumnElement[bool]:
        """True for an interaction that matches, checked row by row during a walk."""
        if self.scan is not None:
            return self.scan
        return or_(
            *(
                text(
                    f"EXISTS (SELECT 1 FROM {t} WHERE {t} MATCH :m AND {t}.rowid = interactions.id)"
                ).bindparams(bindparam("m", match, unique=True))
                for t, match in self.alternatives
            )
        )

    @property
    def probe_cost(self) -> int:
        """What checking one row costs, counted in hits copied to a temporary table (measured
        on 1M messages: a hit copied ~0.4 us, a row read and LIKE ~1.5 us counting the
        trigram phrase's own cost per hit, a word probe ~24 us)."""
        return 1 if self.scan is not None else 60 * len(self.alternatives)


Filter = ColumnElement[bool] | Hits


class Backend(Protocol):
    """How the text filters become conditions on `interactions`, or index hits."""

    def who(self, needle: str) -> Filter: ...
    def subject(self, needle: str) -> Filter: ...
    def text(self, value: str) -> Filter: ...


class LikeBackend:
    """Substring scans: right on every database, slow on a large one."""

    def who(self, needle: str) -> Filter:
        return or_(_like(Interaction.client_email, needle), _like(Interaction.client_name, needle))

    def subject(self, needle: str) -> Filter:
        return _like(Interaction.subject, needle)

    def text(self, value: str) -> Filter:
        terms = words(value) or [value]
        return exists().where(
            Message.interaction_id == Interaction.id,
            *(_like(Message.text, term) for term in terms),
        )


class FtsBackend:
    """SQLite FTS5: `search_interactions` (trigram) and `search_bodies` (words), whose row
    ids are interaction ids. Needles too short for trigrams, and a text with no word in it
    (only punctuation), fall back to the scan: still text, never an error."""

    like = LikeBackend()

    def who(self, needle: str) -> Filter:
        if len(needle) < TRIGRAM:
            return self.like.who(needle)
        return Hits(
            (("search_interactions", "{client_email client_name}: " + quoted(needle)),),
            self._scan(needle, self.like.who(needle)),
        )

    def subject(self, needle: str) -> Filter:
        if len(needle) < TRIGRAM:
            return self.like.subject(needle)
        return Hits(
            (("search_interactions", "subject: " + quoted(needle)),),
            self._scan(needle, self.like.subject(needle)),
        )

    @staticmethod
    def _scan(needle: str, like: Filter) -> ColumnElement[bool] | None:
        """LIKE folds the case of ASCII letters only, the trigram index of every letter: for
        an ASCII needle both find the same rows."""
        return like if needle.isascii() and not isinstance(like, Hits) else None

    def text(self, value: str) -> Filter:
        terms = words(value)
        if not terms:
            return self.like.text(value)
        # Each word quoted: implicit AND, and no word is ever an operator.
        return Hits((("search_bodies", " ".join(quoted(term) for term in terms)),))


class PgBackend(LikeBackend):
    """PostgreSQL: ILIKE on the address, name and subject is answered by their pg_trgm GIN
    indexes (needles under three characters scan, as on SQLite); the text's words by the GIN
    index on `postdesk_words(messages.text)` (migration 0029), which cuts, folds accents and
    case as SQLite's unicode61 does. A word must be in one of the interaction's messages, each
    word in any of them: the same as SQLite's one document per interaction. Plain conditions
    only: PostgreSQL's planner chooses between the indexes, no `Hits` needed."""

    def text(self, value: str) -> Filter:
        terms = words(value)
        if not terms:
            return super().text(value)
        return and_(
            *(
                Interaction.id.in_(
                    select(Message.interaction_id).where(
                        func.postdesk_words(Message.text).op("@@")(func.postdesk_query(term))
                    )
                )
                for term in dict.fromkeys(terms)
            )
        )


def backend_for(dialect: str) -> Backend:
    if dialect == "sqlite":
        return FtsBackend()
    if dialect == "postgresql":
        return PgBackend()
    return LikeBackend()


def either(filters: list[Filter]) -> Filter:
    """Any of `filters`: one `Hits` when the index answers all of them."""
    if all(isinstance(f, Hits) for f in filters):
        hits = [f for f in filters if isinstance(f, Hits)]
        scans = [h.scan for h in hits if h.scan is not None]
        return Hits(
            tuple(a for h in hits for a in h.alternatives),
            or_(*scans) if len(scans) == len(hits) else None,
        )
    return or_(*(f.probe() if isinstance(f, Hits) else f for f in filters))


@dataclass(frozen=True)
class Plan:
    """A query turned into plain conditions, index hits, and the order of its results."""

    conditions: list[ColumnElement[bool]]
    hits: list[Hits]
    sort: str
    descending: bool

    @property
    def order(self) -> list[Any]:
        key = SORTS[self.sort]
        if self.descending:
            return [key.desc(), Interaction.id.desc()]
        return [key.asc(), Interaction.id.asc()]

    def hit_ids(self) -> TextClause | None:
        """The interaction ids every `Hits` matches, from the indexes alone."""
        if not self.hits:
            return None
        params: dict[str, str] = {}
        sql = " INTERSECT ".join(f"SELECT id FROM ({h.ids_sql(params)})" for h in self.hits)
        return text(sql).bindparams(**params)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


async def plan(
    session: AsyncSession, backend: Backend, query: RecordingQuery, user_id: int | None
) -> Plan:
    if query.start and query.end and query.end < query.start:
        raise Invalid("end: the end date is before the start date", field="end")
    conditions: list[ColumnElement[bool]] = []
    hits: list[Hits] = []

    def add(found: Filter) -> None:
        (hits if isinstance(found, Hits) else conditions).append(found)  # type: ignore[arg-type]

    if user_id is not None:
        conditions.append(Interaction.agent_id == user_id)
    if query.campaign:
        campaign_id = await session.scalar(
            select(Campaign.id).where(Campaign.name == query.campaign)
        )
        if campaign_id is None:
            raise Invalid(f"campaign: no campaign named {query.campaign!r}", field="campaign")
        conditions.append(Interaction.campaign_id == campaign_id)
    if query.agent:
        agent_id = await session.scalar(select(User.id).where(User.username == query.agent))
        if agent_id is None:
            raise Invalid(f"agent: no user named {query.agent!r}", field="agent")
        conditions.append(Interaction.agent_id == agent_id)
    if query.start:
        conditions.append(Interaction.created_at >= day_start(query.start))
    if query.end and query.end < date.max:  # the last day there is: no end to bound
        conditions.append(Interaction.created_at < day_start(query.end + timedelta(days=1)))
    if query.state == "open":
        # The open states by name: an index on the state can seek them, `!=` it cannot.
        conditions.append(
            Interaction.state.in_([InteractionState.QUEUED, InteractionState.ASSIGNED])
        )
    elif query.state == "closed":
        conditions.append(Interaction.state == InteractionState.CLOSED)
    if query.direction:
        conditions.append(Interaction.direction == Direction(query.direction))
    if needle := query.any.strip():
        anywhere = [backend.who(needle), backend.subject(needle)]
        if words(needle):  # punctuation alone is already looked for in addresses and subjects
            anywhere.append(backend.text(needle))
        add(either(anywhere))
    if needle := query.email.strip():
        add(backend.who(needle))
    if needle := query.subject.strip():
        add(backend.subject(needle))
    if query.text.strip():
        add(backend.text(query.text.strip()))
    return Plan(conditions, hits, query.sort, query.descending)


# Each sort's index; a walk of it (newest first, say) stops after one page of matches.
SORT_INDEXES = {
    "last": "ix_interactions_last_message_at",
    "created": "ix_interactions_created_at",
    "client": "ix_interactions_client_email",
    "subject": "ix_interactions_subject",
}


HITS_TABLE = "CREATE TEMP TABLE IF NOT EXISTS search_hits (id INTEGER PRIMARY KEY)"
ROWS_TABLE = "CREATE TEMP TABLE IF NOT EXISTS search_rows (id INTEGER PRIMARY KEY)"
# What the plain filters select, counted up to ROWS_MANY: under ROWS_FEW rows the page is
# read from them (probing each), from ROWS_FEW on along the sort's index.
ROWS_FEW = 2_000
ROWS_MANY = 50_000
# Counting stops here unless the caller asks for the exact figure (`exact_count`).
COUNT_CAP = 1_000


@dataclass(frozen=True)
class Found:
    """A page of ids and how many matched: exactly, or at least `total` when `capped`."""

    ids: list[int]
    total: int
    capped: bool


async def search_page(
    session: AsyncSession, found: Plan, page: int, size: int, count_limit: int | None
) -> Found:
    """One page of ids and the count of all matches, exact or up to `count_limit`.

    The cost of a search is the rows it reads (a row ~1.5 us on 1M messages, many times
    that when its page is not cached; an FTS hit ~0.03 us; a hit copied to a temporary
    table ~0.4 us; a word probe ~24 us). Two ways to a page: take the hits and sort them
    (cost: the hits), or walk the sort's index checking each row, which stops after a page
    (cost: rows until `page*size` matched, times what checking a row costs). The hits are
    copied (words: counted first) up to where walking is cheaper; plain filters are counted
    first and, when selective, their ids are copied and the hits seek in them. Counts stop
    at `count_limit` (the matches of a common word are 200,000: counting them all, or
    joining them with a campaign, was most of what a search cost).
    `tests/test_recordings_planner.py` holds every branch to a plain scan."""
    offset = (page - 1) * size
    limit = None if count_limit is None else max(count_limit, offset + size + 1)
    ids = found.hit_ids()
    if ids is None:  # plain filters only
        statement = select(Interaction.id).where(*found.conditions)
        if not found.conditions or session.get_bind().dialect.name != "sqlite":
            total, capped = await _count(session, statement, limit)  # the planner chooses
            return Found(await _page(session, statement, found, page, size), total, capped)
        # Reading and sorting `rows` rows, or walking the sort's index until `wanted` of
        # them (`wanted * all / rows` rows): the walk costs less from `sqrt(wanted * all)`.
        newest = int(await session.scalar(select(func.max(Interaction.id))) or 0)
        many = math.isqrt((offset + size) * newest) + 1
        counted, _ = await _count(session, statement, None if limit is None else max(limit, many))
        total, capped = (
            (counted, False) if limit is None else (min(counted, limit), counted >= limit)
        )
        if counted >= many:
            statement = _walking(statement, found)
        return Found(await _page(session, statement, found, page, size), total, capped)
    params = ids.compile().params
    newest = int(await session.scalar(select(func.max(Interaction.id))) or 0)
    wanted = offset + size
    probes = [h.probe() for h in found.hits]
    walk = select(Interaction.id).where(*found.conditions, *probes)
    await session.execute(text(HITS_TABLE))
    await session.execute(text("DELETE FROM temp.search_hits"))
    in_hits = Interaction.id.in_(
        text("SELECT id FROM temp.search_hits").columns(column("id", Integer))
    )
    if found.conditions:
        rows, _ = await _count(session, select(Interaction.id).where(*found.conditions), ROWS_MANY)
        if rows >= ROWS_MANY:
            # Filters that keep most rows: read the hits in order, each one's row, until
            # `limit` matched; the page walks the sort's index.
            hit_ids = ids.columns(column("id", Integer)).subquery("hits")
            hit_rows = (
                select(Interaction.id)
                .select_from(hit_ids)
                .join(Interaction, Interaction.id == hit_ids.c.id)
                .where(*found.conditions)
            )
            total, capped = await _count(session, hit_rows, limit)
            return Found(
                await _page(session, _walking(walk, found), found, page, size), total, capped
            )
        # Selective filters: their rows (ids from an index, mostly) into a temporary table,
        # then the hits in order, each a seek in it, up to `limit` matches.
        await session.execute(text(ROWS_TABLE))
        await session.execute(text("DELETE FROM temp.search_rows"))
        ids_only = select(Interaction.id).where(*found.conditions)
        await session.execute(_insert_rows(ids_only))
        stop = "" if limit is None else f" LIMIT {limit}"
        inserted = await session.execute(
            text(
                f"INSERT INTO temp.search_hits SELECT h.id FROM ({ids.text}) AS h"
                f" JOIN temp.search_rows AS r ON r.id = h.id{stop}"
            ),
            params,
        )
        total = int(inserted.rowcount or 0)  # type: ignore[attr-defined]
        capped = limit is not None and total >= limit
        if not capped:  # every match copied: sort them, or walk checking the copy
            statement = select(Interaction.id).where(in_hits)
            if wanted * newest / max(total, 1) < 15 * total:
                statement = _walking(statement, found)
            return Found(await _page(session, statement, found, page, size), total, capped)
        in_rows = Interaction.id.in_(
            text("SELECT id FROM temp.search_rows").columns(column("id", Integer))
        )
        statement = select(Interaction.id).where(in_rows, *probes)
        return Found(
            await _page(session, _walking(statement, found), found, page, size), total, capped
        )
    # Copying the hits costs each one; walking the sort's index costs each row walked
    # (wanted * all / hits of them) times `probe_cost`. `enough` is where both cost the same.
    cost = sum(h.probe_cost for h in found.hits)
    enough = max(int((wanted * newest * cost) ** 0.5), wanted) + 1
    hits = 0
    # The hits, up to `enough`, into a temporary table: a trigram phrase is evaluated once
    # (a long one costs milliseconds), and the count and the page share it. A temporary
    # table is this connection's own: no lock on the database, gone on rollback.
    if all(h.scan is None for h in found.hits):
        # Words: counting in the index (~0.03 us a hit) first spares copying a common
        # word's hits, which the walk would not use.
        hits = int(
            await session.scalar(text(f"SELECT count(*) FROM ({ids.text} LIMIT {enough})"), params)
            or 0
        )
    if hits < enough:
        inserted = await session.execute(
            text(f"INSERT INTO temp.search_hits SELECT id FROM ({ids.text}) LIMIT {enough}"),
            params,
        )
        hits = int(inserted.rowcount or 0)  # type: ignore[attr-defined]
    if hits < enough:  # every hit copied: their count is exact, a row's check a seek
        statement = select(Interaction.id).where(in_hits)
        # Walk the sort's index checking each id in the copy (~0.1 us), or read and sort
        # every hit (~1.5 us each): whichever reads less.
        if wanted * newest / max(hits, 1) < 15 * hits:
            statement = _walking(statement, found)
        return Found(await _page(session, statement, found, page, size), hits, False)
    if limit is not None and hits >= limit:
        total, capped = limit, True
    else:  # the index alone counts: no row read
        sql = ids.text if limit is None else f"{ids.text} LIMIT {limit}"
        total = int(await session.scalar(text(f"SELECT count(*) FROM ({sql})"), params) or 0)
        capped = limit is not None and total >= limit
    return Found(await _page(session, _walking(walk, found), found, page, size), total, capped)


def _insert_rows(ids_only: Select[Any]) -> Any:
    """`INSERT INTO temp.search_rows <ids_only>`."""
    return insert(table("search_rows", column("id", Integer), schema="temp")).from_select(
        ["id"], ids_only
    )


def _sqlite_table_hint(_compiler: SQLiteCompiler, _table: object, hint: str | None) -> str | None:
    return hint


# SQLAlchemy's SQLite compiler drops table hints (it renders them for MySQL and the like):
# without this, `with_hint(..., "sqlite")` is silently ignored and SQLite may sort every
# candidate row instead of walking the sort's index.
SQLiteCompiler.get_from_hint_text = _sqlite_table_hint  # type: ignore[assignment,method-assign]


def _walking(statement: Select[Any], found: Plan) -> Select[Any]:
    """`statement` read along the sort's index, which stops after a page of matches."""
    return statement.with_hint(Interaction, f"INDEXED BY {SORT_INDEXES[found.sort]}", "sqlite")


async def _count(
    session: AsyncSession, statement: Select[Any], limit: int | None
) -> tuple[int, bool]:
    """How many rows `statement` selects, reading at most `limit` of them."""
    if limit is not None:
        statement = statement.limit(limit)
    total = int(await session.scalar(select(func.count()).select_from(statement.subquery())) or 0)
    return total, limit is not None and total >= limit


async def _page(
    session: AsyncSession, statement: Select[Any], found: Plan, page: int, size: int
) -> list[int]:
    statement = statement.order_by(*found.order).limit(size).offset((page - 1) * size)
    return list((await session.execute(statement)).scalars())


def in_order(rows: Sequence[InteractionSummary], ids: Sequence[int]) -> list[InteractionSummary]:
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in ids if i in by_id]


class RecordingsSearch:
    """The service: `search` for the route and `ctl recordings search`, `choices` for the
    console's pick lists."""

    def __init__(
        self, db: Database, backend: Backend | None = None, *, count_cap: int = COUNT_CAP
    ) -> None:
        self.db = db
        self.backend = backend or backend_for(db.engine.dialect.name)
        self.count_cap = count_cap
        # SQLite with FTS5 (in a file, which the reader threads open too): the search runs
        # as plain SQL in one trip to the database's reader threads.
        path = db.engine.url.database
        self.plain_sql = isinstance(self.backend, FtsBackend) and bool(path) and path != ":memory:"
        # Counts in samples of this database's ids, kept (`on_sqlite.Runner.sampled`).
        self.samples: on_sqlite.Samples = {}

    async def search(self, query: RecordingQuery, user_id: int | None) -> RecordingPage:
        """One page of `query`'s matches; `user_id`: an agent's own only (None: everyone's)."""
        limit = None if query.exact_count else self.count_cap
        if self.plain_sql:  # SQLite: the same plan in one hop
            if query.start and query.end and query.end < query.start:
                raise Invalid("end: the end date is before the start date", field="end")
            rows_many, rows_few, samples = ROWS_MANY, ROWS_FEW, self.samples
            items, total, capped = await self.db.read_at_once(
                lambda s: on_sqlite.in_session(
                    s, query, user_id, limit, rows_many, rows_few, samples
                )
            )
            return RecordingPage(
                total=total,
                page=query.page,
                page_size=query.page_size,
                items=items,
                capped=capped,
            )
        async with self.db.session() as session:
            found = await plan(session, self.backend, query, user_id)
            result = await search_page(session, found, query.page, query.page_size, limit)
            ids = result.ids
            rows = await summaries_where(session, Interaction.id.in_(ids), limit=len(ids) or 1)
            # Each shows its last wrap-up code, as the manual's recordings list does.
            last = await wrapups.last_dispositions(session, ids)
        for row in rows:
            row.disposition = last.get(row.id, "")
        return RecordingPage(
            total=result.total,
            page=query.page,
            page_size=query.page_size,
            items=in_order(rows, ids),
            capped=result.capped,
        )

    async def choices(self, user_id: int | None) -> RecordingChoices:
        """Every campaign and every agent for a supervisor; an agent: their campaigns and
        themselves (they find nothing of anyone else's anyway)."""
        async with self.db.session() as session:
            campaigns = select(Campaign.name).order_by(Campaign.name)
            users = select(User.username, User.roles).order_by(User.username)
            if user_id is not None:
                mine = await working_campaigns(session, user_id)
                campaigns = campaigns.where(Campaign.id.in_(mine))
                users = users.where(User.id == user_id)
            return RecordingChoices(
                campaigns=list((await session.execute(campaigns)).scalars()),
                agents=[name for name, roles in await session.execute(users) if "agent" in roles],
            )
