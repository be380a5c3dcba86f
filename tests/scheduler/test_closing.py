"""After a resolution: Solved / Not solved, auto-close after five working days, and the satisfaction survey."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.desk.actions import perform
from bot.desk.surveys import sampled
from bot.errors import DeskError
from bot.model import Survey
from tests.scheduler.world import ALEXIS, ZACK, Out, World, oslo


async def _resolved(world: World, title: str = "Outlook keeps crashing", requester: str = ZACK) -> int:
    number = await world.file(title, requester=requester)
    await world.desk.claim(world.actor(ALEXIS), number)
    await world.desk.reply(world.actor(ALEXIS), number, "Reinstalled it for you")
    world.clock.set(oslo(2026, 11, 24, 10))
    await world.desk.set_status(world.actor(ALEXIS), number, "resolved")
    return number


async def _survey(world: World) -> Out:
    await world.at(world.clock.now())
    [survey] = [o for o in await world.sent() if "survey" in o.message.extra]
    return survey


async def test_the_requester_is_asked_in_the_thread_and_solved_closes_it(world: World) -> None:
    number = await _resolved(world)
    await world.at(oslo(2026, 11, 24, 10))
    [ask] = await world.sent()
    assert ask.to == "thread:C0ITHELP" and ask.message.title == f"Is your request #{number} solved?"
    assert [(b.action, b.label, b.value) for b in ask.message.buttons] == [
        ("solved", "Solved", str(number)), ("not_solved", "Not solved", str(number))]
    outcome = await perform(world.desk, world.actor(ZACK), "solved", str(number))
    assert outcome.notice == f"Thank you! Request #{number} is closed." and outcome.final
    request = await world.request(number)
    assert (request.status, request.closed_by) == ("closed", "agent")
    again = await perform(world.desk, world.actor(ZACK), "solved", str(number))
    assert again.notice == f"Request #{number} is closed already."


async def test_not_solved_reopens_it_and_tells_the_assignee(world: World) -> None:
    number = await _resolved(world)
    await world.at(oslo(2026, 11, 24, 10, 5))
    assert [o.message.extra.get("confirm") for o in await world.sent()] == [True]
    outcome = await perform(world.desk, world.actor(ZACK), "not_solved", str(number))
    assert outcome.notice == f"Request #{number} is reopened; we are on it again."
    assert (await world.request(number)).status == "reopened"
    told = await world.sent()
    assert [o.to for o in told] == ["thread:C0ITHELP", "dm:UALEXIS"]
    assert told[1].message.title == f"Zack says #{number} is not solved: reopened"
    await world.at(oslo(2026, 12, 2, 10))
    assert (await world.request(number)).status == "reopened", "no auto-close for a reopened request"


async def test_without_an_answer_it_is_reminded_one_working_day_before_and_closed_after_five(world: World) -> None:
    number = await _resolved(world)  # Tuesday 24 November 10:00
    await world.at(oslo(2026, 11, 24, 10))
    await world.at(oslo(2026, 11, 30, 9, 59))
    assert await world.sent() == []
    await world.at(oslo(2026, 11, 30, 10))  # Monday: four working days on
    [reminder] = await world.sent()
    assert reminder.to == "thread:C0ITHELP" and "one more working day" in reminder.message.text
    await world.at(oslo(2026, 12, 1, 9, 59))
    assert (await world.request(number)).status == "resolved"
    await world.at(oslo(2026, 12, 1, 10))
    request = await world.request(number)
    assert (request.status, request.closed_by) == ("closed", "auto")
    assert [o.message.text for o in await world.sent()] == [f"Request #{number} is closed."]
    await world.at(oslo(2026, 12, 1, 11))
    assert await world.sent() == [], "no survey after an auto-close"
    detail = await world.desk.get_request(world.actor(ALEXIS), number)
    assert detail.history[-1].channel == "scheduler" and detail.history[-1].data["status"] == "closed"


async def test_a_close_by_an_agent_asks_for_a_rating_once_and_shows_it_on_the_request(world: World) -> None:
    number = await _resolved(world)
    await world.desk.set_status(world.actor(ALEXIS), number, "closed")
    survey = await _survey(world)
    assert survey.to == "thread:C0ITHELP" and survey.message.title == f"How did we do with #{number}?"
    survey_id = survey.message.extra["survey"]
    assert [b.value for b in survey.message.buttons] == [f"{survey_id}:{n}" for n in range(1, 6)]
    assert survey.message.extra["comment"] is True, "the card has a comment box"
    with pytest.raises(DeskError, match="not yours"):
        await perform(world.desk, world.actor(ALEXIS), "rate", f"{survey_id}:5")
    outcome = await perform(world.desk, world.actor(ZACK), "rate", f"{survey_id}:4:Quick and friendly")
    assert outcome.notice == f"Thank you for rating #{number}: 4/5."
    assert outcome.card is not None and outcome.card.text == "Rated 4/5 by Zack. Comment: Quick and friendly"
    detail = await world.desk.get_request(world.actor(ALEXIS), number)
    assert detail.satisfaction == 4
    rated = detail.history[-1]
    assert (rated.kind, rated.data["rating"], rated.data["comment"]) == ("rated", 4, "Quick and friendly")
    twice = await perform(world.desk, world.actor(ZACK), "rate", f"{survey_id}:1")
    assert twice.notice == "You already rated this request. Thank you!"
    assert (await world.request(number)).satisfaction == 4


async def test_solved_by_the_requester_is_followed_by_a_survey(world: World) -> None:
    number = await _resolved(world)
    await perform(world.desk, world.actor(ZACK), "solved", str(number))
    assert (await _survey(world)).request_id == number


async def test_a_reopen_withdraws_the_survey(world: World) -> None:
    number = await _resolved(world)
    await world.desk.set_status(world.actor(ALEXIS), number, "closed")
    survey_id = (await _survey(world)).message.extra["survey"]
    await world.desk.reopen(world.actor(ZACK), number, "It crashed again")
    outcome = await perform(world.desk, world.actor(ZACK), "rate", f"{survey_id}:2")
    assert outcome.notice == "This survey was withdrawn: the request was reopened."
    assert (await world.request(number)).satisfaction is None


async def test_a_survey_expires_after_seven_days(world: World) -> None:
    number = await _resolved(world)
    await world.desk.set_status(world.actor(ALEXIS), number, "closed")
    survey_id = (await _survey(world)).message.extra["survey"]
    await world.at(world.clock.now() + timedelta(days=7))
    outcome = await perform(world.desk, world.actor(ZACK), "rate", f"{survey_id}:5")
    assert outcome.notice == "This survey has expired."
    async with world.services.sessions() as session:
        assert await session.scalar(select(Survey.status).where(Survey.id == survey_id)) == "expired"


async def test_no_survey_for_a_cancelled_request_or_ones_own_or_twice_in_a_week(world: World) -> None:
    cancelled = await world.file("Never mind")
    await world.desk.cancel(world.actor(ZACK), cancelled)
    own = await _resolved(world, "My own laptop", requester=ALEXIS)
    await world.desk.set_status(world.actor(ALEXIS), own, "closed")
    first = await _resolved(world, "First")
    await world.desk.set_status(world.actor(ALEXIS), first, "closed")
    second = await _resolved(world, "Second")
    await world.desk.set_status(world.actor(ALEXIS), second, "closed")
    await world.at(world.clock.now())
    surveys = [o.request_id for o in await world.sent() if "survey" in o.message.extra]
    assert surveys == [first], "Zack was asked about #first; #second falls in his week of rest"
    world.clock.set(oslo(2026, 12, 2, 10))
    third = await world.file("Third")
    await world.desk.claim(world.actor(ALEXIS), third)
    await world.desk.set_status(world.actor(ALEXIS), third, "resolved")
    await world.desk.set_status(world.actor(ALEXIS), third, "closed")
    assert (await _survey(world)).request_id == third


def test_sampling_is_a_stable_share_of_request_numbers() -> None:
    picked = [n for n in range(1, 2001) if sampled(n, 0.25)]
    assert 400 < len(picked) < 600
    assert picked == [n for n in range(1, 2001) if sampled(n, 0.25)], "the same requests every time"
    assert all(sampled(n, 1.0) for n in range(1, 50)) and not any(sampled(n, 0.0) for n in range(1, 50))
