"""The Teams sender behind the durable outbox: back-off on 429/412/502/504, Retry-After honoured, no loss."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.desk import WEB
from bot.model import Event, Outbox
from tests.teams.conftest import (
    ALEXIS,
    FRONT_DESK,
    IT_HELP,
    IT_TRIAGE,
    IVAR,
    KARI,
    TeamsWorld,
    actions,
    card_of,
    card_text,
)


async def row(teams: TeamsWorld, kind: str) -> Outbox:
    async with teams.services.sessions() as session:
        return (await session.execute(select(Outbox).where(Outbox.kind == kind))).scalar_one()


async def test_429_waits_for_retry_after_then_delivers_once(teams: TeamsWorld) -> None:
    teams.connector.fail_next("send_to_conversation", status=429, retry_after=7)
    await teams.say(KARI, "Calendar invites vanish")

    await teams.deliver()

    waiting = await row(teams, "confirmation")
    assert waiting.status == "pending" and "429" in (waiting.last_error or "")
    assert waiting.next_attempt_at >= teams.clock.now() + timedelta(seconds=7)
    teams.clock.advance(timedelta(seconds=6))
    await teams.deliver()
    assert teams.sent_to(KARI.chat) == []  # not before Retry-After
    teams.clock.advance(timedelta(seconds=2))
    await teams.deliver()
    assert len(teams.sent_to(KARI.chat)) == 1
    assert (await row(teams, "confirmation")).status == "sent"


@pytest.mark.parametrize("status", [412, 502, 504])
async def test_passing_failures_are_retried_with_back_off(teams: TeamsWorld, status: int) -> None:
    teams.connector.fail_next("send_to_conversation", status=status)
    await teams.say(KARI, "Excel crashes on open")

    await teams.deliver()
    assert (await row(teams, "confirmation")).status == "pending"
    assert len(teams.connector.calls_to("send_to_conversation")) == 1  # no hidden retries inside the send

    teams.clock.advance(timedelta(seconds=5))
    await teams.deliver()
    assert (await row(teams, "confirmation")).status == "sent"
    assert len(teams.sent_to(KARI.chat)) == 1


async def test_a_conversation_the_bot_was_removed_from_fails_visibly(teams: TeamsWorld) -> None:
    teams.connector.fail_next("send_to_conversation", status=403)
    await teams.say(KARI, "Laptop stolen")

    await teams.deliver()

    assert (await row(teams, "confirmation")).status == "failed"
    async with teams.services.sessions() as session:
        kinds = [e.kind for e in (await session.execute(select(Event).where(Event.request_id == 1))).scalars()]
    assert "delivery_failed" in kinds


async def test_a_refused_token_is_fetched_again(teams: TeamsWorld) -> None:
    await teams.say(KARI, "Need a new badge")
    teams.connector.tokens.expire_all()  # the token we hold is no longer accepted (401)

    await teams.deliver()
    assert (await row(teams, "confirmation")).status == "pending"
    teams.clock.advance(timedelta(seconds=5))
    await teams.deliver()

    assert (await row(teams, "confirmation")).status == "sent"
    assert len(teams.connector.calls_to("token")) == 2


async def test_an_outage_of_the_connector_loses_nothing(teams: TeamsWorld) -> None:
    await teams.post_in_channel(KARI, "Wi-Fi in the canteen is down")
    teams.connector.down = True

    await teams.deliver()
    assert await teams.pending() == 2  # the confirmation and the triage announcement

    teams.connector.down = False
    teams.clock.advance(timedelta(seconds=5))
    await teams.deliver()
    assert await teams.pending() == 0


async def test_an_announcement_waits_until_teams_has_told_us_where_to_post(teams: TeamsWorld) -> None:
    await teams.services.desk.file_request(teams.actor(KARI), WEB, "Filed in the browser")

    await teams.deliver()
    waiting = await row(teams, "triage")
    assert waiting.status == "pending" and "service URL" in (waiting.last_error or "")

    await teams.say(KARI, "desk list")  # the first activity brings the service URL
    teams.clock.advance(timedelta(seconds=5))
    await teams.deliver()
    [(_, announcement)] = teams.new_threads(FRONT_DESK)
    assert "New request #1: Filed in the browser" in card_text(card_of(announcement))


async def test_a_direct_message_starts_a_personal_chat_once_and_then_reuses_it(teams: TeamsWorld) -> None:
    await teams.post_in_channel(KARI, "Toner is empty")
    await teams.post_in_channel(KARI, "Stapler is empty too")
    await teams.deliver()
    first_card = card_of(teams.new_threads(IT_TRIAGE)[0][1])
    # Ivar becomes known to the bot by a click in a channel; he never wrote to it in private.
    await teams.click(IVAR, actions(first_card)["Claim"], conversation=IT_TRIAGE, kind="channel")
    desk = teams.services.desk
    alexis = desk.actor("alexis.baker@nordlys.example", channel="teams")

    await desk.assign(alexis, 2, IVAR.email)
    await desk.assign(alexis, 1, IVAR.email)
    await teams.deliver()

    chats = [c for c in teams.connector.delivered("create_conversation") if c.body.get("members")]
    assert [c.body["members"] for c in chats] == [[{"id": IVAR.user_id}]]
    chat = chats[0].response["id"]
    texts = [card_text(card_of(a)) for a in teams.sent_to(chat)]
    assert any("assigned you #2" in t for t in texts) and any("assigned you #1" in t for t in texts)




async def test_a_busy_thread_is_held_to_teams_rate_limit_and_keeps_its_order(teams: TeamsWorld) -> None:
    """Ten replies for one thread: seven go at once (Teams allows 7 a second per conversation), the other
    three a second later, all in the order they were written."""
    _, post = await teams.post_in_channel(KARI, "Need Visio")
    await teams.deliver()
    teams.clock.advance(timedelta(seconds=31))  # the confirmation in that thread is out of every window
    thread = f"{IT_HELP};messageid={post}"
    before = len(teams.sent_to(thread))
    for n in range(10):
        await teams.say(ALEXIS, f"desk reply 1 Update number {n}")

    await teams.deliver()
    assert len(teams.sent_to(thread)) - before == 7
    teams.clock.advance(timedelta(seconds=1))
    await teams.deliver()
    texts = [card_text(card_of(activity)) for activity in teams.sent_to(thread)[before:]]
    assert [next(n for n in range(10) if f"Update number {n}" in text) for text in texts] == list(range(10))


async def test_a_burst_of_new_requests_is_announced_in_one_digest(teams: TeamsWorld) -> None:
    """Twelve requests filed before the announcements could go: one card lists them all, oldest first,
    instead of twelve threads that Teams would let through at two a second."""
    for n in range(12):
        await teams.post_in_channel(KARI, f"Problem number {n}")

    await teams.deliver()
    [(_, announcement)] = teams.new_threads(IT_TRIAGE)
    text = card_text(card_of(announcement))
    assert "12 new requests arrived together" in text
    positions = [text.index(f"New request #{n + 1}: Problem number {n}") for n in range(12)]
    assert positions == sorted(positions)
    assert await teams.count(Outbox, Outbox.status == "pending") == 0
