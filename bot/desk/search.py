"""Full-text search: the requests, replies, internal notes and form answers a person may read, ranked, each
with a highlighted snippet of text that person may read, a page at a time (`GET /search`, `/desk search`).

The index is the database's own, kept by triggers in the transaction that writes the rows (migration
0010): FTS5 on SQLite (unicode61, diacritics folded; partial words by prefix), and on PostgreSQL a
tsvector per text in its zone's language (`search_languages`, written from `app.yaml` by
`remember_languages`), searched with every configuration the desk knows at once, with pg_trgm as the
fallback that finds words PostgreSQL has no dictionary for (Polish) and parts of words.

Access is `bot.access.Policy`'s: a request is found when the person may see it in their lists
(`request_clause` at REQUESTER), and its internal notes only count when they may read notes on it
(READER or more, as `bot.desk.reads` shows notes). The filter is part of the query that ranks, counts
and pages, so a match in something hidden is never a hit, never counted and never in a snippet.

Whatever a person types is only ever turned into words of letters and digits (`parse`), so no query
syntax of FTS5 or PostgreSQL can be written through it; a text with no such words, or too long, is
answered with a sentence (`Results.problem`). Highlights are built with two sentinel characters (taken
out of the text first), escaped, and only then turned into `<mark>` (`marked_html`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import Boolean, ColumnElement, Float, Integer, String, and_, false, func, not_, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import TypeEngine

from bot.access import Actor, Level, Policy
from bot.i18n import N_, _
from bot.model import Comment, FormAnswer, Request

MAX_LENGTH = 200  # characters a search may have (the web's box and chat alike)
MAX_WORDS = 8  # words searched for; the rest of a longer text is ignored
PAGE_SIZE = 20
SNIPPET_WIDTH = 180  # characters of text around the first match
OPEN, CLOSE = "\x02", "\x03"  # highlight sentinels: never in stored text (removed first), never in HTML
_WORD = re.compile(r"[^\W_]+")
_PREFIX_FROM = 3  # words this long or longer also find longer words (prefix); shorter ones only themselves

# PostgreSQL text search configurations per language the desk speaks (none for Polish: `simple`).
PG_CONFIGS = {"en": "english", "nb": "norwegian", "sv": "swedish", "nl": "dutch", "it": "italian", "de": "german"}
_ALL_PG_CONFIGS = (*sorted(set(PG_CONFIGS.values())), "simple")

# Where a hit's snippet comes from, as its reader is told.
FOUND_IN = {"request": N_("in the request"), "reply": N_("in a reply"), "note": N_("in an internal note"),
            "answer": N_("in the form's answers")}


@dataclass(frozen=True)
class Words:
    """The words a text asks for (lower case, letters and digits only), or why it cannot be searched."""

    words: tuple[str, ...]
    problem: str | None = None


def parse(text: str | None) -> Words:
    """The words to look for in what a person typed. Never raises: FTS5 and tsquery syntax (quotes,
    stars, parentheses, AND/OR/NEAR, colons) is read as separators, so nothing typed is ever syntax."""
    text = " ".join((text or "").split())
    if len(text) > MAX_LENGTH:
        return Words((), _("The text to look for is too long: at most {limit} characters.", limit=MAX_LENGTH))
    seen: list[str] = []
    for word in _WORD.findall(text.lower()):
        if word not in seen:
            seen.append(word)
    if not seen:
        return Words((), _("Write a word or two to look for (letters or digits)."))
    return Words(tuple(seen[:MAX_WORDS]))


# ---------------------------------------------------------------- the matching documents, per database
def _documents(dialect: str, words: Sequence[str]) -> Any:
    """(request_id, kind, key, public, score) of every text matching all `words`; lower scores are better.
    kind: request (title and description), comment (`public` false for a note), answer (a form's)."""
    columns: dict[str, TypeEngine[Any]] = {"request_id": Integer(), "kind": String(), "key": String(),
                                           "public": Boolean(), "score": Float()}
    if dialect == "sqlite":
        match = " ".join(f'"{w}"*' if len(w) >= _PREFIX_FROM else f'"{w}"' for w in words)
        sql = (
            "SELECT rowid AS request_id, 'request' AS kind, '' AS key, 1 AS public, "
            "bm25(search_requests, 10.0, 1.0) AS score FROM search_requests WHERE search_requests MATCH :match "
            "UNION ALL SELECT c.request_id, 'comment', CAST(c.id AS TEXT), c.public, bm25(search_comments) "
            "FROM search_comments JOIN comments c ON c.id = search_comments.rowid WHERE search_comments MATCH :match "
            "UNION ALL SELECT a.request_id, 'answer', a.field_id, 1, bm25(search_answers) "
            "FROM search_answers JOIN form_answers a ON a.rowid = search_answers.rowid "
            "WHERE search_answers MATCH :match")
        return text(sql).bindparams(match=match).columns(**columns)
    # PostgreSQL: every configuration's reading of the words at once (a tsquery OR), and the trigram
    # fallback (each word somewhere in the text) when every word is long enough for trigrams.
    tsq = " & ".join(f"{w}:*" if len(w) >= _PREFIX_FROM else w for w in words)
    query = " || ".join(f"to_tsquery('{config}', :tsq)" for config in _ALL_PG_CONFIGS)
    params: dict[str, Any] = {"tsq": tsq}
    trigram = ""
    if all(len(w) >= 3 for w in words):
        likes = []
        for i, word in enumerate(words):  # letters and digits only: nothing to escape for LIKE
            params[f"like{i}"] = f"%{word}%"
            likes.append(f"(d.title || ' ' || d.body) ILIKE :like{i}")
        trigram = " OR (" + " AND ".join(likes) + ")"
    # Only constants and bound parameters are written into this text.
    sql = (f"SELECT d.request_id AS request_id, d.source AS kind, d.source_key AS key, d.public AS public, "  # noqa: S608
           f"-ts_rank(d.words, q.query) AS score FROM search_documents d, (SELECT {query} AS query) q "
           f"WHERE d.words @@ q.query{trigram}")
    return text(sql).bindparams(**params).columns(**columns)


def _visible(policy: Policy, actor: Actor, docs: Any) -> ColumnElement[bool]:
    """A text of a request is searched for this person when they see the request in their lists, and a
    note only when they may read its notes (READER or more)."""
    return and_(policy.request_clause(actor, Level.REQUESTER),
                or_(docs.c.public, policy.request_clause(actor, Level.READER)))


class _ForDialect(ColumnElement[bool]):
    """A WHERE clause written when it is compiled, for the database it is compiled for."""

    inherit_cache = False
    type = Boolean()

    def __init__(self, build: Callable[[str], ColumnElement[bool]]) -> None:
        self.build = build


@compiles(_ForDialect)
def _compile_for_dialect(element: _ForDialect, compiler: SQLCompiler, **kw: Any) -> str:
    # In parentheses: it stands in a WHERE beside other conditions (and SQLite compares it to 1).
    return "(" + str(compiler.process(element.build(compiler.dialect.name), **kw)) + ")"


def matching_clause(policy: Policy, actor: Actor, text: str) -> ColumnElement[bool]:
    """A WHERE clause over `Request`: requests with a text matching `text` that this person may read
    (their notes only where they may read notes). For lists that filter by text (`bot.desk.listing`),
    which apply `Policy.request_clause` themselves; nothing matches a text `parse` refuses."""
    words = parse(text).words
    if not words:
        return false()

    def build(dialect: str) -> ColumnElement[bool]:
        docs = _documents(dialect, words).subquery("search_docs")
        public = select(docs.c.request_id).where(docs.c.public)
        notes = select(docs.c.request_id).where(not_(docs.c.public))
        return or_(Request.id.in_(public),
                   and_(policy.request_clause(actor, Level.READER), Request.id.in_(notes)))

    return _ForDialect(build)


# ---------------------------------------------------------------- results
@dataclass(frozen=True)
class Hit:
    """One request found: its title and a snippet (with highlight sentinels; see `marked_html`),
    and where the snippet comes from (a key of `FOUND_IN`)."""

    number: int
    title: str
    status: str
    zone_id: str
    found_in: str
    snippet: str
    label: str | None = None  # the form field's label, for an answer

    @property
    def title_html(self) -> Markup:
        """The title, escaped, with its matches in <mark>."""
        return marked_html(self.title)

    @property
    def snippet_html(self) -> Markup:
        """The snippet, escaped, with its matches in <mark>."""
        return marked_html(self.snippet)

    @property
    def title_text(self) -> str:
        """The title as plain text (chat adapters escape it)."""
        return plain(self.title)

    @property
    def snippet_text(self) -> str:
        """The snippet as plain text."""
        return plain(self.snippet)

    @property
    def where(self) -> str:
        """Where the snippet was found, in the language being spoken."""
        return _(FOUND_IN[self.found_in])


@dataclass(frozen=True)
class Results:
    """A page of hits for one search, the number of requests found (only those the person may see), or
    the sentence saying why the text could not be searched."""

    text: str
    words: tuple[str, ...]
    hits: tuple[Hit, ...]
    total: int
    page: int
    per_page: int
    problem: str | None = None

    @property
    def pages(self) -> int:
        """How many pages the hits take."""
        return max(1, -(-self.total // self.per_page))


async def search(unit: Any, actor: Actor, text: str | None, *, page: int = 1,
                 per_page: int = PAGE_SIZE) -> Results:
    """The requests matching `text` that `actor` may see, best first (bm25 on SQLite, ts_rank on
    PostgreSQL; a match in a title weighs most), `per_page` at a time, each with its best snippet among
    the texts the actor may read. `unit` is the desk (`bot.desk.unit.Unit`)."""
    parsed = parse(text)
    clean = " ".join((text or "").split())[:MAX_LENGTH]
    page = max(1, page)
    per_page = max(1, min(per_page, 100))
    if parsed.problem is not None:
        return Results(clean, (), (), 0, 1, per_page, parsed.problem)
    policy: Policy = unit.policy
    async with unit.readers() as session:
        dialect = session.bind.dialect.name
        docs = _documents(dialect, parsed.words).subquery("docs")
        visible = _visible(policy, actor, docs)
        best = func.min(docs.c.score).label("score")
        ranked = (select(docs.c.request_id, best, func.count().over().label("total"))
                  .join(Request, Request.id == docs.c.request_id).where(visible)
                  .group_by(docs.c.request_id).order_by(best, docs.c.request_id.desc())
                  .limit(per_page).offset((page - 1) * per_page))
        rows = (await session.execute(ranked)).all()
        total = int(rows[0].total) if rows else 0
        if not rows and page > 1:  # past the end: say how many there are all the same
            count = select(func.count()).select_from(
                select(docs.c.request_id).join(Request, Request.id == docs.c.request_id).where(visible)
                .group_by(docs.c.request_id).subquery())
            total = int(await session.scalar(count) or 0)
        numbers = [int(r.request_id) for r in rows]
        hits = await _hits(session, policy, actor, docs, visible, numbers, parsed.words) if numbers else ()
    return Results(clean, parsed.words, tuple(hits), total, page, per_page)


async def _hits(session: AsyncSession, policy: Policy, actor: Actor, docs: Any, visible: ColumnElement[bool],
                numbers: list[int], words: Sequence[str]) -> list[Hit]:
    """The page's requests with the best text each, of those the actor may read."""
    texts = (await session.execute(
        select(docs.c.request_id, docs.c.kind, docs.c.key, docs.c.public, docs.c.score)
        .join(Request, Request.id == docs.c.request_id)
        .where(visible, docs.c.request_id.in_(numbers)).order_by(docs.c.score))).all()
    chosen: dict[int, tuple[str, str, bool]] = {}
    for row in texts:
        chosen.setdefault(int(row.request_id), (str(row.kind), str(row.key), bool(row.public)))
    requests = {r.id: r for r in (await session.execute(
        select(Request).where(Request.id.in_(numbers), policy.request_clause(actor, Level.REQUESTER)))).scalars()}
    comment_ids = [int(key) for kind, key, _p in chosen.values() if kind == "comment"]
    comments = {c.id: c.body for c in (await session.execute(
        select(Comment).where(Comment.id.in_(comment_ids)))).scalars()} if comment_ids else {}
    answer_of = {n: key for n, (kind, key, _p) in chosen.items() if kind == "answer"}
    answers: dict[int, tuple[str, Any]] = {}
    if answer_of:
        query = select(FormAnswer).where(FormAnswer.request_id.in_(list(answer_of)))
        for a in (await session.execute(query)).scalars():
            if answer_of.get(a.request_id) == a.field_id:
                answers[a.request_id] = (a.label, a.value)
    hits = []
    for number in numbers:
        request = requests.get(number)
        if request is None or number not in chosen:
            continue
        kind, key, public = chosen[number]
        label = None
        if kind == "comment":
            found_in, body = ("reply" if public else "note"), comments.get(int(key), "")
        elif kind == "answer":
            label, value = answers.get(number, ("", ""))
            found_in, body = "answer", _answer_text(value)
        else:
            found_in, body = "request", request.description or ""
        hits.append(Hit(number, highlight(request.title, words, width=0), request.status, request.zone_id,
                        found_in, highlight(body, words), label))
    return hits


def _answer_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


# ---------------------------------------------------------------- snippets
def fold(word: str) -> str:
    """A word as matching compares it: lower case, diacritics removed (as the SQLite index folds them)."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _matches(word: str, wanted: Sequence[str]) -> bool:
    """A word of the text is highlighted when a word searched for begins it, is inside it (trigrams), or is
    it with an ending (a stem found by PostgreSQL's dictionaries: 'printers' for 'printer')."""
    folded = fold(word)
    return any(folded.startswith(w) or (len(w) >= 3 and w in folded) or (len(folded) >= 4 and w.startswith(folded))
               for w in wanted)


def highlight(source: str, words: Sequence[str], *, width: int = SNIPPET_WIDTH) -> str:
    """`source` with each matching word between the sentinels; with `width`, only about that many
    characters around the first match (or from the start), with '…' where it is cut."""
    clean = " ".join(source.replace(OPEN, "").replace(CLOSE, "").split())
    wanted = [fold(w) for w in words]
    spans = [m.span() for m in _WORD.finditer(clean) if _matches(m.group(), wanted)]
    start, end = 0, len(clean)
    if width and len(clean) > width:
        first = spans[0][0] if spans else 0
        start = max(0, first - width // 3)
        if start:
            space = clean.rfind(" ", 0, start)
            start = space + 1 if space >= 0 and start - space < 20 else start
        end = min(len(clean), start + width)
        if end < len(clean):
            space = clean.rfind(" ", start, end)
            end = space if space > start + width // 2 else end
    out, at = [], start
    for s, e in spans:
        if s < start or e > end:
            continue
        out += [clean[at:s], OPEN, clean[s:e], CLOSE]
        at = e
    out.append(clean[at:end])
    return ("…" if start else "") + "".join(out) + ("…" if end < len(clean) else "")


def marked_html(marked: str) -> Markup:
    """Text with highlight sentinels as HTML: escaped first, then the sentinels become <mark>."""
    html = str(escape(marked)).replace(OPEN, "<mark>").replace(CLOSE, "</mark>")
    return Markup(html)  # noqa: S704 - escaped first; only <mark> and </mark> are added


def plain(marked: str) -> str:
    """Text with highlight sentinels as plain text."""
    return marked.replace(OPEN, "").replace(CLOSE, "")


# ---------------------------------------------------------------- PostgreSQL: the zones' languages
async def remember_languages(unit: Any) -> None:
    """Tell PostgreSQL's index which text search configuration each zone's texts are read with: the
    zone's language, else the organisation's (zone ''), `simple` where PostgreSQL has no dictionary
    (Polish). Texts written afterwards are indexed with it; a search reads every configuration at once,
    so texts indexed before a change are still found. Nothing to do on SQLite."""
    config = unit.config
    organisation = PG_CONFIGS.get(config.organisation.language, "simple")
    rows = [{"zone": "", "config": organisation}]
    rows += [{"zone": z.id, "config": PG_CONFIGS.get(z.language, "simple") if z.language else organisation}
             for z in config.zones]
    async with unit.sessions() as session:
        if session.bind.dialect.name != "postgresql":
            return
        await session.execute(text(
            "INSERT INTO search_languages (zone_id, config) VALUES (:zone, CAST(:config AS regconfig)) "
            "ON CONFLICT (zone_id) DO UPDATE SET config = excluded.config"), rows)
        await session.commit()

