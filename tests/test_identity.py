"""The directory of platform users and conversation references: first sightings at once never collide."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.model import ConversationRef, Identity
from bot.server import Services


async def _rows(services: Services, model: type) -> int:
    async with services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_the_same_new_conversation_saved_at_once_is_one_row(services: Services) -> None:
    # Every first Teams turn of a process saves `teams:service`; a re-sent activity saves its chat again.
    await asyncio.gather(*(services.directory.save_reference("teams:service", "teams", {"turn": i})
                           for i in range(8)))

    assert await _rows(services, ConversationRef) == 1
    assert (await services.directory.reference("teams:service") or {}).get("turn") in range(8)
    await services.directory.save_reference("teams:service", "teams", {"turn": "later"})
    assert await services.directory.reference("teams:service") == {"turn": "later"}


async def test_the_same_new_person_remembered_at_once_is_one_row(services: Services) -> None:
    await asyncio.gather(*(services.directory.remember("teams", "aad-kari", "Kari@Nordlys.example", "Kari",
                                                       {"id": "29:1kari"}) for _ in range(8)))

    assert await _rows(services, Identity) == 1
    await services.directory.remember("teams", "aad-kari", "kari.n@nordlys.example", "Kari N")  # no data: kept
    assert await services.directory.users_of("kari.n@nordlys.example", "teams") == [("aad-kari", {"id": "29:1kari"})]
    assert await services.directory.lookup("teams", "aad-kari") == ("kari.n@nordlys.example", "Kari N")
