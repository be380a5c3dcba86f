"""Outbox messages keep their stored JSON shape: what was queued before an upgrade still renders after it."""

from __future__ import annotations

import json
from dataclasses import asdict

from bot.delivery.messages import Button, Message


def test_a_message_round_trips_through_its_stored_form() -> None:
    message = Message(text="VPN drops <!channel>", title="Request #7", author="Alexis",
                      fields=(("Zone", "IT"), ("Priority", "high")),
                      buttons=(Button("claim", "Claim", "7", "primary"), Button("reply", "Reply", "7")),
                      link="https://desk.example/requests/7", link_label="Open", footer="internal",
                      extra={"number": 7, "nested": {"a": [1, 2]}})
    stored = json.loads(json.dumps(message.to_dict()))
    assert Message.from_dict(stored) == message
    legacy = asdict(message)  # the shape rows written by earlier versions have
    legacy["fields"] = [list(f) for f in message.fields]
    assert stored == json.loads(json.dumps(legacy))


def test_the_stored_form_does_not_share_state_with_the_message() -> None:
    message = Message(text="x", extra={"nested": {"a": 1}})
    stored = message.to_dict()
    stored["extra"]["nested"]["a"] = 2
    assert message.extra == {"nested": {"a": 1}}
