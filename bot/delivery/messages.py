"""Platform-neutral outbound messages: text, fields, buttons. Adapters render them (Block Kit, cards, HTML).

Text here is plain user text, never markup: each renderer escapes it for its platform. Messages are
stored in the outbox as JSON, so they round-trip through `to_dict` / `from_dict`. A message is written
in its recipient's language when it is queued, and carries that language (`language`), so any word a
renderer adds of its own (a fallback text, an "Open" button) is said in it too.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

_IMMUTABLE = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class Button:
    """A button; `action` names what the core does when clicked, `value` carries its argument."""

    action: str
    label: str
    value: str
    style: str | None = None  # "primary" | "danger" | None


@dataclass(frozen=True)
class Message:
    """One outbound message."""

    text: str
    title: str | None = None
    author: str | None = None
    fields: tuple[tuple[str, str], ...] = ()
    buttons: tuple[Button, ...] = ()
    link: str | None = None
    link_label: str | None = None
    footer: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    language: str | None = None  # the language its words are in (set when queued)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form for the outbox."""
        # By hand: dataclasses.asdict deep-copies every value, and this runs for every outbox row.
        return {
            "text": self.text, "title": self.title, "author": self.author,
            "fields": [[name, value] for name, value in self.fields],
            "buttons": [{"action": b.action, "label": b.label, "value": b.value, "style": b.style}
                        for b in self.buttons],
            "link": self.link, "link_label": self.link_label, "footer": self.footer, "language": self.language,
            "extra": {key: value if isinstance(value, _IMMUTABLE) else copy.deepcopy(value)
                      for key, value in self.extra.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        """The inverse of `to_dict`."""
        return cls(
            text=data.get("text", ""),
            title=data.get("title"),
            author=data.get("author"),
            fields=tuple((str(a), str(b)) for a, b in data.get("fields", [])),
            buttons=tuple(Button(**b) for b in data.get("buttons", [])),
            link=data.get("link"),
            link_label=data.get("link_label"),
            footer=data.get("footer"),
            extra=dict(data.get("extra") or {}),
            language=data.get("language"),
        )

    def plain(self) -> str:
        """The message as plain text (fallback text for notifications and logs at debug level)."""
        parts = [p for p in (self.title, self.text) if p]
        parts += [f"{k}: {v}" for k, v in self.fields]
        return "\n".join(parts)
