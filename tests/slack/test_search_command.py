"""`/desk search WORDS` through the real Slack adapter: a private (ephemeral) answer listing what the person
may see, notes only for agents, and text that could ping a channel or fake a link escaped for mrkdwn."""

from __future__ import annotations

from bot.desk import WEB
from tests.slack.conftest import ALEXIS, HANNA, ZACK, SlackWorld


async def test_desk_search_answers_privately_with_what_each_may_see(slack: SlackWorld) -> None:
    desk = slack.services.desk
    zack = slack.actor(ZACK)
    number = (await desk.file_request(zack, WEB, "Monitor <!channel> flickers", "Since the <http://evil|update>",
                                      zone_id="it")).number
    await desk.note(desk.actor("alexis.baker@nordlys.example"), number, "Known issue with the flickering driver")
    trigger = f"search-{slack.next_ts()}"
    answer = await slack.command(ALEXIS, "/desk", "search flickering", trigger_id=trigger)
    assert answer.status == 200 and answer.text == ""
    [call] = [c for c in slack.fake.calls_to("response_url") if c.args.get("_hook") == trigger]
    assert call.args["response_type"] == "ephemeral"
    raw = str(call.args["text"]) + str(call.args.get("blocks"))
    assert "<!channel>" not in raw and "<http://evil|update>" not in raw  # escaped for mrkdwn
    said = slack.answer_to(trigger)
    assert "1 request found for “flickering”:" in said
    assert f"#{number} · new · Monitor <!channel> flickers" in said  # read back as typed
    assert "in an internal note: Known issue with the flickering driver" in said
    assert await slack.desk(ZACK, "search driver") == "Nothing found for “driver”."  # the note is not his
    assert "in the request" in await slack.desk(ZACK, "search monitor")
    assert await slack.desk(HANNA, "search monitor") == "Nothing found for “monitor”."  # HR: IT is closed


async def test_desk_search_without_words_or_with_only_symbols(slack: SlackWorld) -> None:
    assert (await slack.desk(ZACK, "search")).startswith("Usage: search <words>")
    assert await slack.desk(ZACK, 'search "*" (') == "Write a word or two to look for (letters or digits)."
