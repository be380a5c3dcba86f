"""`/desk bundle` through the real Slack adapter: three people report one outage in the IT channel, an agent
bundles their requests, and one reply and one status change reach each reporter's own thread, each in
that reporter's language; what may not be done is listed, privately."""

from __future__ import annotations

from tests.slack.conftest import ALEXIS, FRIDA, HANNA, IT_HELP, ZACK, SlackWorld, block_text


async def three_reports(slack: SlackWorld) -> dict[int, str]:
    """Zack, Hanna and Frida each report the outage in the IT channel; request number -> their message ts."""
    threads = {}
    for number, user in enumerate((ZACK, HANNA, FRIDA), start=1):
        threads[number] = await slack.message(user, f"Mail is down ({user})", channel=IT_HELP)
    await slack.deliver()
    return threads


def thread_posts(slack: SlackWorld, since: int) -> dict[str, str]:
    """thread_ts -> text of the chat.postMessage calls into the IT channel's threads after call `since`."""
    calls = slack.fake.calls_to("chat.postMessage")[since:]
    return {c.args["thread_ts"]: block_text(c.args.get("blocks") or []) or str(c.args.get("text"))
            for c in calls if c.args.get("channel") == IT_HELP and c.args.get("thread_ts")}


async def test_a_bundle_reply_reaches_three_requesters_threads(slack: SlackWorld) -> None:
    threads = await three_reports(slack)
    assert await slack.desk(HANNA, "language nb")  # Hanna reads Norwegian
    made = await slack.desk(ALEXIS, "bundle new Mail outage 1 2 #3")
    assert made == "Bundle B1 holds 3 requests: #1, #2, #3."
    shown = await slack.desk(ALEXIS, "bundle show B1")
    assert shown.startswith("Bundle B1: Mail outage\n#1 · new · Mail is down")

    before = len(slack.fake.calls_to("chat.postMessage"))
    answer = await slack.desk(ALEXIS, "bundle reply 1 Mail is back; restart Outlook.")
    assert answer == "Your reply is on its way to the requesters of 3 requests: #1, #2, #3."
    await slack.deliver()
    posted = thread_posts(slack, before)
    assert set(posted) == set(threads.values())  # one post into each reporter's own thread
    assert all("Mail is back; restart Outlook." in text for text in posted.values())

    before = len(slack.fake.calls_to("chat.postMessage"))
    assert await slack.desk(ALEXIS, "bundle status 1 resolve") == "3 requests are now resolved: #1, #2, #3."
    await slack.deliver()
    posted = thread_posts(slack, before)
    assert "Request #1 is resolved." in posted[threads[1]]
    assert "Sak #2 er løst." in posted[threads[2]]  # in Hanna's language
    assert "Request #3 is resolved." in posted[threads[3]]


async def test_bundle_refusals_are_listed_privately(slack: SlackWorld) -> None:
    await three_reports(slack)
    await slack.desk(ALEXIS, "status 3 resolved")
    await slack.desk(ALEXIS, "close 3")
    assert await slack.desk(ALEXIS, "bundle new Mail 1 2 3 99") == (
        "Bundle B1 holds 3 requests: #1, #2, #3.\n• #99: Request #99 was not found.")
    assert await slack.desk(ALEXIS, "bundle status B1 in_progress") == (
        "2 requests are now in_progress: #1, #2.\n• #3: Request #3 cannot go from closed to in_progress: "
        "a closed request can only be reopened.")
    assert await slack.desk(HANNA, "bundle show 1") == "Bundle B1 was not found."  # HR reads nothing of IT's
    assert await slack.desk(ZACK, "bundle show 1") == "Only agents keep bundles."
    assert await slack.desk(ALEXIS, "bundle new 1 2") == (
        "Usage: bundle new <title> <numbers…> | add <bundle> <numbers…> | remove <bundle> <numbers…> | "
        "show <bundle> | reply <bundle> <text> | status <bundle> <status> [reason] | list")
    assert await slack.desk(ALEXIS, "bundle remove 1 2") == "Taken out of bundle B1: #2."
    assert await slack.desk(ALEXIS, "bundle list") == "Bundles:\nB1: Mail (2 requests)"
