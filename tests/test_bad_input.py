"""Bad input to the desk: a clear message for the person, and not one row written anywhere."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.desk import WEB
from bot.errors import DeskError
from bot.model import Base
from bot.server import Services

ZACK = "zack@nordlys.example"
ALEXIS = "alexis.baker@nordlys.example"


async def _counts(services: Services) -> dict[str, int]:
    async with services.sessions() as session:
        return {t.name: int(await session.scalar(select(func.count()).select_from(t)) or 0)
                for t in Base.metadata.sorted_tables}


Case = Callable[[Services, int, int], Awaitable[Any]]
CASES: list[tuple[str, Case, str]] = [
    ("unknown zone", lambda s, it, hr: s.desk.file_request(s.desk.actor(ZACK), WEB, "Flyers", zone_id="marketing"),
     "There is no zone 'marketing'. Zones: front-desk (Front desk), it (IT), hr (HR)"),
    ("unknown category", lambda s, it, hr: s.desk.file_request(s.desk.actor(ZACK), WEB, "Pay", zone_id="it",
                                                               category_id="payroll-error"),
     "'payroll-error' is not a category of IT."),
    ("empty title", lambda s, it, hr: s.desk.file_request(s.desk.actor(ZACK), WEB, "   ", zone_id="it"),
     "The title is empty; write a few words."),
    ("100 kB description", lambda s, it, hr: s.desk.file_request(s.desk.actor(ZACK), WEB, "Big", "x" * 100_000,
                                                                 zone_id="it"),
     "The description is too long (100,000 characters; at most 20,000)."),
    ("illegal status move", lambda s, it, hr: s.desk.set_status(s.desk.actor(ALEXIS), it, "closed"),
     "cannot go from new to closed"),
    ("transfer not allowed", lambda s, it, hr: s.desk.transfer(s.desk.actor("hanna.berg@nordlys.example"), hr,
                                                               "it"),
     "HR may not transfer requests to IT. Allowed: Finance."),
    ("relation across zones", lambda s, it, hr: s.desk.relate(s.desk.actor("ivar.lund@nordlys.example"), it, hr),
     "Request #2 was not found."),
    ("unknown person acting as agent", lambda s, it, hr: s.desk.reply(s.desk.actor("eve@nordlys.example"), it,
                                                                      "I am IT, honest"),
     "Request #1 was not found."),
    ("listed person without agent role", lambda s, it, hr: s.desk.claim(s.desk.actor("marte.viken@nordlys.example"),
                                                                        it),
     "Request #1 was not found."),
    ("requester acting as agent", lambda s, it, hr: s.desk.note(s.desk.actor(ZACK), it, "note to self"),
     "Only an agent of the request's zone can add notes."),
    ("task to a zone not allowed", lambda s, it, hr: s.desk.create_task(s.desk.actor(ALEXIS), it, "Fix desk",
                                                                        to_team="hr-service"),
     "IT may not send tasks to HR. Allowed: Facilities, Finance."),
]


@pytest.mark.parametrize(("name", "case", "message"), CASES, ids=[c[0] for c in CASES])
async def test_bad_input_gets_a_clear_message_and_writes_nothing(services: Services, name: str, case: Case,
                                                                 message: str) -> None:
    it = (await services.desk.file_request(services.desk.actor(ZACK), WEB, "Laptop", zone_id="it")).number
    hr = (await services.desk.file_request(services.desk.actor(ZACK), WEB, "Leave", zone_id="hr")).number
    before = await _counts(services)
    with pytest.raises(DeskError) as refused:
        await case(services, it, hr)
    assert message in refused.value.message, refused.value.message
    assert await _counts(services) == before, "nothing half written"


async def test_a_relation_across_zones_is_refused_for_someone_who_sees_both(services: Services) -> None:
    frida = services.desk.actor("frida.dahl@nordlys.example")  # acts in Front desk, reads IT
    desk_request = (await services.desk.file_request(frida, WEB, "Parking", zone_id="front-desk")).number
    it_request = (await services.desk.file_request(frida, WEB, "Screen", zone_id="it")).number
    before = await _counts(services)
    with pytest.raises(DeskError, match=r"Relations exist only between requests of the same zone\."):
        await services.desk.relate(frida, desk_request, it_request)
    assert await _counts(services) == before


async def test_unknown_people_may_always_file_as_requesters(services: Services) -> None:
    stranger = services.desk.actor("new.hire@nordlys.example")
    filed = await services.desk.file_request(stranger, WEB, "Where is the canteen?", zone_id="facilities")
    assert [r.number for r in await services.desk.list_requests(stranger, scope="mine")] == [filed.number]
