"""Backup and erasure: export moves every row, import refuses a non-empty database, erase leaves no trace."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from bot import store
from bot.analytics.facts import FILED, FIRST_RESPONSE
from bot.desk import WEB
from bot.model import AnalyticsFact, Comment, Event, Identity, PersonLanguage, Request
from bot.people.languages import save_language
from bot.server import Services
from bot.store.backup import erase_person, export_all, import_all, pseudonym


async def _some_work(services: Services) -> int:
    zack = services.desk.actor("zack@nordlys.example", "Zack McKinnon")
    filed = await services.desk.file_request(zack, WEB, "My salary is wrong", "Account 1234 5678", zone_id="it")
    await services.desk.comment(zack, filed.number, "I also wonder about my bonus")
    await services.desk.reply(services.desk.actor("alexis.baker@nordlys.example"), filed.number, "Looking into it")
    await services.directory.remember("slack", "U123", "zack@nordlys.example", "Zack McKinnon")
    async with services.desk.transaction() as tx:
        await save_language(tx.session, "zack@nordlys.example", "nb", tx.now)
    return filed.number


async def test_export_then_import_into_an_empty_database_keeps_every_row(services: Services, tmp_path: Path) -> None:
    number = await _some_work(services)
    dump = tmp_path / "backup.jsonl"
    counts = await export_all(services.engine, dump)
    assert counts["requests"] == 1 and counts["events"] >= 3 and counts["comments"] == 2
    target_url = f"sqlite+aiosqlite:///{tmp_path}/restored.db"
    await store.upgrade_async(target_url)
    target = store.create_engine(target_url)
    try:
        loaded = await import_all(target, dump)
        assert loaded == {k: v for k, v in counts.items() if v}
        async with target.connect() as conn:
            title = (await conn.execute(select(Request.title).where(Request.id == number))).scalar_one()
        assert title == "My salary is wrong"
        assert loaded["person_languages"] == 1  # export covers every table, the saved language included
        # The analytics facts are not in the file: the import's inserts write them again, the same.
        assert "analytics_facts" not in counts
        facts = select(AnalyticsFact.fact, AnalyticsFact.at, AnalyticsFact.request_id, AnalyticsFact.zone_id,
                       AnalyticsFact.a).order_by(AnalyticsFact.fact, AnalyticsFact.at, AnalyticsFact.source_id)
        async with services.engine.connect() as conn, target.connect() as restored:
            before, after = (await conn.execute(facts)).all(), (await restored.execute(facts)).all()
        assert [row[0] for row in before] == [FILED, FIRST_RESPONSE] and after == before
        with pytest.raises(ValueError, match="already holds requests"):
            await import_all(target, dump)
    finally:
        await target.dispose()


async def test_erase_removes_what_identifies_the_person(services: Services) -> None:
    number = await _some_work(services)
    changed = await erase_person(services.engine, "Zack@nordlys.example", services.clock.now())
    assert changed["requests"] == 1 and changed["comments"] == 1 and changed["identities"] == 1
    assert changed["languages"] == 1
    async with services.sessions() as session:
        request = await session.get(Request, number)
        assert request is not None and request.requester_email == pseudonym("zack@nordlys.example")
        assert request.title == "[erased]" and request.description == "[erased]"
        bodies = (await session.execute(select(Comment.body).order_by(Comment.id))).scalars().all()
        assert bodies == ["[erased]", "Looking into it"]
        assert await session.scalar(select(func.count()).select_from(Identity)) == 0
        assert await session.scalar(select(func.count()).select_from(PersonLanguage)) == 0
        assert (await session.execute(select(Event.kind).order_by(Event.id.desc()))).scalars().first() == "erased"
    async with services.engine.connect() as conn:
        for table in ("requests", "comments", "events", "identities", "outbox", "person_languages", "analytics_facts"):
            dump = " ".join(str(r) for r in (await conn.execute(text(f"SELECT * FROM {table}"))).all())
            assert "zack" not in dump.lower() and "1234 5678" not in dump, table
