"""Resolving with a note the requester reads, the chat verbs that resolve and cancel, and waiting on a task."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.delivery.channels import ChannelInfo
from bot.desk import Desk, Origin
from bot.desk.commands import run_command
from bot.errors import DeskError, NotFound
from bot.model import Event, Outbox, Request
from bot.server import Services

ZACK = "zack@nordlys.example"  # not in app.yaml: a requester
ALEXIS = "alexis.baker@nordlys.example"  # IT support
HANNA = "hanna.berg@nordlys.example"  # HR: may not read IT's requests
SIRI = "siri.nilsen@nordlys.example"  # Facilities


@pytest.fixture
def desk(services: Services) -> Desk:
    services.desk.enable(ChannelInfo("slack"))
    return services.desk


async def _file(desk: Desk, title: str, ts: str) -> int:
    origin = Origin(platform="slack", workspace="T1", channel="C0ITHELP", thread=ts, message=ts, user="UZACK")
    return (await desk.file_request(desk.actor(ZACK, channel="slack"), origin, title, zone_id="it")).number


async def _thread_texts(services: Services, number: int) -> list[str]:
    async with services.sessions() as session:
        rows = (await session.execute(select(Outbox).where(Outbox.request_id == number, Outbox.kind == "status")
                                      .order_by(Outbox.id))).scalars()
        return [r.payload["message"]["text"] for r in rows]


async def _resolution(services: Services, number: int) -> str | None:
    async with services.sessions() as session:
        row = await session.get(Request, number)
        assert row is not None
        return row.resolution


async def _count(services: Services, model: type) -> int:
    async with services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_the_note_is_kept_shown_to_the_requester_and_told_in_the_thread(services: Services, desk: Desk) -> None:
    number = await _file(desk, "Printer jams", "1.1")
    alexis = desk.actor(ALEXIS)
    await desk.set_status(alexis, number, "resolved", note="  Replaced the roller; it prints again.\nCall us if not. ")

    assert await _resolution(services, number) == "Replaced the roller; it prints again.\nCall us if not."
    assert (await _thread_texts(services, number))[-1] == (
        f"Request #{number} is resolved.\n\nReplaced the roller; it prints again.\nCall us if not.\n\n"
        "If it is not, answer here and we reopen it.")
    zack = desk.actor(ZACK, channel="slack")  # what the requester reads, on the page and in chat
    assert (await desk.get_request(zack, number)).resolution == "Replaced the roller; it prints again.\nCall us if not."
    with pytest.raises(NotFound):  # someone who may not know the request learns nothing of it
        await desk.get_request(desk.actor(HANNA), number)

    await desk.reopen(zack, number, "Jams again")
    assert await _resolution(services, number) is None, "a reopened request has no resolution any more"
    await desk.set_status(alexis, number, "resolved")  # no note: the message reads as before
    assert (await _thread_texts(services, number))[-1] == (
        f"Request #{number} is resolved. If it is not, answer here and we reopen it.")
    assert await _resolution(services, number) is None


async def test_a_bad_note_is_refused_and_nothing_is_written(services: Services, desk: Desk) -> None:
    number = await _file(desk, "Printer jams", "2.2")
    alexis = desk.actor(ALEXIS)
    events = await _count(services, Event)
    with pytest.raises(DeskError) as long:
        await desk.set_status(alexis, number, "resolved", note="x" * 20_001)
    assert long.value.message == "The resolution note is too long (20,001 characters; at most 20,000)."
    with pytest.raises(DeskError) as misplaced:
        await desk.set_status(alexis, number, "in_progress", note="Looking at it")
    assert misplaced.value.message == "A note goes with resolving a request only."
    async with services.sessions() as session:
        row = await session.get(Request, number)
        assert row is not None and (row.status, row.resolution) == ("new", None)
    assert await _count(services, Event) == events


async def test_chat_verbs_resolve_with_a_note_and_cancel(services: Services, desk: Desk) -> None:
    alexis = desk.actor(ALEXIS, channel="slack")
    first = await _file(desk, "VPN drops", "3.3")
    done = await run_command(desk, alexis, f"resolve #{first} New VPN profile pushed.\nRestart the client.")
    assert done.ok and done.text == f"#{first} is resolved with your note to the requester."
    assert await _resolution(services, first) == "New VPN profile pushed.\nRestart the client."

    second = await _file(desk, "Mouse broken", "4.4")
    done = await run_command(desk, alexis, f"status {second} resolved Swapped It For A New One")
    assert done.ok and await _resolution(services, second) == "Swapped It For A New One", "kept as written"

    third = await _file(desk, "Old laptop", "5.5")
    done = await run_command(desk, alexis, f"cancel {third} filed twice")
    assert done.ok and done.text == f"#{third} is cancelled."
    assert (await desk.get_request(alexis, third)).status == "cancelled"
    again = await run_command(desk, alexis, f"resolve {third}")
    assert not again.ok and "a cancelled request is final" in again.text
    usage = await run_command(desk, alexis, "resolve")
    assert not usage.ok and usage.text == "Usage: resolve <number> [note]"


async def test_waiting_on_a_task_needs_an_open_task(services: Services, desk: Desk) -> None:
    number = await _file(desk, "Desk for the new hire", "6.6")
    alexis = desk.actor(ALEXIS)
    with pytest.raises(DeskError) as refused:
        await desk.set_status(alexis, number, "waiting", reason="task")
    assert refused.value.message == (f"Request #{number} has no open task to wait on. Create a task first, "
                                     "or choose what else it waits on.")
    assert (await desk.get_request(alexis, number)).status == "new"

    task = await desk.create_task(alexis, number, "Bring a desk to floor 3", to_team="facilities-team")
    await desk.set_status(alexis, number, "waiting", reason="task")
    assert (await desk.get_request(alexis, number)).waiting_reason == "task"
    await desk.complete_task(desk.actor(SIRI), task, "Done")
    assert (await desk.get_request(alexis, number)).status == "in_progress"
    with pytest.raises(DeskError):  # the task is done: nothing to wait on any more
        await desk.set_status(alexis, number, "waiting", reason="task")
