"""A small history made with the desk's own use cases and the scheduler, on a fake clock, whose figures the
tests work out by hand.

Oslo local times (the IT calendar's), two weeks of 2026: week 1 is Mon 23 - Sun 29 November, week 2
Mon 30 November - Sun 6 December.

| request | filed | what happens |
|---|---|---|
| G | Fri 20 Nov 10:00, IT | nothing: open before the range and after it |
| A | Tue 24 Nov 09:00, IT, laptop, urgency high | SLA 1 h / 8 h. Alexis claims 09:25, replies 09:30, resolves |
|   |   | 11:00, closes 11:05; Zack rates 5 |
| B | 24 Nov 09:10, IT (SLA 4 h / 24 h) | reply 11:10, resolved Wed 25 09:10, reopened by Max Thu 26 09:00, |
|   |   | resolved 10:10, closed 10:15; Max rates 3 |
| C | 24 Nov 09:20, IT | transferred to Facilities 09:40; Siri replies 10:20: Facilities' now |
| D | 24 Nov 09:30, Facilities | transferred to IT 09:50; Ivar replies 12:30; cancelled Tue 1 Dec 09:00 |
| P | 24 Nov 10:00, HR, sensitive (the private Employee relations team) | nothing |
| H | Wed 25 Nov 00:30, HR, leave (HR service) | nothing |
| F | Mon 30 Nov 09:00, IT | reply 09:15, waits on the requester 09:20, she answers 10:20, |
|   |   | resolved 12:00, closed 12:05; no rating |
| E | Wed 2 Dec 09:00, IT, from the web | nothing: its first response breaches Wed 2 Dec 13:00 (seen Fri 4 Dec) |
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from itertools import count

import pytest
from sqlalchemy import select

from bot.access import Actor
from bot.clock import FakeClock
from bot.delivery.channels import ChannelInfo
from bot.desk import WEB, Desk, Origin
from bot.desk.surveys import rate
from bot.model import Identity, Survey
from bot.scheduler import Scheduler, install
from bot.server import Services
from tests.scheduler.world import oslo

ZACK = "zack@nordlys.example"
MAX = "max.meyer@nordlys.example"
EMIL = "emil.berg@nordlys.example"
ALEXIS = "alexis.baker@nordlys.example"
IVAR = "ivar.lund@nordlys.example"
SIRI = "siri.nilsen@nordlys.example"
OLAV = "olav.strand@nordlys.example"
HANNA = "hanna.berg@nordlys.example"
REQUESTERS = {ZACK: "UZACK", MAX: "UMAX", EMIL: "UEMIL", "gro@nordlys.example": "UGRO",
              "ingrid@nordlys.example": "UINGRID", "lars@nordlys.example": "ULARS"}
_threads = count(1)


@dataclass
class History:
    """The desk after the history above, and the requests' numbers by letter."""

    services: Services
    desk: Desk
    clock: FakeClock
    scheduler: Scheduler
    numbers: dict[str, int]

    def actor(self, email: str) -> Actor:
        return self.desk.actor(email, channel="slack")


async def make_history(services: Services, clock: FakeClock) -> History:
    """Play the history through the use cases, ticking the scheduler where a person would wait for it."""
    scheduler = install(services, env={"ZONEDESK_SCHEDULER": "on"})
    desk = services.desk
    desk.enable(ChannelInfo("slack"))
    async with services.sessions() as session, session.begin():
        for email, user in REQUESTERS.items():
            session.add(Identity(platform="slack", user_id=user, email=email, name=email, data={},
                                 fetched_at=clock.now()))

    def who(email: str) -> Actor:
        return desk.actor(email, channel="slack")

    async def file(title: str, requester: str, zone: str, channel: str, category: str | None = None,
                   urgency: str | None = None) -> int:
        thread = f"1764000000.{next(_threads):06d}"
        origin = Origin("slack", "T0NORDLYS", channel, thread, thread, REQUESTERS.get(requester, "UOTHER"))
        return (await desk.file_request(who(requester), origin, title, zone_id=zone, category_id=category,
                                        urgency=urgency)).number

    async def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> None:
        clock.set(oslo(year, month, day, hour, minute))

    async def survey_of(number: int) -> int:
        async with services.sessions() as session:
            found = await session.scalar(select(Survey.id).where(Survey.request_id == number))
            assert found is not None, f"no survey for #{number}"
            return int(found)

    alexis, ivar, siri = who(ALEXIS), who(IVAR), who(SIRI)
    n: dict[str, int] = {}
    await at(2026, 11, 20, 10)
    n["G"] = await file("Printer offline", "gro@nordlys.example", "it", "C0ITHELP")
    await at(2026, 11, 24, 9)
    n["A"] = await file("Laptop will not start", ZACK, "it", "C0ITHELP", "laptop", "high")
    await at(2026, 11, 24, 9, 10)
    n["B"] = await file("VPN drops", MAX, "it", "C0ITHELP")
    await at(2026, 11, 24, 9, 20)
    n["C"] = await file("Chair is broken", "ingrid@nordlys.example", "it", "C0ITHELP")
    await at(2026, 11, 24, 9, 25)
    await desk.claim(alexis, n["A"])
    await at(2026, 11, 24, 9, 30)
    n["D"] = await file("Cannot print from the meeting room", "lars@nordlys.example", "facilities", "C0OFFICE")
    await desk.reply(alexis, n["A"], "Hold the power button for ten seconds.")
    await at(2026, 11, 24, 9, 40)
    await desk.transfer(alexis, n["C"], "facilities")
    await at(2026, 11, 24, 9, 50)
    await desk.transfer(siri, n["D"], "it")
    await at(2026, 11, 24, 10)
    n["P"] = (await desk.file_request(desk.actor("pia@nordlys.example"), WEB, "A situation in my team",
                                      zone_id="hr", category_id="sensitive")).number
    await at(2026, 11, 24, 10, 20)
    await desk.reply(siri, n["C"], "A new chair comes on Friday.")
    await at(2026, 11, 24, 11)
    await desk.set_status(alexis, n["A"], "resolved")
    await at(2026, 11, 24, 11, 5)
    await desk.set_status(alexis, n["A"], "closed")
    await scheduler.tick()
    await at(2026, 11, 24, 11, 10)
    await rate(desk, who(ZACK), await survey_of(n["A"]), 5)
    await desk.reply(alexis, n["B"], "Which network are you on?")
    await at(2026, 11, 24, 12, 30)
    await desk.reply(ivar, n["D"], "Use the printer by the kitchen for now.")
    await at(2026, 11, 25, 0, 30)
    n["H"] = (await desk.file_request(desk.actor("hans@nordlys.example"), WEB, "Parental leave from May",
                                      zone_id="hr", category_id="leave")).number
    await at(2026, 11, 25, 9, 10)
    await desk.set_status(alexis, n["B"], "resolved")
    await at(2026, 11, 26, 9)
    await desk.reopen(who(MAX), n["B"], "Still drops at home")
    await at(2026, 11, 26, 10, 10)
    await desk.set_status(alexis, n["B"], "resolved")
    await at(2026, 11, 26, 10, 15)
    await desk.set_status(alexis, n["B"], "closed")
    await scheduler.tick()
    await rate(desk, who(MAX), await survey_of(n["B"]), 3)
    await at(2026, 11, 30, 9)
    n["F"] = await file("Outlook asks for my password", EMIL, "it", "C0ITHELP")
    await at(2026, 11, 30, 9, 15)
    await desk.reply(alexis, n["F"], "Did you change it lately?")
    await at(2026, 11, 30, 9, 20)
    await desk.set_status(alexis, n["F"], "waiting", reason="requester")
    await at(2026, 11, 30, 10, 20)
    await desk.comment(who(EMIL), n["F"], "Yes, on Friday.")
    await at(2026, 11, 30, 12)
    await desk.set_status(alexis, n["F"], "resolved")
    await at(2026, 11, 30, 12, 5)
    await desk.set_status(alexis, n["F"], "closed")
    await scheduler.tick()
    await at(2026, 12, 1, 9)
    await desk.cancel(ivar, n["D"])
    await at(2026, 12, 2, 9)
    n["E"] = (await desk.file_request(desk.actor("sofia@nordlys.example"), WEB, "New screen for my desk",
                                      zone_id="it")).number
    await at(2026, 12, 4, 12)
    await scheduler.tick()
    return History(services, desk, clock, scheduler, n)


@pytest.fixture
async def history(services: Services, clock: FakeClock) -> AsyncIterator[History]:
    """The history above, on SQLite and on PostgreSQL."""
    yield await make_history(services, clock)
