"""`Desk.receive`: one decision for every chat channel, shown through a channel the core has never heard of.

'relay' is declared the way a new adapter (e-mail, next) declares itself, and mapped in `app.yaml`'s
`intake.channels` like Slack and Teams are. Nothing in `bot/` names it: a message written there is
filed in its zone, answers go back into its thread, a reply in that thread is the requester's comment,
one in the triage thread a note, and chatter or a zone-less place get their own outcome.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.access import Actor
from bot.delivery.channels import ChannelInfo
from bot.desk import Desk, Origin, Outcome
from bot.errors import DeskError, Duplicate
from bot.model import Comment, Outbox, ThreadLink
from bot.server import Services

ZACK = "zack@nordlys.example"  # a requester, not in app.yaml
ALEXIS = "alexis.baker@nordlys.example"  # IT support


@pytest.fixture
def desk(services: Services) -> Desk:
    services.config.intake.channels["relay"] = {"R-IT": "it"}
    services.desk.enable(ChannelInfo("relay", threads=True))
    return services.desk


def writer(desk: Desk, email: str, asked: list[str] | None = None) -> Any:
    async def who() -> Actor:
        if asked is not None:
            asked.append(email)
        return desk.actor(email, channel="relay")
    return who


def relay(message: str, *, channel: str = "R-IT", thread: str | None = None) -> Origin:
    return Origin(platform="relay", workspace=None, channel=channel, thread=thread, message=message, user=ZACK)


async def _outbox(services: Services) -> list[tuple[str, str, dict[str, Any]]]:
    async with services.sessions() as session:
        rows = (await session.execute(select(Outbox).order_by(Outbox.id))).scalars()
        return [(r.platform, r.kind, r.target) for r in rows]


async def test_a_message_in_a_mapped_channel_is_filed_and_answered_in_its_own_thread(
        services: Services, desk: Desk) -> None:
    received = await desk.receive(writer(desk, ZACK), relay("m1"), "Printer on floor 3 jams\nEvery page.",
                                  "relay:m1", addressed=False, direct=False)

    assert received.outcome is Outcome.FILED and received.filed is not None
    assert (received.filed.zone_id, received.filed.title) == ("it", "Printer on floor 3 jams")
    detail = await desk.get_request(desk.actor(ALEXIS), received.filed.number)
    assert (detail.requester_email, detail.origin_platform, detail.description) == (
        ZACK, "relay", "Printer on floor 3 jams\nEvery page.")
    # the confirmation goes back into the relay thread it came from
    assert ("relay", "confirmation", {"channel": "R-IT", "thread": "m1", "workspace": None, "user": ZACK}) in (
        await _outbox(services))

    await desk.reply(desk.actor(ALEXIS), received.filed.number, "Swapped the roller.")
    assert (await _outbox(services))[-1] == (
        "relay", "thread_reply", {"channel": "R-IT", "thread": "m1", "workspace": None, "user": ZACK})


async def test_replies_in_the_requesters_thread_are_comments_and_in_the_triage_thread_notes(
        services: Services, desk: Desk) -> None:
    filed = (await desk.receive(writer(desk, ZACK), relay("m1"), "VPN drops", "relay:m1",
                                addressed=False, direct=False)).filed
    assert filed is not None
    async with services.sessions() as session, session.begin():
        session.add(ThreadLink(platform="relay", channel="R-TRIAGE", thread="t1", request_id=filed.number,
                               purpose="triage"))

    comment = await desk.receive(writer(desk, ZACK), relay("m2", thread="m1"), "Again at 10:05", "relay:m2",
                                 addressed=False, direct=False)
    note = await desk.receive(writer(desk, ALEXIS), relay("m3", channel="R-TRIAGE", thread="t1"),
                              "Looks like the Oslo gateway", "relay:m3", addressed=False, direct=False)

    assert (comment.outcome, comment.number) == (Outcome.COMMENT, filed.number)
    assert (note.outcome, note.number) == (Outcome.NOTE, filed.number)
    async with services.sessions() as session:
        written = [(c.author_email, c.public, c.body) for c in (await session.execute(
            select(Comment).where(Comment.request_id == filed.number).order_by(Comment.id))).scalars()]
    assert written == [(ZACK, True, "Again at 10:05"), (ALEXIS, False, "Looks like the Oslo gateway")]
    # the same message delivered twice is handled once
    with pytest.raises(Duplicate):
        await desk.receive(writer(desk, ZACK), relay("m2", thread="m1"), "Again at 10:05", "relay:m2",
                           addressed=False, direct=False)


async def test_chatter_is_left_alone_without_asking_who_wrote_it(services: Services, desk: Desk) -> None:
    asked: list[str] = []
    elsewhere = await desk.receive(writer(desk, ZACK, asked), relay("m1", channel="R-RANDOM"), "lunch?",
                                   "relay:m1", addressed=False, direct=False)
    unknown_thread = await desk.receive(writer(desk, ZACK, asked), relay("m2", thread="zz"), "hm",
                                        "relay:m2", addressed=False, direct=False)

    assert (elsewhere.outcome, unknown_thread.outcome) == (Outcome.IGNORED, Outcome.IGNORED)
    assert asked == [] and await _outbox(services) == []


async def test_a_direct_message_goes_to_the_dispatcher_zone_or_asks_for_one(services: Services, desk: Desk) -> None:
    routed = await desk.receive(writer(desk, ZACK), relay("m1", channel="R-DM"), "New laptop please",
                                "relay:m1", addressed=True, direct=True)
    assert routed.filed is not None and routed.filed.zone_id == "front-desk"  # app.yaml: unrouted -> dispatcher

    asking = Desk(services.config.model_copy(update={"intake": services.config.intake.model_copy(
        update={"unrouted": "ask"})}), services.sessions, services.clock)
    unrouted = await asking.receive(writer(asking, ZACK), relay("m2", channel="R-DM"), "New monitor please",
                                    "relay:m2", addressed=True, direct=True)
    assert unrouted.outcome is Outcome.CHOOSE_ZONE
    assert {z.id for z in unrouted.zones} == {z.id for z in services.config.zones}
    assert [r.title for r in await desk.list_requests(desk.actor(ZACK), scope="mine")] == ["New laptop please"]


async def test_an_empty_message_files_nothing(services: Services, desk: Desk) -> None:
    empty = await desk.receive(writer(desk, ZACK), relay("m2"), "", "relay:m2", addressed=True, direct=False)

    assert empty.outcome is Outcome.EMPTY
    assert await desk.list_requests(desk.actor(ZACK), scope="mine") == []


async def test_a_message_that_cannot_be_filed_says_why_and_writes_nothing(services: Services, desk: Desk) -> None:
    with pytest.raises(DeskError, match="too long"):
        await desk.receive(writer(desk, ZACK), relay("m1"), "x" * 20_001, "relay:m1", addressed=False,
                           direct=False)
    assert await desk.list_requests(desk.actor(ZACK), scope="mine") == []
    assert await _outbox(services) == []


async def test_a_channel_that_is_not_live_gets_no_messages(services: Services) -> None:
    desk = services.desk  # 'relay' mapped, but no adapter declared it
    services.config.intake.channels["relay"] = {"R-IT": "it"}
    received = await desk.receive(writer(desk, ZACK), relay("m1"), "Monitor flickers", "relay:m1",
                                  addressed=False, direct=False)

    assert received.outcome is Outcome.FILED
    assert [row for row in await _outbox(services) if row[0] == "relay"] == []
