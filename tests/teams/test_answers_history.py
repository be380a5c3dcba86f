"""Teams shows a form's answers once and in words in `desk show`, with the history in sentences."""

from __future__ import annotations

from bot.catalog import file_form
from bot.desk import WEB
from tests.teams.conftest import ALEXIS, TeamsWorld, card_of, card_text


async def test_desk_show_gives_answers_once_and_history_in_words(teams: TeamsWorld) -> None:
    services = teams.services
    kari = services.desk.actor("kari.nordmann@nordlys.example", "Kari Nordmann")
    filed = await file_form(services.desk, services.catalog, kari, WEB, "software-access",
                            {"application": "github", "access-level": "administrator",
                             "reason": "I *maintain* the deploy scripts", "needed-by": "2027-01-04"})
    assert not isinstance(filed, dict), filed
    await services.desk.claim(services.desk.actor(ALEXIS.email), filed.number)
    await teams.say(ALEXIS, f"desk show {filed.number}")
    [answer] = [card_text(card_of(a)) for a in teams.sent_to(ALEXIS.chat)]
    assert f"#{filed.number}: Access to GitHub" in answer
    assert ("Application: GitHub\nAccess level: administrator\nWhy do you need it? I *maintain* the deploy scripts\n"
            "Needed by: 4 January 2027") in answer  # markdown escaped on the card, read back as typed
    assert answer.count("GitHub") == 2
    assert "· Kari Nordmann filed it with IT, category Software access." in answer
    assert "· Alexis Baker took it." in answer
