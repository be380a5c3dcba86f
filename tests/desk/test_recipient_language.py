"""What someone else is told is written in their language, not in the language of whoever acted.

An English-speaking agent answers, resolves and asks a requester who chose Norwegian: the requester's
thread gets Norwegian (the catalogue's words, the message stamped `nb`), while the agent's own refusals
follow the language being spoken for the agent. When the requester chooses Polish, the next message is
Polish. An assignee is told in theirs, and in a burst each filer hears their own refusal.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.delivery.channels import ChannelInfo
from bot.delivery.messages import Message
from bot.desk import Desk, Origin
from bot.errors import DeskError
from bot.i18n import speaking, translator
from bot.model import Outbox
from bot.server import Services

ZACK = "zack@nordlys.example"  # not in app.yaml: a requester
ALEXIS = "alexis.baker@nordlys.example"  # IT support, reads English
IVAR = "ivar.lund@nordlys.example"  # IT support
KARI = "kari.nordmann@nordlys.example"  # not in app.yaml: another requester


@pytest.fixture
def desk(services: Services) -> Desk:
    services.desk.enable(ChannelInfo("slack"))
    return services.desk


def slack_thread(ts: str, user: str = "UZACK") -> Origin:
    return Origin(platform="slack", workspace="T1", channel="C0ITHELP", thread=ts, message=ts, user=user)


async def choose(desk: Desk, email: str, code: str) -> None:
    """The person saves a language, as `/desk language` and the web chooser do."""
    await desk.choose_language(email, code)


async def queued(services: Services, number: int, kind: str) -> list[Message]:
    """The messages queued for a request, of one kind, oldest first (what the delivery worker will send)."""
    async with services.sessions() as session:
        rows = (await session.execute(select(Outbox).where(Outbox.request_id == number, Outbox.kind == kind)
                                      .order_by(Outbox.id))).scalars()
        return [Message.from_dict(row.payload["message"]) for row in rows]


async def test_the_requester_reads_norwegian_whatever_the_agent_speaks(services: Services, desk: Desk) -> None:
    nb = translator("nb")
    await choose(desk, ZACK, "nb")
    number = (await desk.file_request(desk.actor(ZACK, channel="slack"), slack_thread("1.1"), "Skjermen flimrer",
                                      zone_id="it")).number
    (filed,) = await queued(services, number, "confirmation")
    assert (filed.title, filed.language) == (
        nb.gettext("Request #{number} is filed with {zone}", number=number, zone="IT"), "nb")
    assert filed.text == "Skjermen flimrer\n" + nb.gettext(
        "We will answer in this thread. You can add details here at any time.")
    (announced,) = await queued(services, number, "triage")  # the IT channel reads the zone's language: English
    assert (announced.title, announced.language) == (f"New request #{number}: Skjermen flimrer", "en")

    alexis = desk.actor(ALEXIS, channel="slack")
    await desk.reply(alexis, number, "Which office are you in?")
    (reply,) = await queued(services, number, "thread_reply")
    assert (reply.text, reply.language) == ("Which office are you in?", "nb"), "what people write is never translated"

    await desk.set_status(alexis, number, "waiting", reason="requester")
    await desk.set_status(alexis, number, "resolved", note="New cable.")
    waiting, resolved = await queued(services, number, "status")
    assert (waiting.text, waiting.language) == (nb.gettext(
        "Request #{number} is waiting for your answer: reply in this thread.", number=number), "nb")
    assert resolved.text == nb.gettext(
        "Request #{number} is resolved.\n\n{note}\n\nIf it is not, answer here and we reopen it.", number=number,
        note="New cable.")
    assert resolved.text != (f"Request #{number} is resolved.\n\nNew cable.\n\n"
                             "If it is not, answer here and we reopen it."), "the catalogue has it in Norwegian"

    # The agent's own refusal is said in the language spoken for the agent (German here), not the requester's.
    with speaking("de"), pytest.raises(DeskError) as refused:
        await desk.reply(alexis, number, "   ")
    assert refused.value.message == translator("de").gettext("The reply is empty; write a few words.")
    assert refused.value.message != "The reply is empty; write a few words."

    # The requester changes their mind: the next message follows their new choice.
    await choose(desk, ZACK, "pl")
    await desk.reopen(desk.actor(ZACK, channel="slack"), number)
    told = (await queued(services, number, "status"))[-1]
    assert (told.text, told.language) == (translator("pl").gettext(
        "Request #{number} is reopened; we are on it again.", number=number), "pl")


async def test_an_assignee_is_told_in_their_language(services: Services, desk: Desk) -> None:
    await services.directory.remember("slack", "UIVAR", IVAR, "Ivar Lund")
    await choose(desk, IVAR, "sv")
    number = (await desk.file_request(desk.actor(ZACK), slack_thread("2.2"), "New laptop for Ola",
                                      zone_id="it")).number
    with speaking("de"):  # the one assigning reads German; the assignee does not
        await desk.assign(desk.actor(ALEXIS, channel="slack"), number, IVAR)
    (dm,) = await queued(services, number, "dm")
    assert (dm.title, dm.language) == (translator("sv").gettext(
        "{name} assigned you #{number}: {title}", name="Alexis Baker", number=number, title="New laptop for Ola"), "sv")
    assert [b.label for b in dm.buttons] == [translator("sv").gettext("Accept")]


async def test_in_a_burst_each_filer_is_refused_in_their_own_language(desk: Desk) -> None:
    """Filings that share a group commit run in the task of whoever started it; a refusal is still the filer's."""

    async def file(email: str, code: str) -> str:
        with speaking(code):
            try:
                await desk.file_request(desk.actor(email, channel="slack"), slack_thread("3.3"), "Printer",
                                        zone_id="it")
            except DeskError as exc:
                return exc.message
            return "filed"

    first, second = await asyncio.gather(file(ZACK, "sv"), file(KARI, "de"))
    assert (first, second) == ("filed", translator("de").gettext(
        "This thread already belongs to a request; reply in it instead."))
