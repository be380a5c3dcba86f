"""The Teams channel at `POST /api/messages`: our own aiohttp handler in front of botbuilder's CloudAdapter.

The stock `CloudAdapter.process` answers 500 to a bad or missing token and serialises invoke bodies a
second time (breaking them) in 4.17.x. This handler answers:

- 401 unless the `Authorization` header is `Bearer <token>` and the SDK's JWT validation accepts the
  token for this activity (any failure of it is a 401, logged with its reason, never a 500). An
  activity without a `serviceUrl` is refused too: the SDK skips the `serviceurl` claim check then;
- 400 for a body that is not an activity of the shape Teams sends (`well_formed`), 415 for one that is
  not JSON, 413 for one over the server's body limit; only for a genuine token, so a caller without
  one learns nothing but 401;
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
from adapters.teams.files import TeamsFiles
from adapters.teams.people import TeamsPeople
from adapters.teams.sender import TeamsSender
from adapters.teams.settings import CHANNEL_SCOPE, TeamsSettings
from bot.delivery.channels import ChannelInfo, RateLimit
from bot.files import Files
from bot.people.signin import SignIn
from bot.server import Services

log = logging.getLogger(__name__)

# What this channel declares when it is mounted. Teams lets a bot post 7 messages a second and 60 in 30 s
# per conversation and answers more with 429: the outbox keeps each conversation within both.
CHANNEL = ChannelInfo(PLATFORM, threads=True, rate_limits=(RateLimit(7, 1.0), RateLimit(60, 30.0)))
KEYS_REFRESH_SECONDS = 6 * 3600.0
NOT_AN_ACTIVITY = "the body is not a Bot Framework activity"
DEPTH_MAX = 64  # JSON nesting: a Teams activity with a card submit in it is about ten deep
ID_MAX = 200  # the desk keeps conversation and user ids in 200-character columns


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
        signin = SignIn(services.sessions, services.clock, services.secret_key, services.config.organisation.base_url)
        self.bot = ZonedeskBot(services.desk, self.people, self.references, self.dialogs, self.signer,
                               app_id=settings.app_id, signin=signin)
        self.sender = TeamsSender(self.adapter, self.references, services.directory, self.signer,
                                  app_id=settings.app_id, invalidate_tokens=self.credentials.invalidate)
        if isinstance(services.desk.files, Files):  # files people attach: fetched when opened on the web
            services.desk.files.sources[PLATFORM] = TeamsFiles(self.connector_token)

    async def connector_token(self) -> str:
        """The bot's token for the connector (from the shared cache), to fetch a picture someone attached."""
        credentials = await self.credentials.create_credentials(self.settings.app_id, CHANNEL_SCOPE,
                                                                self.settings.login_url, True)
        return str(credentials.get_access_token())

    async def route(self, request: web.Request) -> web.StreamResponse:
        """`POST /api/messages`."""
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not token or token != token.strip() or " " in token:
            log.info("teams: refused a request without a bearer token")
            return unauthorized()
        if "json" not in (request.content_type or ""):
            return await self._refuse(header, 415, "expected application/json")
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:  # Teams sends at most a few dozen KB; say so as for any refusal
            return await self._refuse(header, 413, f"the activity is larger than {request.client_max_size:,} bytes")
        body = parse_json(raw)
        if not isinstance(body, dict):
            return await self._refuse(header, 400, NOT_AN_ACTIVITY)
        if not isinstance(body.get("serviceUrl"), str) or not body["serviceUrl"]:
            # Nothing to hold the token's `serviceurl` claim against: the SDK would skip that check and accept.
            log.info("teams: refused an activity without a serviceUrl")
            return unauthorized()
        problem = well_formed(body)
        try:
            activity = Activity().deserialize(body) if problem is None else None
        except (ValueError, TypeError, AttributeError, RecursionError):  # msrest's DeserializationError is a ValueError
            activity = None
        if activity is None:
            if problem:
                log.info("teams: refused a malformed activity: %s", problem)
            return await self._refuse(header, 400, NOT_AN_ACTIVITY)
        try:
            authenticated = await self.authentication.authenticate_request(activity, header)
        except Exception as exc:  # the SDK raises many kinds (PermissionError, jwt errors, KeyError...): all 401
            log.info("teams: refused a token: %s", describe(exc))
            return unauthorized()
        invoke = await self.adapter.process_activity(authenticated, activity, self.bot.on_turn)
        if invoke is None:
            return web.Response(status=200)
        return invoke_http_response(invoke.status, invoke.body)

    async def _refuse(self, header: str, status: int, error: str) -> web.Response:
        """The answer to a body we cannot act on: `status` for a genuine token (checked without an activity,
        so without the `serviceurl` claim), else 401 like any other request with a bad token."""
        try:
            await self.authentication.authenticate_token(header)
        except Exception as exc:
            log.info("teams: refused a token: %s", describe(exc))
            return unauthorized()
        return web.json_response({"error": error}, status=status)

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


def parse_json(raw: bytes) -> Any:
    """A body's JSON, or None: not JSON, nested deeper than any activity is, or with text that is not
    Unicode (a lone surrogate escape, which no database or JSON encoder downstream accepts)."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
    stack: list[tuple[Any, int]] = [(body, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return None
        elif isinstance(value, dict | list):
            if depth > DEPTH_MAX:
                return None
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    stack.append((key, depth))
                stack.append((item, depth + 1))
    return body


def well_formed(body: dict[str, Any]) -> str | None:
    """Why a JSON object is not an activity as Teams sends it (None when it is).

    The SDK's models accept nearly anything and fail later, deep inside a turn (a `from` missing, a
    `channelData` that is a string, an invoke without a value object): such a body is a 400 here, before
    anything runs. Ids go into connector URL paths and into the desk's columns, so they must be printable
    without spaces, not "." or "..", and at most `ID_MAX` long, as every id Teams makes is.
    """
    kind = body.get("type")
    if not isinstance(kind, str) or not kind:
        return "no type"
    if not _id(body.get("id"), required=False) or not _id(body.get("replyToId"), required=False):
        return "a malformed id"
    for name, required in (("conversation", True), ("from", True), ("recipient", False)):
        part = body.get(name)
        if part is None and not required:
            continue
        if not isinstance(part, dict) or not _id(part.get("id"), required=True):
            return f"no {name} id"
        if not _id(part.get("aadObjectId"), required=False):
            return f"a malformed {name} aadObjectId"
    data = body.get("channelData")
    if not isinstance(data, dict):  # Teams always sends it; the SDK's roster lookups read it unguarded
        return "channelData is no object"
    for name in ("tenant", "team", "channel"):
        part = data.get(name)  # the SDK reads team["id"]
        if part is not None and (not isinstance(part, dict) or not _id(part.get("id"), required=name == "team")):
            return f"channelData.{name} is no object with an id"
    if kind == "invoke" and not isinstance(body.get("value"), dict):
        return "an invoke without a value object"
    for name in ("text", "name", "locale", "channelId"):
        if body.get(name) is not None and not isinstance(body[name], str):
            return f"{name} is no string"
    entities = body.get("entities")
    if entities is not None and (not isinstance(entities, list) or not all(isinstance(e, dict) for e in entities)):
        return "entities is no list of objects"
    return None


def _id(value: Any, *, required: bool) -> bool:
    if value is None:
        return not required
    return (isinstance(value, str) and 0 < len(value) <= ID_MAX and value.strip(".") != "" and value.isprintable()
            and " " not in value)


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
    services.enable(CHANNEL, runtime.sender)
    services.periodic.append(("teams-signing-keys", KEYS_REFRESH_SECONDS, runtime.refresh_keys))
    return runtime
