"""The Slack channel at `POST /slack/events`: bolt verifies and routes, we record, acknowledge, then work.

Every listener does the same three things, in this order (docs/decisions/0004):

1. checks what needs no database (a modal's fields against `app.yaml`) and answers errors in the ack;
2. records the payload in the durable inbox under its unique key: one INSERT, also the de-duplication
   (`slack:event:<event_id>`, `slack:action:<action_ts>:<user>:<action_id>`, `slack:view:<id>:<hash>`,
   `slack:command:<trigger_id>`, `slack:shortcut:<trigger_id>`); a key seen before is acknowledged
   and dropped, which is what a Slack retry (X-Slack-Retry-Num) or a re-sent click gets;
3. acknowledges, and hands the payload to `SlackInbound` in a task after the response is on its way.

bolt runs with `process_before_response=True` so the ack is the listener's own return, not a poll.
Interactions (commands, shortcuts, buttons, modals) start at once because a trigger_id lives 3 s;
events queue behind a small gate so a burst of messages cannot starve the acks of database
connections. If the INSERT fails (database down) the listener raises, bolt answers 500 and Slack
retries later: nothing is acknowledged that is not recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt import BoltResponse
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import views
from adapters.slack.acks import AckFirst
from adapters.slack.files import SlackFiles
from adapters.slack.forms import SlackForms
from adapters.slack.inbound import LIVE, SOURCE, FormModals, SlackInbound, worth_recording
from adapters.slack.people import SlackPeople
from adapters.slack.sender import SlackSender
from bot.delivery.channels import ChannelInfo
from bot.files import Files
from bot.i18n import speaking
from bot.people.signin import SignIn
from bot.server import UNAVAILABLE_TEXT, Services, required_setting
from bot.store import unavailable

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"
# What this channel declares when it is mounted. Slack answers a post over its limit (about one a second
# per channel) with 429 and Retry-After, which the outbox honours, so no limit is declared here.
CHANNEL = ChannelInfo(SOURCE, threads=True)
EVENT_WORKERS = 8  # events processed at once per process (one sender stays in order: bot.delivery.inbox); the rest wait

Ack = Callable[..., Awaitable[None]]


def settings_from(env: Mapping[str, str]) -> tuple[str, str, str]:
    """(token, signing secret, Web API base URL), refusing to start on missing or empty secrets."""
    secret = required_setting(env, "SLACK_SIGNING_SECRET", "copy the Signing Secret from your Slack app's Basic "
                              "Information page (without it nobody's requests could be verified).")
    token = required_setting(env, "SLACK_BOT_TOKEN", "copy the Bot User OAuth Token (xoxb-...) from your Slack "
                             "app's OAuth & Permissions page.")
    api_url = (env.get("SLACK_API_URL") or DEFAULT_API_URL).strip()
    return token, secret, api_url if api_url.endswith("/") else api_url + "/"


def inbound_key(body: dict[str, Any]) -> str:
    """The unique key a payload is recorded under (see the module docstring)."""
    kind = body.get("type")
    if kind == "event_callback":
        return f"slack:event:{body['event_id']}"
    if kind == "block_actions":
        action = (body.get("actions") or [{}])[0]
        return f"slack:action:{action.get('action_ts')}:{body['user']['id']}:{action.get('action_id')}"
    if kind == "view_submission":
        view = body.get("view") or {}
        return f"slack:view:{view.get('id')}:{view.get('hash')}"
    if body.get("command"):
        return f"slack:command:{body.get('trigger_id') or _digest(body)}"
    if kind in {"message_action", "shortcut"}:
        return f"slack:shortcut:{body.get('trigger_id') or _digest(body)}"
    return f"slack:other:{_digest(body)}"


_SHAPES: dict[str, type] = {"event": dict, "user": dict, "actions": list, "view": dict, "message": dict,
                            "channel": dict, "container": dict, "team": dict}


def well_formed(body: Any) -> bool:
    """The fields our handlers read have the types Slack always sends (a signed body can still be junk)."""
    if not isinstance(body, dict):
        return False
    for name, kind in _SHAPES.items():
        if body.get(name) is not None and not isinstance(body[name], kind):
            return False
    if body.get("type") == "event_callback" and not (isinstance(body.get("event"), dict) and body.get("event_id")):
        return False
    if body.get("type") in {"block_actions", "view_submission", "message_action", "shortcut"}:
        if not isinstance(body.get("user"), dict) or not body["user"].get("id"):
            return False
    if body.get("type") == "block_actions" and not (body.get("actions") and isinstance(body["actions"][0], dict)):
        return False
    if body.get("command") is not None and not body.get("user_id"):
        return False
    event = body.get("event")
    return not isinstance(event, dict) or all(
        isinstance(event.get(k), str) for k in ("type",) if event.get(k) is not None)


def signed_by_slack(secret: str, body: bytes, headers: Mapping[str, str], now: float) -> bool:
    """Slack's v0 signature over the raw bytes (for bodies bolt cannot parse, so never reaches its check)."""
    stamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not stamp.isdigit() or abs(now - int(stamp)) > 300:
        return False
    expected = "v0=" + hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def sender_of(body: dict[str, Any]) -> str | None:
    """Who sent a payload: their events are processed in the order Slack delivered them."""
    user = (body.get("event") or {}).get("user") or (body.get("user") or {}).get("id") or body.get("user_id")
    return f"slack:{user}" if user else None


def _digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(repr(sorted(body.items())).encode()).hexdigest()[:32]


class SlackRuntime:
    """One server's Slack channel: the bolt app, the inbound handler, and the work started after acks."""

    def __init__(self, services: Services, bolt: AsyncApp, inbound: SlackInbound, sender: SlackSender,
                 forms: FormModals | None = None) -> None:
        self.services = services
        self.bolt = bolt
        self.inbound = inbound
        self.sender = sender
        self.forms = forms
        self.clients: list[AsyncWebClient] = []
        self.secret: str | None = None
        self._http: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._events_gate = asyncio.Semaphore(EVENT_WORKERS)
        self.ack_first = AckFirst()
        inbound.pause = self.ack_first.wait
        sender.pause = self.ack_first.wait
        self._register()
        self.bolt.error(self._listener_failed)

    # ---------------------------------------------------------------- HTTP
    async def route(self, request: web.Request) -> web.StreamResponse:
        """`POST /slack/events`: events, commands, shortcuts and interactivity, all verified by bolt."""
        with self.ack_first.answering():
            try:
                bolt_request = await to_bolt_request(request)
                usable = well_formed(bolt_request.body)
            except Exception:  # bolt's body parser raises what its parsers raise on arbitrary bytes
                usable = False
            if not usable:
                # bolt parses (and matches listeners) before it verifies, and crashes on bodies Slack never
                # sends: answer those here, 401 unless Slack really signed it, 400 (never 500) when it did.
                body = await request.read()
                if self.secret is None or not signed_by_slack(self.secret, body, request.headers, time.time()):
                    return web.Response(status=401, text="invalid signature")
                return web.json_response({"error": "the body is not a Slack payload"}, status=400)
            bolt_response = await self.bolt.async_dispatch(bolt_request)
            return await to_aiohttp_response(bolt_response)

    async def start(self, _app: web.Application | None = None) -> None:
        """On start-up: one pooled HTTP session for every Web API call (no new connection per call)."""
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        for client in self.clients:
            client.session = self._http

    async def _listener_failed(self, error: Exception, body: dict[str, Any]) -> BoltResponse:
        """A listener raised before its ack: nothing was recorded, so the answer must not look like success.

        Database unreachable: a slash command gets a 200 whose text says so (Slack never re-sends a
        command, and its own "dispatch_failed" would tell the person nothing); everything else gets 503
        with Retry-After, which Slack retries (events) or shows as failed (buttons, modals). Any other
        error is a bug: logged with its stack, 500.
        """
        if unavailable(error):
            self.services.outage.seen(error)
            if isinstance(body, dict) and body.get("command"):
                return BoltResponse(status=200, body=json.dumps({"response_type": "ephemeral",
                                                                 "text": UNAVAILABLE_TEXT}),
                                    headers={"Content-Type": "application/json"})
            return BoltResponse(status=503, body=json.dumps({"error": UNAVAILABLE_TEXT}),
                                headers={"Content-Type": "application/json", "Retry-After": "5"})
        log.error("slack: a listener failed before its ack", exc_info=error)
        return BoltResponse(status=500, body="")

    # ---------------------------------------------------------------- record, ack, work
    async def ingest(self, body: dict[str, Any], ack: Ack, *, interactive: bool) -> None:
        """Record the payload (the de-dup), acknowledge, then process it after the response."""
        if not well_formed(body):
            log.info("slack: a signed payload without the shape Slack always sends; acknowledged and ignored")
            await ack()
            return
        if not worth_recording(body):
            await ack()
            return
        key = inbound_key(body)
        fresh = await self.services.inbox.accept(key, SOURCE, body, sequence=sender_of(body))
        await ack()
        if not fresh:
            log.info("slack: %s seen before; acknowledged and ignored", key)
            return
        self.spawn(self._process(key, body, gated=not interactive))

    async def _process(self, key: str, body: dict[str, Any], *, gated: bool) -> None:
        payload = {**body, LIVE: True}
        if gated:
            async with self._events_gate:
                # Acks first: a burst of messages slows the filing, never the acknowledgements.
                await self.ack_first.wait()
                await self.services.inbox.process(key, SOURCE, payload)
        else:
            await self.services.inbox.process(key, SOURCE, payload)

    def spawn(self, work: Awaitable[None]) -> None:
        """Run work after the response, keeping a reference so it is not collected mid-flight."""
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        """Wait until everything started after an ack has finished (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self, _app: web.Application | None = None) -> None:
        """On shutdown: give running work a few seconds; the inbox finishes the rest after a restart."""
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.settle(), timeout=5)
        for task in list(self._tasks):
            task.cancel()
        if self._http is not None:
            await self._http.close()

    # ---------------------------------------------------------------- listeners
    def _register(self) -> None:
        bolt = self.bolt

        async def on_event(body: dict[str, Any], ack: Ack, context: dict[str, Any]) -> None:
            if self.inbound.bot_user is None and context.get("bot_user_id"):
                self.inbound.bot_user = context["bot_user_id"]
            await self.ingest(body, ack, interactive=False)

        async def on_interaction(body: dict[str, Any], ack: Ack) -> None:
            await self.ingest(body, ack, interactive=True)

        async def on_view(body: dict[str, Any], ack: Ack) -> None:
            if not well_formed(body):
                await ack()
                return
            view = body.get("view") or {}
            callback = str(view.get("callback_id") or "")
            errors: dict[str, str] = {}
            # Said in the language the modal was opened in (kept in its metadata): no database before the ack.
            with speaking(views.language_of(view)):
                if callback == views.CREATE:
                    errors = views.read_create_form(self.services.config, view)[1]
                elif callback.startswith(views.FORM_PREFIX) and self.forms is not None:
                    errors = self.forms.errors(callback[len(views.FORM_PREFIX):], view)
            if errors:
                await ack(response_action="errors", errors=errors)
                return
            await self.ingest(body, ack, interactive=True)

        async def only_ack(ack: Ack) -> None:
            await ack()

        for event in ("message", "app_mention", "app_home_opened"):
            bolt.event(event)(on_event)
        bolt.command("/desk")(on_interaction)
        bolt.command("/request")(on_interaction)
        bolt.shortcut("create_request")(on_interaction)
        bolt.action(re.compile(r"^zds?:"))(on_interaction)
        bolt.view(re.compile(r"^zd:"))(on_view)
        # Anything else Slack sends (an event we subscribed to for later, a retired button) is
        # acknowledged so Slack does not retry it; nothing is recorded.
        bolt.event(re.compile(r".*"))(only_ack)
        bolt.action(re.compile(r".*"))(only_ack)


def build_runtime(services: Services, env: Mapping[str, str], forms: FormModals | None = None) -> SlackRuntime:
    """Wire the Slack channel over the core's services (raises StartupError on bad settings)."""
    token, secret, api_url = settings_from(env)
    client = AsyncWebClient(token=token, base_url=api_url, timeout=10)
    # The outbox retries with back-off itself: its client must not retry or sleep inside a send.
    send_client = AsyncWebClient(token=token, base_url=api_url, timeout=10, retry_handlers=[])
    people = SlackPeople(services.desk, services.directory, client)
    if forms is None:
        forms = SlackForms(services.desk, services.catalog, people)
    signin = SignIn(services.sessions, services.clock, services.secret_key, services.config.organisation.base_url)
    inbound = SlackInbound(services.desk, services.inbox, client, people, forms, signin)
    sender = SlackSender(send_client, SlackPeople(services.desk, services.directory, send_client))
    bolt = AsyncApp(client=client, signing_secret=secret, process_before_response=True, name="zonedesk",
                    logger=logging.getLogger("slack_bolt.zonedesk"))
    runtime = SlackRuntime(services, bolt, inbound, sender, forms)
    runtime.clients = [client, send_client]
    runtime.secret = secret
    services.inbox.register(SOURCE, inbound.handle)
    services.enable(CHANNEL, sender)
    if isinstance(services.desk.files, Files):  # files people attach: fetched with the bot token when opened
        services.desk.files.sources[SOURCE] = SlackFiles(token, api_url)
    return runtime
