"""`zonedesk seed`: plausible data that the access rules still govern."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from bot.model import Request
from bot.server import Services
from bot.store.seed import seed


async def test_seeded_requests_are_plausible_and_access_still_filters(services: Services) -> None:
    count = await seed(services.config, services.database_url, 300, now=datetime(2026, 11, 20, 12, tzinfo=UTC))
    assert count == 300
    async with services.sessions() as session:
        zones = dict((await session.execute(select(Request.zone_id, func.count()).group_by(Request.zone_id))).all())
        rows = (await session.execute(select(Request))).scalars().all()
    assert set(zones) == {"front-desk", "it", "hr", "finance", "facilities"} and zones["it"] > zones["hr"]
    for r in rows:
        assert r.created_at <= r.updated_at
        if r.closed_at is not None:
            assert r.resolved_at is not None and r.created_at <= r.resolved_at <= r.closed_at
    it_agent = services.desk.actor("alexis.baker@nordlys.example")
    visible = await services.desk.list_requests(it_agent, limit=1000)
    assert visible and {r.zone_id for r in visible} == {"it"}
    # A new request after seeding gets the next number (the sequence follows the seeded ids).
    filed = await services.desk.file_request(services.desk.actor("new@nordlys.example"), __import__(
        "bot.desk", fromlist=["WEB"]).WEB, "After seeding", zone_id="it")
    assert filed.number == 301
