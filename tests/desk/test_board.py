"""The board's read model and move on both databases: columns in the machine's order, each column's cards
in its order (open: most urgent, then oldest; finished: most recently changed), counts beyond the cards,
the SLA state from the scheduler's clocks, and a move that is the chat verb's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.clock import FakeClock
from bot.desk import WEB
from bot.desk.board import FINISHED_CARDS, BoardScope, move_card, open_board
from bot.desk.commands import run_command
from bot.desk.status import STATUSES
from bot.errors import DeskError
from bot.model import Event, Request
from bot.scheduler import install
from bot.server import Services

REQUESTER = "zack@nordlys.example"
AGENT = "alexis.baker@nordlys.example"


async def _file(services: Services, title: str) -> int:
    desk = services.desk
    return (await desk.file_request(desk.actor(REQUESTER), WEB, title, zone_id="it")).number


async def test_columns_hold_their_cards_in_order_and_count_the_rest(services: Services, clock: FakeClock) -> None:
    install(services, env={"ZONEDESK_SCHEDULER": "on"})  # SLA clocks are the scheduler's
    desk, agent = services.desk, services.desk.actor(AGENT)
    numbers = []
    for i in range(6):
        numbers.append(await _file(services, f"Request {i}"))
        clock.advance(timedelta(minutes=5))
    await desk.set_weight(agent, numbers[4], "high")  # normal urgency x high weight: high
    await desk.set_urgency(desk.actor(REQUESTER), numbers[5], "high")
    await desk.set_weight(agent, numbers[5], "high")  # high x high: critical
    for number in numbers[:2]:  # two answered and resolved in time, the second one later
        await desk.reply(agent, number, "Fixed it.")
        await desk.set_status(agent, number, "resolved")
        clock.advance(timedelta(minutes=5))

    board = await open_board(desk, agent, BoardScope("it"), limit=3)
    assert [c.status for c in board.columns] == list(STATUSES)
    column = {c.status: c for c in board.columns}
    assert [c.number for c in column["new"].cards] == [numbers[5], numbers[4], numbers[2]]
    assert column["new"].count == 4 and column["new"].more == 1
    assert [c.number for c in column["resolved"].cards] == [numbers[1], numbers[0]]  # the latest first
    assert board.total == 6
    card = column["new"].cards[0]
    assert card.priority == "critical" and card.can_move and card.assignee_name is None
    # IT's SLA rule for critical: the first response within half an hour of working time, running.
    assert card.sla == "running" and card.sla_due is not None and card.sla_due > clock.now()
    assert column["resolved"].cards[0].sla == "met" and column["resolved"].cards[0].sla_due is None


async def test_a_finished_column_shows_only_what_just_left_the_board(services: Services, clock: FakeClock) -> None:
    desk, agent = services.desk, services.desk.actor(AGENT)
    numbers = []
    for i in range(FINISHED_CARDS + 2):
        number = await _file(services, f"Request {i}")
        await desk.set_status(agent, number, "resolved")
        numbers.append(number)
        clock.advance(timedelta(minutes=1))
    still_open = [await _file(services, f"Open {i}") for i in range(FINISHED_CARDS + 2)]
    column = {c.status: c for c in (await open_board(desk, agent, BoardScope("it"))).columns}
    assert [c.number for c in column["resolved"].cards] == list(reversed(numbers))[:FINISHED_CARDS]
    assert column["resolved"].count == FINISHED_CARDS + 2 and column["resolved"].more == 2
    assert [c.number for c in column["new"].cards] == still_open, "open columns keep their 50"


async def test_waiting_on_the_requester_pauses_the_card_s_sla(services: Services) -> None:
    install(services, env={"ZONEDESK_SCHEDULER": "on"})
    desk, agent = services.desk, services.desk.actor(AGENT)
    number = await _file(services, "Waits on Zack")
    await move_card(desk, agent, number, "waiting:requester")
    board = await open_board(desk, agent, BoardScope("it", "it-support"))
    card = next(c for column in board.columns for c in column.cards if c.number == number)
    assert card.status == "waiting" and card.waiting_reason == "requester"
    assert card.sla == "paused" and card.sla_due is None


@pytest.mark.parametrize(("board_target", "chat"), [("waiting", "waiting"), ("resolved", "resolved"),
                                                    ("accepted", "accepted")])
async def test_a_move_records_what_the_chat_verb_records(services: Services, board_target: str, chat: str) -> None:
    desk, agent = services.desk, services.desk.actor(AGENT)
    on_board, in_chat = await _file(services, "On the board"), await _file(services, "In chat")
    assert await move_card(desk, agent, on_board, board_target) == board_target
    result = await run_command(desk, desk.actor(AGENT, channel="web"), f"status {in_chat} {chat}")
    assert result.ok, result.text
    async with services.sessions() as session:
        def of(number: int) -> object:
            return select(Event.data).where(Event.request_id == number, Event.kind == "status")
        assert list((await session.execute(of(on_board))).scalars()) == list(
            (await session.execute(of(in_chat))).scalars())
        statuses = dict((await session.execute(select(Request.id, Request.status))).tuples().all())
    assert statuses[on_board] == statuses[in_chat] == board_target


async def test_cancelling_from_the_board_needs_a_reason_and_keeps_it(services: Services) -> None:
    desk, agent = services.desk, services.desk.actor(AGENT)
    number = await _file(services, "Filed twice")
    with pytest.raises(DeskError) as refused:
        await move_card(desk, agent, number, "cancelled", reason="   ")
    assert refused.value.message == f"Say why request #{number} is cancelled: the reason is kept in its history."
    await move_card(desk, agent, number, "cancelled", reason="The other one is #1")
    async with services.sessions() as session:
        data = (await session.execute(select(Event.data).where(Event.request_id == number,
                                                               Event.kind == "status"))).scalars().one()
    assert data["status"] == "cancelled" and data["reason"] == "The other one is #1"
    with pytest.raises(DeskError) as final:
        await move_card(desk, agent, number, "in_progress")
    assert "a cancelled request is final" in final.value.message
