"""Reminders fire at the right working moment, as a DM with a link, and move or stop when the request changes."""

from __future__ import annotations

from bot.delivery.channels import ChannelInfo
from bot.desk.approvals import decide, request_approval
from bot.model import Identity
from tests.scheduler.world import ALEXIS, IVAR, MARTE, ZACK, World, oslo


async def test_a_request_untouched_for_four_working_hours_reminds_its_assignee_on_monday(world: World) -> None:
    world.clock.set(oslo(2026, 11, 27, 15))  # Friday 15:00 in Oslo; IT's stale_after_hours is 4
    number = await world.file()
    await world.desk.claim(world.actor(ALEXIS), number)
    await world.at(oslo(2026, 11, 27, 16))
    await world.at(oslo(2026, 11, 30, 10, 59))  # Monday: one hour on Friday, three on Monday
    assert await world.reminders("stale") == []
    await world.at(oslo(2026, 11, 30, 11))
    [reminder] = await world.reminders("stale")
    assert reminder.to == "dm:UALEXIS"
    assert reminder.message.title == f"Reminder: #{number} has not moved for 4 working hours"
    assert reminder.message.link == f"http://127.0.0.1:3000/requests/{number}"
    await world.at(oslo(2026, 12, 1, 15))
    assert await world.reminders("stale") == [], "one reminder per untouched spell"


async def test_an_unassigned_stale_request_is_raised_in_the_triage_channel(world: World) -> None:
    number = await world.file()  # Tuesday 09:00 Oslo
    await world.at(oslo(2026, 11, 24, 13))
    [reminder] = await world.reminders("stale")
    assert reminder.to == "channel:C0ITTRIAGE" and f"#{number}" in (reminder.message.title or "")


async def test_a_reply_moves_the_stale_reminder_on(world: World) -> None:
    number = await world.file()
    await world.desk.claim(world.actor(ALEXIS), number)
    world.clock.set(oslo(2026, 11, 24, 11))
    await world.desk.reply(world.actor(ALEXIS), number, "Looking into it")
    await world.at(oslo(2026, 11, 24, 13))  # when it would have fired without the reply
    assert await world.reminders("stale") == []
    await world.at(oslo(2026, 11, 24, 15))  # four working hours after the reply
    assert [o.to for o in await world.reminders("stale")] == ["dm:UALEXIS"]


async def test_a_request_waiting_on_its_requester_reminds_them_and_their_answer_stops_it(world: World) -> None:
    number = await world.file()
    await world.desk.claim(world.actor(ALEXIS), number)
    await world.desk.set_status(world.actor(ALEXIS), number, "waiting", reason="requester")
    await world.at(oslo(2026, 11, 25, 16))  # 16 working hours = Thursday 09:00
    assert await world.sent() == [], "nothing else speaks while the requester has the ball"
    await world.at(oslo(2026, 11, 26, 9))
    [reminder] = await world.sent()
    assert reminder.to == "dm:UZACK" and reminder.message.title == f"#{number} is waiting for your answer"
    await world.desk.set_status(world.actor(ALEXIS), number, "in_progress")
    await world.desk.set_status(world.actor(ALEXIS), number, "waiting", reason="requester")
    world.clock.set(oslo(2026, 11, 26, 10))
    await world.desk.comment(world.actor(ZACK), number, "Here is the serial number", from_thread=True)
    await world.at(oslo(2026, 12, 3, 12))
    assert await world.reminders("waiting") == [], "the answer ended the wait"


async def test_a_deadline_reminder_comes_four_working_hours_before(world: World) -> None:
    number = await world.file()
    await world.desk.claim(world.actor(ALEXIS), number)
    await world.desk.set_deadline(world.actor(ALEXIS), number, oslo(2026, 11, 26, 10))  # Thursday 10:00
    await world.at(oslo(2026, 11, 25, 13, 59))
    assert await world.reminders("deadline") == []
    await world.at(oslo(2026, 11, 25, 14))  # Wednesday 14:00: two hours on Wednesday, two on Thursday
    [reminder] = await world.reminders("deadline")
    assert reminder.to == "dm:UALEXIS"
    assert "Thu 26 Nov 10:00 Europe/Oslo" in (reminder.message.title or "")


async def test_a_moved_deadline_moves_its_reminder(world: World) -> None:
    number = await world.file()
    await world.desk.claim(world.actor(ALEXIS), number)
    await world.desk.set_deadline(world.actor(ALEXIS), number, oslo(2026, 11, 26, 10))
    await world.desk.set_deadline(world.actor(ALEXIS), number, oslo(2026, 12, 3, 10))
    await world.at(oslo(2026, 11, 25, 14))
    assert await world.reminders("deadline") == []
    await world.at(oslo(2026, 12, 2, 14))
    assert len(await world.reminders("deadline")) == 1


async def test_an_approver_is_reminded_every_eight_working_hours_three_times(world: World) -> None:
    number = await world.file()
    approval = await request_approval(world.desk, world.actor(ALEXIS), number, [MARTE], mode="any")
    fired = []
    for day in (25, 26, 27, 30):  # one working day (8 hours) apart, 09:00 each morning
        await world.at(oslo(2026, 11, day, 9))
        fired += [o for o in await world.sent() if o.to == "dm:UMARTE"]
    assert len(fired) == 3, "approval_max is 3"
    assert all(o.message.title and o.message.title.startswith("Reminder: Approval needed") for o in fired)
    assert [b.action for b in fired[0].message.buttons] == ["approve", "reject"]
    assert fired[0].message.buttons[0].value == str(approval)


async def test_a_decision_stops_the_approval_reminders(world: World) -> None:
    number = await world.file()
    approval = await request_approval(world.desk, world.actor(ALEXIS), number, [MARTE, IVAR], mode="all",
                                      ordered=True)
    await world.at(oslo(2026, 11, 25, 9))
    assert [o.to for o in await world.sent() if o.kind == "dm"] == ["dm:UMARTE"], "in order: whose turn it is"
    world.clock.set(oslo(2026, 11, 25, 10))
    await decide(world.desk, world.actor(MARTE), approval, "approved")
    assert [o.to for o in await world.sent() if o.kind == "dm"] == ["dm:UIVAR"], "the card, now it is Ivar's turn"
    await world.at(oslo(2026, 11, 26, 9, 30))
    assert [o.to for o in await world.sent() if o.kind == "dm"] == [], "his first reminder is due at 10:00"
    await world.at(oslo(2026, 11, 26, 10))
    [reminder] = await world.sent()
    assert reminder.to == "dm:UIVAR" and (reminder.message.title or "").startswith("Reminder:")
    await decide(world.desk, world.actor(IVAR), approval, "approved")
    await world.at(oslo(2026, 12, 10, 10))
    assert all(o.to not in {"dm:UIVAR", "dm:UMARTE"} for o in await world.sent())


async def test_a_reminder_due_while_the_desk_was_down_waits_for_working_hours(world: World) -> None:
    await world.desk.claim(world.actor(ALEXIS), await world.file())
    await world.at(oslo(2026, 11, 28, 22))  # back on Saturday night; it fell due on Tuesday at 13:00
    assert await world.reminders("stale") == []
    await world.at(oslo(2026, 11, 30, 8))
    assert [o.to for o in await world.reminders("stale")] == ["dm:UALEXIS"]
    await world.at(oslo(2026, 11, 30, 9))
    assert await world.reminders("stale") == []


async def test_a_reminder_reaches_the_person_on_every_platform_they_were_seen_on(world: World) -> None:
    world.desk.enable(ChannelInfo("slack"))
    world.desk.enable(ChannelInfo("teams"))
    async with world.services.sessions() as session, session.begin():
        session.add(Identity(platform="teams", user_id="29:alexis", email=ALEXIS, name="Alexis Baker", data={},
                             fetched_at=world.clock.now()))
    await world.desk.claim(world.actor(ALEXIS), await world.file())
    await world.at(oslo(2026, 11, 24, 13))
    assert sorted((o.platform, o.to) for o in await world.reminders("stale")) == [
        ("slack", "dm:UALEXIS"), ("teams", "dm:29:alexis")]
