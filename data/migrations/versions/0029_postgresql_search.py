"""recordings search on PostgreSQL: pg_trgm for any part of an address, name or subject, a
word index (tsvector) for the messages' text; SQLite untouched (its FTS5 tables are 0020's)

Why these two and not one: the address, name and subject filters are substring searches
("ANA.PER", "efund"), which is what a trigram index answers and a word index cannot; the text
filter looks for whole words, accents and case ignored, which is what SQLite's unicode61 index
does and what a tsvector does. A trigram index over whole mail bodies would also be several
times the size of the text.

The words of a text are cut as SQLite's unicode61 tokenizer cuts them, not by PostgreSQL's
parser: `postdesk_words` turns every run of non-letters-or-digits into a space (so an address
`ana.perez@acme.example` in a body gives the words `ana`, `perez`, `acme`, `example`, not one
"email" token), strips accents (unaccent) and lowercases ('simple' dictionary, no stemming:
"kettles" does not find "kettle", as on SQLite). The two-argument unaccent names its
dictionary, which lets the function be IMMUTABLE and so be indexed.

The indexes need no trigger: an expression index is kept by PostgreSQL itself in the writer's
transaction. pg_trgm and unaccent are trusted extensions (PostgreSQL 13+): the database's owner
creates them, no superuser needed.

Revision ID: 0029
Revises: 0027
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0029"
# Chained to the head of main when this was written (0023); the lead re-chains at merge.
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every run of characters that are neither letters nor digits (`_` included, as unicode61)
# becomes a space: ASCII punctuation, the Latin-1 symbols (not ª º µ ² ³ ¹ ¼ ½ ¾, letters and
# numbers to unicode61), general punctuation, currency, arrows, maths, box drawing and other
# symbols, CJK and full-width punctuation, emoji. Listed by range, not by a class: in a
# C-locale database a regex class knows ASCII only. Other characters are left to PostgreSQL's
# parser, which takes them as letters.
NOT_WORD = (
    r"[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\xa9\xab-\xb1\xb4\xb6-\xb8\xbb\xbf\xd7\xf7"
    r"\u2000-\u2bff\u3000-\u303f\ufe30-\ufe4f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40"
    r"\uff5b-\uff65\U0001f000-\U0001faff]+"
)


def functions(unaccent_schema: str) -> list[str]:
    """The word functions, naming unaccent's schema: a restore (pg_dump sets an empty
    search_path) or an index build must find the same dictionary."""
    unaccent = f"{unaccent_schema}.unaccent('{unaccent_schema}.unaccent'::regdictionary, value)"
    return [
        "CREATE OR REPLACE FUNCTION postdesk_plain(value text) RETURNS text"
        " LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS"
        f" $$ SELECT pg_catalog.regexp_replace({unaccent}, '{NOT_WORD}', ' ', 'g') $$",
        "CREATE OR REPLACE FUNCTION postdesk_words(value text) RETURNS tsvector"
        " LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS"
        " $$ SELECT pg_catalog.to_tsvector('pg_catalog.simple'::regconfig,"
        " {schema}.postdesk_plain(value)) $$",
        "CREATE OR REPLACE FUNCTION postdesk_query(value text) RETURNS tsquery"
        " LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS"
        " $$ SELECT pg_catalog.plainto_tsquery('pg_catalog.simple'::regconfig,"
        " {schema}.postdesk_plain(value)) $$",
    ]


INDEXES = [
    "CREATE INDEX search_interactions_client_email ON interactions"
    " USING gin (client_email gin_trgm_ops)",
    "CREATE INDEX search_interactions_client_name ON interactions"
    " USING gin (client_name gin_trgm_ops)",
    "CREATE INDEX search_interactions_subject ON interactions USING gin (subject gin_trgm_ops)",
    "CREATE INDEX search_messages_words ON messages USING gin (postdesk_words(text))",
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: FTS5 tables and triggers of 0020
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    bind = op.get_bind()
    unaccent_schema = bind.exec_driver_sql(
        "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'unaccent'"
    ).scalar_one()
    schema = bind.exec_driver_sql("SELECT current_schema()").scalar_one()
    for statement in functions(unaccent_schema):
        op.execute(statement.replace("{schema}", schema))
    for statement in INDEXES:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in (
        "search_interactions_client_email",
        "search_interactions_client_name",
        "search_interactions_subject",
        "search_messages_words",
    ):
        op.execute(f"DROP INDEX IF EXISTS {name}")
    for function in ("postdesk_query", "postdesk_words", "postdesk_plain"):
        op.execute(f"DROP FUNCTION IF EXISTS {function}(text)")
