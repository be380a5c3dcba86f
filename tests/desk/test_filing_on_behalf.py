"""Filing for someone who phoned: who the requester may be, that the request is theirs, and how they hear of it.

The agent types an e-mail; `requester_for` takes a person the desk knows (app.yaml, or seen on a chat
platform) or an address at the organisation's domains, and refuses anything else. The request is the
requester's; they are told privately in chat where the desk knows them, in their language, since a
request filed on the web has no chat thread of its own.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.delivery.channels import ChannelInfo
from bot.delivery.messages import Message
from bot.desk import WEB, Desk
from bot.desk.behalf import organisation_domains, requester_for
from bot.errors import DeskError
from bot.i18n import translator
from bot.model import Identity, Outbox
from bot.server import Services
from tests.untranslated import english_left

ZACK = "zack@nordlys.example"  # not in app.yaml; seen on Slack as "Zack Thorsen"
ALEXIS = "alexis.baker@nordlys.example"  # IT support
MARTE = "marte.viken@nordlys.example"  # in app.yaml (an approver)


@pytest.fixture
async def desk(services: Services) -> Desk:
    services.desk.enable(ChannelInfo("slack"))
    async with services.sessions() as session, session.begin():
        session.add(Identity(platform="slack", user_id="UZACK", email=ZACK, name="Zack Thorsen", data={},
                             fetched_at=services.clock.now()))
    return services.desk


async def _dms(services: Services) -> list[tuple[dict[str, Any], Message]]:
    async with services.sessions() as session:
        rows = (await session.execute(select(Outbox).where(Outbox.kind == "dm").order_by(Outbox.id))).scalars()
        return [(dict(r.target or {}), Message.from_dict(r.payload.get("message") or {})) for r in rows]


async def test_who_the_requester_may_be(desk: Desk) -> None:
    assert organisation_domains(desk.config) == ("nordlys.example",)
    assert await requester_for(desk, " Marte.Viken@nordlys.example ") == (MARTE, "Marte Viken")  # app.yaml's name
    assert await requester_for(desk, ZACK) == (ZACK, "Zack Thorsen")  # the name Slack gave
    assert await requester_for(desk, "kari.nordmann@nordlys.example") == ("kari.nordmann@nordlys.example",
                                                                         "Kari Nordmann")
    for typed, message in (
            ("", "Give the e-mail address of the person you file it for."),
            ("Zack", "'Zack' is not an e-mail address."),
            ("zack@nordlys.exmaple", "Zonedesk does not know zack@nordlys.exmaple, and it is not an address of "
                                     "your organisation (nordlys.example). Check the spelling.")):
        with pytest.raises(DeskError) as refused:
            await requester_for(desk, typed)
        assert refused.value.message == message


async def test_the_requester_is_told_privately_in_their_language(services: Services, desk: Desk) -> None:
    await desk.choose_language(ZACK, "nb")
    filed = await desk.file_request(desk.actor(ALEXIS), WEB, "Printer jams", zone_id="it",
                                    on_behalf_of=await requester_for(desk, ZACK))
    [(target, told)] = await _dms(services)
    nb = translator("nb")
    assert target == {"user": "UZACK", "email": ZACK} and told.language == "nb"
    assert told.title == nb.gettext("Request #{number} is filed for you with {zone}", number=filed.number, zone="IT")
    assert nb.gettext("{name} filed it for you. The desk answers on its page; follow it and answer there.",
                      name="Alexis Baker") in told.text
    assert told.link == desk.link(filed.number) and english_left(told.plain(), "nb") == []
    mine = await desk.get_request(desk.actor(ZACK), filed.number)
    assert mine.requester_email == ZACK and mine.requester_name == "Zack Thorsen"
    assert mine.history[0].text == "Alexis Baker filed it for Zack Thorsen with IT."


async def test_filing_for_oneself_or_for_someone_never_seen_in_chat_sends_no_private_message(
        services: Services, desk: Desk) -> None:
    await desk.file_request(desk.actor(ZACK), WEB, "My own", zone_id="it")
    await desk.file_request(desk.actor(ALEXIS), WEB, "For Kari", zone_id="it",
                            on_behalf_of=await requester_for(desk, "kari.nordmann@nordlys.example"))
    assert await _dms(services) == []
