"""No duplicates: Slack's retries, double clicks and re-sent submissions are acknowledged and ignored,
and what was acknowledged before a crash is finished by the inbox's recovery, once."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from adapters.slack.app import inbound_key
from tests.fakes.slack_signing import block_actions_payload, event_body, view_submission_payload
from tests.slack.conftest import ALEXIS, DM, IT_HELP, IT_TRIAGE, ZACK, SlackWorld, block_text


async def test_the_same_event_delivered_four_times_files_one_request(slack: SlackWorld) -> None:
    event = {"type": "message", "channel": DM, "channel_type": "im", "user": ZACK, "text": "Printer on fire",
             "ts": "1732000001.000100"}
    answers = [await slack.event(event, "Ev0RETRY", **({"X-Slack-Retry-Num": str(n), "X-Slack-Retry-Reason":
                                                        "http_timeout"} if n else {})) for n in range(4)]
    await slack.deliver()

    assert [a.status for a in answers] == [200, 200, 200, 200]
    assert await slack.requests() == 1 and await slack.inbound() == 1
    assert len(slack.posts(DM)) == 1  # one confirmation


async def test_concurrent_copies_of_an_event_file_one_request(slack: SlackWorld) -> None:
    body = event_body({"type": "message", "channel": IT_HELP, "channel_type": "channel", "user": ZACK,
                       "text": "Two clicks, one request", "ts": "1732000002.000100"}, "Ev0RACE")
    answers = await asyncio.gather(*(slack.post(body) for _ in range(4)))
    await slack.settle()
    assert [a.status for a in answers] == [200] * 4
    assert await slack.requests() == 1


async def test_a_double_click_claims_once_and_a_second_click_is_told_it_is_done(slack: SlackWorld) -> None:
    await slack.message(ZACK, "Dock not charging", channel=IT_HELP)
    await slack.deliver()
    payload = block_actions_payload("zd:claim", "1", user_id=ALEXIS, channel_id=IT_TRIAGE,
                                    response_url=slack.fake.response_url("double"))
    first, again = await slack.interact(payload), await slack.interact(payload)  # the very same click twice
    assert (first.status, again.status) == (200, 200)
    assert [c.args["text"] for c in slack.fake.calls_to("response_url")] == ["You claimed #1."]

    _, hook = await slack.click(ALEXIS, "zd:claim", "1")  # a genuine second click: new action_ts
    assert slack.answer_to(hook) == "You already have request #1."
    history = (await slack.services.desk.get_request(slack.actor(ALEXIS), 1)).history
    assert [e.kind for e in history].count("claimed") == 1


async def test_a_resent_modal_submission_replies_once(slack: SlackWorld) -> None:
    await slack.message(ZACK, "Dock not charging", channel=IT_HELP)
    await slack.deliver()
    submission = view_submission_payload("zd:reply", {"text": {"value": "Swap the cable, please"}}, user_id=ALEXIS,
                                         private_metadata=json.dumps({"number": 1, "channel": IT_TRIAGE}))
    for _ in range(3):
        assert (await slack.interact(submission)).status == 200
    await slack.deliver()
    replies = [p for p in slack.posts(IT_HELP) if "Swap the cable" in block_text(p["blocks"])]
    assert len(replies) == 1


async def test_a_repeated_slash_command_acts_once(slack: SlackWorld) -> None:
    await slack.message(ZACK, "Dock not charging", channel=IT_HELP)
    for _ in range(2):
        await slack.command(ALEXIS, "/desk", "note 1 ordered a new dock", trigger_id="same-trigger")
    notes = (await slack.services.desk.get_request(slack.actor(ALEXIS), 1)).comments
    assert [c.body for c in notes] == ["ordered a new dock"]


async def test_an_event_acknowledged_before_a_crash_is_filed_by_recovery_once(slack: SlackWorld) -> None:
    body = json.loads(event_body({"type": "message", "channel": DM, "channel_type": "im", "user": ZACK,
                                  "text": "Lost my badge", "ts": "1732000003.000100"}, "Ev0CRASH"))
    # What the listener does before the ack, and then the process dies: recorded, never processed.
    assert await slack.services.inbox.accept(inbound_key(body), "slack", body)
    assert await slack.requests() == 0

    slack.clock.advance(timedelta(minutes=2))  # the dead process's lease runs out
    assert await slack.services.inbox.recover() == 1
    assert await slack.services.inbox.recover() == 0
    await slack.deliver()
    assert await slack.requests() == 1
    assert "Request #1 is filed" in block_text(slack.posts(DM)[0]["blocks"])


async def test_a_click_that_needs_a_dialog_is_not_replayed_after_a_crash(slack: SlackWorld) -> None:
    await slack.message(ZACK, "Dock not charging", channel=IT_HELP)
    payload = block_actions_payload("zd:reply", "1", user_id=ALEXIS, channel_id=IT_TRIAGE,
                                    response_url=slack.fake.response_url("late"))
    assert await slack.services.inbox.accept(inbound_key(payload), "slack", payload)
    slack.clock.advance(timedelta(minutes=2))
    await slack.services.inbox.recover()

    assert slack.fake.calls_to("views.open") == []  # its trigger_id expired long ago
    assert "click again" in slack.answer_to("late")
