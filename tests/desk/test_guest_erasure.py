"""Erasure covers guests of a request: a person asked for their view, and an outside address brought into a
request, leave no trace of their address or name in the consultation rows, the collaborator rows or the
history events that named them (`zonedesk erase --person`)."""

from __future__ import annotations

from sqlalchemy import text

from bot.desk import WEB
from bot.server import Services
from bot.store.backup import erase_person, pseudonym

HANNA = "hanna.berg@nordlys.example"
KIM = "kim@supplier.example"


async def test_erasing_a_consultee_and_a_collaborator_leaves_no_trace(services: Services) -> None:
    desk = services.desk
    alexis = desk.actor("alexis.baker@nordlys.example")
    filed = await desk.file_request(desk.actor("zack@nordlys.example"), WEB, "Fan is loud", zone_id="it")
    await desk.consult(alexis, filed.number, HANNA, "Covered?")
    await desk.answer_consultation(desk.actor(HANNA), filed.number, "Yes")
    await desk.withdraw_consultation(alexis, filed.number, HANNA)
    await desk.invite_collaborator(alexis, filed.number, KIM)
    await desk.collaborator_comment(desk.actor(KIM, "Kim Berg", channel="email"), filed.number, "Monday at 9")
    await desk.remove_collaborator(alexis, filed.number, KIM)

    for person in (HANNA, KIM):
        changed = await erase_person(services.engine, person, services.clock.now())
        assert changed["guests"] == 1, person
    async with services.engine.connect() as conn:
        for table in ("consultations", "collaborators", "events", "comments"):
            dump = " ".join(str(r) for r in (await conn.execute(text(f"SELECT * FROM {table}"))).all()).lower()
            assert "hanna" not in dump and "kim" not in dump, table
        assert pseudonym(HANNA) in " ".join(str(r) for r in (await conn.execute(
            text("SELECT person_email FROM consultations"))).all())
    detail = await desk.get_request(alexis, filed.number)
    assert "Alexis Baker asked Erased person for their view: Covered?" in [e.text for e in detail.history]
