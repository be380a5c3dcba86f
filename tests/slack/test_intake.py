"""Filing requests from Slack: a DM, an intake channel, a mention, and asking for the zone when unclear."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest_asyncio
from sqlalchemy import select

from bot.clock import FakeClock
from bot.model import Identity
from tests.fakes.slack_api import BOT_ID, BOT_USER_ID, FakeSlackAPI
from tests.slack.conftest import (
    ALEXIS,
    DM,
    FRONT_DESK,
    IT_HELP,
    IT_TRIAGE,
    ZACK,
    SlackWorld,
    block_text,
    buttons,
    config_variant,
    serving,
)


async def test_a_dm_files_a_request_confirms_in_its_thread_and_announces_it_for_triage(slack: SlackWorld) -> None:
    ts = await slack.message(ZACK, "My laptop will not boot\nIt shows a blue screen since this morning.")
    await slack.deliver()

    [confirmation] = slack.posts(DM)
    assert confirmation["thread_ts"] == ts
    assert "Request #1 is filed with Front desk" in block_text(confirmation["blocks"])
    [announcement] = slack.posts(FRONT_DESK)  # app.yaml: unrouted DMs go to the dispatcher zone
    shown = block_text(announcement["blocks"])
    assert "New request #1: My laptop will not boot" in shown and "Zack McKinnon" in shown
    assert buttons(announcement["blocks"]) == {"zd:claim": "1", "zd:assign": "1", "zd:reply": "1"}

    request = await slack.services.desk.get_request(slack.actor(ZACK), 1)
    assert (request.title, request.zone_id, request.requester_email) == (
        "My laptop will not boot", "front-desk", "zack@nordlys.example")
    assert request.description.endswith("blue screen since this morning.")


async def test_a_message_in_an_intake_channel_files_into_that_channels_zone(slack: SlackWorld) -> None:
    ts = await slack.message(ZACK, "Need access to Figma", channel=IT_HELP)
    await slack.deliver()

    request = await slack.services.desk.get_request(slack.actor(ZACK), 1)
    assert request.zone_id == "it"
    [confirmation] = slack.posts(IT_HELP)
    assert confirmation["thread_ts"] == ts
    assert len(slack.posts(IT_TRIAGE)) == 1


async def test_a_top_level_message_in_another_channel_files_nothing(slack: SlackWorld) -> None:
    await slack.message(ZACK, "lunch anyone?", channel="C0RANDOM")
    assert await slack.requests() == 0


async def test_a_mention_files_a_request_without_the_mention_in_its_title(slack: SlackWorld) -> None:
    ts = slack.next_ts()
    await slack.event({"type": "app_mention", "channel": "C0RANDOM", "user": ZACK, "ts": ts, "event_ts": ts,
                       "text": f"<@{BOT_USER_ID}> the projector in room 4 is broken"})
    await slack.deliver()

    request = await slack.services.desk.get_request(slack.actor(ZACK), 1)
    assert request.title == "the projector in room 4 is broken"
    [confirmation] = slack.posts("C0RANDOM")
    assert confirmation["thread_ts"] == ts


async def test_a_mention_in_an_intake_channel_files_once(slack: SlackWorld) -> None:
    ts = slack.next_ts()
    text = f"<@{BOT_USER_ID}> printer jammed"
    # Slack sends both a message event and an app_mention event for the same post.
    await slack.message(ZACK, text, channel=IT_HELP, ts=ts)
    await slack.event({"type": "app_mention", "channel": IT_HELP, "user": ZACK, "ts": ts, "event_ts": ts,
                       "text": text})
    assert await slack.requests() == 1


async def test_bots_and_our_own_messages_are_ignored_and_not_even_recorded(slack: SlackWorld) -> None:
    await slack.message(BOT_USER_ID, "Request #1 is filed", bot_id=BOT_ID)
    await slack.message("UOTHERBOT", "deploy finished", subtype="bot_message", bot_id="B0OTHER")
    await slack.message(ZACK, "edited", subtype="message_changed")
    assert await slack.requests() == 0
    assert await slack.inbound() == 0


async def test_people_are_known_by_email_looked_up_once_and_remembered(slack: SlackWorld) -> None:
    await slack.message(ZACK, "first")
    await slack.message(ZACK, "second")
    await slack.message(ALEXIS, "my own laptop too")

    assert [c.args["user"] for c in slack.fake.calls_to("users.info")] == [ZACK, ALEXIS]
    async with slack.services.sessions() as session:
        rows = {(i.user_id, i.email) for i in (await session.execute(select(Identity))).scalars()}
    assert rows == {(ZACK, "zack@nordlys.example"), (ALEXIS, "alexis.baker@nordlys.example")}
    # Not in app.yaml: a requester, who sees their own requests and nothing else.
    mine = await slack.services.desk.list_requests(slack.actor(ZACK), scope="all")
    assert [r.title for r in mine] == ["second", "first"]


async def test_user_text_cannot_ping_a_channel_or_disguise_a_link(slack: SlackWorld) -> None:
    # As Slack encodes what the person typed: a real @channel, and a literal "<https://evil|bank>".
    await slack.message(ZACK, "<!channel> urgent &lt;https://evil.example|Your bank&gt; & more")
    await slack.deliver()

    posted = slack.posts(DM) + slack.posts(FRONT_DESK)
    assert len(posted) == 2
    for message in posted:
        shown = block_text(message["blocks"]) + message["text"]
        assert "<!channel>" not in shown and "<https://evil" not in shown
        assert "&lt;https://evil.example|Your bank&gt; &amp; more" in shown
    request = await slack.services.desk.get_request(slack.actor(ZACK), 1)
    assert request.title == "@channel urgent <https://evil.example|Your bank> & more"


@pytest_asyncio.fixture
async def asking(tmp_path: Path, sqlite_url: str, clock: FakeClock, fake: FakeSlackAPI
                 ) -> AsyncIterator[SlackWorld]:
    """A deployment whose app.yaml says to ask for the zone of an unrouted DM."""

    def ask(data: dict[str, Any]) -> None:
        data["intake"]["unrouted"] = "ask"

    async with serving(config_variant(tmp_path, ask), sqlite_url, clock, fake) as world:
        yield world


async def test_the_zone_question_uses_the_organisation_s_own_word(tmp_path: Path, sqlite_url: str, clock: FakeClock,
                                                                  fake: FakeSlackAPI) -> None:
    def ask_for_a_business_unit(data: dict[str, Any]) -> None:
        data["intake"]["unrouted"] = "ask"
        data["organisation"]["zone_word"] = "Business unit"

    async with serving(config_variant(tmp_path, ask_for_a_business_unit), sqlite_url, clock, fake) as world:
        await world.message(ZACK, "Where do I report a broken chair?")
        [question] = world.posts(DM)
    assert question["text"] == "Who should handle this? Choose the business unit."
    assert block_text(question["blocks"]).startswith("Who should handle this? Choose the business unit, and I file")
    assert "department" not in block_text(question["blocks"]).lower()


async def test_when_the_zone_is_unclear_the_bot_asks_with_buttons_and_files_on_the_choice(asking: SlackWorld
                                                                                         ) -> None:
    ts = await asking.message(ZACK, "Where do I report a broken chair?")
    assert await asking.requests() == 0
    [question] = asking.posts(DM)
    assert question["thread_ts"] == ts
    choices = buttons(question["blocks"])
    assert {"zds:zone:it", "zds:zone:facilities", "zds:zone:hr"} <= set(choices)

    await asking.click(ZACK, "zds:zone:facilities", choices["zds:zone:facilities"], channel=DM, message=question)
    await asking.deliver()

    request = await asking.services.desk.get_request(asking.actor(ZACK), 1)
    assert (request.zone_id, request.title) == ("facilities", "Where do I report a broken chair?")
    assert "Filed with Facilities as #1" in block_text(asking.posts(DM)[0]["blocks"])
    confirmation = asking.posts(DM)[-1]
    assert confirmation["thread_ts"] == ts and "Request #1 is filed with Facilities" in block_text(
        confirmation["blocks"])
    # Someone else clicking the same question cannot file it as theirs.
    _, hook = await asking.click(ALEXIS, "zds:zone:it", choices["zds:zone:it"], channel=DM, message=question)
    assert "Only the person who wrote the message" in asking.answer_to(hook)
    assert await asking.requests() == 1


async def test_a_zone_choice_on_a_message_no_longer_kept_asks_to_send_it_again(asking: SlackWorld) -> None:
    """Inbound events are deleted two weeks after they were handled (bot.server.RETAIN); a zone button
    clicked later cannot file what it no longer has, and says so."""
    ts = await asking.message(ZACK, "Where do I report a broken chair?")
    [question] = asking.posts(DM)
    choices = buttons(question["blocks"])
    asking.clock.advance(timedelta(days=15))
    await asking.services.retention()

    _, hook = await asking.click(ZACK, "zds:zone:facilities", choices["zds:zone:facilities"], channel=DM,
                                 message=question)
    await asking.deliver()
    assert "too old to file from here; please send it again" in asking.answer_to(hook)
    assert await asking.requests() == 0 and ts
