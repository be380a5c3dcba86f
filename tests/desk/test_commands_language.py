"""The `/desk` command language answers in the asker's language: help, refusals, lists with counts, clicks.

Each answer is checked against the catalogue (`translator(code)`), never against foreign text written
here, so a better translation changes nothing in these tests. The verbs and what people typed stay as
they are; a card everyone in a channel reads is in the channel's language, not the clicker's.
"""

from __future__ import annotations

import pytest

from bot.access import Actor
from bot.desk import WEB, Desk
from bot.desk.actions import perform
from bot.desk.commands import run_command
from bot.i18n import speaking, translator
from bot.server import Services

ZACK = "zack@nordlys.example"  # not in app.yaml: a requester
ALEXIS = "alexis.baker@nordlys.example"  # IT support

QUEUE_ONE, QUEUE_MANY = "{heading} ({count} open request):", "{heading} ({count} open requests):"


@pytest.fixture
def desk(services: Services) -> Desk:
    return services.desk


async def _file(desk: Desk, title: str) -> int:
    return (await desk.file_request(desk.actor(ZACK), WEB, title, zone_id="it")).number


async def _say(desk: Desk, actor: Actor, language: str, text: str) -> str:
    """What the person reads after typing `text`, with their adapter speaking `language`."""
    with speaking(language):
        return (await run_command(desk, actor, text)).text


@pytest.mark.parametrize("language", ["nb", "pl"])
async def test_help_lists_the_verbs_as_typed_with_their_descriptions_translated(desk: Desk, language: str) -> None:
    said = translator(language)
    answer = await _say(desk, desk.actor(ALEXIS), language, "help")
    lines = answer.splitlines()
    assert lines[0] == said.gettext("Commands (request numbers as 42 or #42):") != \
        "Commands (request numbers as 42 or #42):"
    claim = f"• {said.gettext('claim <number>')}: {said.gettext('take a request yourself')}"
    assert claim in lines and said.gettext("take a request yourself") != "take a request yourself"
    assert lines[-1] == said.gettext("• help [verb]: this list, or one verb's usage")
    assert all(line.startswith("• ") for line in lines[1:])
    # Every line still starts with the English verb a person types.
    assert [line.split()[1] for line in lines[1:4]] == ["list", "show", "claim"]

    one = await _say(desk, desk.actor(ALEXIS), language, "help claim")
    assert one == (f"{said.gettext('Usage: {usage}', usage=said.gettext('claim <number>'))}\n"
                   f"{said.gettext('take a request yourself')}")


@pytest.mark.parametrize("language", ["nb", "pl"])
async def test_refusals_and_usage_answers_are_in_the_askers_language(desk: Desk, language: str) -> None:
    said = translator(language)
    number = await _file(desk, "Monitor flickers")
    alexis = desk.actor(ALEXIS)

    assert await _say(desk, alexis, language, "claim 99") == said.gettext(
        "Request #{number} was not found.", number=99)
    assert await _say(desk, alexis, language, "claim one") == said.gettext(
        "Usage: {usage}", usage=said.gettext("claim <number>"))
    unknown = said.gettext("I do not know '{name}'.", name="frobnicate")
    assert await _say(desk, alexis, language, "frobnicate 1") == \
        f"{unknown}\n{await _say(desk, alexis, language, 'help')}"

    # A refused move names the statuses in the reader's words, and what the request may become instead.
    new, closed = said.gettext("new"), said.gettext("closed")
    allowed = ", ".join(said.gettext(s) for s in ("accepted", "assigned", "cancelled", "in_progress", "resolved",
                                                  "waiting"))
    why = said.gettext("from {current} it can move to: {allowed}", current=new, allowed=allowed)
    assert await _say(desk, alexis, language, f"status {number} closed") == said.gettext(
        "Request #{number} cannot go from {current} to {target}: {why}.", number=number, current=new,
        target=closed, why=why)

    # An answer that worked.
    assert await _say(desk, alexis, language, f"claim {number}") == said.gettext(
        "You claimed #{number}.", number=number) != f"You claimed #{number}."


async def test_a_list_counts_its_requests_with_each_languages_plural_forms(desk: Desk) -> None:
    """Polish has three forms (1 zgłoszenie, 2 zgłoszenia, 5 zgłoszeń); Norwegian two."""
    alexis = desk.actor(ALEXIS)
    polish, norwegian = translator("pl"), translator("nb")
    forms = {n: polish.plural(QUEUE_ONE, QUEUE_MANY, n) for n in (1, 2, 5)}
    assert len(set(forms.values())) == 3, "CLDR: one, few and many differ in Polish"
    assert norwegian.plural(QUEUE_ONE, QUEUE_MANY, 2) == norwegian.plural(QUEUE_ONE, QUEUE_MANY, 5) != \
        norwegian.plural(QUEUE_ONE, QUEUE_MANY, 1)

    headings = {}
    for count in range(1, 6):
        await _file(desk, f"Printer {count} jams")
        if count in forms:
            headings[count] = (await _say(desk, alexis, "pl", "list")).splitlines()[0]
    for count, heading in headings.items():
        assert heading == forms[count].format(count=count, heading=polish.gettext("Your queue"))
    assert len(set(headings.values())) == 3

    answer = await _say(desk, alexis, "nb", "list")
    lines = answer.splitlines()
    assert lines[0] == norwegian.ngettext(QUEUE_ONE, QUEUE_MANY, 5, heading=norwegian.gettext("Your queue"))
    # Each line: the status and priority in words, the title as typed, the zone by its app.yaml name.
    assert lines[1] == (f"#5 · {norwegian.gettext('new')} · {norwegian.gettext('normal')} · Printer 5 jams "
                        f"(IT, {norwegian.gettext('unassigned')})")

    nothing = await _say(desk, desk.actor(ZACK), "pl", "list closed")
    assert nothing == polish.gettext("{heading}: none.", heading=polish.gettext("Your requests"))


async def test_a_click_tells_the_clicker_in_their_language_and_the_channel_in_its_own(desk: Desk) -> None:
    number = await _file(desk, "Monitor flickers")
    with speaking("pl"):
        outcome = await perform(desk, desk.actor(ALEXIS, "Alexis Baker"), "claim", str(number))
    assert outcome.notice == translator("pl").gettext("You claimed #{number}.", number=number)
    # The triage card is read by everyone in IT's channel, which speaks the organisation's English.
    assert outcome.card is not None
    assert (outcome.card.text, outcome.card.language) == ("Claimed by Alexis Baker", "en")
