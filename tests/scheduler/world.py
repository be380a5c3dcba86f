"""The scheduler tests' world: the desk, the scheduler and the clock, and a look at what went out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.access import Actor
from bot.clock import FakeClock
from bot.delivery.messages import Message
from bot.desk import Origin
from bot.model import Outbox, Request
from bot.scheduler import Scheduler, TickReport
from bot.server import Services

OSLO = ZoneInfo("Europe/Oslo")
ZACK = "zack@nordlys.example"
ALEXIS = "alexis.baker@nordlys.example"
IVAR = "ivar.lund@nordlys.example"
MARTE = "marte.viken@nordlys.example"
SIRI = "siri.nilsen@nordlys.example"
SLACK_IDS = {ZACK: "UZACK", ALEXIS: "UALEXIS", IVAR: "UIVAR", MARTE: "UMARTE", SIRI: "USIRI"}


def oslo(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A local Oslo wall-clock time as an aware datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=OSLO)


@dataclass(frozen=True)
class Out:
    """One outbound message the desk queued."""

    platform: str
    kind: str
    target: dict[str, Any]
    message: Message
    request_id: int | None

    @property
    def to(self) -> str:
        """Who or where: 'dm:UALEXIS', 'thread:C0ITHELP', 'channel:C0ITTRIAGE'."""
        if self.kind == "dm":
            return f"dm:{self.target['user']}"
        if "thread" in self.target:
            return f"thread:{self.target['channel']}"
        return f"channel:{self.target['channel']}"


_threads = count(1)


class World:
    """The desk, the scheduler and the clock, driven the way a test reads."""

    def __init__(self, services: Services, clock: FakeClock, scheduler: Scheduler) -> None:
        self.services = services
        self.desk = services.desk
        self.clock = clock
        self.scheduler = scheduler
        self._seen = 0

    def actor(self, email: str, channel: str = "slack") -> Actor:
        """Someone acting from Slack."""
        return self.desk.actor(email, channel=channel)

    async def file(self, title: str = "My laptop does not start", *, zone: str = "it", requester: str = ZACK,
                   category: str | None = None, urgency: str | None = None, channel: str = "C0ITHELP") -> int:
        """A request filed by a Slack message in an intake channel (so it has a thread to answer in)."""
        thread = f"1764000000.{next(_threads):06d}"
        origin = Origin("slack", "T0NORDLYS", channel, thread, thread, SLACK_IDS.get(requester, "UOTHER"))
        filed = await self.desk.file_request(self.actor(requester), origin, title, zone_id=zone,
                                             category_id=category, urgency=urgency)
        return filed.number

    async def at(self, when: datetime) -> TickReport:
        """Move the clock to `when` and tick; `sent` then shows what that tick queued."""
        await self.sent()
        self.clock.set(when)
        return await self.scheduler.tick()

    async def sent(self, *, digests: bool = False) -> list[Out]:
        """What was queued since the last look (daily digests and weekly reports only when asked for)."""
        async with self.services.sessions() as session:
            rows = (await session.execute(select(Outbox).where(Outbox.id > self._seen).order_by(Outbox.id))).scalars()
            found = [Out(r.platform, r.kind, r.target, Message.from_dict(r.payload.get("message") or {}),
                         r.request_id) for r in rows
                     if digests or not {"digest", "weekly"} & set((r.payload.get("message") or {}).get("extra", {}))]
            last = await session.scalar(select(Outbox.id).order_by(Outbox.id.desc()).limit(1))
        self._seen = int(last or 0)
        return found

    async def reminders(self, what: str) -> list[Out]:
        """The reminders of one sort ('stale', 'waiting', 'deadline', 'sla_warning'...) queued since the last look."""
        return [o for o in await self.sent() if o.message.extra.get("reminder") == what]

    async def request(self, number: int) -> Request:
        """The request row as stored."""
        async with self.services.sessions() as session:
            found = await session.get(Request, number)
            assert found is not None
            return found
