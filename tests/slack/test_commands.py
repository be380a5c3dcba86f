"""`/desk`: every verb answers privately, goes through the desk's access rules, and explains bad arguments."""

from __future__ import annotations

import pytest

from tests.slack.conftest import ALEXIS, FRIDA, HANNA, IT_HELP, IVAR, ZACK, SlackWorld, block_text


async def file_in_it(slack: SlackWorld, text: str = "Monitor flickers") -> None:
    await slack.message(ZACK, text, channel=IT_HELP)
    await slack.deliver()


async def test_answers_are_private_through_the_response_url(slack: SlackWorld) -> None:
    answer = await slack.command(ALEXIS, "/desk", "help", trigger_id="help-1")
    assert (answer.status, answer.text) == (200, "")  # the ack itself says nothing
    posted = next(c for c in slack.fake.calls_to("response_url") if c.args["_hook"] == "help-1").args
    assert posted["response_type"] == "ephemeral" and posted["replace_original"] is False
    assert "claim &lt;number&gt;" in block_text(posted["blocks"])  # mrkdwn-escaped, shown as <number>
    assert slack.fake.calls_to("chat.postMessage") == []


async def test_an_agent_works_a_request_with_verbs(slack: SlackWorld) -> None:
    await file_in_it(slack)
    steps = [
        ("claim #1", "You claimed #1."),
        ("note 1 Checked the cable", "Internal note added to #1."),
        ("priority 1 high", "#1 now has priority high."),
        ("category 1 peripherals", "#1 is in category peripherals (priority high)."),
        ("deadline 1 2026-12-01", "#1 is due 2026-12-01 16:00 (Europe/Oslo)."),
        ("label 1 hardware", "#1 is labelled hardware (only you see your labels)."),
        ("status 1 waiting requester", "#1 is now waiting."),
        ("task 1 facilities Move the desk away from the window", "Task T1 created on #1."),
        ("close 1", "#1 is resolved."),
        ("close 1", "#1 is closed."),
        ("reopen 1 Still flickers", "#1 is reopened."),
    ]
    for text, expected in steps:
        assert await slack.desk(ALEXIS, text) == expected, text

    shown = await slack.desk(ALEXIS, "show #1")
    assert "#1: Monitor flickers" in shown and "Status: Reopened" in shown and "Your labels: hardware" in shown
    assert "Checked the cable" in shown  # agents see internal notes
    listed = await slack.desk(ALEXIS, "list")
    assert "#1 · reopened" in listed


async def test_assign_by_mention_and_the_assignee_is_told_in_a_dm(slack: SlackWorld) -> None:
    await file_in_it(slack)
    await slack.desk(ALEXIS, "help")  # Alexis has used Zonedesk in Slack: the desk can DM her
    answer = await slack.desk(IVAR, f"assign 1 <@{ALEXIS}|alexis>")
    assert answer == "#1 is assigned to Alexis Baker."
    await slack.deliver()
    dm = slack.posts(f"D{ALEXIS}")
    assert dm and "Ivar Lund assigned you #1: Monitor flickers" in block_text(dm[-1]["blocks"])


async def test_transfer_moves_the_request_and_the_requester_is_told(slack: SlackWorld) -> None:
    await file_in_it(slack)
    assert await slack.desk(ALEXIS, "transfer 1 facilities/repairs Loose wall socket") == \
        "#1 is transferred to Facilities."
    await slack.deliver()
    assert "now handled by Facilities" in block_text(slack.posts(IT_HELP)[-1]["blocks"])
    assert await slack.desk(ALEXIS, "show 1") == "Request #1 was not found."  # IT keeps no access


@pytest.mark.parametrize(("text", "usage"), [
    ("claim", "Usage: claim <number>"),
    ("claim one", "Usage: claim <number>"),
    ("assign 1", "Usage: assign <number> <person>"),
    ("reply 1", "Usage: reply <number> <text> | reply <number> saved:<name> [more text]"),
    ("priority 1", "Usage: priority <number> low|normal|high"),
    ("deadline 1 tomorrow", "Usage: deadline <number> <YYYY-MM-DD> [HH:MM] | none"),
    ("list everything please now", "Usage: list [mine|queue|assigned|all] [open|<status>]"),
])
async def test_bad_arguments_get_the_usage_line_of_that_verb(slack: SlackWorld, text: str, usage: str) -> None:
    await file_in_it(slack)
    assert await slack.desk(ALEXIS, text) == usage


async def test_an_unknown_verb_gets_the_list_of_verbs(slack: SlackWorld) -> None:
    answer = await slack.desk(ALEXIS, "frobnicate 1")
    assert answer.startswith("I do not know 'frobnicate'.") and "reopen <number> [reason]" in answer


async def test_a_hidden_request_reads_exactly_like_a_missing_one(slack: SlackWorld) -> None:
    await file_in_it(slack)
    hidden = [await slack.desk(HANNA, f"{verb} 1{rest}") for verb, rest in
              [("show", ""), ("claim", ""), ("reply", " hi"), ("note", " hi"), ("close", "")]]
    missing = [await slack.desk(HANNA, f"{verb} 99{rest}") for verb, rest in
               [("show", ""), ("claim", ""), ("reply", " hi"), ("note", " hi"), ("close", "")]]
    assert hidden == ["Request #1 was not found."] * 5
    assert missing == ["Request #99 was not found."] * 5
    agent_view = await slack.services.desk.get_request(slack.actor(ALEXIS), 1)
    assert agent_view.comments == () and agent_view.assignee_email is None


async def test_refusals_say_why(slack: SlackWorld) -> None:
    await file_in_it(slack)
    assert await slack.desk(ZACK, "claim 1") == "Only an agent of the request's department can claim it."
    assert "can read request #1 but not" in await slack.desk(FRIDA, "claim 1")  # front desk may read IT
    assert await slack.desk(ALEXIS, "status 1 closed") == (
        "Request #1 cannot go from new to closed: from new it can move to: accepted, assigned, cancelled, "
        "in_progress, resolved, waiting.")


async def test_a_requester_lists_and_reopens_their_own(slack: SlackWorld) -> None:
    await file_in_it(slack, "Keyboard sticky")
    assert "#1 · new · normal · Keyboard sticky" in await slack.desk(ZACK, "list")
    await slack.desk(ALEXIS, "close 1")
    assert await slack.desk(ZACK, "reopen #1 still sticky") == "#1 is reopened."
