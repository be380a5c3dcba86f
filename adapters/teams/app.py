"""The Teams channel at `POST /api/messages`: our own aiohttp handler in front of botbuilder's CloudAdapter.

The stock `CloudAdapter.process` answers 500 to a bad or missing token and serialises invoke bodies a
second time (breaking them) in 4.17.x. This handler answers:

- 401 unless the `Authorization` header is `Bearer <token>` and the SDK's JWT validation accepts the
  token for this activity (any failure of it is a 401, logged with its reason, never a 500);
- 400 for a body that is not an activity, 415 for one that is not JSON;
- the invoke response's status and body as they are (an Adaptive Card replacing a card, a dialog);
- 200 for everything else, once the desk has committed what the activity caused.

Nothing is written before the token is accepted. Teams waits for the answer (up to 15 s) and re-sends
an activity that failed, which the activity's de-duplication key makes harmless.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from botbuilder.core import serializer_helper
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity
from msrest.serialization import Model

from adapters.teams.auth import BotAuthentication, describe
from adapters.teams.bot import ZonedeskBot
from adapters.teams.cards import Signer
from adapters.teams.conversations import PLATFORM, References
from adapters.teams.credentials import credentials_factory
from adapters.teams.dialogs import Dialogs, built_in
from adapters.teams.people import TeamsPeople
from adapters.teams.sender import TeamsSender
from adapters.teams.settings import TeamsSettings
from bot.server import Services

log = logging.getLogger(__name__)

KEYS_REFRESH_SECONDS = 6 * 3600.0


def unauthorized() -> web.Response:
    """The answer to any token we do not accept (the reason goes to the log only)."""
    return web.json_response({"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"})


class TeamsRuntime:
    """One server's Teams channel: authentication, adapter, activity handler and outbox sender."""

    def __init__(self, services: Services, settings: TeamsSettings, dialogs: Dialogs | None = None) -> None:
        self.services = services
        self.settings = settings
        self.credentials = credentials_factory(settings.app_id, settings.app_password, token_url=settings.token_url,
                                               login_url=settings.login_url)
        self.authentication = BotAuthentication(settings, self.credentials)
        self.adapter = CloudAdapter(self.authentication)
        self.references = References(services.directory)
        self.people = TeamsPeople(services.desk, services.directory)
        self.dialogs = dialogs or built_in()
        self.signer = Signer(services.secret_key)
        self.bot = ZonedeskBot(services.desk, self.people, self.references, self.dialogs, self.signer,
                               app_id=settings.app_id)
        self.sender = TeamsSender(self.adapter, self.references, services.directory, self.signer,
                                  app_id=settings.app_id, invalidate_tokens=self.credentials.invalidate)

    async def route(self, request: web.Request) -> web.StreamResponse:
        """`POST /api/messages`."""
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not token or token != token.strip() or " " in token:
            log.info("teams: refused a request without a bearer token")
            return unauthorized()
        if "json" not in (request.content_type or ""):
            return web.json_response({"error": "expected application/json"}, status=415)
        try:
            body = json.loads(await request.read())
            activity = Activity().deserialize(body) if isinstance(body, dict) else None
        except (ValueError, TypeError, AttributeError):
            activity = None
        if activity is None or not activity.type or activity.conversation is None:
            return web.json_response({"error": "the body is not a Bot Framework activity"}, status=400)
        try:
            authenticated = await self.authentication.authenticate_request(activity, header)
        except Exception as exc:  # the SDK raises many kinds (PermissionError, jwt errors, KeyError...): all 401
            log.info("teams: refused a token: %s", describe(exc))
            return unauthorized()
        invoke = await self.adapter.process_activity(authenticated, activity, self.bot.on_turn)
        if invoke is None:
            return web.Response(status=200)
        return invoke_http_response(invoke.status, invoke.body)

    async def start(self, _app: web.Application | None = None) -> None:
        """On start-up: fetch the channel's signing keys in a worker thread, so no request waits for them."""
        try:
            await self.authentication.metadata.refresh()
        except Exception as exc:  # a request will try again (off the loop too); not a reason to refuse to start
            log.warning("teams: could not fetch the Bot Framework signing keys yet: %s", describe(exc))

    async def close(self, _app: web.Application | None = None) -> None:
        """On shutdown: close the connector's pooled connections."""
        await self.authentication.transport.close()

    async def refresh_keys(self) -> None:
        """The background job: fetch the signing keys again, before the SDK's one-day limit makes a request wait."""
        await self.authentication.metadata.refresh()


def invoke_http_response(status: int, body: Any) -> web.Response:
    """An invoke response: its status, and its body exactly as the handler built it."""
    if body is None:
        return web.Response(status=int(status))
    if isinstance(body, Model):
        body = serializer_helper(body)
    return web.json_response(body, status=int(status))


def build_runtime(services: Services, env: Mapping[str, str], dialogs: Dialogs | None = None) -> TeamsRuntime:
    """Wire the Teams channel over the core's services (raises StartupError on bad settings)."""
    runtime = TeamsRuntime(services, TeamsSettings.from_env(env), dialogs)
    services.enable(PLATFORM, runtime.sender)
    services.periodic.append(("teams-signing-keys", KEYS_REFRESH_SECONDS, runtime.refresh_keys))
    return runtime
