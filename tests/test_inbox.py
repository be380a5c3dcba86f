"""The durable inbox: a retry is recognised, a failure is retried by recover(), one sender stays in order."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.clock import FakeClock
from bot.model import Inbound, Outbox
from bot.server import Services


async def test_a_sender_stays_in_order_when_an_earlier_event_fails(services: Services, clock: FakeClock) -> None:
    inbox = services.inbox
    handled: list[str] = []
    failing = {"first"}

    async def handler(key: str, payload: dict[str, Any]) -> None:
        if payload["name"] in failing:
            raise ConnectionError("the platform is down")
        handled.append(payload["name"])

    inbox.register("test", handler)
    for name in ("first", "second"):
        assert await inbox.accept(f"test:{name}", "test", {"name": name}, sequence="user-1")
        clock.advance(timedelta(milliseconds=5))
    assert not await inbox.accept("test:first", "test", {"name": "first"}, sequence="user-1"), "a retry"
    assert await inbox.accept("test:other", "test", {"name": "other"}, sequence="user-2")
    for name in ("first", "second", "other"):
        await inbox.process(f"test:{name}", "test", {"name": name})
    assert handled == ["other"], "the second event must not overtake the failed first one of its sender"
    failing.clear()
    clock.advance(timedelta(seconds=1))
    assert await inbox.recover() == 2
    assert handled == ["other", "first", "second"]
    assert await inbox.recover() == 0, "each event is processed once"


async def test_a_later_event_reaching_the_lock_first_runs_the_earlier_one_first(services: Services,
                                                                                clock: FakeClock) -> None:
    """Two messages of one person acknowledged together: whichever task gets there first files both, in
    order, instead of parking the later one for the recovery job (which ran every few seconds)."""
    inbox = services.inbox
    handled: list[str] = []

    async def handler(key: str, payload: dict[str, Any]) -> None:
        handled.append(payload["name"])

    inbox.register("test", handler)
    for name in ("first", "second"):
        assert await inbox.accept(f"test:{name}", "test", {"name": name}, sequence="user-1")
        clock.advance(timedelta(milliseconds=5))
    await inbox.process("test:second", "test", {"name": "second"})
    assert handled == ["first", "second"]
    await inbox.process("test:first", "test", {"name": "first"})
    assert handled == ["first", "second"], "the first event ran once"
    clock.advance(timedelta(minutes=5))
    assert await inbox.recover() == 0, "nothing was left for the recovery job"


async def test_what_people_wrote_is_deleted_two_weeks_after_it_was_handled(services: Services,
                                                                          clock: FakeClock) -> None:
    """Processed inbound events and sent messages go after the retention time; pending work, failures
    and recent rows stay."""
    inbox = services.inbox

    async def handler(key: str, payload: dict[str, Any]) -> None:
        return None

    inbox.register("test", handler)
    assert await inbox.accept("test:old", "test", {"text": "my salary is wrong"}, sequence="u1")
    await inbox.process("test:old", "test", {"text": "my salary is wrong"})
    assert await inbox.accept("test:stuck", "test", {"text": "never handled"}, sequence="u2")
    async with services.desk.transaction() as tx:
        for kind in ("sent-long-ago", "failed-long-ago", "still-pending"):
            tx.enqueue(platform="slack", kind=kind, conversation=f"C1:{kind}", target={"channel": "C1"})
    async with services.sessions() as session, session.begin():
        rows = {row.kind: row for row in (await session.execute(select(Outbox))).scalars()}
        rows["sent-long-ago"].status, rows["sent-long-ago"].sent_at = "sent", clock.now()
        rows["failed-long-ago"].status = "failed"
    clock.advance(timedelta(days=15))
    assert await inbox.accept("test:recent", "test", {"text": "recent"}, sequence="u3")
    await inbox.process("test:recent", "test", {"text": "recent"})

    await services.retention()

    async with services.sessions() as session:
        keys = set((await session.execute(select(Inbound.key))).scalars())
        kinds = set((await session.execute(select(Outbox.kind))).scalars())
    assert keys == {"test:stuck", "test:recent"}
    assert kinds == {"failed-long-ago", "still-pending"}
