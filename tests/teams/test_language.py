"""`desk language` in Teams: the same verb as Slack's `/desk language`, saved for the person who wrote it."""

from __future__ import annotations

from bot.people.languages import saved_language
from tests.teams.conftest import ALEXIS, KARI, TeamsWorld, card_of, card_text


async def test_a_requester_chooses_a_language_in_the_personal_chat(teams: TeamsWorld) -> None:
    await teams.say(KARI, "desk language no")
    answer = card_text(card_of(teams.sent_to(KARI.chat)[-1]))
    assert "Zonedesk snakker nå Norsk bokmål (nb) med deg." in answer  # answered in the language chosen
    async with teams.services.sessions() as session:
        assert await saved_language(session, KARI.email) == "nb"

    await teams.say(KARI, "desk language")
    assert "Zonedesk snakker Norsk bokmål (nb) med deg: du har valgt det." in card_text(
        card_of(teams.sent_to(KARI.chat)[-1]))


async def test_until_a_person_chooses_their_teams_client_decides(teams: TeamsWorld) -> None:
    asking = teams.activity(KARI, "personal", KARI.chat, type="message", text="desk language", locale="sv-SE")
    await teams.post(asking)
    answer = card_text(card_of(teams.sent_to(KARI.chat)[-1]))
    assert "Zonedesk talar Svenska (sv) med dig: din app ber om det." in answer  # the client's locale decides
    async with teams.services.sessions() as session:
        assert await saved_language(session, KARI.email) is None  # a hint is never saved


async def test_an_unknown_code_is_refused_and_nothing_is_saved(teams: TeamsWorld) -> None:
    await teams.say(ALEXIS, "desk language klingon")
    answer = card_text(card_of(teams.sent_to(ALEXIS.chat)[-1]))
    assert "Zonedesk does not speak 'klingon'." in answer and "de (Deutsch)" in answer
    async with teams.services.sessions() as session:
        assert await saved_language(session, ALEXIS.email) is None
