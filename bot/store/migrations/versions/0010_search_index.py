"""search index: full text over requests, comments (replies and notes) and form answers

Kept by the database itself, in the same transaction as the rows it indexes: triggers fire for every
INSERT, including the hot path's hand-written multi-row statements (`bot.desk.writes`), for the seed's
bulk inserts, for imports and for erasure's UPDATEs. Existing rows are indexed here.

SQLite: three FTS5 tables with the unicode61 tokenizer folding diacritics (`remove_diacritics 2`):
`search_requests` (title, description; external content: the `requests` rows themselves) and
`search_comments` (body; external content: `comments`), each keyed by its row's id, and
`search_answers` (the answer's text; its own copy, keyed by the `form_answers` rowid, since a JSON
value is indexed as its text). Partial words are found by prefix queries (`bot.desk.search`). The
trigram tokenizer was not chosen: this SQLite (3.40) cannot fold diacritics with it, it makes the
index several times larger and each filing slower, and bm25 over trigrams ranks poorly.

PostgreSQL: one maintained table, `search_documents` (one row per request text, comment and answer,
with `public` false for internal notes), its `words` tsvector generated with the text search
configuration of the request's zone language (`search_languages`, written by the server from
`app.yaml` at start; Polish and unknown zones use `simple`), a GIN index on it, and a pg_trgm GIN
index over the text, the fallback that finds Polish words and partial words. Statement-level
triggers with transition tables index a whole group of filed requests with one INSERT.

Neither is described by the models (virtual tables and triggers are outside what SQLAlchemy models):
`tests/test_migrations.py` leaves the `search_*` names out of its comparison. A later migration that
makes SQLite recreate `requests`, `comments` or `form_answers` (batch mode "recreate": changing or
dropping a column) drops their triggers and must create them again (`sqlite_triggers()` below).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TOKENIZE = "tokenize = 'unicode61 remove_diacritics 2'"
# A form answer as text: a JSON string unquoted, anything else (numbers, booleans, lists) as written.
_ANSWER_SQLITE = ("CASE WHEN json_valid({v}) THEN CASE json_type({v}) WHEN 'text' THEN json_extract({v}, '$') "
                  "ELSE {v} END ELSE coalesce({v}, '') END")


def sqlite_triggers() -> list[str]:
    """The SQLite triggers that keep the FTS5 tables in step with their rows."""
    answer_new = _ANSWER_SQLITE.format(v="new.value")
    return [
        "CREATE TRIGGER search_requests_ai AFTER INSERT ON requests BEGIN "
        "INSERT INTO search_requests (rowid, title, description) "
        "VALUES (new.id, new.title, coalesce(new.description, '')); END",
        "CREATE TRIGGER search_requests_ad AFTER DELETE ON requests BEGIN "
        "INSERT INTO search_requests (search_requests, rowid, title, description) "
        "VALUES ('delete', old.id, old.title, coalesce(old.description, '')); END",
        "CREATE TRIGGER search_requests_au AFTER UPDATE OF title, description ON requests BEGIN "
        "INSERT INTO search_requests (search_requests, rowid, title, description) "
        "VALUES ('delete', old.id, old.title, coalesce(old.description, '')); "
        "INSERT INTO search_requests (rowid, title, description) "
        "VALUES (new.id, new.title, coalesce(new.description, '')); END",
        "CREATE TRIGGER search_comments_ai AFTER INSERT ON comments BEGIN "
        "INSERT INTO search_comments (rowid, body) VALUES (new.id, new.body); END",
        "CREATE TRIGGER search_comments_ad AFTER DELETE ON comments BEGIN "
        "INSERT INTO search_comments (search_comments, rowid, body) VALUES ('delete', old.id, old.body); END",
        "CREATE TRIGGER search_comments_au AFTER UPDATE OF body ON comments BEGIN "
        "INSERT INTO search_comments (search_comments, rowid, body) VALUES ('delete', old.id, old.body); "
        "INSERT INTO search_comments (rowid, body) VALUES (new.id, new.body); END",
        "CREATE TRIGGER search_answers_ai AFTER INSERT ON form_answers BEGIN "
        f"INSERT INTO search_answers (rowid, value) VALUES (new.rowid, {answer_new}); END",
        "CREATE TRIGGER search_answers_ad AFTER DELETE ON form_answers BEGIN "
        "DELETE FROM search_answers WHERE rowid = old.rowid; END",
        "CREATE TRIGGER search_answers_au AFTER UPDATE OF value ON form_answers BEGIN "
        "DELETE FROM search_answers WHERE rowid = old.rowid; "
        f"INSERT INTO search_answers (rowid, value) VALUES (new.rowid, {answer_new}); END",
    ]


def _sqlite_upgrade() -> None:
    op.execute("CREATE VIRTUAL TABLE search_requests USING fts5(title, description, content = 'requests', "
               f"content_rowid = 'id', {_TOKENIZE})")
    op.execute(f"CREATE VIRTUAL TABLE search_comments USING fts5(body, content = 'comments', content_rowid = 'id', "
               f"{_TOKENIZE})")
    op.execute(f"CREATE VIRTUAL TABLE search_answers USING fts5(value, {_TOKENIZE})")
    for statement in sqlite_triggers():
        op.execute(statement)
    op.execute("INSERT INTO search_requests (search_requests) VALUES ('rebuild')")
    op.execute("INSERT INTO search_comments (search_comments) VALUES ('rebuild')")
    op.execute(f"INSERT INTO search_answers (rowid, value) SELECT rowid, {_ANSWER_SQLITE.format(v='value')} "
               "FROM form_answers")


def _sqlite_downgrade() -> None:
    for name in ("requests_ai", "requests_ad", "requests_au", "comments_ai", "comments_ad", "comments_au",
                 "answers_ai", "answers_ad", "answers_au"):
        op.execute(f"DROP TRIGGER IF EXISTS search_{name}")
    for table in ("search_requests", "search_comments", "search_answers"):
        op.execute(f"DROP TABLE IF EXISTS {table}")


# The configuration a new document of a zone is indexed with: the zone's, else the organisation's (zone ''),
# else simple. Joined as `lang` / `fallback` in the triggers below.
_CONFIG = "coalesce(lang.config, fallback.config, 'simple'::regconfig)"
_LANG_JOIN = ("LEFT JOIN search_languages lang ON lang.zone_id = {zone} "
              "LEFT JOIN search_languages fallback ON fallback.zone_id = ''")
_ANSWER_PG = "CASE json_typeof({v}) WHEN 'string' THEN {v} #>> '{{}}' ELSE coalesce({v}::text, '') END"

_POSTGRES_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE TABLE search_languages (zone_id varchar(40) PRIMARY KEY, config regconfig NOT NULL)",
    "CREATE TABLE search_documents ("
    " request_id bigint NOT NULL REFERENCES requests (id) ON DELETE CASCADE,"
    " source varchar(10) NOT NULL,"  # request | comment | answer
    " source_key varchar(80) NOT NULL,"  # '' | the comment's id | the form field's id
    " public boolean NOT NULL,"  # false: an internal note
    " config regconfig NOT NULL,"
    " title text NOT NULL,"
    " body text NOT NULL,"
    " words tsvector GENERATED ALWAYS AS "
    "(setweight(to_tsvector(config, title), 'A') || setweight(to_tsvector(config, body), 'B')) STORED,"
    " PRIMARY KEY (request_id, source, source_key))",
    "CREATE INDEX ix_search_documents_words ON search_documents USING gin (words)",
    "CREATE INDEX ix_search_documents_trigrams ON search_documents USING gin ((title || ' ' || body) gin_trgm_ops)",
    # Requests: a group of filed requests is one INSERT, indexed by one statement.
    "CREATE FUNCTION search_requests_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO search_documents (request_id, source, source_key, public, config, title, body) "
    f"SELECT n.id, 'request', '', true, {_CONFIG}, n.title, coalesce(n.description, '') FROM added n "
    f"{_LANG_JOIN.format(zone='n.zone_id')}; RETURN NULL; END $$",
    "CREATE TRIGGER search_requests_added AFTER INSERT ON requests REFERENCING NEW TABLE AS added "
    "FOR EACH STATEMENT EXECUTE FUNCTION search_requests_added()",
    "CREATE FUNCTION search_requests_edited() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "UPDATE search_documents SET title = new.title, body = coalesce(new.description, '') "
    "WHERE request_id = new.id AND source = 'request' AND source_key = ''; RETURN NULL; END $$",
    "CREATE TRIGGER search_requests_edited AFTER UPDATE OF title, description ON requests FOR EACH ROW "
    "EXECUTE FUNCTION search_requests_edited()",
    # Comments: replies public, notes not.
    "CREATE FUNCTION search_comments_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO search_documents (request_id, source, source_key, public, config, title, body) "
    f"SELECT n.request_id, 'comment', n.id::text, n.public, {_CONFIG}, '', n.body FROM added n "
    f"JOIN requests r ON r.id = n.request_id {_LANG_JOIN.format(zone='r.zone_id')}; RETURN NULL; END $$",
    "CREATE TRIGGER search_comments_added AFTER INSERT ON comments REFERENCING NEW TABLE AS added "
    "FOR EACH STATEMENT EXECUTE FUNCTION search_comments_added()",
    "CREATE FUNCTION search_comments_edited() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "UPDATE search_documents SET body = new.body, public = new.public "
    "WHERE request_id = new.request_id AND source = 'comment' AND source_key = new.id::text; RETURN NULL; END $$",
    "CREATE TRIGGER search_comments_edited AFTER UPDATE OF body, public ON comments FOR EACH ROW "
    "EXECUTE FUNCTION search_comments_edited()",
    "CREATE FUNCTION search_comments_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "DELETE FROM search_documents WHERE request_id = old.request_id AND source = 'comment' "
    "AND source_key = old.id::text; RETURN NULL; END $$",
    "CREATE TRIGGER search_comments_removed AFTER DELETE ON comments FOR EACH ROW "
    "EXECUTE FUNCTION search_comments_removed()",
    # Form answers.
    "CREATE FUNCTION search_answers_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO search_documents (request_id, source, source_key, public, config, title, body) "
    f"SELECT n.request_id, 'answer', n.field_id, true, {_CONFIG}, '', {_ANSWER_PG.format(v='n.value')} "
    f"FROM added n JOIN requests r ON r.id = n.request_id {_LANG_JOIN.format(zone='r.zone_id')}; "
    "RETURN NULL; END $$",
    "CREATE TRIGGER search_answers_added AFTER INSERT ON form_answers REFERENCING NEW TABLE AS added "
    "FOR EACH STATEMENT EXECUTE FUNCTION search_answers_added()",
    "CREATE FUNCTION search_answers_edited() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"UPDATE search_documents SET body = {_ANSWER_PG.format(v='new.value')} "
    "WHERE request_id = new.request_id AND source = 'answer' AND source_key = new.field_id; RETURN NULL; END $$",
    "CREATE TRIGGER search_answers_edited AFTER UPDATE OF value ON form_answers FOR EACH ROW "
    "EXECUTE FUNCTION search_answers_edited()",
    "CREATE FUNCTION search_answers_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "DELETE FROM search_documents WHERE request_id = old.request_id AND source = 'answer' "
    "AND source_key = old.field_id; RETURN NULL; END $$",
    "CREATE TRIGGER search_answers_removed AFTER DELETE ON form_answers FOR EACH ROW "
    "EXECUTE FUNCTION search_answers_removed()",
    # What is already there.
    "INSERT INTO search_documents (request_id, source, source_key, public, config, title, body) "
    "SELECT id, 'request', '', true, 'simple', title, coalesce(description, '') FROM requests",
    "INSERT INTO search_documents (request_id, source, source_key, public, config, title, body) "
    "SELECT request_id, 'comment', id::text, public, 'simple', '', body FROM comments",
    "INSERT INTO search_documents (request_id, source, source_key, public, config, title, body) "
    f"SELECT request_id, 'answer', field_id, true, 'simple', '', {_ANSWER_PG.format(v='value')} FROM form_answers",
]

_POSTGRES_DOWN = [
    "DROP TABLE IF EXISTS search_documents",
    "DROP TABLE IF EXISTS search_languages",
    *(f"DROP TRIGGER IF EXISTS search_{t}_{what} ON {table}"
      for t, table in (("requests", "requests"), ("comments", "comments"), ("answers", "form_answers"))
      for what in ("added", "edited", "removed")),
    *(f"DROP FUNCTION IF EXISTS search_{t}_{what}()" for t in ("requests", "comments", "answers")
      for what in ("added", "edited", "removed")),
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_upgrade()
    else:
        for statement in _POSTGRES_UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_downgrade()
    else:
        for statement in _POSTGRES_DOWN:
            op.execute(statement)
