"""`desk search WORDS` in Teams: the answer in the person's personal chat, what they may see only, markdown
in titles escaped on the card and read back as typed."""

from __future__ import annotations

from bot.desk import WEB
from tests.teams.conftest import ALEXIS, HANNA, KARI, TeamsWorld, card_of, card_text


async def test_desk_search_in_the_personal_chat(teams: TeamsWorld) -> None:
    desk = teams.services.desk
    kari = desk.actor(KARI.email, KARI.name)
    number = (await desk.file_request(kari, WEB, "Docking station **dead** [click](http://evil)",
                                      zone_id="it")).number
    await desk.reply(desk.actor(ALEXIS.email), number, "A new docking station is on its way")
    await teams.say(ALEXIS, "desk search docking")
    [answer] = [card_text(card_of(a)) for a in teams.sent_to(ALEXIS.chat)]
    assert "1 request found for “docking”:" in answer
    assert f"#{number} · new · Docking station **dead** [click](http://evil)" in answer
    await teams.say(HANNA, "desk search docking")
    [answer] = [card_text(card_of(a)) for a in teams.sent_to(HANNA.chat)]
    assert answer == "Nothing found for “docking”."
