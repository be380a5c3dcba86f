"""Group commit: a burst of filings shares transactions, yet every caller gets exactly its own outcome.

A burst here is many `file_request` calls in flight at once, as the intake of one server sees them
when Slack events arrive faster than one transaction commits.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import func, select

from bot.delivery.channels import ChannelInfo
from bot.desk import Desk, Origin
from bot.errors import DeskError, Duplicate
from bot.model import Event, Inbound, Outbox, Request, ThreadLink
from bot.server import Services

ZACK = "zack@nordlys.example"


def _origin(ts: str) -> Origin:
    return Origin(platform="slack", workspace="T1", channel="C0ITHELP", thread=None, message=ts, user="UZACK")


@pytest.fixture
def desk(services: Services) -> Desk:
    services.desk.enable(ChannelInfo("slack"))
    return services.desk


async def _count(services: Services, model: type, *where: object) -> int:
    async with services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_a_burst_is_filed_in_shared_transactions_each_request_complete(desk: Desk, services: Services) -> None:
    actor = desk.actor(ZACK, "Zack", channel="slack")
    filed = await asyncio.gather(*(
        desk.file_request(actor, _origin(f"1700.{i:04d}"), f"Printer {i} is jammed", dedupe_key=f"slack:event:B{i}")
        for i in range(40)))
    assert max(desk.queue.groups) > 1, "the burst was never grouped"
    assert sorted(f.number for f in filed) == list(range(1, 41))
    async with services.sessions() as session:
        rows = (await session.execute(select(Request.id, Request.title, Request.origin_message))).all()
    assert {(r.id, r.title) for r in rows} == {(f.number, f.title) for f in filed}, "each caller got its own number"
    assert {r.origin_message for r in rows} == {f"1700.{i:04d}" for i in range(40)}
    assert await _count(services, Event, Event.kind == "filed") == 40
    kinds = Counter(k for (k,) in (await _outbox_kinds(services)))
    assert kinds == {"confirmation": 40, "triage": 40}
    assert await _count(services, ThreadLink) == 40
    assert await _count(services, Inbound, Inbound.processed_at.is_not(None)) == 40


async def _outbox_kinds(services: Services) -> list[tuple[str]]:
    async with services.sessions() as session:
        return [(str(k),) for k in (await session.scalars(select(Outbox.kind))).all()]


async def test_duplicates_inside_a_burst_are_refused_one_by_one(desk: Desk, services: Services) -> None:
    actor = desk.actor(ZACK, "Zack", channel="slack")
    await desk.file_request(actor, _origin("1700.0001"), "Already here", dedupe_key="slack:event:OLD")
    keys = ["slack:event:OLD", "slack:event:NEW1", "slack:event:NEW1", "slack:event:NEW2"] * 3
    outcomes = await asyncio.gather(*(
        desk.file_request(actor, _origin(f"1800.{i:04d}"), f"Laptop {i}", dedupe_key=key)
        for i, key in enumerate(keys)), return_exceptions=True)
    assert sum(isinstance(o, Duplicate) for o in outcomes) == len(keys) - 2
    assert not [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, Duplicate)]
    assert await _count(services, Request) == 3, "one old request and one for each new key"
    assert await _count(services, Outbox) == 6


async def test_a_bad_request_in_a_burst_fails_alone(desk: Desk, services: Services) -> None:
    """Two requests claim the same Slack thread: the second is refused, its neighbours are filed."""
    actor = desk.actor(ZACK, "Zack", channel="slack")
    origins = [_origin(f"1900.{i:04d}") for i in range(10)]
    origins[6] = origins[3]  # the same message filed twice under different event ids
    outcomes = await asyncio.gather(*(
        desk.file_request(actor, origin, f"Monitor {i}", dedupe_key=f"slack:event:C{i}")
        for i, origin in enumerate(origins)), return_exceptions=True)
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], DeskError)
    assert "already belongs to a request" in refused[0].message
    assert await _count(services, Request) == 9
    assert await _count(services, Event) == 9 and await _count(services, Outbox) == 18
    assert await _count(services, Inbound, Inbound.processed_at.is_not(None)) == 9, "the refused key is free again"


async def test_a_lone_request_is_not_held_back(desk: Desk) -> None:
    """Nothing waits to fill a group: a single filing commits in a group of one."""
    actor = desk.actor(ZACK, "Zack", channel="slack")
    before = len(desk.queue.groups)
    await desk.file_request(actor, _origin("2000.0001"), "Keyboard", dedupe_key="slack:event:L1")
    assert desk.queue.groups[before:] == [1]
