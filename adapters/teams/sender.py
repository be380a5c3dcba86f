"""The Teams side of the durable outbox: render a delivery as an Adaptive Card and send it through the connector.

Where a delivery goes:

- replies, confirmations and status lines: the requester's conversation, through the reference stored
  when the request was filed (`teams:conv:<conversation id>`; a channel thread's id keeps `;messageid=`);
- triage announcements and tasks for a channel: a new thread in that channel (`create_conversation`),
  whose id is returned so replies in it become internal notes;
- direct messages: the person's personal chat with the bot, started if the bot has never been in it;
- replacements (`replace` rows): the card sent before is updated in place (`update_activity`, through the
  stored reference of its conversation), by the conversation and activity id its send returned.

Errors are sorted for the worker: 429, 412, 502, 504 (and other 5xx) are retries no sooner than
Retry-After when the connector gives one; a refused token (401) drops the cached token and retries; a
missing conversation or a bot the person removed (403, 404) is permanent.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

import aiohttp
import requests
from botbuilder.core import BotAdapter, TurnContext
from botbuilder.schema import Activity, ChannelAccount, ConversationParameters, ConversationReference
from botframework.connector.models import ErrorResponseException
from msrest.exceptions import ClientRequestError

from adapters.teams import cards
from adapters.teams.cards import DIALOG, Signer
from adapters.teams.conversations import (
    CHANNEL,
    PERSONAL,
    PLATFORM,
    SERVICE_KEY,
    References,
    channel_key,
    conv_key,
    kind_of_id,
    user_key,
)
from adapters.teams.people import http_status
from bot.delivery.messages import Message
from bot.delivery.outbox import REPLACE, Delivery, Failed, Retry, SendResult, Sent
from bot.i18n import _, speaking
from bot.people.identity import Directory

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 412, 429, 500, 502, 503, 504})
THREAD_KINDS = frozenset({"confirmation", "thread_reply", "status"})


class TeamsSender:
    """Posts outbox rows to Teams."""

    def __init__(self, adapter: BotAdapter, references: References, directory: Directory, signer: Signer, *,
                 app_id: str, invalidate_tokens: Any = None) -> None:
        self.adapter = adapter
        self.references = references
        self.directory = directory
        self.signer = signer
        self.app_id = app_id
        self.bot_id = f"28:{app_id}"
        self.invalidate_tokens = invalidate_tokens

    async def send(self, item: Delivery) -> SendResult:
        """Deliver one row; never raises for platform errors."""
        try:
            return await self._send(item)
        except ErrorResponseException as exc:
            return self.classify(exc)
        except PermissionError as exc:  # no outbound token (the token endpoint refused or is down)
            return Retry(f"no Bot Framework token: {exc}")
        except (ClientRequestError, requests.RequestException, aiohttp.ClientError, OSError, TimeoutError) as exc:
            return Retry(f"Teams unreachable: {type(exc).__name__}")

    def classify(self, exc: ErrorResponseException) -> SendResult:
        """Retry or give up, from the connector's answer."""
        response = exc.response
        status = http_status(exc)
        headers = getattr(response, "headers", None) or {}
        code = ""
        error = getattr(exc, "error", None)
        if error is not None and getattr(error, "error", None) is not None:
            code = str(getattr(error.error, "code", "") or "")
        if status == 401:
            if self.invalidate_tokens is not None:
                self.invalidate_tokens()
            return Retry("the connector refused our token (401); fetching a new one")
        if status in RETRY_STATUSES:
            return Retry(f"Teams answered {status}{f' {code}' if code else ''}", after=retry_after(headers))
        return Failed(f"Teams answered {status}{f' {code}' if code else ''}")

    async def _send(self, item: Delivery) -> SendResult:
        message, channel = item.message, item.channel
        if item.kind == REPLACE:
            return await self._update(item)
        if item.direct or channel is None:
            return await self._direct(item.target, message)
        if item.kind in ("triage", "task", "report", "digest"):  # a new post that starts its own thread
            return await self._new_thread(channel, message)
        return await self._to_conversation(item, channel, message)

    # ---------------------------------------------------------------- rendering
    def activity(self, message: Message, kind: str, conversation_kind: str) -> Activity:
        """The message as a card; in a chat (no threads) a requester's message gets an "Add a comment" button.

        The card's own words are in the message's language (stamped when it was queued), like its text."""
        with speaking(message.language):
            extra: tuple[dict[str, Any], ...] = ()
            number = message.extra.get("number")
            if kind in THREAD_KINDS and conversation_kind != CHANNEL and number:
                extra = ({"type": "Action.Submit", "title": _("Add a comment"),
                          "data": {"msteams": {"type": "task/fetch"}, DIALOG: "comment", "number": str(number)}},)
            card = cards.render_card(message, self.signer, extra_actions=extra)
        return cards.card_activity(card, message.plain())

    # ---------------------------------------------------------------- destinations
    async def _to_conversation(self, item: Delivery, conversation_id: str, message: Message) -> SendResult:
        reference = await self.references.load(conv_key(conversation_id))
        if reference is None:
            return Failed(f"no conversation reference stored for {conversation_id}")
        kind = kind_of_id(conversation_id, reference.conversation.conversation_type)
        sent = await self._continue(reference, self.activity(message, item.kind, kind))
        return Sent({"channel": conversation_id, "thread": item.target.get("thread"), "id": sent})

    async def _continue(self, reference: ConversationReference, activity: Activity) -> str | None:
        posted: list[str | None] = []

        async def deliver(turn: TurnContext) -> None:
            turn.activity.id = None  # a new message in the conversation, not a reply to the continuation event
            response = await turn.send_activity(activity)
            posted.append(response.id if response is not None else None)

        await self.adapter.continue_conversation(reference, deliver, self.app_id)
        return posted[0] if posted else None

    async def _update(self, item: Delivery) -> SendResult:
        """Change a card sent before in place, in the conversation and under the activity id its send returned."""
        earlier = item.replaces or {}
        conversation, activity_id = earlier.get("channel"), earlier.get("id")
        if not conversation or not activity_id:
            return Failed("the card to update left no Teams conversation and activity id")
        user = str(item.target.get("user") or "")
        stored = await self.references.load(user_key(user)) if item.direct and user else None
        stored = stored or await self.references.load(conv_key(str(conversation)))
        if stored is None:
            return Failed(f"no conversation reference stored for {conversation}")
        reference = copy.deepcopy(stored)
        reference.conversation.id = str(conversation)
        activity = self.activity(item.message, item.kind, kind_of_id(str(conversation),
                                                                      reference.conversation.conversation_type))
        activity.id = str(activity_id)

        async def update(turn: TurnContext) -> None:
            await turn.update_activity(activity)

        await self.adapter.continue_conversation(reference, update, self.app_id)
        return Sent({"channel": conversation, "id": activity_id, "updated": True})

    async def _new_thread(self, channel: str, message: Message) -> SendResult:
        reference = await self.references.load(channel_key(channel)) or await self.references.load(SERVICE_KEY)
        if reference is None or not reference.service_url:
            return Retry("the bot has not heard from Teams yet, so it knows no service URL to post with")
        tenant = reference.conversation.tenant_id if reference.conversation else None
        parameters = ConversationParameters(
            is_group=True, bot=ChannelAccount(id=self.bot_id), tenant_id=tenant,
            channel_data={"channel": {"id": channel}, **({"tenant": {"id": tenant}} if tenant else {})},
            activity=self.activity(message, "triage", CHANNEL))
        started: list[tuple[str, str]] = []

        async def created(turn: TurnContext) -> None:
            started.append((turn.activity.conversation.id, str(turn.activity.id)))

        await self.adapter.create_conversation(self.app_id, created, parameters, reference.channel_id or "msteams",
                                               reference.service_url)
        conversation_id, root = started[0]
        return Sent({"channel": conversation_id, "thread": root})

    async def _direct(self, target: dict[str, Any], message: Message) -> SendResult:
        user = str(target.get("user") or "")
        if not user and target.get("email"):
            known = await self.directory.users_of(str(target["email"]), PLATFORM)
            user = known[0][0] if known else ""
        if not user:
            return Failed("this person has no Teams account we know of")
        activity = self.activity(message, "dm", PERSONAL)
        reference = await self.references.load(user_key(user))
        if reference is not None:
            sent = await self._continue(reference, activity)
            return Sent({"channel": reference.conversation.id, "id": sent})
        data = next((d for u, d in await self.directory.users_of(str(target.get("email") or ""), PLATFORM)
                     if u == user), None) if target.get("email") else None
        service = await self.references.load(SERVICE_KEY)
        service_url = (data or {}).get("service_url") or (service.service_url if service else None)
        if not data or not data.get("id") or not service_url:
            return Failed("this person has not used Zonedesk in Teams yet")
        tenant = data.get("tenant")
        parameters = ConversationParameters(is_group=False, bot=ChannelAccount(id=self.bot_id),
                                            members=[ChannelAccount(id=str(data["id"]))], tenant_id=tenant,
                                            channel_data={"tenant": {"id": tenant}} if tenant else None,
                                            activity=activity)
        started: list[tuple[str, str]] = []

        async def created(turn: TurnContext) -> None:
            posted = str(turn.activity.id)  # the card's activity id, sent with the new conversation
            turn.activity.conversation.conversation_type = PERSONAL
            turn.activity.from_property = ChannelAccount(id=str(data["id"]), aad_object_id=user)
            reference = TurnContext.get_conversation_reference(turn.activity)
            await self.references.save(user_key(user), reference)
            started.append((turn.activity.conversation.id, posted))

        await self.adapter.create_conversation(self.app_id, created, parameters, "msteams", service_url)
        if not started:
            return Sent({"channel": None})
        return Sent({"channel": started[0][0], "id": started[0][1]})


def retry_after(headers: Any) -> float | None:
    """Seconds from a Retry-After header (delta seconds), if any."""
    value = headers.get("Retry-After") or headers.get("retry-after") if hasattr(headers, "get") else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None
