"""A desk with the scheduler installed and the sample company's people seen in Slack."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.clock import FakeClock
from bot.delivery.channels import ChannelInfo
from bot.model import Identity
from bot.scheduler import install
from bot.server import Services
from tests.scheduler.world import SLACK_IDS, World


@pytest.fixture
async def world(services: Services, clock: FakeClock) -> AsyncIterator[World]:
    """The sample company with the scheduler installed; everyone listed has been seen in Slack."""
    scheduler = install(services, env={"ZONEDESK_SCHEDULER": "on"})
    services.desk.enable(ChannelInfo("slack"))
    async with services.sessions() as session, session.begin():
        for email, user in SLACK_IDS.items():
            session.add(Identity(platform="slack", user_id=user, email=email, name=email, data={},
                                 fetched_at=clock.now()))
    built = World(services, clock, scheduler)
    await built.sent()
    yield built
