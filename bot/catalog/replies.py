"""Saved replies: Jinja2 templates in `saved_replies/`, rendered in a sandbox for one request.

A file starts with a short YAML header between `---` lines (title, zones), then the template:

    ---
    title: Access granted
    zones: [it]
    ---
    Hi {{ requester.first_name }}, you now have access. ...

Rendering uses Jinja2's immutable sandbox with StrictUndefined: `{{ ''.__class__ }}` and friends are
refused, and an unknown variable is an error the agent sees, so nothing half-filled is ever sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bot.errors import DeskError

_ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
MAX_TEMPLATE = 20_000


@dataclass(frozen=True)
class SavedReply:
    """One saved reply."""

    name: str
    title: str
    zones: tuple[str, ...]
    source: str

    def allowed_in(self, zone_id: str) -> bool:
        """Scoped to the request's zone (no zones listed: every zone)."""
        return not self.zones or zone_id in self.zones


def parse_saved_reply(path: Path) -> SavedReply:
    """Read one file; raises ValueError with what is wrong."""
    text = path.read_text(encoding="utf-8")
    if len(text) > MAX_TEMPLATE:
        raise ValueError(f"too long ({len(text):,} characters; at most {MAX_TEMPLATE:,})")
    if not text.startswith("---"):
        raise ValueError("expected a header between '---' lines with title and zones")
    try:
        _, header, body = text.split("---", 2)
    except ValueError as exc:
        raise ValueError("the header is not closed with a '---' line") from exc
    meta = yaml.safe_load(header) or {}
    if not isinstance(meta, dict) or not isinstance(meta.get("title"), str) or not meta["title"].strip():
        raise ValueError("the header needs a title")
    unknown = set(meta) - {"title", "zones"}
    if unknown:
        raise ValueError(f"unknown header key(s): {', '.join(sorted(unknown))}")
    zones = meta.get("zones") or []
    if not isinstance(zones, list) or not all(isinstance(z, str) for z in zones):
        raise ValueError("zones must be a list of zone ids")
    try:
        _ENV.parse(body)
    except TemplateSyntaxError as exc:
        raise ValueError(f"template error on line {exc.lineno + header.count(chr(10)) + 1}: {exc.message}") from exc
    name = path.name.split(".", 1)[0]
    return SavedReply(name=name, title=meta["title"].strip(), zones=tuple(zones), source=body.strip("\n"))


def _first(name: str) -> str:
    return name.split()[0] if name.split() else name


def render(reply: SavedReply, *, request: dict[str, Any], requester_name: str, requester_email: str,
           agent_name: str, agent_email: str) -> str:
    """The reply's text for one request; DeskError with a clear message if the template fails."""
    variables = {
        "request": request,
        "requester": {"name": requester_name, "first_name": _first(requester_name), "email": requester_email},
        "agent": {"name": agent_name, "first_name": _first(agent_name), "email": agent_email},
    }
    try:
        text = _ENV.from_string(reply.source).render(variables)
    except SecurityError as exc:
        raise DeskError(f"Saved reply '{reply.name}' uses something templates may not use ({exc}); "
                        "nothing was sent.") from exc
    except UndefinedError as exc:
        raise DeskError(f"Saved reply '{reply.name}' refers to an unknown variable ({exc.message}); "
                        "nothing was sent.") from exc
    except TemplateError as exc:
        raise DeskError(f"Saved reply '{reply.name}' could not be filled in ({exc}); nothing was sent.") from exc
    text = text.strip()
    if not text:
        raise DeskError(f"Saved reply '{reply.name}' came out empty; nothing was sent.")
    return text
