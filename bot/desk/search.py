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
from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    Integer,
    String,
    and_,
    cast,
    column,
    false,
    func,
    literal_column,
    not_,
    or_,
    select,
    table,
    text,
    union_all,
)
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
COUNT_CAP = 1000  # requests counted at most; beyond, "more than 1,000" (and no page past the 1,000th)
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
def _readable(dialect: str, policy: Policy, actor: Actor, words: Sequence[str], *, scored: bool = True,
              trigrams: bool | None = False, tsquery: str | None = None) -> Any:
    """(request_id, kind, key, public, score) of every text matching all `words` that `actor` may read (a
    subquery); lower scores are better (without `scored`, 0: for counting, which needs no rank). kind:
    request (title and description), comment (`public` false for a note), answer (a form's). On PostgreSQL
    `trigrams` chooses the words (False), the trigram fallback (True) or either (None)."""
    if dialect == "sqlite" and not policy.reading_zones(actor):
        return _sqlite_documents(policy, actor, words, scored=scored, own=True).subquery("docs")
    if dialect == "sqlite":
        found = _sqlite_documents(policy, actor, words, scored=scored, own=False).subquery("found")
    else:
        found = _postgres_documents(words, scored=scored, trigrams=trigrams, tsquery=tsquery).subquery("found")
    return (select(found.c.request_id, found.c.kind, found.c.key, found.c.public, found.c.score)
            .join(Request, Request.id == found.c.request_id).where(_visible(policy, actor, found))
            .subquery("docs"))


def _sqlite_documents(policy: Policy, actor: Actor, words: Sequence[str], *, scored: bool, own: bool) -> Any:
    """Each FTS5 table's matches on SQLite. With `own` (someone who reads no zone: their own requests are all
    they may see, a few hundred at most) each match is tested against the requests the actor may see and,
    for notes, read; then SQLite builds the set of those requests once and checks each match against it
    (written `+column IN (...)`, so that it never runs the MATCH once per request instead). Without, the
    caller joins the requests (an agent sees most of a zone: one look-up per match is cheaper)."""
    match = " ".join(f'"{w}"*' if len(w) >= _PREFIX_FROM else f'"{w}"' for w in words)
    seen = select(Request.id).where(policy.request_clause(actor, Level.REQUESTER))
    notes = select(Request.id).where(policy.request_clause(actor, Level.READER))
    mine = (literal_column("+search_requests.rowid").in_(seen),) if own else ()

    def rank(expression: str) -> Any:
        return literal_column(expression if scored else "0.0", Float()).label("score")

    in_requests, in_comments, in_answers = (table(name, column("rowid")) for name in
                                            ("search_requests", "search_comments", "search_answers"))
    comment_request: ColumnElement[int] = literal_column("+comments.request_id", Integer())
    answer_request: ColumnElement[int] = literal_column("+form_answers.request_id", Integer())
    requests = (select(in_requests.c.rowid.label("request_id"), literal_column("'request'", String()).label("kind"),
                       literal_column("''", String()).label("key"), literal_column("1", Boolean()).label("public"),
                       rank("bm25(search_requests, 10.0, 1.0)"))
                .where(text("search_requests MATCH :match_r").bindparams(match_r=match), *mine))
    comments = (select(Comment.request_id.label("request_id"), literal_column("'comment'", String()).label("kind"),
                       cast(Comment.id, String()).label("key"), Comment.public.label("public"),
                       rank("bm25(search_comments)"))
                .select_from(in_comments.join(Comment, Comment.id == in_comments.c.rowid))
                .where(text("search_comments MATCH :match_c").bindparams(match_c=match),
                       *((comment_request.in_(seen), or_(Comment.public, comment_request.in_(notes))) if own else ())))
    answers = (select(FormAnswer.request_id.label("request_id"), literal_column("'answer'", String()).label("kind"),
                      FormAnswer.field_id.label("key"), literal_column("1", Boolean()).label("public"),
                      rank("bm25(search_answers)"))
               .select_from(in_answers.join(FormAnswer, literal_column("form_answers.rowid") == in_answers.c.rowid))
               .where(text("search_answers MATCH :match_a").bindparams(match_a=match),
                      *((answer_request.in_(seen),) if own else ())))
    return union_all(requests, comments, answers)


def _sqlite_sets(words: Sequence[str]) -> tuple[list[Any], Any]:
    """The request numbers whose public texts match (one SELECT per FTS5 table) and those whose notes do."""
    match = " ".join(f'"{w}"*' if len(w) >= _PREFIX_FROM else f'"{w}"' for w in words)
    in_requests, in_comments, in_answers = (table(name, column("rowid")) for name in
                                            ("search_requests", "search_comments", "search_answers"))
    comments = in_comments.join(Comment, Comment.id == in_comments.c.rowid)
    public = [
        select(in_requests.c.rowid).where(text("search_requests MATCH :set_r").bindparams(set_r=match)),
        select(Comment.request_id).select_from(comments).where(
            text("search_comments MATCH :set_c").bindparams(set_c=match), Comment.public),
        select(FormAnswer.request_id).select_from(
            in_answers.join(FormAnswer, literal_column("form_answers.rowid") == in_answers.c.rowid)).where(
            text("search_answers MATCH :set_a").bindparams(set_a=match)),
    ]
    notes = select(Comment.request_id).select_from(comments).where(
        text("search_comments MATCH :set_n").bindparams(set_n=match), not_(Comment.public))
    return public, notes


def _postgres_documents(words: Sequence[str], *, scored: bool, trigrams: bool | None,
                        tsquery: str | None = None) -> Any:
    """Every text matching all `words` on PostgreSQL, whoever may read it (`_readable` filters). `tsquery`:
    the words as every configuration reads them, each reading once (`_postgres_query`); without it, the
    readings are OR'd in the statement (duplicates and all, which also misleads the planner's estimate)."""
    # PostgreSQL: every configuration's reading of the words at once (a tsquery OR); `trigrams`: instead,
    # each word somewhere in the text (pg_trgm's index), the fallback for what no dictionary finds.
    params: dict[str, Any] = {}
    if trigrams is None or not trigrams:
        if tsquery is not None:
            params["tsquery"] = tsquery
            query = "CAST(:tsquery AS tsquery)"
        else:
            params["tsq"], params["prefixes"] = _tsq(words, prefix=False), _tsq(words)
            query = " || ".join(f"to_tsquery('{config}', :{'prefixes' if config == 'simple' else 'tsq'})"
                                for config in _ALL_PG_CONFIGS)
        score = "-ts_rank(d.words, q.query)" if scored else "0.0"
    likes = []
    if trigrams is None or trigrams:
        for i, word in enumerate(words):  # letters and digits only: nothing to escape for LIKE
            params[f"like{i}"] = f"%{word}%"
            likes.append(f"(d.title || ' ' || d.body) ILIKE :like{i}")
    if trigrams:
        score, source, where = "0.0", "search_documents d", " AND ".join(likes)
    else:
        source = f"search_documents d, (SELECT {query} AS query) q"
        where = "d.words @@ q.query" + (" OR (" + " AND ".join(likes) + ")" if likes else "")
    # Only constants and bound parameters are written into this text.
    sql = (f"SELECT d.request_id AS request_id, d.source AS kind, d.source_key AS key, d.public AS public, "  # noqa: S608
           f"{score} AS score FROM {source} WHERE {where}")
    columns: dict[str, TypeEngine[Any]] = {"request_id": Integer(), "kind": String(), "key": String(),
                                           "public": Boolean(), "score": Float()}
    return text(sql).bindparams(**params).columns(**columns)


def _tsq(words: Sequence[str], *, prefix: bool = True) -> str:
    """The words as to_tsquery reads them: all of them, each a prefix from three letters on (for `simple`,
    which keeps words as written; a language's stem is not made a prefix: 'expens' stems to 'exp' in some)."""
    return " & ".join(f"{w}:*" if prefix and len(w) >= _PREFIX_FROM else w for w in words)


async def _postgres_query(session: AsyncSession, words: Sequence[str]) -> str:
    """The words as each configuration reads them, each distinct reading once, OR'd: one round trip that
    spares the search repeating identical readings (for most words every configuration reads them alike)."""
    rows = await session.execute(text(
        "SELECT DISTINCT CAST(q AS text) FROM (SELECT to_tsquery(CAST(c AS regconfig), "
        "CASE WHEN c = 'simple' THEN :prefixes ELSE :tsq END) AS q "
        "FROM unnest(CAST(:configs AS text[])) AS c) readings WHERE numnode(q) > 0"),
        {"tsq": _tsq(words, prefix=False), "prefixes": _tsq(words), "configs": list(_ALL_PG_CONFIGS)})
    return " | ".join(f"( {reading} )" for reading in sorted(str(r[0]) for r in rows))


def trigram_words(words: Sequence[str]) -> bool:
    """Whether PostgreSQL's trigram fallback can look for these words (each at least three letters)."""
    return all(len(w) >= 3 for w in words)


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
    (their notes only where they may read notes). For lists that filter by text (`bot.desk.filters`),
    which apply `Policy.request_clause` themselves; nothing matches a text `parse` refuses."""
    words = parse(text).words
    if not words:
        return false()

    def build(dialect: str) -> ColumnElement[bool]:
        either = None if trigram_words(words) else False
        docs = _readable(dialect, policy, actor, words, scored=False, trigrams=either)
        return Request.id.in_(select(docs.c.request_id))

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
    more: bool = False  # more than `total` (= COUNT_CAP) requests were found

    @property
    def pages(self) -> int:
        """How many pages the hits take."""
        return max(1, -(-self.total // self.per_page))


_PLAN_THESE_WORDS = text("SET LOCAL plan_cache_mode = force_custom_plan")


async def search(unit: Any, actor: Actor, text: str | None, *, page: int = 1,
                 per_page: int = PAGE_SIZE) -> Results:
    """The requests matching `text` that `actor` may see, best first (bm25 on SQLite, ts_rank on
    PostgreSQL; a match in a title weighs most), `per_page` at a time, each with its best snippet among
    the texts the actor may read, and how many requests were found (counted up to `COUNT_CAP`; beyond,
    `Results.more`). `unit` is the desk (`bot.desk.unit.Unit`)."""
    parsed = parse(text)
    clean = " ".join((text or "").split())[:MAX_LENGTH]
    per_page = max(1, min(per_page, 100))
    page = max(1, min(page, COUNT_CAP // per_page + 1))
    if parsed.problem is not None:
        return Results(clean, (), (), 0, 1, per_page, parsed.problem)
    policy: Policy = unit.policy
    words = parsed.words
    async with unit.readers() as session:
        dialect = session.bind.dialect.name
        # Counted first (up to COUNT_CAP + 1, a stream that stops there): it decides how to rank. On SQLite,
        # for a reader of whole zones, the count is a walk of the newest matching requests, which is also
        # the page when there are too many to rank.
        trigrams = False
        tsquery: str | None = None
        walked: list[int] | None = None
        if dialect == "sqlite" and policy.reading_zones(actor) and await _dense(session, words):
            walked = [int(n) for n in (await session.execute(
                _walk(dialect, policy, actor, words, trigrams).order_by(Request.id.desc()).limit(COUNT_CAP + 1)
            )).scalars()]
            total = len(walked)
        else:
            if dialect == "postgresql":
                # Plans for these words, not a generic plan for any words: how many texts a word matches
                # decides between walking an index in order and collecting the matches first.
                await session.execute(_PLAN_THESE_WORDS)
                tsquery = await _postgres_query(session, words)
            total = await _count(session, policy, actor, dialect, words, trigrams=False, tsquery=tsquery)
            if total == 0 and dialect == "postgresql" and trigram_words(words):
                trigrams = True  # no dictionary knows the words: parts of words, Polish...
                total = await _count(session, policy, actor, dialect, words, trigrams=True)
        # Ranked by relevance up to COUNT_CAP requests; past that (a word in most texts, where relevance
        # says little and computing it for every match is what costs), newest first.
        many = total > COUNT_CAP
        if many and walked is not None:
            shown = walked[:COUNT_CAP]  # the pages offered end at COUNT_CAP
            best = await _texts_of(session, policy, actor, shown[(page - 1) * per_page:page * per_page], words)
        else:  # PostgreSQL's index scans feed a top-N sort, by rank or (too many to rank) newest first
            best = await _best(session, dialect, policy, actor, words, trigrams, page * per_page, newest=many,
                               tsquery=tsquery)
        numbers = list(best) if walked is not None and many else \
            list(best)[:COUNT_CAP][(page - 1) * per_page:page * per_page]
        hits = await _hits(session, policy, actor, {n: best[n] for n in numbers}, words) if numbers else []
    more = total > COUNT_CAP
    return Results(clean, parsed.words, tuple(hits), min(total, COUNT_CAP), page, per_page, more=more)


async def _best(session: AsyncSession, dialect: str, policy: Policy, actor: Actor, words: Sequence[str],
                trigrams: bool, wanted: int, *, newest: bool = False, tsquery: str | None = None
                ) -> dict[int, tuple[str, str, bool]]:
    """The best `wanted` requests by relevance (or the newest), each with its best text the actor may read
    (kind, key, public). A request may have several matching texts, so more rows are read until enough
    requests are (a top-N sort of the texts, never a sort or a grouping of every match)."""
    docs = _readable(dialect, policy, actor, words, scored=not newest, trigrams=trigrams, tsquery=tsquery)
    order = (docs.c.request_id.desc(),) if newest else (docs.c.score, docs.c.request_id.desc())
    fetch = wanted * 3
    while True:
        rows = (await session.execute(select(docs.c.request_id, docs.c.kind, docs.c.key, docs.c.public)
                                      .order_by(*order).limit(fetch))).all()
        best: dict[int, tuple[str, str, bool]] = {}
        for row in rows:
            best.setdefault(int(row.request_id), (str(row.kind), str(row.key), bool(row.public)))
        if len(best) >= wanted or len(rows) < fetch:
            return best
        fetch *= 4


def _walk(dialect: str, policy: Policy, actor: Actor, words: Sequence[str], trigrams: bool) -> Any:
    """The numbers of the requests the actor may see with a readable text matching: the requests walked
    (by their own order), each checked against the sets of matching texts, built once. On SQLite nothing
    else may drive the loop, or a LIMIT would not stop it early: `+requests.id` and the access clause
    inside coalesce() are terms no index can serve."""
    public: list[Any]
    if dialect == "sqlite":
        public, notes = _sqlite_sets(words)
    else:
        raw = _postgres_documents(words, scored=False, trigrams=trigrams).subquery("raw")
        public, notes = [select(raw.c.request_id).where(raw.c.public)], select(raw.c.request_id).where(
            not_(raw.c.public))
    seen = policy.request_clause(actor, Level.REQUESTER)
    number: Any = Request.id
    if dialect == "sqlite":
        number = literal_column("+requests.id", Integer())
        seen = func.coalesce(seen, False)
    return select(Request.id).where(seen, or_(*(number.in_(s) for s in public),
                                              and_(policy.request_clause(actor, Level.READER), number.in_(notes))))


async def _texts_of(session: AsyncSession, policy: Policy, actor: Actor, numbers: list[int],
                    words: Sequence[str]) -> dict[int, tuple[str, str, bool]]:
    """The page's requests (walked newest first, unranked), each with a text of its that the actor may read
    and that holds a word searched for: the title or description, else a reply (a note where the actor may
    read notes), else a form answer."""
    if not numbers:
        return {}
    readable = set((await session.execute(select(Request.id).where(
        Request.id.in_(numbers), policy.request_clause(actor, Level.READER)))).scalars())
    wanted = [fold(w) for w in words]

    def holds(value: str) -> bool:
        return any(_matches(m.group(), wanted) for m in _WORD.finditer(value))

    chosen: dict[int, tuple[str, str, bool]] = {n: ("request", "", True) for n in numbers}
    texts = {r.id: f"{r.title} {r.description or ''}" for r in (await session.execute(
        select(Request.id, Request.title, Request.description).where(Request.id.in_(numbers)))).all()}
    found = {n for n in numbers if holds(texts.get(n, ""))}
    for c in (await session.execute(select(Comment.id, Comment.request_id, Comment.public, Comment.body).where(
            Comment.request_id.in_(numbers)).order_by(Comment.public.desc(), Comment.id))).all():
        if c.request_id not in found and (c.public or c.request_id in readable) and holds(c.body):
            chosen[c.request_id] = ("comment", str(c.id), bool(c.public))
            found.add(c.request_id)
    for a in (await session.execute(select(FormAnswer.request_id, FormAnswer.field_id, FormAnswer.value).where(
            FormAnswer.request_id.in_(numbers)))).all():
        if a.request_id not in found and holds(_answer_text(a.value)):
            chosen[a.request_id] = ("answer", a.field_id, True)
            found.add(a.request_id)
    return chosen


DENSE = 5000  # matching texts from which a reader of whole zones walks the requests rather than the matches


async def _dense(session: AsyncSession, words: Sequence[str]) -> bool:
    """SQLite: whether more than DENSE texts match, whoever may read them (each FTS5 table counted up to it).
    Few: the matches drive the search (cost grows with them). Many: the requests are walked newest first
    and the walk stops at COUNT_CAP + 1 (cost shrinks as they grow denser)."""
    match = " ".join(f'"{w}"*' if len(w) >= _PREFIX_FROM else f'"{w}"' for w in words)
    total = 0
    for name in ("search_requests", "search_comments", "search_answers"):
        texts = table(name, column("rowid"))
        matches = select(texts.c.rowid).where(text(f"{name} MATCH :dense").bindparams(dense=match))
        total += int(await session.scalar(select(func.count()).select_from(matches.limit(DENSE + 1).subquery()))
                     or 0)
        if total > DENSE:
            return True
    return False


async def _count(session: AsyncSession, policy: Policy, actor: Actor, dialect: str, words: Sequence[str], *,
                 trigrams: bool, tsquery: str | None = None) -> int:
    """How many requests the actor may see have a readable text matching, counted up to COUNT_CAP + 1."""
    every = _readable(dialect, policy, actor, words, scored=False, trigrams=trigrams, tsquery=tsquery)
    found = select(every.c.request_id).distinct().limit(COUNT_CAP + 1)
    return int(await session.scalar(select(func.count()).select_from(found.subquery())) or 0)


async def _hits(session: AsyncSession, policy: Policy, actor: Actor, chosen: dict[int, tuple[str, str, bool]],
                words: Sequence[str]) -> list[Hit]:
    """The page's requests, in order, each with its best text the actor may read: (kind, key, public)."""
    numbers = list(chosen)
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

