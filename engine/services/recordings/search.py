"""The recordings search: every filter of the manual's "Email recordings" (plus the messages'
text, state and direction), combined, paged with exact counts, sorted.

All query building lives here. What depends on the database is one `Backend`: how "any part
of the address", "any part of the subject" and "these words in the messages" become
conditions on `interactions`. `FtsBackend` uses SQLite FTS5 (the tables and triggers of
migration 0020); `PgBackend` uses PostgreSQL's pg_trgm and word (tsvector) indexes of
migration 0029; `LikeBackend` is the portable scan (the reference `bench/search.py` measures
against). Visibility is
applied here too, so no caller can forget it: an agent finds only interactions assigned to
them, supervisors and admins everything.

Paging is by offset: supervisors jump between pages and change the sort, and every page
shows "41-80 of N", which needs the count anyway; each sort has an index ending in the id,
so the order is total and a page is a walk of that index, not a sort of all matches.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Integer,
    TextClause,
    and_,
    bindparam,
    column,
    exists,
    func,
    or_,
    select,
    text,
)
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
from engine.services.work import wrapups

# The words of a text as FTS5's unicode61 tokenizer cuts them: letters and digits (not `_`).
_WORD = re.compile(r"[^\W_]+")
# A trigram index answers substrings of three characters or more; shorter ones are scanned.
TRIGRAM = 3

SORTS = {
    "last": Interaction.last_message_at,
    "created": Interaction.created_at,
    "client": Interaction.client_email,
    "subject": Interaction.subject,
}


def quoted(value: str) -> str:
    """`value` as one FTS5 string: whatever it holds (`"`, `*`, `NEAR`, `-`, `:`) is text."""
    return '"' + value.replace('"', '""') + '"'


def words(value: str) -> list[str]:
    return _WORD.findall(value)


def like_pattern(value: str) -> str:
    """`%value%` for LIKE ... ESCAPE '\\': `%` and `_` typed by a person are characters."""
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _like(col: QueryableAttribute[str], value: str) -> ColumnElement[bool]:
    return col.ilike(like_pattern(value), escape="\\")


@dataclass(frozen=True)
class Hits:
    """A text filter an index answers: interactions matching any of `alternatives`, each a
    (FTS5 table, MATCH string). Kept apart from plain conditions so the planner can count
    it in the index alone and choose how to join it."""

    alternatives: tuple[tuple[str, str], ...]

    @property
    def cheap_probe(self) -> bool:
        """A probe of one row costs a seek only for words; a trigram phrase re-reads the
        doclists of its trigrams (`.co`, `com`: every address) at each probe."""
        return all(table == "search_bodies" for table, _ in self.alternatives)

    def ids_sql(self, params: dict[str, str]) -> str:
        """`SELECT id ...` of the matching interaction ids; binds go into `params`."""
        parts = []
        for table, match in self.alternatives:
            name = f"m{len(params)}"
            params[name] = match
            parts.append(f"SELECT rowid AS id FROM {table} WHERE {table} MATCH :{name}")
        return " UNION ".join(parts)

    def probe(self) -> ColumnElement[bool]:
        """True for an interaction that matches: one index seek per row, for walks."""
        return or_(
            *(
                text(
                    f"EXISTS (SELECT 1 FROM {t} WHERE {t} MATCH :m AND {t}.rowid = interactions.id)"
                ).bindparams(bindparam("m", match, unique=True))
                for t, match in self.alternatives
            )
        )


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
        return Hits((("search_interactions", "{client_email client_name}: " + quoted(needle)),))

    def subject(self, needle: str) -> Filter:
        if len(needle) < TRIGRAM:
            return self.like.subject(needle)
        return Hits((("search_interactions", "subject: " + quoted(needle)),))

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
        return Hits(tuple(a for f in filters if isinstance(f, Hits) for a in f.alternatives))
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
    if query.end:
        conditions.append(Interaction.created_at < day_start(query.end + timedelta(days=1)))
    if query.state == "open":
        conditions.append(Interaction.state != InteractionState.CLOSED)
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


async def search_page(
    session: AsyncSession, found: Plan, page: int, size: int
) -> tuple[list[int], int]:
    """One page of ids and the exact count of all matches.

    Index hits are counted in the FTS tables alone (no row of `interactions` is read). With
    the count the planner chooses: few hits, read them and sort them (top-N); many, walk the
    sort's index, which stops after a page (a word in 40% of the mail finds its 40 rows in the
    first ~100 it walks). Word hits are probed row by row during the walk (a seek each);
    trigram hits, and any hits joined with plain filters, are evaluated once into a temporary
    table (a trigram phrase re-reads the doclists of `com` and the like at every evaluation),
    which the count, the walk and the join then share."""
    ids = found.hit_ids()
    statement = select(Interaction.id).where(*found.conditions)
    total: int | None
    if ids is None:
        total = await session.scalar(
            select(func.count()).select_from(Interaction).where(*found.conditions)
        )
    elif not found.conditions and all(h.cheap_probe for h in found.hits):
        total = int(
            await session.scalar(text(f"SELECT count(*) FROM ({ids.text})"), ids.compile().params)
            or 0
        )
        if await _walk_pays(session, total, page, size):
            statement = statement.where(*(h.probe() for h in found.hits)).with_hint(
                Interaction, f"INDEXED BY {SORT_INDEXES[found.sort]}", "sqlite"
            )
        else:
            statement = statement.where(Interaction.id.in_(ids.columns(column("id", Integer))))
    else:
        # A temp table is this connection's own: no lock on the database, gone on rollback.
        await session.execute(text(HITS_TABLE))
        await session.execute(text("DELETE FROM temp.search_hits"))
        inserted = await session.execute(
            text(f"INSERT INTO temp.search_hits {ids.text}"), ids.compile().params
        )
        hits = int(inserted.rowcount or 0)  # type: ignore[attr-defined]
        in_hits = Interaction.id.in_(
            text("SELECT id FROM temp.search_hits").columns(column("id", Integer))
        )
        statement = statement.where(in_hits)
        if found.conditions:
            total = await session.scalar(
                select(func.count()).select_from(Interaction).where(*found.conditions, in_hits)
            )
        else:
            total = hits
            if await _walk_pays(session, hits, page, size):
                statement = statement.with_hint(
                    Interaction, f"INDEXED BY {SORT_INDEXES[found.sort]}", "sqlite"
                )
    statement = statement.order_by(*found.order).limit(size).offset((page - 1) * size)
    return list((await session.execute(statement)).scalars()), int(total or 0)


async def _walk_pays(session: AsyncSession, hits: int, page: int, size: int) -> bool:
    """Walking the sort index reads about page*size*all/hits rows before the page is full;
    sorting the hits reads `hits` rows. Ids are dense, so the newest id is `all`."""
    newest = int(await session.scalar(select(func.max(Interaction.id))) or 0)
    return page * size * newest / max(hits, 1) < hits


def in_order(rows: Sequence[InteractionSummary], ids: Sequence[int]) -> list[InteractionSummary]:
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in ids if i in by_id]


class RecordingsSearch:
    """The service: `search` for the route and `ctl recordings search`, `choices` for the
    console's pick lists."""

    def __init__(self, db: Database, backend: Backend | None = None) -> None:
        self.db = db
        self.backend = backend or backend_for(db.engine.dialect.name)

    async def search(self, query: RecordingQuery, user_id: int | None) -> RecordingPage:
        """One page of `query`'s matches; `user_id`: an agent's own only (None: everyone's)."""
        async with self.db.session() as session:
            found = await plan(session, self.backend, query, user_id)
            ids, total = await search_page(session, found, query.page, query.page_size)
            rows = await summaries_where(session, Interaction.id.in_(ids), limit=len(ids) or 1)
            # Each shows its last wrap-up code, as the manual's recordings list does.
            last = await wrapups.last_dispositions(session, ids)
        for row in rows:
            row.disposition = last.get(row.id, "")
        return RecordingPage(
            total=total, page=query.page, page_size=query.page_size, items=in_order(rows, ids)
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
