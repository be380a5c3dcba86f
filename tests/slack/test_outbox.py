"""The durable outbox through Slack: outages, 5xx and 429 are retried (honouring Retry-After), permanent
errors and the give-up time leave a visible failure in the request's history; messages fit Slack's limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest_asyncio
from sqlalchemy import select

from adapters.slack.blocks import BLOCKS_MAX, SECTION_MAX, render_message
from bot.clock import FakeClock
from bot.delivery.messages import Button, Message
from bot.model import Outbox
from bot.scheduler import install
from tests.fakes.slack_api import FakeSlackAPI
from tests.slack.conftest import ALEXIS, IT_HELP, IT_TRIAGE, ROOT, ZACK, SlackWorld, block_text, serving


@pytest_asyncio.fixture
async def slack_on_both(db_url: str, clock: FakeClock, fake: FakeSlackAPI) -> AsyncIterator[SlackWorld]:
    """The Slack world on SQLite and on PostgreSQL (the outbox's claim is SQL each database runs its way)."""
    async with serving(ROOT / "app.yaml", db_url, clock, fake) as world:
        yield world


async def file_and_reply(slack: SlackWorld, reply: str = "Fixed, please try again") -> str:
    """Zack files in IT (delivered), Alexis replies (queued, not yet delivered); returns the origin ts."""
    origin = await slack.message(ZACK, "Cannot print", channel=IT_HELP)
    await slack.deliver()
    await slack.desk(ALEXIS, f"reply 1 {reply}")
    return origin


def replies(slack: SlackWorld, text: str = "Fixed, please try again") -> list[dict[str, object]]:
    return [p for p in slack.posts(IT_HELP) if text in block_text(p["blocks"])]  # type: ignore[arg-type]


async def history(slack: SlackWorld) -> list[tuple[str, dict[str, object]]]:
    detail = await slack.services.desk.get_request(slack.actor(ALEXIS), 1)
    return [(e.kind, e.data) for e in detail.history]


async def test_a_reply_accepted_while_slack_is_down_arrives_when_it_is_back(slack: SlackWorld) -> None:
    origin = await file_and_reply(slack)
    slack.fake.down = True
    await slack.deliver()
    assert replies(slack) == [] and await slack.pending() == 1

    slack.fake.down = False
    await slack.deliver()
    assert replies(slack) == []  # not before its back-off is over
    slack.clock.advance(timedelta(minutes=5))
    await slack.deliver()
    [reply] = replies(slack)
    assert reply["thread_ts"] == origin and await slack.pending() == 0


async def test_server_errors_are_retried_with_back_off(slack: SlackWorld) -> None:
    await file_and_reply(slack)
    slack.fake.fail_next("chat.postMessage", times=2, status=500)
    for _ in range(3):
        await slack.deliver()
        slack.clock.advance(timedelta(minutes=5))
    assert len(replies(slack)) == 1
    assert [c.status for c in slack.fake.calls_to("chat.postMessage")][-3:] == [500, 500, 200]


async def test_a_429_is_retried_no_sooner_than_retry_after(slack: SlackWorld) -> None:
    await file_and_reply(slack)
    slack.fake.rate_limit_next("chat.postMessage", retry_after=30)
    await slack.deliver()
    assert replies(slack) == []

    slack.clock.advance(timedelta(seconds=20))
    await slack.deliver()
    assert replies(slack) == [] and slack.fake.calls_to("chat.postMessage")[-1].status == 429  # not even tried

    slack.clock.advance(timedelta(seconds=11))
    await slack.deliver()
    assert len(replies(slack)) == 1


async def test_after_the_give_up_time_the_failure_shows_in_the_requests_history(slack: SlackWorld) -> None:
    await file_and_reply(slack)
    slack.fake.down = True
    give_up = slack.services.outbox.settings.give_up_after
    for _ in range(6):
        await slack.deliver()
        slack.clock.advance(give_up / 5)
    await slack.deliver()

    failures = [data for kind, data in await history(slack) if kind == "delivery_failed"]
    assert failures and failures[0]["what"] == "thread_reply"
    assert "503" in str(failures[0]["error"])
    assert await slack.pending() == 0
    slack.fake.down = False
    slack.clock.advance(timedelta(hours=1))
    await slack.deliver()
    assert replies(slack) == []  # given up means given up: no late surprise in the thread


async def test_a_permanent_error_fails_at_once_and_visibly(slack: SlackWorld) -> None:
    await file_and_reply(slack)
    slack.fake.error_next("chat.postMessage", "channel_not_found")
    await slack.deliver()
    failures = [data for kind, data in await history(slack) if kind == "delivery_failed"]
    assert [(f["what"], f["error"]) for f in failures] == [("thread_reply", "Slack: channel_not_found")]


async def test_a_triage_post_links_its_thread_to_the_request(slack: SlackWorld) -> None:
    await slack.message(ZACK, "Cannot print", channel=IT_HELP)
    await slack.deliver()
    async with slack.services.sessions() as session:
        triage = (await session.execute(select(Outbox).where(Outbox.kind == "triage"))).scalar_one()
    [announcement] = slack.posts(IT_TRIAGE)
    assert triage.status == "sent" and triage.result["thread"] == announcement["ts"]
    assert await slack.services.desk.thread_request("slack", IT_TRIAGE, announcement["ts"]) == (1, "triage")


async def test_a_long_reply_is_split_into_sections_slack_accepts(slack: SlackWorld) -> None:
    long = "Step & <detail> " * 1200  # ~19,000 characters, with characters that must be escaped
    await file_and_reply(slack, long.strip())
    await slack.deliver()
    reply = slack.posts(IT_HELP)[-1]
    sections = [b["text"]["text"] for b in reply["blocks"] if b["type"] == "section"]  # type: ignore[index]
    assert len(sections) >= 7 and all(len(s) <= SECTION_MAX for s in sections)
    assert "".join(sections).startswith("Step &amp; &lt;detail&gt; ")


def test_a_huge_message_is_capped_at_fifty_blocks_and_says_it_was_shortened() -> None:
    message = Message(text="x" * (SECTION_MAX * 80), title="Big", fields=(("a", "b"),) * 25, footer="end",
                      buttons=tuple(Button("claim", f"B{i}", str(i)) for i in range(30)))
    text, blocks = render_message(message)
    assert len(blocks) <= BLOCKS_MAX
    assert "shortened" in block_text(blocks)
    assert all(len(b.get("text", {}).get("text", "")) <= SECTION_MAX for b in blocks)
    assert all(len(b["elements"]) <= 25 for b in blocks if b["type"] == "actions")
    ids = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert len(ids) == len(set(ids)) == 30 and ids[:2] == ["zd:claim", "zd:claim:1"]
    assert len(text) <= 3000



async def test_a_backlog_in_one_thread_goes_out_in_order_and_waits_behind_a_failed_reply(
        slack_on_both: SlackWorld) -> None:
    """Five replies queued for one thread: when the first fails, the four behind it stay queued rather
    than overtake it; once it is due again, one delivery round sends all five, one after the other."""
    slack = slack_on_both
    await file_and_reply(slack, "Reply number 1")
    for n in range(2, 6):
        await slack.desk(ALEXIS, f"reply 1 Reply number {n}")
    await slack.settle()

    def thread_texts() -> list[str]:
        return [n for p in slack.posts(IT_HELP) for n in "12345"
                if f"Reply number {n}" in block_text(p["blocks"])]  # type: ignore[arg-type]

    slack.fake.fail_next("chat.postMessage", times=1)
    await slack.services.outbox.run_once()
    assert thread_texts() == [], "the first reply failed, and nothing overtook it"
    assert await slack.pending() == 5
    slack.clock.advance(timedelta(minutes=5))
    assert await slack.services.outbox.run_once() == 5, "the whole run went out in one round"
    assert thread_texts() == ["1", "2", "3", "4", "5"]
    assert await slack.pending() == 0


async def test_a_burst_of_new_requests_is_announced_in_one_digest(slack_on_both: SlackWorld) -> None:
    """Requests filed faster than announcements go out are listed in one triage post (Slack allows about
    one post a second per channel); a lone request still gets its own announcement with its buttons."""
    slack = slack_on_both
    for n in range(5):
        await slack.message(ZACK, f"Problem number {n}", channel=IT_HELP)
    await slack.deliver()
    [digest] = slack.posts(IT_TRIAGE)
    shown = block_text(digest["blocks"])
    assert "5 new requests arrived together" in shown
    positions = [shown.index(f"New request #{n + 1}: Problem number {n}") for n in range(5)]
    assert positions == sorted(positions)
    assert len([p for p in slack.posts(IT_HELP) if "is filed with IT" in block_text(p["blocks"])]) == 5
    async with slack.services.sessions() as session:
        statuses = sorted((await session.execute(select(Outbox.status).where(Outbox.kind == "triage"))).scalars())
    assert statuses == ["folded"] * 4 + ["sent"]

    await slack.message(ZACK, "One more problem", channel=IT_HELP)
    await slack.deliver()
    alone = slack.posts(IT_TRIAGE)[-1]
    assert "New request #6: One more problem" in block_text(alone["blocks"])
    assert "zd:claim" in str(alone["blocks"])


async def test_the_daily_digest_is_never_folded_into_a_burst_of_announcements(slack_on_both: SlackWorld) -> None:
    """The morning's digest and a burst of new requests wait together for the triage channel: the burst is
    one post, the digest another, with its own title and figures."""
    slack = slack_on_both
    scheduler = install(slack.services, env={"ZONEDESK_SCHEDULER": "off"})
    slack.clock.set(datetime(2026, 11, 24, 12, tzinfo=UTC))  # a Tuesday
    await scheduler.tick()  # arms Wednesday's digest
    slack.clock.set(datetime(2026, 11, 25, 6, 59, tzinfo=UTC))  # 07:59 in Oslo
    for n in range(3):
        await slack.message(ZACK, f"Problem number {n}", channel=IT_HELP)
    await slack.settle()
    slack.clock.set(datetime(2026, 11, 25, 7, 0, tzinfo=UTC))  # 08:00 in Oslo: the digest is due
    await scheduler.tick()
    await slack.deliver()
    posts = [block_text(p["blocks"]) for p in slack.posts(IT_TRIAGE)]
    assert len(posts) == 2, posts
    assert sum("3 new requests arrived together" in p for p in posts) == 1
    [digest] = [p for p in posts if "daily digest for Wednesday 25 November" in p]
    assert "arrived together" not in digest

