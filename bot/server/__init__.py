"""The aiohttp server: health, metrics, and every channel mounted over one set of services.

Channels are found through the `zonedesk.channels` entry points (see pyproject.toml), so the core
never imports an adapter: a new platform is a new folder under `adapters/` and one entry-point line.
A channel whose secrets are absent is not mounted, and the server says so in one line.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import stat
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import store
from bot.analytics import measuring  # noqa: F401  (measures requests as they are answered and resolved)
from bot.catalog import Catalog, load_catalog
from bot.clock import Clock, SystemClock
from bot.config import AppConfig, load_config
from bot.delivery.channels import ChannelInfo
from bot.delivery.inbox import Inbox
from bot.delivery.outbox import OutboxSettings, OutboxWorker, Sender, backlog
from bot.desk import Desk
from bot.files import Files, store_from_env
from bot.files.attachments import sweep as sweep_files
from bot.i18n import N_
from bot.people.identity import Directory
from bot.people.signin import prune_tokens
from bot.server.stalls import StallWatch

log = logging.getLogger(__name__)

class StartupError(Exception):
    """The server cannot start as configured; the message says what to fix."""


def required_setting(env: Mapping[str, str], name: str, remedy: str) -> str:
    """A channel's setting from the environment, or a StartupError saying it is empty or not set and `remedy`.

    Channels refuse to start on a missing secret instead of failing on the first request (or, for the
    Bot Framework, switching authentication off).
    """
    value = (env.get(name) or "").strip()
    if not value:
        raise StartupError(f"{name} is {'empty' if name in env else 'not set'}: {remedy}")
    return value


class Channel(Protocol):
    """A chat or web channel: mounted into the server when its settings are present."""

    name: str

    def configured(self, env: Mapping[str, str]) -> bool:
        """True when the environment has this channel's settings (secrets present)."""
        ...

    def mount(self, app: web.Application, services: Services, env: Mapping[str, str]) -> None:
        """Add routes, register the outbox sender and inbox handlers; raise StartupError on bad settings."""
        ...


BackgroundJob = Callable[[], Awaitable[None]]


@dataclass
class Services:
    """Everything a channel needs, built once per process."""

    config: AppConfig
    config_root: Path
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    desk: Desk
    directory: Directory
    inbox: Inbox
    outbox: OutboxWorker
    secret_key: bytes
    database_url: str
    catalog: Catalog = field(default_factory=Catalog)
    senders: dict[str, Sender] = field(default_factory=dict)
    channels: dict[str, ChannelInfo] = field(default_factory=dict)  # the live chat channels, by platform
    periodic: list[tuple[str, float, BackgroundJob]] = field(default_factory=list)
    outage: Outage = field(default_factory=lambda: Outage())
    extras: dict[str, Any] = field(default_factory=dict)

    def enable(self, channel: ChannelInfo, sender: Sender) -> None:
        """A chat channel is live, as it declares itself: the desk writes outbox rows for its platform and
        the worker sends them through `sender`, paced by the channel's rate limits.

        Limits already given for that platform in the worker's settings (a test or a bench tuning them)
        are kept."""
        self.channels[channel.platform] = channel
        self.senders[channel.platform] = sender
        self.outbox.senders[channel.platform] = sender
        self.outbox.settings.rate_limits.setdefault(channel.platform, channel.rate_limits)
        self.desk.enable(channel)

    async def retention(self) -> None:
        """Delete what is kept only for a while: processed inbound events and sent messages older than
        RETAIN (both hold what people wrote; the request and its history keep what matters), and
        sign-in links and single-sign-on states a day after they expired."""
        while (await self.inbox.prune(RETAIN) + await self.outbox.prune(RETAIN)
               + await prune_tokens(self.sessions, self.clock.now())) >= RETENTION_BATCH:
            pass  # a backlog after an upgrade: small transactions until it is gone
        if isinstance(self.desk.files, Files):  # stored bytes no attachment names any more (bot.files)
            async with self.sessions() as session:
                await sweep_files(session, self.desk.files.store, self.clock.now())


RETAIN = timedelta(days=14)  # retries and double clicks come within minutes; this is far longer
RETENTION_EVERY = 3600  # seconds
RETENTION_BATCH = 5000
SHUTDOWN_GRACE = 5.0  # seconds a running background job gets to finish when the server stops
SERVICES: web.AppKey[Services] = web.AppKey("services")
CHANNELS: web.AppKey[tuple[str, ...]] = web.AppKey("channels")
STALLS: web.AppKey[StallWatch] = web.AppKey("stalls")
CHECKPOINTS: web.AppKey[store.Checkpointer] = web.AppKey("checkpoints")


def secret_key(database_url: str, env: Mapping[str, str]) -> bytes:
    """`ZONEDESK_SECRET_KEY`, or a key generated once and kept in a 0600 file beside the database."""
    configured = env.get("ZONEDESK_SECRET_KEY")
    if configured:
        if len(configured) < 16:
            raise StartupError("ZONEDESK_SECRET_KEY is too short: use at least 32 random characters.")
        return configured.encode()
    db_file = store.sqlite_path(database_url)
    folder = db_file.resolve().parent if db_file is not None else Path.cwd()
    path = folder / ".zonedesk-secret-key"
    if path.exists():
        return path.read_bytes().strip()
    key = secrets.token_urlsafe(48).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    log.warning("ZONEDESK_SECRET_KEY is not set: generated one and kept it in %s (mode 0600)", path)
    return key


def build_services(config_path: str | Path, database_url: str | None = None, *, clock: Clock | None = None,
                   env: Mapping[str, str] | None = None, outbox_settings: OutboxSettings | None = None) -> Services:
    """Load the configuration and wire the core (no channel mounted yet)."""
    env = os.environ if env is None else env
    config_path = Path(config_path)
    config = load_config(config_path)
    url = database_url or env.get("ZONEDESK_DATABASE_URL") or store.DEFAULT_DATABASE_URL
    clock = clock or SystemClock()
    engine = store.create_engine(url)
    sessions = store.sessionmaker(engine)
    lease = _lease(env)
    if outbox_settings is None:
        # A send must end well inside the lease, or a second worker could claim a row still being sent.
        outbox_settings = OutboxSettings(lease=lease, send_timeout=min(15.0, lease.total_seconds() / 2))
    worker = OutboxWorker(sessions, clock, {}, outbox_settings, worker_id=f"{os.getpid()}-{uuid.uuid4().hex[:6]}")
    inbox = Inbox(sessions, clock, lease=lease)
    desk = Desk(config, sessions, clock, on_commit=worker.notify, on_settled=inbox.settled)
    desk.readers = store.reader_sessions(engine)  # long reads (analytics) off the writer's connection
    catalog = load_catalog(config, config_path.resolve().parent)
    desk.catalog = catalog
    try:
        desk.files = Files(store_from_env(env, store.sqlite_path(url)))  # attachments' bytes (bot.files)
    except (ValueError, OSError) as exc:
        raise StartupError(f"the file store: {exc}") from exc
    return Services(
        config=config, config_root=config_path.resolve().parent, engine=engine, sessions=sessions, clock=clock,
        desk=desk, directory=Directory(sessions, clock), inbox=inbox, outbox=worker,
        secret_key=secret_key(url, env), database_url=url,
        catalog=catalog,
    )


def _lease(env: Mapping[str, str]) -> timedelta:
    """How long a claimed outbox row or inbound event stays with the process that claimed it.

    After a crash, its rows wait this long before another process takes them over.
    `ZONEDESK_LEASE_SECONDS` (default 60, at least 2).
    """
    raw = env.get("ZONEDESK_LEASE_SECONDS") or "60"
    try:
        seconds = float(raw)
    except ValueError as exc:
        raise StartupError(f"ZONEDESK_LEASE_SECONDS must be a number of seconds, not '{raw}'") from exc
    if seconds < 2:
        raise StartupError("ZONEDESK_LEASE_SECONDS must be at least 2")
    return timedelta(seconds=seconds)


def discover_channels() -> list[Channel]:
    """Every installed channel, the web first (it always runs)."""
    found = []
    for ep in entry_points(group="zonedesk.channels"):
        try:
            found.append(ep.load())
        except ImportError as exc:  # a broken install must stop the server, not silently drop a channel
            raise StartupError(f"channel {ep.name} cannot be loaded ({exc}); reinstall Zonedesk") from exc
    return sorted(found, key=lambda c: (c.name != "web", c.name))


class Outage:
    """The database's reachability as this process last saw it: one warning when it goes, one when it is back.

    Every request during an outage fails the same way; logging each with a stack trace would bury the
    one line an operator needs.
    """

    def __init__(self) -> None:
        self.started: float | None = None

    def seen(self, exc: BaseException) -> None:
        """A request or a probe could not reach the database."""
        if self.started is None:
            self.started = time.time()
            log.warning("database unreachable (%s): answering 503 until it is back", type(exc).__name__)

    def over(self) -> None:
        """A probe reached the database."""
        if self.started is not None:
            log.warning("database reachable again after %.1f s", time.time() - self.started)
            self.started = None

    def since_text(self) -> str | None:
        """When the outage began (UTC, ISO 8601), or None while the database is reachable."""
        return None if self.started is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started))


# Marked for the catalogue: the web's 503 page says it in the reader's language (`_(UNAVAILABLE_TEXT)`).
UNAVAILABLE_TEXT = N_("Zonedesk cannot reach its database right now, so nothing you just sent was saved. "
                      "Please try again in a minute.")


def database_unavailable(request: web.Request) -> web.Response:
    """503 with Retry-After: Slack and Teams send the request again; a person sees what happened."""
    headers = {"Retry-After": "5", "Cache-Control": "no-store"}
    if "text/html" in request.headers.get("Accept", ""):
        page = (f"<!doctype html><html lang=en><meta charset=utf-8><title>Zonedesk is unavailable</title>"
                f"<h1>Zonedesk is briefly unavailable</h1><p>{UNAVAILABLE_TEXT}</p></html>")
        return web.Response(text=page, content_type="text/html", status=503, headers=headers)
    return web.json_response({"error": UNAVAILABLE_TEXT}, status=503, headers=headers)


def _metrics(registry: CollectorRegistry) -> tuple[Counter, Histogram, Gauge]:
    requests = Counter("zonedesk_http_requests", "HTTP requests served", ["route", "status"], registry=registry)
    latency = Histogram("zonedesk_http_seconds", "Time to answer an HTTP request", ["route"], registry=registry,
                        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
    pending = Gauge("zonedesk_outbox_pending", "Outbound messages waiting to be sent", registry=registry)
    return requests, latency, pending


async def create_app(services: Services, env: Mapping[str, str] | None = None, *,
                     background: bool = True) -> web.Application:
    """The aiohttp application with every configured channel mounted."""
    env = os.environ if env is None else env
    registry = CollectorRegistry()
    http_requests, http_latency, outbox_pending = _metrics(registry)
    app_stalls = StallWatch(registry)

    @web.middleware
    async def observe(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                      ) -> web.StreamResponse:
        started = time.perf_counter()
        route = request.match_info.route.resource.canonical if request.match_info.route.resource else "other"
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except Exception as exc:
            if store.unavailable(exc):
                status = 503
                outage.seen(exc)
                return database_unavailable(request)
            reference = uuid.uuid4().hex[:8]
            log.exception("unexpected error on %s %s (ref %s)", request.method, route, reference)
            return web.json_response({"error": f"Something went wrong on our side (reference {reference})."},
                                     status=500)
        finally:
            http_requests.labels(route, str(status)).inc()
            http_latency.labels(route).observe(time.perf_counter() - started)

    app = web.Application(middlewares=[observe], client_max_size=2 * 1024 * 1024)
    app[SERVICES] = services
    app[STALLS] = app_stalls
    outage = services.outage

    async def healthz(_: web.Request) -> web.Response:
        async def ping() -> None:
            async with services.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))

        try:
            await asyncio.wait_for(ping(), timeout=3)
        except Exception as exc:
            outage.seen(exc)
            return web.json_response({"status": "unavailable", "database": "unreachable",
                                      "since": outage.since_text()}, status=503, headers={"Retry-After": "5"})
        outage.over()
        mounted_now: tuple[str, ...] = app[CHANNELS]
        return web.json_response({"status": "ok", "database": "ok", "channels": sorted(mounted_now)})

    async def metrics(_: web.Request) -> web.Response:
        try:
            outbox_pending.set(await backlog(services.sessions))
        except Exception:  # a database outage shows on /healthz; metrics still answer
            log.warning("metrics: cannot read the outbox backlog")
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    mounted: list[str] = []
    for channel in discover_channels():
        if channel.name != "web" and not channel.configured(env):
            log.info("channel %s: not configured, not mounted (see README: %s settings)", channel.name, channel.name)
            continue
        channel.mount(app, services, env)
        mounted.append(channel.name)
        log.info("channel %s: mounted", channel.name)
    app[CHANNELS] = tuple(mounted)
    app.on_startup.append(_search_languages)
    if background:
        app.on_startup.append(_start_background)
        app.on_cleanup.append(_stop_background)
    return app


async def _search_languages(app: web.Application) -> None:
    """PostgreSQL's search index reads each zone's texts in its language (`bot.desk.search`)."""
    from bot.desk.search import remember_languages

    try:
        await remember_languages(app[SERVICES].desk)
    except Exception as exc:  # the index still works, with the languages last saved (or `simple`)
        log.warning("search: the zones' languages were not saved (%s)", type(exc).__name__)


async def _start_background(app: web.Application) -> None:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    services = app[SERVICES]
    app[STALLS].start()
    app[CHECKPOINTS] = store.Checkpointer(services.engine)
    await app[CHECKPOINTS].start()
    app["outbox_task"] = asyncio.create_task(services.outbox.run(), name="outbox")
    scheduler = AsyncIOScheduler(timezone="UTC")
    running: set[asyncio.Task[Any]] = set()

    async def guarded(name: str, job: BackgroundJob) -> None:
        task = asyncio.current_task()
        if task is not None:
            running.add(task)
        try:
            await job()
        except Exception:  # the next interval tries again; a database outage must not stop the jobs
            log.exception("background job %s failed", name)
        finally:
            if task is not None:
                running.discard(task)

    scheduler.add_job(guarded, "interval", seconds=5, args=["inbox", services.inbox.recover],
                      max_instances=1, coalesce=True, id="inbox")
    scheduler.add_job(guarded, "interval", seconds=RETENTION_EVERY, args=["retention", services.retention],
                      max_instances=1, coalesce=True, id="retention")
    for name, seconds, job in services.periodic:
        scheduler.add_job(guarded, "interval", seconds=seconds, args=[name, job], max_instances=1, coalesce=True,
                          id=name)
    scheduler.start()
    app["apscheduler"] = scheduler
    app["apscheduler_running"] = running


async def _stop_background(app: web.Application) -> None:
    services = app[SERVICES]
    await app[STALLS].stop()
    scheduler = app.get("apscheduler")
    if scheduler is not None:
        # Let a job that is running finish (a tick, a recovery) rather than cancel it mid-transaction:
        # APScheduler's asyncio executor can only cancel, and logs each cancellation as a failure.
        scheduler.pause()
        running = app.get("apscheduler_running") or set()
        if running:
            await asyncio.wait(list(running), timeout=SHUTDOWN_GRACE)
        scheduler.shutdown(wait=False)
    services.outbox.stop()
    task = app.get("outbox_task")
    if task is not None:
        await asyncio.gather(task, return_exceptions=True)
    checkpoints = app.get(CHECKPOINTS)
    if checkpoints is not None:
        await checkpoints.stop()
    await services.engine.dispose()


async def prepare_database(services: Services) -> None:
    """Migrate an empty database; refuse to serve an outdated one (run `zonedesk db upgrade`)."""
    if await store.is_empty(services.engine):
        log.info("empty database: creating the schema")
        await store.upgrade_async(services.database_url)
        return
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(store._alembic_config(services.database_url)).get_heads())
    current = await store.current_revisions(services.engine)
    if current != heads:
        raise StartupError(f"the database is at revision {sorted(current)}, the code expects {sorted(heads)}: "
                           "run `zonedesk db upgrade` first (take a backup before).")
