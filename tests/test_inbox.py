"""The durable inbox: a retry is recognised, a failure is retried by recover(), one sender stays in order."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.clock import FakeClock
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
