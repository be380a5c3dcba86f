"""The Slack side of the durable outbox: render a delivery as Block Kit and post it.

Errors are sorted for the worker: 429 is a retry no sooner than Retry-After; 5xx, timeouts, refused
connections and Slack's own transient errors are retries with back-off; an answer such as
`channel_not_found` is permanent. Authentication errors are retried (until `give_up_after`), so a
revoked token that an operator replaces does not lose the messages queued meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import render_message
from adapters.slack.people import SlackPeople
from bot.delivery.outbox import REPLACE, Delivery, Failed, Retry, SendResult, Sent

log = logging.getLogger(__name__)

METADATA_EVENT = "zonedesk_outbox"  # message metadata naming the outbox row, to find a post after a crash
SENDS_AT_ONCE = 4  # Web API calls in flight per process; the outbox worker hands over more than that
TRANSIENT = frozenset({
    "ratelimited", "rate_limited", "service_unavailable", "fatal_error", "internal_error", "request_timeout",
    "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "team_added_to_org",
})


class SlackSender:
    """Posts outbox rows to Slack: thread replies, confirmations, triage announcements, tasks and DMs."""

    def __init__(self, client: AsyncWebClient, people: SlackPeople) -> None:
        self.client = client
        self.people = people
        self.pause: Callable[[], Awaitable[None]] = _nothing  # the runtime lets acknowledgements go first
        self._gate = asyncio.Semaphore(SENDS_AT_ONCE)

    async def send(self, item: Delivery) -> SendResult:
        """Deliver one row; never raises for platform errors."""
        try:
            return await self._send(item)
        except SlackApiError as exc:
            return classify(exc)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return Retry(f"Slack unreachable: {type(exc).__name__}")

    async def _send(self, item: Delivery) -> SendResult:
        if item.kind == REPLACE:
            return await self._update(item)
        channel, thread = item.channel, item.target.get("thread")
        if item.direct or channel is None:
            channel, thread = await self._direct_channel(item.target), None
            if channel is None:
                return Failed("this person has no Slack account we know of")
        text, blocks = render_message(item.message)
        async with self._gate:
            await self.pause()  # acknowledgements first (adapters/slack/acks.py)
            if item.maybe_sent:
                earlier = await self._posted_before(channel, thread, item.id)
                if earlier is not None:
                    log.info("slack: outbox row %s was posted before a crash; not posting it again", item.id)
                    return Sent({"channel": channel, "ts": earlier, "thread": thread or earlier})
            response = await self.client.chat_postMessage(
                channel=channel, thread_ts=thread, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False,
                metadata={"event_type": METADATA_EVENT, "event_payload": {"outbox_id": item.id}},
            )
        posted_channel = response.get("channel") or channel
        ts = response.get("ts")
        return Sent({"channel": posted_channel, "ts": ts, "thread": thread or ts})

    async def _update(self, item: Delivery) -> SendResult:
        """Change a message posted before (`chat.update` on the channel and ts its row's send returned)."""
        earlier = item.replaces or {}
        channel, ts = earlier.get("channel"), earlier.get("ts")
        if not channel or not ts:
            return Failed("the message to update left no Slack channel and ts")
        text, blocks = render_message(item.message)
        async with self._gate:
            await self.pause()
            await self.client.chat_update(channel=str(channel), ts=str(ts), text=text, blocks=blocks)
        return Sent({"channel": channel, "ts": ts, "updated": True})

    async def _posted_before(self, channel: str, thread: str | None, outbox_id: int) -> str | None:
        """The ts of a message this row already posted (found by its metadata), if Slack has it."""
        try:
            if thread:
                found = await self.client.conversations_replies(channel=channel, ts=thread, limit=200,
                                                                include_all_metadata=True)
            else:
                found = await self.client.conversations_history(channel=channel, limit=100, include_all_metadata=True)
        except SlackApiError as exc:
            log.warning("slack: cannot check whether row %s was posted (%s); posting", outbox_id,
                        exc.response.get("error") if exc.response is not None else exc)
            return None
        for posted in found.get("messages") or []:
            meta = posted.get("metadata") or {}
            payload = meta.get("event_payload") or {}
            if meta.get("event_type") == METADATA_EVENT and payload.get("outbox_id") == outbox_id:
                return str(posted.get("ts"))
        return None

    async def _direct_channel(self, target: dict[str, Any]) -> str | None:
        user = target.get("user")
        if not user and target.get("email"):
            known = await self.people.user_ids(str(target["email"]))
            user = known[0] if known else None
        if not user:
            return None
        opened = await self.client.conversations_open(users=user)
        return str((opened.get("channel") or {}).get("id") or user)


def classify(exc: SlackApiError) -> SendResult:
    """Retry or give up, from a Slack Web API error."""
    response = exc.response
    status = getattr(response, "status_code", None) or getattr(response, "status", None) or 0
    headers = getattr(response, "headers", None) or {}
    if status == 429:
        after = _seconds(headers.get("Retry-After") or headers.get("retry-after"))
        return Retry("rate limited by Slack (429)", after=after if after is not None else 30.0)
    if status >= 500:
        return Retry(f"Slack answered {status}")
    data = getattr(response, "data", None)
    error = str(data.get("error")) if isinstance(data, dict) and data.get("error") else f"HTTP {status}"
    if error in TRANSIENT:
        return Retry(f"Slack: {error}", after=_seconds(headers.get("Retry-After") or headers.get("retry-after")))
    return Failed(f"Slack: {error}")


async def _nothing() -> None:
    return None


def _seconds(value: Any) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None
