"""The recordings search on SQLite: the same plan as `search.py`, as plain SQL in one hop.

A search is a dozen small statements (names to ids, counts, the hits copied, the page, its
summaries). Through SQLAlchemy each cost ~0.2-0.4 ms of Python, more than most of them cost
SQLite: the whole search ran ~5 ms before reading a row. Here the conditions are SQL text
with named parameters, built once, and every statement of one search runs on the plain
`sqlite3` connection under a session of `Database.read_at_once` (one hop to the database's
reader threads, `in_session`), ending with ONE statement for the page's ids and their
summaries, message counts and last wrap-up codes.

The plan is `search.search_page`'s, branch for branch (same thresholds, same costs, same
order, same counts), plus what only SQLite's indexes allow (an address by its rarest
trigrams, `narrowed`; the narrow walks of migrations 0035, 0038 and 0040; a period's page
by last message from its late-ending rows, `Runner.bound`; docs/recordings.md, "On
SQLite"): tests/test_recordings_planner.py holds both to a plain scan. Text
filters: FTS5 (`search_interactions` trigram, `search_bodies` words, migration 0020) or,
for needles the indexes cannot answer, the same LIKE as `LikeBackend`."""

from __future__ import annotations

import math
import re
import sqlite3
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from engine.api.schemas import InteractionSummary, RecordingQuery
from engine.errors import Invalid
from engine.services.recordings.needles import TRIGRAM, like_pattern, quoted, words

SORT_COLUMNS = {
    "last": "last_message_at",
    "created": "created_at",
    "client": "client_email",
    "subject": "subject",
}
SORT_INDEXES = {
    "last": "ix_interactions_last_message_at",
    "created": "ix_interactions_created_at",
    "client": "ix_interactions_client_email",
    "subject": "ix_interactions_subject",
}
# An index on (equality columns, sort column) walks only the rows of those values, in
# order: an agent's own newest first, sent mail by date (migration 0035). The longest
# whose columns the conditions fix is walked.
NARROW_WALKS = {
    (("agent_id",), "last"): "ix_interactions_agent_last",
    # Migration 0040: an agent's closed interactions, newest first.
    (("agent_id", "state"), "last"): "ix_interactions_agent_state_last",
    # Migration 0038: an agent's own by start (a period's), by client.
    (("agent_id",), "created"): "ix_interactions_agent_created",
    (("agent_id",), "client"): "ix_interactions_agent_client",
    (("direction",), "created"): "ix_interactions_direction_created",
    (("campaign_id",), "created"): "ix_interactions_campaign_created",
}
# Made once per reader connection (`in_session`); each search's rows go with its rollback.
# In memory, not in a temporary file of their own (set first: changing temp_store drops
# the connection's temporary tables).
SETUP = (
    "PRAGMA temp_store=MEMORY",
    "CREATE TEMP TABLE IF NOT EXISTS search_hits (id INTEGER PRIMARY KEY)",
    "CREATE TEMP TABLE IF NOT EXISTS search_rows (id INTEGER PRIMARY KEY)",
)


def stamp(moment: datetime) -> str:
    """A datetime as SQLAlchemy stores it on SQLite (UTC, no offset)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _day(day: date) -> str:
    return f"{day.isoformat()} 00:00:00.000000"


@dataclass
class Params:
    """The named parameters of one search, shared by all its statements."""

    values: dict[str, Any] = field(default_factory=dict)

    def bind(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f":{name}"


@dataclass(frozen=True)
class Hits:
    """`search.Hits` as SQL: (FTS5 table, MATCH string) alternatives, and `scan`, a row
    condition selecting the same interactions (LIKE, for an ASCII needle).

    `needle`: the ASCII text of an address or subject filter (`scan` set), whose trigrams
    `narrowed` may look up instead of the whole phrase. `verified`: the MATCH selects a
    superset (some of the needle's trigrams) and each candidate's row is checked with
    `scan`, so the ids are exactly the phrase's."""

    alternatives: tuple[tuple[str, str], ...]  # (table, bound parameter)
    scan: str | None = None
    needle: str | None = None
    verified: bool = False

    @property
    def ids_sql(self) -> str:
        return self.ids_below(None)

    def ids_below(self, cut: int | None) -> str:
        """The hits' ids, only those up to `cut` when given (FTS5 then reads that part of
        each hit list and no more)."""
        if self.verified:
            (fts, match), below = self.alternatives[0], ""
            if cut is not None:
                below = f" AND {fts}.rowid <= {int(cut)}"
            # FTS5 first (CROSS JOIN keeps that order), then each candidate's row.
            return (
                f"SELECT interactions.id AS id FROM {fts} CROSS JOIN interactions"
                f" ON interactions.id = {fts}.rowid WHERE {fts} MATCH {match}{below}"
                f" AND {self.scan}"
            )
        below = "" if cut is None else f" AND rowid <= {int(cut)}"
        return " UNION ".join(
            f"SELECT rowid AS id FROM {fts} WHERE {fts} MATCH {match}{below}"
            for fts, match in self.alternatives
        )

    def probe(self) -> str:
        if self.scan is not None:
            return self.scan
        return (
            "("
            + " OR ".join(
                f"EXISTS (SELECT 1 FROM {t} WHERE {t} MATCH {m} AND {t}.rowid = interactions.id)"
                for t, m in self.alternatives
            )
            + ")"
        )

    @property
    def probe_cost(self) -> int:
        return 1 if self.scan is not None else 60 * len(self.alternatives)


Filter = str | Hits


def _like(p: Params, columns: list[str], needle: str) -> str:
    """`LikeBackend`'s `lower(col) LIKE lower(pattern)`. SQLite's LIKE folds the case of
    ASCII letters itself, as its lower() does, and no other: for an ASCII needle the plain
    LIKE finds the same rows without making a lowered copy of every value it checks."""
    pattern = p.bind(like_pattern(needle))
    if needle.isascii():
        likes = [f"interactions.{c} LIKE {pattern} ESCAPE '\\'" for c in columns]
    else:
        likes = [f"lower(interactions.{c}) LIKE lower({pattern}) ESCAPE '\\'" for c in columns]
    return "(" + " OR ".join(likes) + ")"


def _like_text(p: Params, terms: list[str]) -> str:
    likes = " AND ".join(
        f"lower(messages.text) LIKE lower({p.bind(like_pattern(t))}) ESCAPE '\\'" for t in terms
    )
    return (
        "EXISTS (SELECT 1 FROM messages WHERE messages.interaction_id = interactions.id"
        f" AND {likes})"
    )


def who(p: Params, needle: str) -> Filter:
    like = _like(p, ["client_email", "client_name"], needle)
    if len(needle) < TRIGRAM:
        return like
    match = p.bind("{client_email client_name}: " + quoted(needle))
    if needle.isascii():
        return Hits((("search_interactions", match),), like, needle)
    return Hits((("search_interactions", match),))


def subject(p: Params, needle: str) -> Filter:
    like = _like(p, ["subject"], needle)
    if len(needle) < TRIGRAM:
        return like
    match = p.bind("subject: " + quoted(needle))
    if needle.isascii():
        return Hits((("search_interactions", match),), like, needle)
    return Hits((("search_interactions", match),))


def body(p: Params, value: str) -> Filter:
    terms = words(value)
    if not terms:
        return _like_text(p, [value])
    return Hits((("search_bodies", p.bind(" ".join(quoted(t) for t in terms))),))


def either(filters: list[Filter]) -> Filter:
    hits = [f for f in filters if isinstance(f, Hits)]
    if len(hits) == len(filters):
        scans = [h.scan for h in hits if h.scan is not None]
        return Hits(
            tuple(a for h in hits for a in h.alternatives),
            "(" + " OR ".join(scans) + ")" if len(scans) == len(hits) else None,
        )
    return "(" + " OR ".join(f.probe() if isinstance(f, Hits) else f for f in filters) + ")"


@dataclass(frozen=True)
class Plan:
    conditions: list[str]
    hits: list[Hits]
    sort: str
    descending: bool
    equal: frozenset[str] = frozenset()  # columns compared with `=` by a condition
    # A condition reads each row's text (LIKE): counting and paging should not both do it.
    scans: bool = False
    # The column each plain condition is on, `=` or a range (`walk_reads_only_matches`);
    # "" for any other condition.
    columns: tuple[str, ...] = ()

    @property
    def walk_index(self) -> str:
        """The index a walk in the sort's order reads: the narrowest whose first columns
        the conditions fix, else the sort's own."""
        return self._walk[0]

    @property
    def _walk(self) -> tuple[str, tuple[str, ...]]:
        best: tuple[str, tuple[str, ...]] = (SORT_INDEXES[self.sort], ())
        for (names, sort), index in NARROW_WALKS.items():
            if sort == self.sort and self.equal.issuperset(names) and len(names) > len(best[1]):
                best = (index, names)
        return best

    @property
    def sorts_period_by_last(self) -> bool:
        """A period's rows (a condition on when they began) sorted by their last message:
        only its late-ending rows need sorting (`Runner.bound`)."""
        return self.sort == "last" and "created_at" in self.columns

    @property
    def walk_reads_only_matches(self) -> bool:
        """Every condition is one the walk's index answers itself: its fixed first columns,
        or a range of the sort column that follows them. The walk then reads a page of
        entries and stops, however many rows match: counting them only to the cap is all
        that is left to do (no count to choose between walking and sorting)."""
        if self.hits or self.scans or not self.columns:
            return False
        fixed = set(self._walk[1])
        ranged = {SORT_COLUMNS[self.sort]}
        return all(c in fixed or c in ranged for c in self.columns)

    @property
    def order(self) -> str:
        way = "DESC" if self.descending else "ASC"
        return f"interactions.{SORT_COLUMNS[self.sort]} {way}, interactions.id {way}"

    @property
    def where(self) -> str:
        return " AND ".join(self.conditions) or "1"

    def hit_ids(self, cut: int | None = None) -> str:
        return " INTERSECT ".join(f"SELECT id FROM ({h.ids_below(cut)})" for h in self.hits)


def plan(c: sqlite3.Connection, p: Params, query: RecordingQuery, user_id: int | None) -> Plan:
    """`search.plan` as SQL (the names of a campaign and an agent looked up here)."""
    conditions: list[str] = []
    columns: list[str] = []
    hits: list[Hits] = []
    equal: set[str] = set()
    scans = False

    def on(column: str, condition: str, *, fixed: bool = False) -> None:
        conditions.append(condition)
        columns.append(column)
        if fixed:
            equal.add(column)

    def add(found: Filter) -> None:
        nonlocal scans
        if isinstance(found, Hits):
            hits.append(found)
        else:
            on("", found)
            scans = True

    if user_id is not None:
        on("agent_id", f"interactions.agent_id = {p.bind(user_id)}", fixed=True)
    if query.campaign:
        row = c.execute("SELECT id FROM campaigns WHERE name = ?", (query.campaign,)).fetchone()
        if row is None:
            raise Invalid(f"campaign: no campaign named {query.campaign!r}", field="campaign")
        # An agent's rows are fewer than a campaign's: the unary `+` keeps SQLite (which
        # has no statistics) from reading the campaign's every row (of the period) through
        # ix_interactions_queue or ix_interactions_campaign_created to find the agent's,
        # which ix_interactions_agent_last and ix_interactions_agent_created (0038) seek.
        fixed = user_id is not None or bool(query.agent)
        column_ = "+interactions.campaign_id" if fixed else "interactions.campaign_id"
        # `+`: no index may answer it, so no walk counts on one doing so.
        on("" if fixed else "campaign_id", f"{column_} = {p.bind(row[0])}", fixed=not fixed)
    if query.agent:
        row = c.execute("SELECT id FROM users WHERE username = ?", (query.agent,)).fetchone()
        if row is None:
            raise Invalid(f"agent: no user named {query.agent!r}", field="agent")
        on("agent_id", f"interactions.agent_id = {p.bind(row[0])}", fixed=True)
    if query.start:
        on("created_at", f"interactions.created_at >= {p.bind(_day(query.start))}")
    if query.end and query.end < date.max:  # the last day there is: no end to bound
        end = p.bind(_day(query.end + timedelta(days=1)))
        on("created_at", f"interactions.created_at < {end}")
    if query.state == "open":
        on("", "interactions.state IN ('queued', 'assigned')")
    elif query.state == "closed":
        on("state", "interactions.state = 'closed'", fixed=True)
    if query.direction:
        # An agent's period is sought in ix_interactions_agent_created (0038), not the
        # direction's (everyone's sent mail of the period, each row read for its agent).
        agents = (user_id is not None or bool(query.agent)) and bool(query.start or query.end)
        column_ = "+interactions.direction" if agents else "interactions.direction"
        on(
            "" if agents else "direction",
            f"{column_} = {p.bind(query.direction)}",
            fixed=not agents,
        )
    if needle := query.any.strip():
        anywhere = [who(p, needle), subject(p, needle)]
        if words(needle):
            anywhere.append(body(p, needle))
        add(either(anywhere))
    if needle := query.email.strip():
        add(who(p, needle))
    if needle := query.subject.strip():
        add(subject(p, needle))
    if query.text.strip():
        add(body(p, query.text.strip()))
    period = bool(query.start or query.end)
    if period and hits and all(h.scan is not None for h in hits):
        # Any part of an address or subject within a period: checking the period's rows
        # (in ix_interactions_created_client for an address) costs less than a trigram
        # phrase, which reads every hit of a common part (`gmail.com`).
        for h in hits:
            if h.scan is not None:
                on("", h.scan)
        hits, scans = [], True
    return Plan(
        conditions, hits, query.sort, query.descending, frozenset(equal), scans, tuple(columns)
    )


# Counts in a sample of the ids (`Runner.sampled`): by the statement with its values, the
# count and the limit it was counted to.
Samples = dict[str, tuple[int, int]]


class Runner:
    """One search's statements on the connection `c`; `samples`: counts in samples of the
    ids kept from earlier searches of the same database (`sampled`, `narrowed`)."""

    def __init__(
        self, c: sqlite3.Connection, p: Params, found: Plan, samples: Samples | None = None
    ) -> None:
        self.c = c
        self.p = p
        self.found = found
        self.samples: Samples = {} if samples is None else samples

    def scalar(self, sql: str) -> int:
        row = self.c.execute(sql, self.p.values).fetchone()
        return int(row[0] or 0) if row else 0

    def sampled(self, select_ids: str, limit: int) -> int:
        """How many ids `select_ids` selects, counted up to `limit`, kept (`samples`) for the
        next search that asks: only for a sample of the oldest ids (`sample_cut`), which
        new mail does not change, and only to choose a path, never as an answer."""
        key = _PARAM.sub(lambda m: repr(self.p.values[m[1]]), select_ids)
        kept = self.samples.get(key)
        if kept is not None and (kept[1] >= limit or kept[0] < kept[1]):
            return min(kept[0], limit)
        count = self.scalar(f"SELECT count(*) FROM ({select_ids} LIMIT {limit})")
        self.keep({key: (count, limit)})
        return count

    def keep(self, counts: Samples) -> None:
        """Counts added to the store, emptied first when it would hold over SAMPLES_KEPT."""
        if len(self.samples) + len(counts) > SAMPLES_KEPT:
            self.samples.clear()
        self.samples.update(counts)

    def count(self, select_ids: str, limit: int | None) -> tuple[int, bool]:
        stop = "" if limit is None else f" LIMIT {limit}"
        total = self.scalar(f"SELECT count(*) FROM ({select_ids}{stop})")
        return total, limit is not None and total >= limit

    def page(
        self,
        where: str,
        page: int,
        size: int,
        *,
        walk: bool = False,
        by_ids: bool = False,
        bounded: bool = False,
    ) -> str:
        # by_ids: `where` names a few ids (IN_HITS): read those rows, whatever index the
        # other conditions or the order would suggest to SQLite (an agent's 9,000 rows).
        hint = " NOT INDEXED" if by_ids else ""
        if bounded:
            where = f"{where} AND {self.bound(where, page * size)}"
        if walk:
            index = self.found.walk_index
            hint = f" INDEXED BY {index}"
            if index != SORT_INDEXES[self.found.sort]:
                # A narrow index is in order only within its value: its condition, always.
                where = f"{where} AND {self.found.where}"
        # Not run here: `summaries` reads the page's rows in the same statement.
        return (
            f"SELECT interactions.id FROM interactions{hint} WHERE {where}"
            f" ORDER BY {self.found.order} LIMIT {size} OFFSET {(page - 1) * size}"
        )

    def insert(self, sql: str) -> int:
        return int(self.c.execute(sql, self.p.values).rowcount)

    def bound(self, where: str, wanted: int) -> str:
        """A period's rows sorted by their last message: only those at least as late as
        the earliest last message of the period's `wanted` latest-created rows (as early,
        ascending) can be among the first `wanted` of the order, since those `wanted`
        rows are already at least that late. Those are read in the period's index in
        created order (a page of entries); the rows sorted are then the few that end
        late, not the period's every row (2,900 of a campaign's month: ~0.7 ms).
        Exact whatever the data: with fewer than `wanted` rows, the bound is the loosest
        of them all. The unary `+` keeps SQLite from walking the last-message index from
        the bound on (every later row of every period)."""
        compare, value = self._bound(where, wanted)
        return f"+interactions.last_message_at {compare} {value}"

    def _bound(self, where: str, wanted: int) -> tuple[str, str]:
        way, pick, compare = (
            ("DESC", "min", ">=") if self.found.descending else ("ASC", "max", "<=")
        )
        return compare, (
            f"(SELECT {pick}(last_message_at) FROM"
            f" (SELECT interactions.last_message_at FROM interactions WHERE {where}"
            f" ORDER BY interactions.created_at {way} LIMIT {wanted}))"
        )

    def ending_past(self, where: str, wanted: int, most: int) -> int:
        """Every interaction (any filter) ending at least as late as `bound`'s bound (as
        early, ascending), counted up to `most` in the last-message index alone: more
        than a walk newest first reads before it has the page, as the page's rows all
        end that late."""
        compare, value = self._bound(where, wanted)
        return self.scalar(
            "SELECT count(*) FROM (SELECT 1 FROM interactions"
            f" INDEXED BY {SORT_INDEXES['last']}"
            f" WHERE interactions.last_message_at {compare} {value} LIMIT {most})"
        )


# A needle's trigrams ranked by their hits among the first ids (1/256 to 1/512 of them),
# each counted up to RANK_LIMIT: a rare one costs a few us, a common one its limit
# (`narrowed`). Counts in samples are kept per database, up to SAMPLES_KEPT of them.
RANK_SHARE = 256
RANK_LIMIT = 16
RARE_TRIGRAMS = 3
SAMPLES_KEPT = 20_000


def sample_cut(newest: int, share: int) -> int:
    """The last id of a sample of about 1/`share` of the ids: the largest power of two up to
    it. It moves only when the ids double, so a count in it is asked once and kept
    (`Runner.sampled`): the sample's rows are the oldest, which new mail does not add to."""
    return 1 << (max(newest // share, 1).bit_length() - 1)


_PARAM = re.compile(r":(p\d+)\b")


def narrowed(r: Runner, h: Hits, newest: int) -> Hits:
    """An ASCII address or subject needle looked up by its rarest trigrams, each candidate's
    row checked with LIKE, when it has rare ones; else `h` as it is.

    FTS5 answers a phrase by stepping through the hit list of each of its trigrams: one
    common trigram (`ana`, `smi`: tens of thousands of hits) makes a customer's address
    cost 3-9 ms even when three rows match, where three rare trigrams (`632`, `289`) and
    the rows they find cost ~0.3 ms. The candidates are a superset of the phrase's hits (any
    order, any column) and LIKE keeps exactly the rows the phrase finds (`Hits.scan`).

    Counting a trigram in the sample costs ~8 us (a query of its own in FTS5), ~0.1 ms for
    an address's ten: the counts are kept (`Runner.samples`). They only choose the path,
    never the answer, so a count gone stale (an old interaction deleted) costs time at
    worst."""
    if h.needle is None or h.scan is None:
        return h
    lowered = h.needle.lower()
    grams = list(dict.fromkeys(lowered[i : i + TRIGRAM] for i in range(len(lowered) - 2)))
    if len(grams) <= RARE_TRIGRAMS:
        return h
    cut = sample_cut(newest, RANK_SHARE)
    fts = h.alternatives[0][0]
    keys = {g: f"rank {fts} {cut} {g}" for g in grams}
    # Read once: the other reader thread may empty the store meanwhile.
    known = {g: kept for g, k in keys.items() if (kept := r.samples.get(k)) is not None}
    asked = [g for g in grams if g not in known]
    if asked:  # the ones not kept, in one statement
        names = [r.p.bind(quoted(g)) for g in asked]
        found = r.c.execute(
            "SELECT "
            + ", ".join(
                f"(SELECT count(*) FROM (SELECT 1 FROM {fts} WHERE {fts} MATCH {n}"
                f" AND rowid <= {cut} LIMIT {RANK_LIMIT}))"
                for n in names
            ),
            r.p.values,
        ).fetchone()
        fresh = {g: (n, RANK_LIMIT) for g, n in zip(asked, found, strict=True)}
        r.keep({keys[g]: kept for g, kept in fresh.items()})
        known |= fresh
    counts = [known[g][0] for g in grams]
    rare = sorted(
        (count, gram) for count, gram in zip(counts, grams, strict=True) if count < RANK_LIMIT
    )
    rare = rare[:RARE_TRIGRAMS]
    # One rare trigram alone may still have hundreds of hits, each a row read: the phrase.
    if not rare or (len(rare) == 1 and rare[0][0] > 2):
        return h
    match = r.p.bind(" AND ".join(quoted(gram) for _, gram in rare))
    return Hits(((fts, match),), h.scan, h.needle, verified=True)


# The share of the ids whose hits estimate a word's (`search_page`).
SAMPLE = 64
# Hits this few beside plain filters are checked row by row before anything is counted.
TINY = 64
IN_HITS = "interactions.id IN (SELECT id FROM temp.search_hits)"
IN_ROWS = "interactions.id IN (SELECT id FROM temp.search_rows)"


def search_page(
    r: Runner,
    page: int,
    size: int,
    count_limit: int | None,
    rows_many: int,
    rows_few: int = 2_000,
) -> tuple[str, int, bool]:
    """`search.search_page`, statement for statement: see its docstring for the costs."""
    found = r.found
    offset = (page - 1) * size
    limit = None if count_limit is None else max(count_limit, offset + size + 1)
    where = found.where
    plain = f"SELECT interactions.id FROM interactions WHERE {where}"
    if not found.hits:
        if not found.conditions:
            total, capped = r.count(plain, limit)
            return r.page(where, page, size), total, capped
        newest = r.scalar("SELECT max(id) FROM interactions")
        many = math.isqrt((offset + size) * newest) + 1
        if found.scans:
            return scanned(r, where, page, size, limit, newest)
        if found.walk_reads_only_matches:
            # An agent's own rows (of a state) in their index's order, sent mail of a month
            # by date: the walk reads a page and stops, whatever their number, so only the
            # count's cap is counted (not `many`).
            total, capped = r.count(plain, limit)
            return r.page(where, page, size, walk=True), total, capped
        if found.sorts_period_by_last and found.walk_index == SORT_INDEXES["last"]:
            return period_by_last(r, where, page, size, limit)
        counted, _ = r.count(plain, None if limit is None else max(limit, many))
        total, capped = (
            (counted, False) if limit is None else (min(counted, limit), counted >= limit)
        )
        walk = counted >= many
        # A period's rows by their last message: only the late-ending ones sorted.
        bounded = not walk and found.sorts_period_by_last
        return r.page(where, page, size, walk=walk, bounded=bounded), total, capped
    newest = r.scalar("SELECT max(id) FROM interactions")
    found = r.found = replace(found, hits=[narrowed(r, h, newest) for h in found.hits])
    ids = found.hit_ids()
    wanted = offset + size
    probes = " AND ".join(h.probe() for h in found.hits)
    walk_where = f"{where} AND {probes}"
    if found.conditions and all(h.verified for h in found.hits):
        # An address or subject found by its rare trigrams (`narrowed`): few candidates,
        # each a row read. Copied first (up to `enough`), they spare counting the
        # filters' rows (an agent's 9,000: ~0.7 ms); many, the plan below.
        enough = math.isqrt(wanted * newest) + 1
        copied = r.insert(f"INSERT INTO temp.search_hits SELECT id FROM ({ids}) LIMIT {enough}")
        if copied < enough:
            return in_copied(r, where, page, size, limit)
        r.c.execute("DELETE FROM temp.search_hits")
    elif found.conditions:
        # A handful of hits (a reference code, an order number) is copied and each one's
        # row checked (~1.5 us each) before anything else is counted: counting the
        # filters' rows to weigh the two (an agent's 9,000) cost ~0.7 ms of a ~1 ms search.
        # A common word stops this copy at TINY + 1 hits (~0.03 ms).
        tiny = r.insert(f"INSERT INTO temp.search_hits SELECT id FROM ({ids}) LIMIT {TINY + 1}")
        if tiny <= TINY:
            return in_copied(r, where, page, size, limit)
        r.c.execute("DELETE FROM temp.search_hits")
    if found.conditions:
        rows, _ = r.count(plain, rows_many)
        if rows >= rows_many:
            hit_rows = (
                f"SELECT interactions.id FROM ({ids}) AS hits"
                f" JOIN interactions ON interactions.id = hits.id WHERE {where}"
            )
            total, capped = r.count(hit_rows, limit)
            return r.page(walk_where, page, size, walk=True), total, capped
        # Few hits (a reference code, an invoice number): copied, each one's row checked
        # (a seek, ~1.5 us), instead of copying every row of the filters (~0.3 us each).
        few = rows // 8
        if all(h.scan is None for h in found.hits):  # words: count in the index first
            many_hits = r.scalar(f"SELECT count(*) FROM ({ids} LIMIT {few + 1})") > few
        else:
            many_hits = (
                r.insert(f"INSERT INTO temp.search_hits SELECT id FROM ({ids}) LIMIT {few + 1}")
                > few
            )
        if not many_hits:
            if all(h.scan is None for h in found.hits):
                r.insert(f"INSERT INTO temp.search_hits {ids}")
            return in_copied(r, where, page, size, limit)
        r.c.execute("DELETE FROM temp.search_hits")
        cost = sum(h.probe_cost for h in found.hits)
        if all(h.scan is not None for h in found.hits) or rows * cost <= rows_few * 15:
            # Many hits of an address or subject part (a domain): a trigram phrase that
            # common reads long lists of hits (tens of ms); the filters' rows, each checked
            # with LIKE, cost less. So do a few hundred rows (an agent's open mail of one
            # campaign) each probed for a common word (~24 us), against reading the word's
            # every hit (200,000) to find theirs.
            return scanned(r, walk_where, page, size, limit, newest)
        r.insert(f"INSERT INTO temp.search_rows {plain}")
        stop = "" if limit is None else f" LIMIT {limit}"
        total = r.insert(
            f"INSERT INTO temp.search_hits SELECT h.id FROM ({ids}) AS h"
            f" JOIN temp.search_rows AS r ON r.id = h.id{stop}"
        )
        capped = limit is not None and total >= limit
        if not capped:
            walk = wanted * newest / max(total, 1) < 15 * total
            return r.page(IN_HITS, page, size, walk=walk), total, capped
        return r.page(f"{IN_ROWS} AND {probes}", page, size, walk=True), total, capped
    cost = sum(h.probe_cost for h in found.hits)
    enough = max(int((wanted * newest * cost) ** 0.5), wanted) + 1
    hits = part = 0
    sampled = False
    if not all(h.verified for h in found.hits):  # verified hits are few: copied
        # The hits among the first 1/SAMPLE of the ids (interaction ids have nothing to do
        # with words or addresses) tell a common word or address part without reading all
        # its hits (counting 36,000 hits of a word cost 3-9 ms under load, the first 4,755
        # of `gmail.com`'s trigram phrase 10-19 ms; this, about a sixteenth). Clearly more
        # than `enough`: no copy, the walk. Otherwise the copy, bounded by `enough`, counts
        # them exactly. Only the path depends on the estimate, never the answer.
        cut = sample_cut(newest, SAMPLE)
        # Counted only as far as the answer needs: a common word's 12,000 hits in the
        # sample cost ~0.9 ms, the 4,600 that tell it is common ~0.2 ms; and kept.
        need = -(-2 * enough * cut // max(newest, 1))
        part = r.sampled(f"SELECT id FROM ({found.hit_ids(cut)})", need)
        if part * newest >= 2 * enough * cut:
            hits, sampled = enough, True
    if hits < enough:
        hits = r.insert(f"INSERT INTO temp.search_hits SELECT id FROM ({ids}) LIMIT {enough}")
    if hits < enough:
        walk = wanted * newest / max(hits, 1) < 15 * hits
        return r.page(IN_HITS, page, size, walk=walk), hits, False
    if limit is not None and (hits if not sampled else part) >= limit:
        # As many hits copied as the cap, or as many in the sample alone (a part of them
        # all: a common word's 1,151 of its first 1/64): past the cap, nothing to count.
        total, capped = limit, True
    else:
        stop = "" if limit is None else f" LIMIT {limit}"
        total = r.scalar(f"SELECT count(*) FROM ({ids}{stop})")
        capped = limit is not None and total >= limit
    return r.page(walk_where, page, size, walk=True), total, capped


# A period by last message is walked newest first only when fewer rows than this (of all)
# end after its bound; else its late-ending rows are sorted (`period_by_last`).
PERIOD_WALK = 1_000


def period_by_last(
    r: Runner, where: str, page: int, size: int, limit: int | None
) -> tuple[str, int, bool]:
    """A period's rows (with plain filters, none fixing a walk's first column) by their
    last message. Walking the newest-first index reads every row ending after the period's
    page, each read for its period: a campaign's quarter of last winter 250 ms, a year 320
    ms, where `sqrt(wanted * all)` of them chose the walk. Sorting the period's late-ending
    rows (`Runner.bound`) reads the period's entries (~0.1 us each in an index holding the
    date: a campaign's, `ix_interactions_created_client`). So: counted to the cap only;
    a few rows, or more than PERIOD_WALK interactions of any filter ending after the
    bound: sorted; else (a recent period) walked, which then reads fewer than that."""
    wanted = page * size
    total, capped = r.count(f"SELECT interactions.id FROM interactions WHERE {where}", limit)
    if total >= PERIOD_WALK and r.ending_past(where, wanted, PERIOD_WALK) < PERIOD_WALK:
        return r.page(where, page, size, walk=True), total, capped
    return r.page(where, page, size, bounded=True), total, capped


def in_copied(
    r: Runner, where: str, page: int, size: int, limit: int | None
) -> tuple[str, int, bool]:
    """The hits copied to `temp.search_hits` (all of them), each one's row checked against
    the filters `where`: counted and paged from the copy."""
    in_both = f"{IN_HITS} AND {where}"
    total, capped = r.count(
        f"SELECT interactions.id FROM interactions NOT INDEXED WHERE {in_both}", limit
    )
    return r.page(in_both, page, size, by_ids=True), total, capped


def scanned(
    r: Runner, where: str, page: int, size: int, limit: int | None, newest: int
) -> tuple[str, int, bool]:
    """Rows `where` selects when it checks each row's text (LIKE): each row checked once,
    the matches copied, counted by the copy and sorted from it; past as many as walking the
    sort's index is cheaper for (`sqrt(wanted * all)`), the walk checks again instead."""
    many = math.isqrt(((page - 1) * size + size) * newest) + 1
    most = None if limit is None else max(limit, many)
    tail = "" if most is None else f" LIMIT {most}"
    counted = r.insert(
        f"INSERT INTO temp.search_hits SELECT interactions.id FROM interactions WHERE {where}{tail}"
    )
    total, capped = (counted, False) if limit is None else (min(counted, limit), counted >= limit)
    if counted < many:
        return r.page(IN_HITS, page, size), total, capped
    return r.page(where, page, size, walk=True), total, capped


SUMMARIES = """
SELECT interactions.id, interactions.campaign_id, campaigns.name, interactions.client_email,
  interactions.client_name, interactions.subject, interactions.state, users.username,
  interactions.unread, interactions.queued_at, interactions.assigned_at,
  interactions.closed_at, interactions.last_message_at, interactions.linked_interaction_id,
  interactions.message_count,
  (SELECT interaction_wrapups.disposition_path FROM interaction_wrapups
   WHERE interaction_wrapups.interaction_id = interactions.id
   ORDER BY interaction_wrapups.id DESC LIMIT 1),
  interactions.created_at
FROM interactions NOT INDEXED JOIN campaigns ON campaigns.id = interactions.campaign_id
LEFT JOIN users ON users.id = interactions.agent_id
WHERE interactions.id IN ({page})
ORDER BY {order}
"""


def _when(value: str | None) -> datetime | None:
    # Stored as UTC without an offset; parsed with one (`.replace(tzinfo=)` after the parse
    # cost several times the parse: 160 of them a page).
    return None if value is None else datetime.fromisoformat(value + "+00:00")


def summaries(r: Runner, page: str) -> list[InteractionSummary]:
    """The rows of the page `page` selects (its ids, ordered and limited), in its order,
    each with its message count (kept on the row, migration 0041) and last wrap-up code:
    ONE statement, the page's ids and its rows (the service's `summaries_where` +
    `last_dispositions` are two more).
    NOT INDEXED: the rows are sought by id (the page's few), never found by walking an
    index in the order; the 40 of a page are sorted again, which costs nothing."""
    sql = SUMMARIES.format(page=page, order=r.found.order)
    parse = datetime.fromisoformat
    return [
        InteractionSummary(
            id=row[0],
            campaign_id=row[1],
            campaign_name=row[2],
            client_email=row[3],
            client_name=row[4],
            subject=row[5],
            state=row[6],
            agent=row[7],
            unread=bool(row[8]),
            queued_at=parse(row[9] + "+00:00"),
            assigned_at=_when(row[10]),
            closed_at=_when(row[11]),
            last_message_at=parse(row[12] + "+00:00"),
            linked_interaction_id=row[13],
            message_count=row[14],
            disposition=row[15] or "",
            created_at=parse(row[16] + "+00:00"),
        )
        for row in r.c.execute(sql, r.p.values)
    ]


def search(
    c: sqlite3.Connection,
    query: RecordingQuery,
    user_id: int | None,
    count_limit: int | None,
    rows_many: int,
    rows_few: int = 2_000,
    samples: Samples | None = None,
) -> tuple[list[InteractionSummary], int, bool]:
    """The whole search on connection `c`: plan, page, count, summaries."""
    p = Params()
    found = plan(c, p, query, user_id)
    r = Runner(c, p, found, samples)
    page, total, capped = search_page(
        r, query.page, query.page_size, count_limit, rows_many, rows_few
    )
    return summaries(r, page), total, capped


def in_session(
    session: Session,
    query: RecordingQuery,
    user_id: int | None,
    count_limit: int | None,
    rows_many: int,
    rows_few: int = 2_000,
    samples: Samples | None = None,
) -> tuple[list[InteractionSummary], int, bool]:
    """`search` on the plain `sqlite3` connection under `session` (a session of
    `Database.read_at_once`, in a reader thread): `BEGIN` ... `ROLLBACK`, one snapshot for
    every statement (the driver would begin only at the first INSERT), nothing kept but
    this connection's temporary rows, which the rollback empties."""
    bind = session.get_bind()
    # The reader threads' sessions are bound to a connection each (data/reader_threads.py):
    # its driver's connection as it is, without a SQLAlchemy transaction begun and rolled
    # back around the search's own (~25 us).
    pooled = bind.connection if isinstance(bind, Connection) else session.connection().connection
    c: sqlite3.Connection = pooled.driver_connection  # type: ignore[assignment]
    if not pooled.info.get("recordings_search"):
        for statement in SETUP:
            c.execute(statement)
        pooled.info["recordings_search"] = True
    c.execute("BEGIN")
    try:
        return search(c, query, user_id, count_limit, rows_many, rows_few, samples)
    finally:
        c.execute("ROLLBACK")
