"""Approval cards, surveys and tasks reach each person in their own language, whoever sent them.

An English agent asks a Norwegian approver: the card, its field names and its buttons are Norwegian;
when the approval ends, the card that replaces it is Norwegian too, while what the English requester
hears stays English. A Polish requester is surveyed in Polish. Every expected word is the catalogue's
(`translator(code).gettext`), so these tests hold whatever the translators write.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.delivery.channels import ChannelInfo
from bot.delivery.messages import Message
from bot.desk import Desk, Origin
from bot.desk.approvals import decide, request_approval
from bot.desk.surveys import rate, send_survey
from bot.i18n import speaking, translator
from bot.model import Identity, Outbox
from bot.server import Services
from tests.untranslated import english_left

ZACK = "zack@nordlys.example"  # a requester, not in app.yaml
ALEXIS = "alexis.baker@nordlys.example"  # IT support, reads English
MARTE = "marte.viken@nordlys.example"  # an approver
IVAR = "ivar.lund@nordlys.example"  # IT's manager, an approver too, reads English
SIRI = "siri.nilsen@nordlys.example"  # Facilities
SLACK_IDS = {ZACK: "UZACK", ALEXIS: "UALEXIS", MARTE: "UMARTE", IVAR: "UIVAR", SIRI: "USIRI"}


@pytest.fixture
async def desk(services: Services) -> Desk:
    """The desk with Slack live and everyone seen there."""
    services.desk.enable(ChannelInfo("slack"))
    async with services.sessions() as session, session.begin():
        for email, user in SLACK_IDS.items():
            session.add(Identity(platform="slack", user_id=user, email=email, name=email, data={},
                                 fetched_at=services.clock.now()))
    return services.desk


async def _choose(services: Services, email: str, code: str) -> None:
    await services.desk.choose_language(email, code)


async def _file(desk: Desk, title: str = "Licence for Figma") -> int:
    origin = Origin(platform="slack", workspace="T1", channel="C0ITHELP", thread="1.1", message="1.1", user="UZACK")
    return (await desk.file_request(desk.actor(ZACK, channel="slack"), origin, title, zone_id="it")).number


async def _queued(services: Services, **where: Any) -> list[tuple[str, dict[str, Any], Message]]:
    """The outbox rows queued so far, as (kind, target, message), those matching `where` on the target."""
    async with services.sessions() as session:
        rows = (await session.execute(select(Outbox).order_by(Outbox.id))).scalars()
        found = [(r.kind, dict(r.target or {}), Message.from_dict(r.payload.get("message") or {})) for r in rows]
    return [f for f in found if all(f[1].get(k) == v for k, v in where.items())]


async def test_an_english_agents_approval_reaches_a_norwegian_approver_in_norwegian(
        services: Services, desk: Desk) -> None:
    await _choose(services, MARTE, "nb")
    number = await _file(desk)
    approval = await request_approval(desk, desk.actor(ALEXIS), number, [MARTE])

    [(kind, _target, card)] = await _queued(services, user="UMARTE")
    nb = translator("nb")
    assert kind == "dm" and card.language == "nb"
    assert card.title == nb.gettext("Approval needed for #{number}: {title}", number=number,
                                    title="Licence for Figma") != f"Approval needed for #{number}: Licence for Figma"
    names = [name for name, _value in card.fields]
    assert names[:3] == [nb.gettext("Requester"), nb.gettext("Request"), nb.gettext("Any one of")]
    assert dict(card.fields)[nb.gettext("Any one of")] == nb.gettext("{name} (waiting)", name="Marte Viken")
    assert [(b.action, b.label, b.value) for b in card.buttons] == [
        ("approve", nb.gettext("Approve"), str(approval)), ("reject", nb.gettext("Reject"), str(approval))]
    assert english_left(card.plain(), "nb") == []

    # Marte decides in Norwegian; the English requester is told in English, in their thread.
    with speaking("nb"):
        outcome = await decide(desk, desk.actor(MARTE, channel="slack"), approval, "approved")
    assert outcome.notice == nb.gettext("Your decision is recorded: approved.")
    told = [message for kind, _thread, message in await _queued(services, thread="1.1") if kind == "status"][-1]
    assert told.text == f"Request #{number} was approved by Marte Viken." and told.language == "en"


async def test_a_card_replaced_for_a_norwegian_approver_is_norwegian_whoever_ended_it(
        services: Services, desk: Desk) -> None:
    await _choose(services, MARTE, "nb")
    number = await _file(desk)
    approval = await request_approval(desk, desk.actor(ALEXIS), number, [MARTE, IVAR], mode="all")

    await decide(desk, desk.actor(IVAR, channel="slack"), approval, "rejected", "Not this year")  # in English

    nb = translator("nb")
    [(_kind, _target, replaced)] = [q for q in await _queued(services, user="UMARTE") if q[0] == "replace"]
    assert replaced.language == "nb"
    assert replaced.text == nb.gettext("This approval was withdrawn because {name} rejected it.", name="Ivar Lund")
    assert replaced.title == nb.gettext("Approval for #{number}: {title}", number=number, title="Licence for Figma")
    assert not replaced.buttons
    assert [q for q in await _queued(services, user="UIVAR") if q[0] == "replace"] == [], "Ivar decided: no replace"


async def test_a_withdrawn_approval_tells_each_approver_why_in_their_language(services: Services, desk: Desk) -> None:
    await _choose(services, MARTE, "nb")
    number = await _file(desk)
    await request_approval(desk, desk.actor(ALEXIS), number, [MARTE, IVAR], mode="all")
    with speaking("nb"):  # whoever cancels, and in whatever language, each card speaks its reader's
        await desk.cancel(desk.actor(ZACK, channel="slack"), number)

    said = {target["user"]: message for kind, target, message in await _queued(services) if kind == "replace"}
    assert said["UMARTE"].text == translator("nb").gettext(
        "This approval was withdrawn because request #{number} was cancelled.", number=number)
    assert said["UIVAR"].text == f"This approval was withdrawn because request #{number} was cancelled."


async def test_a_polish_requester_is_surveyed_and_thanked_in_polish(services: Services, desk: Desk) -> None:
    await _choose(services, ZACK, "pl")
    number = await _file(desk, "Printer jams")
    alexis = desk.actor(ALEXIS)
    await desk.set_status(alexis, number, "resolved")
    await desk.set_status(alexis, number, "closed")
    async with desk.transaction() as tx:
        request = await tx.find(number)
        assert request is not None
        outcome, survey = await send_survey(desk, tx, request, desk.zone("it"))
    assert outcome == "sent" and survey is not None

    pl = translator("pl")
    [(_kind, _thread, asked)] = [q for q in await _queued(services, thread="1.1") if q[0] == "survey"]
    assert asked.language == "pl"
    assert asked.title == pl.gettext("How did we do with #{number}?", number=number) != f"How did we do with #{number}?"
    assert asked.text == "Printer jams\n" + pl.gettext(
        "Rate our help from 1 (poor) to 5 (excellent). You may add a comment first.")
    assert asked.link_label == pl.gettext("Open #{number}", number=number)
    assert english_left(asked.plain(), "pl") == []

    with speaking("pl"):
        thanked = await rate(desk, desk.actor(ZACK, channel="slack"), survey.id, 5)
    assert thanked.notice == pl.gettext("Thank you for rating #{number}: {rating}/5.", number=number, rating=5)


async def test_a_task_reaches_a_german_agent_in_german_and_its_end_the_english_asker_in_english(
        services: Services, desk: Desk) -> None:
    await _choose(services, SIRI, "de")
    number = await _file(desk, "Desk by the window")
    await desk.claim(desk.actor(ALEXIS), number)
    task = await desk.create_task(desk.actor(ALEXIS), number, "Move the desk", "Away from the draught.", to_agent=SIRI)

    de = translator("de")
    [(_kind, _target, asked)] = await _queued(services, user="USIRI")
    assert asked.title == de.gettext("New task T{task} from {source}: {title}", task=task, source="IT",
                                     title="Move the desk")
    assert [b.label for b in asked.buttons] == [de.gettext("Mark done")] != ["Mark done"]

    with speaking("de"):
        await desk.complete_task(desk.actor(SIRI, channel="slack"), task, "Moved.")
    [(_kind, _target, done)] = await _queued(services, user="UALEXIS")
    assert done.title == f"Task T{task} on #{number} is done: Move the desk" and done.language == "en"
