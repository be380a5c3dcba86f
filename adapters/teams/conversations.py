"""Teams conversations: which kind an activity came from, its thread, and the references that reach it later.

Conventions (the core stores them in `Origin` and thread links, the sender reads them back):

- a **channel thread** is the conversation id Teams gives it, `19:...@thread.tacv2;messageid=<root>`;
  `Origin.channel` keeps that whole id and `Origin.thread` the root message id, so a reply in the thread
  (same conversation id) finds its request, and a message sent to that id lands in the thread;
- a **personal or group chat** has no threads: `Origin.channel` is the chat's id, `Origin.thread` None;
- references are stored through `Directory.save_reference` under `teams:conv:<conversation id>` (where
  replies go), `teams:user:<AAD object id>` (the person's personal chat with the bot) and
  `teams:channel:<channel id>` / `teams:service` (a service URL and tenant for new channel posts).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ConversationReference
from msrest.serialization import Model

from bot.people.identity import Directory

PLATFORM = "teams"
PERSONAL, CHANNEL, GROUP = "personal", "channel", "groupChat"
THREAD_MARK = ";messageid="
KEY_MAX = 300  # the inbound table's key column


def tenant_of(activity: Activity) -> str | None:
    """The tenant id, wherever this activity carries it."""
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = (data.get("tenant") or {}).get("id")
    conversation = activity.conversation
    if not tenant and conversation is not None:
        tenant = conversation.tenant_id or (conversation.additional_properties or {}).get("tenantId")
    return str(tenant) if tenant else None


def base_conversation(conversation_id: str) -> str:
    """A channel thread's channel id (`19:...@thread.tacv2`), or the conversation id itself."""
    return conversation_id.split(THREAD_MARK, 1)[0]


def kind_of_id(conversation_id: str, declared: str | None = None) -> str:
    """personal, channel or groupChat, from Teams' own label or else from the shape of the id."""
    if declared in (PERSONAL, CHANNEL, GROUP):
        return declared
    if THREAD_MARK in conversation_id or conversation_id.endswith(("@thread.tacv2", "@thread.skype")):
        return CHANNEL
    if conversation_id.endswith("@thread.v2"):
        return GROUP
    return PERSONAL


def kind_of(activity: Activity) -> str:
    """The kind of conversation an activity came from."""
    conversation = activity.conversation
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    if data.get("channel") and conversation is not None and conversation.conversation_type is None:
        return CHANNEL
    return kind_of_id(conversation.id if conversation else "", conversation.conversation_type if conversation else None)


def thread_of(activity: Activity) -> tuple[str, str]:
    """(conversation id with `;messageid=`, root message id) of a channel message; a new post is its own root."""
    conversation_id = activity.conversation.id
    if THREAD_MARK in conversation_id:
        return conversation_id, conversation_id.split(THREAD_MARK, 1)[1]
    return f"{conversation_id}{THREAD_MARK}{activity.id}", str(activity.id)


def activity_key(activity: Activity) -> str:
    """The de-duplication key of an activity: `teams:activity:<conversation>:<id>`.

    Teams message ids are epoch milliseconds, unique only inside a conversation, so the channel or chat
    is part of the key; an over-long key is hashed to fit the inbound table.
    """
    conversation = base_conversation(activity.conversation.id if activity.conversation else "")
    key = f"teams:activity:{conversation}:{activity.id}"
    if len(key) > KEY_MAX:
        key = "teams:activity:sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def reference_to_dict(reference: ConversationReference) -> dict[str, Any]:
    """A JSON-ready conversation reference (the SDK's own serialisation)."""
    return dict(reference.serialize())


def reference_from_dict(data: dict[str, Any]) -> ConversationReference:
    """The inverse of `reference_to_dict`."""
    return ConversationReference().deserialize(data)


def deserialize(model: type[Model], data: Any) -> Model:
    """`data` read as a `model` (an invoke's value, say); msrest raises a ValueError when it does not fit."""
    read: Callable[[Any], Model] = model.deserialize  # msrest leaves this classmethod without annotations
    return read(data)


def conv_key(conversation_id: str) -> str:
    """Where the reference of a conversation (a chat, or one channel thread) is kept."""
    return f"teams:conv:{conversation_id}"


def user_key(aad_object_id: str) -> str:
    """Where a person's personal chat with the bot is kept."""
    return f"teams:user:{aad_object_id}"


def channel_key(channel_id: str) -> str:
    """Where a reference into a channel (its service URL and tenant) is kept, for new posts there."""
    return f"teams:channel:{base_conversation(channel_id)}"


SERVICE_KEY = "teams:service"


class References:
    """Conversation references in the core's directory, written only when they change (a per-process memo)."""

    def __init__(self, directory: Directory, max_age: float = 300.0) -> None:
        self.directory = directory
        self.max_age = max_age
        self._written: dict[str, dict[str, Any]] = {}
        # key -> (monotonic time, reference); references are never changed once made, only replaced
        self._read: dict[str, tuple[float, ConversationReference | None]] = {}

    async def save(self, key: str, reference: ConversationReference | dict[str, Any]) -> None:
        """Store a reference unless this process stored the same one already."""
        data = reference_to_dict(reference) if isinstance(reference, ConversationReference) else dict(reference)
        data.pop("activityId", None)  # a later message is not a reply to this one
        if self._written.get(key) == data:
            return
        await self.directory.save_reference(key, PLATFORM, data)
        self._written[key] = data
        self._read.pop(key, None)

    async def load(self, key: str) -> ConversationReference | None:
        """A stored reference, if any (read through a short per-process cache: every send needs one).

        The SDK only reads a reference when it continues a conversation, so one object serves every send.
        """
        cached = self._read.get(key)
        if cached is not None and cached[1] is not None and time.monotonic() - cached[0] < self.max_age:
            return cached[1]
        data = await self.directory.reference(key)
        reference = reference_from_dict(data) if data else None
        self._read[key] = (time.monotonic(), reference)
        return reference

    async def remember_turn(self, turn: TurnContext, conversation_id: str | None = None) -> None:
        """Keep what later messages need: this conversation (or the thread id given), the person's personal
        chat, the channel, and the service URL of the tenant. Built as plain dicts: this runs on every
        personal-chat turn, and the SDK's own serialisation cost milliseconds."""
        activity = turn.activity
        kind = kind_of(activity)
        conversation = conversation_id or activity.conversation.id
        tenant = tenant_of(activity)
        common = {"bot": _account(activity.recipient), "channelId": activity.channel_id,
                  "serviceUrl": activity.service_url}
        here = {**common, "user": _account(activity.from_property), "locale": activity.locale,
                "conversation": _conversation(conversation, kind, tenant)}
        await self.save(conv_key(conversation), here)
        account = activity.from_property
        if kind == PERSONAL and account is not None:
            await self.save(user_key(account.aad_object_id or account.id), here)
        if kind == CHANNEL:
            channel = base_conversation(conversation)
            await self.save(channel_key(channel), {**common, "conversation": _conversation(channel, CHANNEL, tenant)})
        await self.save(SERVICE_KEY, {**common, "conversation": _conversation("", None, tenant)})


def _account(account: Any) -> dict[str, Any] | None:
    if account is None:
        return None
    data = {"id": account.id, "name": account.name, "aadObjectId": account.aad_object_id}
    return {k: v for k, v in data.items() if v is not None}


def _conversation(conversation_id: str, kind: str | None, tenant: str | None) -> dict[str, Any]:
    data = {"id": conversation_id, "conversationType": kind, "tenantID": tenant}
    return {k: v for k, v in data.items() if v is not None}
