"""A zone's mailbox read over IMAP, against a real IMAP server on loopback (pymap's in-memory backend, MIT, run
as its own process): by UID, never changing the mailbox, a mail filed once even when a crash makes it be
fetched again, a renumbered folder (a new UIDVALIDITY) read again without filing twice."""

from __future__ import annotations

import asyncio
import imaplib
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from adapters.email.imap import MailboxPoller
from adapters.email.inbound import MailDesk
from bot.clock import FakeClock
from bot.model import Comment, MailboxState
from tests.email.conftest import IT, MailWorld, free_port, mail_world
from tests.fakes.slack_api import FakeSlackAPI

ZACK = "zack@nordlys.example"
PASSWORD = "imap-secret-for-tests"
FOLDER = "Desk"


class Mailbox:
    """The IT mailbox on a pymap server, as the organisation's mail system fills it (APPEND over IMAP)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.password = PASSWORD

    def _client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port)
        client.login(IT, PASSWORD)
        return client

    def add(self, raw: bytes) -> None:
        client = self._client()
        try:
            kind, _data = client.append(FOLDER, None, None, raw)
            assert kind == "OK"
        finally:
            client.logout()

    def renumber(self) -> None:
        """The server drops and recreates the folder: a new UIDVALIDITY, the mail in it anew."""
        client = self._client()
        try:
            client.select(FOLDER, readonly=True)
            kept = [data[0][1] for uid in client.uid("SEARCH", "ALL")[1][0].split()
                    if (data := client.uid("FETCH", uid, "(BODY.PEEK[])")[1]) and isinstance(data[0], tuple)]
        finally:
            client.logout()
        client = self._client()  # not in the folder while it is dropped
        try:
            assert client.delete(FOLDER)[0] == "OK" and client.create(FOLDER)[0] == "OK"
        finally:
            client.logout()
        for raw in kept:
            self.add(raw)

    def state(self) -> tuple[int, list[bytes]]:
        """How many messages the folder holds, and each one's flags."""
        client = self._client()
        try:
            client.select(FOLDER, readonly=True)
            uids = client.uid("SEARCH", "ALL")[1][0].split()
            flags = [client.uid("FETCH", uid, "(FLAGS)")[1][0] for uid in uids]
            return len(uids), [f if isinstance(f, bytes) else b"" for f in flags]
        finally:
            client.logout()


@pytest.fixture
def pymap_server(tmp_path: Path) -> Iterator[int]:
    """pymap's in-memory IMAP server on a loopback port, with the IT mailbox's user and a folder `Desk`."""
    port = free_port()
    command = shutil.which("pymap") or str(Path(sys.executable).with_name("pymap"))
    server = subprocess.Popen([command, "--host", "127.0.0.1", "--port", str(port), "--no-tls",
                               "--pid-file", str(tmp_path / "pymap.pid"), "dict", "--demo-user", IT,
                               "--demo-password", PASSWORD], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            assert server.poll() is None, server.stdout.read() if server.stdout else b""
            try:
                client = imaplib.IMAP4("127.0.0.1", port)
                break
            except OSError:
                time.sleep(0.05)  # the server process is starting
        client.login(IT, PASSWORD)
        client.create(FOLDER)
        client.logout()
        yield port
    finally:
        server.terminate()
        server.communicate(timeout=10)


@pytest_asyncio.fixture
async def imap(pymap_server: int) -> AsyncIterator[Mailbox]:
    yield Mailbox(pymap_server)


@pytest_asyncio.fixture
async def world(tmp_path: Path, db_url: str, clock: FakeClock, fake: FakeSlackAPI,
                imap: Mailbox) -> AsyncIterator[MailWorld]:
    def mailbox(data: dict[str, Any]) -> None:
        zone = next(z for z in data["zones"] if z["id"] == "it")
        zone["imap"] = {"host": "127.0.0.1", "port": imap.port, "user": IT, "password_env": "IMAP_IT_PASSWORD",
                        "tls": False, "every_seconds": 30, "folder": FOLDER}

    async with mail_world(tmp_path, db_url, clock, fake, change=mailbox,
                          env_extra={"IMAP_IT_PASSWORD": PASSWORD}) as built:
        yield built


def poller(world: MailWorld) -> MailboxPoller:
    [only] = world.runtime.pollers
    return only


def raw(world: MailWorld, subject: str, body: str, **kw: Any) -> bytes:
    return bytes(world.compose(ZACK, subject, body, **kw).as_bytes())


async def test_new_mail_is_filed_and_the_mailbox_is_left_as_it_was(world: MailWorld, imap: Mailbox) -> None:
    imap.add(raw(world, "Monitor broken", "Black screen"))
    imap.add(raw(world, "Keyboard", "Sticky keys"))
    assert await poller(world).read() == 2
    assert [r.title for r in await world.requests()] == ["Monitor broken", "Keyboard"]
    assert await poller(world).read() == 0
    imap.add(raw(world, "Mouse", "Gone"))
    assert await poller(world).read() == 1
    assert len(await world.requests()) == 3
    count, flags = await asyncio.to_thread(imap.state)
    assert count == 3 and not any(b"\\Seen" in f or b"\\Deleted" in f for f in flags), flags  # nothing marked
    async with world.services.sessions() as session:
        [state] = (await session.execute(select(MailboxState))).scalars().all()
    assert state.last_uid > 0 and state.mailbox.endswith("/Desk")
    # The serve job is registered with the mailbox's interval.
    assert ("imap:it", 30.0) in [(name, seconds) for name, seconds, _job in world.services.periodic]


async def test_a_crash_between_fetch_and_commit_files_the_mail_once(world: MailWorld, imap: Mailbox,
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
                                                                      imap: Mailbox) -> None:
    imap.add(raw(world, "Monitor", "Black"))
    await poller(world).read()
    async with world.services.sessions() as session:
        before = (await session.execute(select(MailboxState))).scalars().one().uidvalidity
    await asyncio.to_thread(imap.renumber)
    imap.add(raw(world, "Docking station", "No power"))
    assert await poller(world).read() == 2  # the folder read again from its start
    async with world.services.sessions() as session:
        assert (await session.execute(select(MailboxState))).scalars().one().uidvalidity != before
    assert [r.title for r in await world.requests()] == ["Monitor", "Docking station"]


async def test_a_reply_read_from_the_mailbox_lands_on_its_request(world: MailWorld, imap: Mailbox) -> None:
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


async def test_a_wrong_password_reads_nothing_and_changes_nothing(world: MailWorld, imap: Mailbox) -> None:
    imap.add(raw(world, "Lost", "mail"))
    world.runtime.pollers[0].env = {"IMAP_IT_PASSWORD": "not-the-password"}
    with pytest.raises(Exception):  # noqa: B017  (imap-tools' login error; the serve job logs it and tries again)
        await poller(world).read()
    assert await world.requests() == []
    assert await world.count(MailboxState) == 0
