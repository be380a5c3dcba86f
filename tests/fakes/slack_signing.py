"""Signed requests in Slack's real shapes: events, slash commands and interactions, for driving POST /slack/events.

Inbound verification must run for real in tests, so bodies are signed exactly as Slack signs them (v0, HMAC-SHA256
over ``v0:{timestamp}:{body}``) and verified by bolt's own code, never bypassed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

from tests.fakes.slack_api import BOT_USER_ID

TRIGGER_ID = "13345224609.738474920.8088930838d88f008e0"
RESPONSE_URL = "https://hooks.slack.com/commands/T1/1234567890/abcdefABCDEF"  # pass fake.response_url() instead
VERIFICATION_TOKEN = "legacy-verification-token"  # deprecated by Slack, still sent; we must not rely on it

Payload = dict[str, Any]


def sign_request(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers Slack sends with ``body``: timestamp, v0 signature, and the content type the body implies."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    json_body = body.lstrip().startswith(b"{")
    return {
        "Content-Type": "application/json" if json_body else "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
    }


def event_body(
    event: Payload, event_id: str, team_id: str = "T1", api_app_id: str = "A1", event_time: int | None = None
) -> bytes:
    """An Events API ``event_callback`` envelope around ``event``, as Slack posts it."""
    envelope = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()) if event_time is None else event_time,
        "authorizations": [
            {"enterprise_id": None, "team_id": team_id, "user_id": BOT_USER_ID, "is_bot": True,
             "is_enterprise_install": False}
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{event_id}",
    }
    return json.dumps(envelope).encode()


def command_body(
    command: str,
    text: str,
    user_id: str,
    channel_id: str,
    trigger_id: str = TRIGGER_ID,
    response_url: str = RESPONSE_URL,
    *,
    team_id: str = "T1",
    user_name: str = "someone",
    channel_name: str = "general",
    api_app_id: str = "A1",
) -> bytes:
    """A slash command, form-urlencoded with the fields (and order) Slack sends."""
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": "acme",
        "channel_id": channel_id,
        "channel_name": "directmessage" if channel_id.startswith("D") else channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }
    return urlencode(fields).encode()


def interaction_body(payload: Payload) -> bytes:
    """An interactivity request: Slack form-encodes a single ``payload`` field holding JSON."""
    return urlencode({"payload": json.dumps(payload)}).encode()


def _user(user_id: str, team_id: str) -> Payload:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id}


def _team(team_id: str) -> Payload:
    return {"id": team_id, "domain": "acme"}


def block_actions_payload(
    action_id: str,
    value: str = "",
    *,
    user_id: str = "U1",
    block_id: str = "b1",
    action_type: str = "button",
    channel_id: str | None = "C1",
    message_ts: str = "1700000000.000100",
    view: Payload | None = None,
    team_id: str = "T1",
    trigger_id: str = TRIGGER_ID,
    response_url: str = RESPONSE_URL,
) -> Payload:
    """A click on a button (or a select choice) in a message, or in ``view`` (a modal or App Home) when given."""
    action: Payload = {"action_id": action_id, "block_id": block_id, "type": action_type,
                       "action_ts": f"{time.time():.6f}"}
    if action_type.endswith("select"):
        action["selected_option"] = {"text": {"type": "plain_text", "text": value}, "value": value}
    else:
        action.update(value=value, text={"type": "plain_text", "text": value or action_id, "emoji": True})
    payload: Payload = {
        "type": "block_actions",
        "user": _user(user_id, team_id),
        "api_app_id": "A1",
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "team": _team(team_id),
        "enterprise": None,
        "is_enterprise_install": False,
        "actions": [action],
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id", "V1")}
        payload["view"] = view
        payload["state"] = view.get("state", {"values": {}})
    else:
        payload["container"] = {"type": "message", "message_ts": message_ts, "channel_id": channel_id,
                                "is_ephemeral": False}
        payload["channel"] = {"id": channel_id, "name": "general"}
        payload["message"] = {"type": "message", "user": BOT_USER_ID, "ts": message_ts, "text": "", "blocks": []}
        payload["state"] = {"values": {}}
        payload["response_url"] = response_url
    return payload


def view_submission_payload(
    callback_id: str,
    values: dict[str, dict[str, Any]],
    *,
    user_id: str = "U1",
    private_metadata: str = "",
    view_id: str = "V1",
    team_id: str = "T1",
    trigger_id: str = TRIGGER_ID,
) -> Payload:
    """A modal submission. ``values`` is ``{block_id: {action_id: state}}``; a plain string state is shorthand
    for a ``plain_text_input`` with that value."""
    state = {
        block: {action: {"type": "plain_text_input", "value": v} if isinstance(v, str) else v
                for action, v in actions.items()}
        for block, actions in values.items()
    }
    return {
        "type": "view_submission",
        "team": _team(team_id),
        "user": _user(user_id, team_id),
        "api_app_id": "A1",
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "view": {
            "id": view_id, "team_id": team_id, "type": "modal", "blocks": [], "private_metadata": private_metadata,
            "callback_id": callback_id, "state": {"values": state}, "hash": f"{int(time.time())}.abc",
            "title": {"type": "plain_text", "text": "Zonedesk"}, "clear_on_close": False, "notify_on_close": False,
            "close": {"type": "plain_text", "text": "Cancel"}, "submit": {"type": "plain_text", "text": "Submit"},
            "previous_view_id": None, "root_view_id": view_id, "app_id": "A1", "external_id": "",
            "app_installed_team_id": team_id, "bot_id": "BBOT",
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def message_shortcut_payload(
    callback_id: str,
    *,
    user_id: str = "U1",
    channel_id: str = "C1",
    message_ts: str = "1700000000.000100",
    message_text: str = "my laptop will not boot",
    message_user: str = "U2",
    team_id: str = "T1",
    trigger_id: str = TRIGGER_ID,
    response_url: str = RESPONSE_URL,
) -> Payload:
    """A message shortcut ("..." menu on a message): Slack's ``message_action`` payload."""
    return {
        "type": "message_action",
        "token": VERIFICATION_TOKEN,
        "action_ts": f"{time.time():.6f}",
        "team": _team(team_id),
        "user": {"id": user_id, "name": user_id.lower(), "team_id": team_id},
        "channel": {"id": channel_id, "name": "general"},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id,
        "message_ts": message_ts,
        "message": {"type": "message", "text": message_text, "user": message_user, "ts": message_ts,
                    "team": team_id},
        "response_url": response_url,
    }
