"""Full-text search as people use it, on SQLite and PostgreSQL: what is found at once, what is found
only by whom, words in the desk's languages, hostile queries, ranking and highlighted snippets."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.desk import WEB, Desk
from bot.desk.search import CLOSE, OPEN, highlight, marked_html, matching_clause, parse, remember_languages, search
from bot.model import Request
from bot.server import Services

ZACK = "zack@nordlys.example"  # a requester
MAX = "max.meyer@nordlys.example"  # another requester
ALEXIS = "alexis.baker@nordlys.example"  # IT support
IVAR = "ivar.lund@nordlys.example"  # IT support, manages IT
HANNA = "hanna.berg@nordlys.example"  # HR service (not in the private employee-relations team)
OLAV = "olav.strand@nordlys.example"  # employee relations (private), manages HR
FRIDA = "frida.dahl@nordlys.example"  # front desk: reads IT (visible_to)


@pytest.fixture
def desk(services: Services) -> Desk:
    return services.desk


async def numbers(desk: Desk, email: str, text: str) -> list[int]:
    return [hit.number for hit in (await search(desk, desk.actor(email), text)).hits]


async def test_a_request_is_found_as_soon_as_it_is_filed(desk: Desk) -> None:
    filed = await desk.file_request(desk.actor(ZACK), WEB, "Projector in Fjord room", "It shows a blue screen",
                                    zone_id="it")
    found = await search(desk, desk.actor(ZACK), "projector")
    assert [h.number for h in found.hits] == [filed.number] and found.total == 1
    assert found.hits[0].title == f"{OPEN}Projector{CLOSE} in Fjord room"
    assert await numbers(desk, ALEXIS, "blue screen") == [filed.number]
    assert await numbers(desk, MAX, "projector") == []  # not his


async def test_replies_and_form_answers_are_found(desk: Desk) -> None:
    number = (await desk.file_request(desk.actor(ZACK), WEB, "New colleague", zone_id="it",
                                      form_id="new-hire-account",
                                      answers=[("name", "Name", "short_text", "Ingeborg Solheim")])).number
    await desk.reply(desk.actor(ALEXIS), number, "The docking station arrives on Thursday")
    hit = (await search(desk, desk.actor(ZACK), "docking")).hits[0]
    assert (hit.number, hit.found_in) == (number, "reply")
    assert f"{OPEN}docking{CLOSE} station" in hit.snippet
    hit = (await search(desk, desk.actor(ZACK), "Solheim")).hits[0]
    assert (hit.number, hit.found_in, hit.label) == (number, "answer", "Name")


async def test_notes_are_found_by_agents_and_never_by_the_requester(desk: Desk) -> None:
    number = (await desk.file_request(desk.actor(ZACK), WEB, "Figma licence", zone_id="it")).number
    await desk.note(desk.actor(ALEXIS), number, "Budget for licences is frozen until January")
    await desk.reply(desk.actor(ALEXIS), number, "We are checking the budget")
    for email in (ALEXIS, IVAR, FRIDA):  # agents of IT, its manager, the front desk that may read IT
        found = await search(desk, desk.actor(email), "frozen")
        assert [(h.number, h.found_in) for h in found.hits] == [(number, "note")], email
    requester = await search(desk, desk.actor(ZACK), "frozen")
    assert (requester.hits, requester.total) == ((), 0)  # not found, not counted
    # Found through the reply, the snippet never comes from the note the requester may not read.
    hit = (await search(desk, desk.actor(ZACK), "budget")).hits[0]
    assert hit.found_in == "reply" and "frozen" not in hit.snippet
    async with desk.sessions() as session:
        clause = matching_clause(desk.policy, desk.actor(ZACK), "frozen")
        assert (await session.execute(select(Request.id).where(clause))).all() == []
        clause = matching_clause(desk.policy, desk.actor(ALEXIS), "frozen")
        assert (await session.execute(select(Request.id).where(clause))).scalars().all() == [number]


async def test_another_zone_and_a_private_team_are_never_found(desk: Desk) -> None:
    hr = (await desk.file_request(desk.actor(ZACK), WEB, "Holiday calendar question", zone_id="hr")).number
    private = (await desk.file_request(desk.actor(MAX), WEB, "Conflict with my manager about holiday",
                                       zone_id="hr", category_id="sensitive")).number
    assert await numbers(desk, ALEXIS, "holiday") == []  # IT agent: HR is closed
    assert await numbers(desk, HANNA, "holiday") == [hr]  # HR service: not the private team's
    assert sorted(await numbers(desk, OLAV, "holiday")) == sorted([hr, private])
    assert await numbers(desk, MAX, "holiday") == [private]  # his own
    assert (await search(desk, desk.actor(HANNA), "conflict")).total == 0


@pytest.mark.parametrize(("title", "query"), [
    ("Skriveren på kontoret i Tromsø virker ikke", "tromsø"),  # Norwegian
    ("Skriveren på kontoret i Tromsø virker ikke", "skriveren"),
    ("Der Drucker im Büro druckt nicht", "büro"),  # German
    ("Der Drucker im Büro druckt nicht", "Buro"),  # diacritics as typed on an English keyboard (SQLite folds them)
    ("Drukarka w biurze nie drukuje, zgłoszenie pilne", "zgłoszenie"),  # Polish
    ("Drukarka w biurze nie drukuje, zgłoszenie pilne", "drukark"),  # a partial Polish word
])
async def test_words_of_the_desks_languages_are_found(desk: Desk, title: str, query: str, db_url: str) -> None:
    if query == "Buro" and db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL compares diacritics as written (no unaccent); see README Search")
    number = (await desk.file_request(desk.actor(ZACK), WEB, title, zone_id="it")).number
    await desk.file_request(desk.actor(ZACK), WEB, "Something else entirely", zone_id="it")
    assert await numbers(desk, ZACK, query) == [number]


async def test_a_zone_in_german_is_indexed_with_german_stems(desk: Desk, db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("stems are PostgreSQL's dictionaries")
    zone = desk.config.zone("it")
    assert zone is not None
    object.__setattr__(zone, "language", "de")
    try:
        await remember_languages(desk)
        number = (await desk.file_request(desk.actor(ZACK), WEB, "Die Drucker sind kaputt", zone_id="it")).number
        # "Druckern" is neither a prefix of nor inside "Drucker": only the German stem finds it.
        assert await numbers(desk, ZACK, "Druckern") == [number]
    finally:
        object.__setattr__(zone, "language", None)
        await remember_languages(desk)


@pytest.mark.parametrize("hostile", [
    '"', '""', "'", "*", "***", "(", ")", "AND", "OR NOT", "NEAR(a b)", 'title:"x"', "a:* & !b", "-", "^",
    "\\", "%", "_", "\x00", "\x02x\x03", "'; DROP TABLE requests; --", "<script>alert(1)</script>",
    "printer OR", "col:printer", "{printer}", "printer*", "😀", "x" * 199, "a b c d e f g h i j k l",
])
async def test_hostile_queries_never_crash(desk: Desk, hostile: str) -> None:
    await desk.file_request(desk.actor(ZACK), WEB, "Printer jam on floor 2", zone_id="it")
    found = await search(desk, desk.actor(ZACK), hostile)
    assert found.total == len(found.hits)


@pytest.mark.parametrize(("text", "problem"), [
    ("", "Write a word or two to look for (letters or digits)."),
    ("   ", "Write a word or two to look for (letters or digits)."),
    ('"*()', "Write a word or two to look for (letters or digits)."),
    ("x" * 201, "The text to look for is too long: at most 200 characters."),
])
async def test_what_cannot_be_searched_is_answered_with_a_sentence(desk: Desk, text: str, problem: str) -> None:
    found = await search(desk, desk.actor(ZACK), text)
    assert (found.problem, found.hits, found.total) == (problem, (), 0)


async def test_a_title_match_ranks_first(desk: Desk) -> None:
    described = (await desk.file_request(desk.actor(ZACK), WEB, "Screen problem",
                                         "The keyboard also types double letters now and then", zone_id="it")).number
    replied = (await desk.file_request(desk.actor(ZACK), WEB, "Another thing", zone_id="it")).number
    await desk.reply(desk.actor(ALEXIS), replied, "Is the keyboard wireless?")
    titled = (await desk.file_request(desk.actor(ZACK), WEB, "Keyboard broken", "Nothing works", zone_id="it")).number
    found = await numbers(desk, ZACK, "keyboard")
    assert found[0] == titled and sorted(found) == sorted([described, replied, titled])


async def test_pages(desk: Desk) -> None:
    filed = [(await desk.file_request(desk.actor(ZACK), WEB, f"Monitor number {i}", zone_id="it")).number
             for i in range(5)]
    first = await search(desk, desk.actor(ZACK), "monitor", per_page=2)
    second = await search(desk, desk.actor(ZACK), "monitor", page=2, per_page=2)
    third = await search(desk, desk.actor(ZACK), "monitor", page=3, per_page=2)
    beyond = await search(desk, desk.actor(ZACK), "monitor", page=9, per_page=2)
    assert (first.total, first.pages, beyond.total, beyond.hits) == (5, 3, 5, ())
    assert sorted(h.number for r in (first, second, third) for h in r.hits) == sorted(filed)


async def test_an_edited_and_an_erased_text_is_searched_as_it_now_is(desk: Desk) -> None:
    number = (await desk.file_request(desk.actor(ZACK), WEB, "Scanner offline", zone_id="it")).number
    async with desk.sessions() as session, session.begin():
        request = await session.get(Request, number)
        assert request is not None
        request.title = "Plotter offline"
    assert await numbers(desk, ZACK, "scanner") == []
    assert await numbers(desk, ZACK, "plotter") == [number]


def test_words_are_only_letters_and_digits() -> None:
    assert parse('"printer" AND (toner*) OR NEAR/2 -x:y').words == ("printer", "and", "toner", "or", "near", "2", "x",
                                                                    "y")
    assert parse("a " * 30).words == ("a",)
    assert len(parse(" ".join(f"w{i}" for i in range(30))).words) == 8


def test_highlights_are_escaped_before_they_are_marked() -> None:
    marked = highlight("<b>Printer</b> & toner \x02sneaky\x03 <mark>", ["printer"])
    assert str(marked_html(marked)) == ("&lt;b&gt;<mark>Printer</mark>&lt;/b&gt; &amp; toner sneaky "
                                        "&lt;mark&gt;")


def test_a_snippet_is_cut_around_the_first_match() -> None:
    text = "Lorem ipsum " * 30 + "the toner is empty" + " dolor sit" * 30
    marked = highlight(text, ["toner"])
    assert marked.startswith("…") and marked.endswith("…") and f"{OPEN}toner{CLOSE}" in marked
    assert len(marked) < 200


@pytest.mark.parametrize("word", ["printer", "note"])
async def test_past_the_count_cap_the_newest_come_first_and_nothing_hidden(desk: Desk, word: str,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Many matches (here: more than 3, texts more than 2) switch to newest first without ranks (SQLite walks
    the requests); what each person finds stays exactly what they may read, and the count says 'more'."""
    import bot.desk.search as searching

    monkeypatch.setattr(searching, "COUNT_CAP", 3)
    monkeypatch.setattr(searching, "DENSE", 2)
    mine = [(await desk.file_request(desk.actor(ZACK), WEB, f"Printer {i} jams", zone_id="it")).number
            for i in range(5)]
    others = [(await desk.file_request(desk.actor(MAX), WEB, f"Printer {i} is out of paper", zone_id="it")).number
              for i in range(2)]
    hidden = (await desk.file_request(desk.actor(MAX), WEB, "Printer in the HR office", zone_id="hr")).number
    for number in [*mine, *others, hidden]:
        agent = ALEXIS if number != hidden else HANNA
        await desk.note(desk.actor(agent), number, "Printer note: needs a new drum")
    agent = await search(desk, desk.actor(ALEXIS), word)
    assert [h.number for h in agent.hits] == sorted([*mine, *others], reverse=True)[:3]
    assert (agent.total, agent.more) == (3, True)
    zack = await search(desk, desk.actor(ZACK), word)
    if word == "note":  # only in notes: nothing for the requester, not even a count
        assert (zack.hits, zack.total, zack.more) == ((), 0, False)
    else:
        assert [h.number for h in zack.hits] == sorted(mine, reverse=True)[:3] and zack.more
        assert all(h.found_in == "request" for h in zack.hits)
    assert hidden not in {h.number for h in agent.hits}
    if word == "note":
        assert all(h.found_in == "note" and "drum" in h.snippet for h in agent.hits)


async def test_erasing_a_person_takes_their_words_out_of_the_index(desk: Desk, services: Services) -> None:
    from bot.store.backup import erase_person

    number = (await desk.file_request(desk.actor(ZACK), WEB, "Salary of Zack McKinnon", "Account 1234 5678",
                                      zone_id="it")).number
    await desk.comment(desk.actor(ZACK), number, "My bank is Sparebank")
    assert await numbers(desk, ALEXIS, "sparebank") == [number]
    await erase_person(services.engine, ZACK, desk.clock.now())
    for word in ("salary", "5678", "sparebank"):
        assert await numbers(desk, ALEXIS, word) == [], word


async def test_the_server_tells_postgresql_each_zone_s_language_at_start(services: Services, db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite's index has no languages")
    from aiohttp import web
    from sqlalchemy import text

    from bot.server import create_app

    runner = web.AppRunner(await create_app(services, env={}, background=False))
    await runner.setup()  # runs the startup hooks
    try:
        async with services.sessions() as session:
            rows = dict((await session.execute(text(
                "SELECT zone_id, CAST(config AS text) FROM search_languages"))).tuples().all())
    finally:
        await runner.cleanup()
    assert rows[""] == "english"  # organisation.language: en
    assert {rows[z.id] for z in services.config.zones} == {"english"}
