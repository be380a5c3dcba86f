"""A zone's mailbox read over IMAP (a real IMAP server on loopback): by UID, never changing the mailbox,
a mail filed once even when a crash makes it be fetched again, a renumbered folder read again safely."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from adapters.email.imap import MailboxPoller
from adapters.email.inbound import MailDesk
from bot.clock import FakeClock
from bot.model import Comment, MailboxState
from tests.email.conftest import IT, MailWorld, mail_world
from tests.fakes.imap_server import FakeImapServer
from tests.fakes.slack_api import FakeSlackAPI

ZACK = "zack@nordlys.example"
PASSWORD = "imap-secret-for-tests"


@pytest_asyncio.fixture
async def imap() -> AsyncIterator[FakeImapServer]:
    async with FakeImapServer(IT, PASSWORD) as server:
        yield server


@pytest_asyncio.fixture
async def world(tmp_path: Path, db_url: str, clock: FakeClock, fake: FakeSlackAPI,
                imap: FakeImapServer) -> AsyncIterator[MailWorld]:
    def mailbox(data: dict[str, Any]) -> None:
        zone = next(z for z in data["zones"] if z["id"] == "it")
        zone["imap"] = {"host": "127.0.0.1", "port": imap.port, "user": IT, "password_env": "IMAP_IT_PASSWORD",
                        "tls": False, "every_seconds": 30}

    async with mail_world(tmp_path, db_url, clock, fake, change=mailbox,
                          env_extra={"IMAP_IT_PASSWORD": PASSWORD}) as built:
        yield built


def poller(world: MailWorld) -> MailboxPoller:
    [only] = world.runtime.pollers
    return only


def raw(world: MailWorld, subject: str, body: str, **kw: Any) -> bytes:
    return bytes(world.compose(ZACK, subject, body, **kw).as_bytes())


async def test_new_mail_is_filed_and_the_mailbox_is_left_as_it_was(world: MailWorld, imap: FakeImapServer) -> None:
    imap.add(raw(world, "Monitor broken", "Black screen"))
    imap.add(raw(world, "Keyboard", "Sticky keys"))
    assert await poller(world).read() == 2
    assert [r.title for r in await world.requests()] == ["Monitor broken", "Keyboard"]
    assert await poller(world).read() == 0
    imap.add(raw(world, "Mouse", "Gone"))
    assert await poller(world).read() == 1
    assert len(await world.requests()) == 3
    assert not any(c.split(" ")[0] in {"STORE", "EXPUNGE", "DELETE", "COPY", "MOVE"} for c in imap.commands)
    assert any("BODY.PEEK[]" in c for c in imap.commands)
    async with world.services.sessions() as session:
        [state] = (await session.execute(__import__("sqlalchemy").select(MailboxState))).scalars().all()
    assert (state.uidvalidity, state.last_uid) == (imap.uidvalidity, 3)
    # The serve job is registered with the mailbox's interval.
    assert ("imap:it", 30.0) in [(name, seconds) for name, seconds, _job in world.services.periodic]


async def test_a_crash_between_fetch_and_commit_files_the_mail_once(world: MailWorld, imap: FakeImapServer,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    imap.add(raw(world, "Printer", "Jams"))
    imap.add(raw(world, "Scanner", "Dead"))
    original = MailDesk.receive
    calls = {"n": 0}

    async def crashing(self: MailDesk, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("process killed while filing the second mail")
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(MailDesk, "receive", crashing)
    with pytest.raises(RuntimeError):
        await poller(world).read()
    assert [r.title for r in await world.requests()] == ["Printer"]
    # Killed after the first mail's commit but before its UID was saved: the next round fetches it again.
    async def forget(self: MailboxPoller, validity: int, uid: int) -> None:
        raise RuntimeError("killed before the UID was saved")

    monkeypatch.setattr(MailDesk, "receive", original)
    monkeypatch.setattr(MailboxPoller, "_advance", forget)
    with pytest.raises(RuntimeError):
        await poller(world).read()
    monkeypatch.undo()
    assert await poller(world).read() == 1  # the second mail fetched a third time...
    assert [r.title for r in await world.requests()] == ["Printer", "Scanner"]  # ...and filed once
    assert await poller(world).read() == 0


async def test_a_renumbered_folder_is_read_again_without_filing_twice(world: MailWorld,
                                                                      imap: FakeImapServer) -> None:
    imap.add(raw(world, "Monitor", "Black"))
    await poller(world).read()
    kept = list(imap.messages.values())
    imap.messages = {10 + i: m for i, m in enumerate(kept)}
    imap.uidvalidity += 1
    imap.add(raw(world, "Docking station", "No power"))
    assert await poller(world).read() == 2
    assert [r.title for r in await world.requests()] == ["Monitor", "Docking station"]


async def test_a_reply_read_from_the_mailbox_lands_on_its_request(world: MailWorld, imap: FakeImapServer) -> None:
    imap.add(raw(world, "Laptop slow", "Very slow"))
    await poller(world).read()
    [request] = await world.requests()
    await world.deliver()
    [confirmation] = world.sink.to(ZACK)
    imap.add(raw(world, confirmation["Subject"], "It got better after the update.", to=confirmation["Reply-To"],
                 headers={"In-Reply-To": confirmation["Message-ID"]}))
    await poller(world).read()
    assert len(await world.requests()) == 1
    assert await world.count(Comment, Comment.request_id == request.id, Comment.author_email == ZACK) == 1


async def test_a_wrong_password_reads_nothing_and_changes_nothing(world: MailWorld, imap: FakeImapServer) -> None:
    imap.password = "changed"
    imap.add(raw(world, "Lost", "mail"))
    with pytest.raises(Exception):  # noqa: B017  (imap-tools' login error; the serve job logs it and tries again)
        await poller(world).read()
    assert await world.requests() == []
    assert await world.count(MailboxState) == 0
