"""Saved replies: filled in for the request, scoped to zones, sandboxed, nothing sent on error."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.catalog import saved_reply_text
from bot.catalog.replies import SavedReply, parse_saved_reply, render
from bot.desk import WEB
from bot.errors import DeskError
from bot.model import Comment
from bot.server import Services


async def test_variables_are_filled_in(services: Services) -> None:
    zack = services.desk.actor("zack@nordlys.example", "Zack McKinnon")
    filed = await services.desk.file_request(zack, WEB, "Access to Jira", zone_id="it")
    alexis = services.desk.actor("alexis.baker@nordlys.example")
    text = await saved_reply_text(services.desk, services.catalog, alexis, filed.number, "access-granted")
    assert text.startswith("Hi Zack, you now have access.")
    assert f"we reopen #{filed.number}." in text and text.endswith("Best regards, Alexis Baker (IT)")


async def test_a_reply_scoped_to_another_zone_is_not_offered(services: Services) -> None:
    zack = services.desk.actor("zack@nordlys.example", "Zack McKinnon")
    filed = await services.desk.file_request(zack, WEB, "Access to Jira", zone_id="it")
    alexis = services.desk.actor("alexis.baker@nordlys.example")
    with pytest.raises(DeskError, match="no saved reply 'payroll-next-run' for IT"):
        await saved_reply_text(services.desk, services.catalog, alexis, filed.number, "payroll-next-run")
    hanna = services.desk.actor("hanna.berg@nordlys.example")
    with pytest.raises(DeskError, match="was not found"):
        await saved_reply_text(services.desk, services.catalog, hanna, filed.number, "access-granted")


VARIABLES = {"request": {"number": 1, "title": "T"}, "requester_name": "Zack M", "requester_email": "z@x.io",
             "agent_name": "Alexis B", "agent_email": "a@x.io"}


@pytest.mark.parametrize(("source", "message"), [
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "may not use"),
    ("{{ request.__class__ }}", "may not use"),
    ("{% for x in ().__class__.__base__.__subclasses__() %}{{ x }}{% endfor %}", "may not use"),
    ("{{ request.items.__self__.clear() }}", "may not use"),
    ("Hello {{ requster.name }}", "unknown variable"),
    ("{{ }}", "could not be filled in"),
])
def test_sandbox_escapes_and_unknown_variables_are_refused(source: str, message: str) -> None:
    reply = SavedReply("evil", "Evil", (), source)
    with pytest.raises(DeskError, match=message):
        render(reply, **VARIABLES)  # type: ignore[arg-type]


async def test_nothing_is_sent_when_the_template_fails(services: Services, tmp_path: Path) -> None:
    zack = services.desk.actor("zack@nordlys.example", "Zack McKinnon")
    filed = await services.desk.file_request(zack, WEB, "Access to Jira", zone_id="it")
    bad = tmp_path / "broken.md.j2"
    bad.write_text("---\ntitle: Broken\n---\nHi {{ requester.nickname }}\n")
    services.catalog.replies["broken"] = parse_saved_reply(bad)
    alexis = services.desk.actor("alexis.baker@nordlys.example")
    with pytest.raises(DeskError, match="unknown variable"):
        await saved_reply_text(services.desk, services.catalog, alexis, filed.number, "broken")
    async with services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Comment)) == 0


def test_a_header_without_title_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.md.j2"
    bad.write_text("---\nzones: [it]\n---\nHello\n")
    with pytest.raises(ValueError, match="needs a title"):
        parse_saved_reply(bad)
