"""HTML pages: the Jinja2 environment (autoescape on), the security headers, and how values read on a page."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"

# No script runs on these pages, so none may: the policy forbids every script and inline style.
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'"),
    "X-Frame-Options": "DENY",
    # Sign-in links carry their token in the path: never hand a URL of ours to another site.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

STATUS_LABELS = {
    "new": "New", "assigned": "Assigned", "accepted": "Accepted", "in_progress": "In progress",
    "waiting": "Waiting", "resolved": "Resolved", "closed": "Closed", "reopened": "Reopened",
    "cancelled": "Cancelled", "open": "Open", "done": "Done",
}


def status_label(status: str) -> str:
    """A status as people read it."""
    return STATUS_LABELS.get(status, status.replace("_", " ").capitalize())


class Pages:
    """Renders the templates with the organisation's name and time zone."""

    def __init__(self, organisation: str, timezone: str) -> None:
        self.organisation = organisation
        self.tz = ZoneInfo(timezone)
        self.env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                               trim_blocks=True, lstrip_blocks=True)
        self.env.filters["when"] = self.when
        self.env.filters["status"] = status_label

    def when(self, value: datetime | None) -> str:
        """A time in the organisation's time zone, e.g. `24 Nov 2026 09:00`."""
        if value is None:
            return ""
        return value.astimezone(self.tz).strftime("%d %b %Y %H:%M")

    def render(self, template: str, status: int = 200, **context: Any) -> web.Response:
        """An HTML response from a template."""
        html = self.env.get_template(template).render(organisation=self.organisation, **context)
        response = web.Response(text=html, status=status, content_type="text/html")
        response.headers["Cache-Control"] = "no-store"
        return response


def add_security_headers(response: web.StreamResponse) -> None:
    """The headers every web page and redirect carries."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
