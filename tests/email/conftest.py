"""The e-mail scenario harness: the real server with its SMTP receiver on a loopback port, a mail sink.

`mail` starts `create_app` exactly as `zonedesk serve` would with `ZONEDESK_SMTP_LISTEN` and
`ZONEDESK_SMTP_URL` set (and Slack, so an agent can answer from chat), on the sample app.yaml with
addresses for IT and HR. Mail is sent to the receiver with aiosmtplib, as another mail server would;
mail the desk sends arrives in `Sink`, an aiosmtpd server the test runs (its Controller is fine here).
No background workers: tests drive the outbox with `deliver()`.
"""

from __future__ import annotations

import asyncio
import email
import itertools
import socket
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest_asyncio
from aiohttp import web
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from adapters.email import MAIL, EmailRuntime
from adapters.email.addresses import reply_address
from bot.clock import FakeClock
from bot.model import Event, Request
from bot.scheduler import Scheduler, install
from bot.server import Services, build_services, create_app
from tests.fakes.slack_api import FakeSlackAPI
from tests.slack.conftest import PEOPLE, TOKEN, SlackWorld, config_variant, slack_env

SECRET_KEY = "test-secret-key-0123456789abcdef"
IT = "it@nordlys.example"
HR = "hr@nordlys.example"


def free_port() -> int:
    """A loopback port nobody listens on (for the sink, which must be stoppable and restartable there)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Sink:
    """The relay mail goes out through: an aiosmtpd server collecting what it is given."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: list[tuple[list[str], EmailMessage]] = []
        self.controller: Controller | None = None
        self.arrived = threading.Event()  # set on every mail (a test waiting for a real process's mail)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append((list(envelope.rcpt_tos), parsed))
        self.arrived.set()
        return "250 OK"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[EmailMessage]:
        """The mails that went to one address, oldest first."""
        return [m for rcpts, m in self.received if address in rcpts]


def mail_config(data: dict[str, Any]) -> None:
    """The sample company, with addresses for IT and HR (and the organisation's web host for Message-IDs)."""
    for zone in data["zones"]:
        if zone["id"] == "it":
            zone["email"] = IT
        if zone["id"] == "hr":
            zone["email"] = HR


@dataclass
class MailWorld:
    """One running server with its receiver, the sink and a fake Slack."""

    services: Services
    slack: SlackWorld
    sink: Sink
    smtp_port: int
    clock: FakeClock
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    async def tick(self) -> None:
        """Run the scheduler's due jobs once (as `serve`'s tick would)."""
        scheduler: Scheduler = self.services.extras["scheduler"]
        await scheduler.tick()

    @property
    def runtime(self) -> EmailRuntime:
        return self.services.extras["email"]  # type: ignore[no-any-return]

    def compose(self, sender: str, subject: str, body: str, *, to: str = IT, name: str = "",
                headers: dict[str, str] | None = None, message_id: str | None = None) -> EmailMessage:
        """A mail as a person's mail program writes it."""
        mail = EmailMessage()
        mail["From"] = f"{name} <{sender}>" if name else sender
        mail["To"] = to
        mail["Subject"] = subject
        mail["Message-ID"] = message_id or f"<m{next(self._ids)}.{id(self)}@mail.nordlys.example>"
        for key, value in (headers or {}).items():
            mail[key] = value
        mail.set_content(body)
        return mail

    async def send(self, mail: EmailMessage | bytes, *, sender: str | None = None,
                   recipients: list[str] | None = None) -> None:
        """Hand a mail to the desk's receiver over SMTP, as a mail server would."""
        if isinstance(mail, EmailMessage):
            await aiosmtplib.send(mail, hostname="127.0.0.1", port=self.smtp_port, sender=sender,
                                  recipients=recipients, start_tls=False)
        else:
            await aiosmtplib.send(mail, hostname="127.0.0.1", port=self.smtp_port, sender=sender or "x@y.example",
                                  recipients=recipients or [IT], start_tls=False)

    def reply_to(self, number: int, zone_email: str = IT) -> str:
        return reply_address(SECRET_KEY.encode(), zone_email, number)

    async def deliver(self) -> int:
        """Send everything due from the outbox (to the sink and to the fake Slack)."""
        await self.slack.settle()
        return await self.services.outbox.drain()

    async def requests(self) -> list[Request]:
        async with self.services.sessions() as session:
            return list((await session.execute(select(Request).order_by(Request.id))).scalars())

    async def events(self, number: int, kind: str | None = None) -> list[Event]:
        async with self.services.sessions() as session:
            query = select(Event).where(Event.request_id == number).order_by(Event.id)
            if kind:
                query = query.where(Event.kind == kind)
            return list((await session.execute(query)).scalars())

    async def count(self, model: Any, *where: Any) -> int:
        async with self.services.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@asynccontextmanager
async def mail_world(tmp_path: Path, database_url: str, clock: FakeClock, fake: FakeSlackAPI, *,
                     change: Any = None, env_extra: dict[str, str] | None = None) -> AsyncIterator[MailWorld]:
    """The server with mail in and out, for the length of a block."""
    import aiohttp

    def configure(data: dict[str, Any]) -> None:
        mail_config(data)
        if change is not None:
            change(data)

    path = config_variant(tmp_path, configure)
    sink = Sink(free_port())
    sink.start()
    # Stored attachments go to the test's own folder (with PostgreSQL the default is the working directory).
    env = slack_env(fake.base_url, ZONEDESK_SMTP_LISTEN="127.0.0.1:0",
                    ZONEDESK_SMTP_URL=f"smtp://127.0.0.1:{sink.port}",
                    **{"ZONEDESK_FILES_DIR": str(tmp_path / "files"), **(env_extra or {})})
    services = build_services(path, database_url, clock=clock, env=env)
    install(services, env={"ZONEDESK_SCHEDULER": "off"})  # timers follow changes; tests tick by hand
    app = await create_app(services, env=env, background=False)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    http = aiohttp.ClientSession()
    runtime: EmailRuntime = app[MAIL]
    assert runtime.server is not None
    smtp_port = runtime.server.sockets[0].getsockname()[1]
    slack = SlackWorld(services, fake, http, f"http://127.0.0.1:{port}/slack/events", clock)
    try:
        yield MailWorld(services, slack, sink, smtp_port, clock)
    finally:
        await slack.settle()
        await http.close()
        await runner.cleanup()
        await services.engine.dispose()
        await asyncio.to_thread(sink.stop)


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeSlackAPI]:
    """The fake Slack Web API with the sample company's people."""
    async with FakeSlackAPI(token=TOKEN) as api:
        for user, (address, name) in PEOPLE.items():
            api.add_user(user, address, name)
        yield api


@pytest_asyncio.fixture
async def mail(tmp_path: Path, db_url: str, clock: FakeClock, fake: FakeSlackAPI) -> AsyncIterator[MailWorld]:
    """The server with mail in and out on the sample company (SQLite, and PostgreSQL when configured)."""
    async with mail_world(tmp_path, db_url, clock, fake) as world:
        yield world
