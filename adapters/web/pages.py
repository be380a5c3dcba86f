"""HTML pages: the Jinja2 environment (autoescape on), the security headers, and how values read on a page."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from babel import dates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape
from yarl import URL

from bot.desk.history import level_word, status_label
from bot.i18n import N_, SOURCE, _, current, speaking, translator

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

# An approver's decision as a word ("waiting" while there is none).
DECISIONS = {"approved": N_("approved"), "rejected": N_("rejected")}


def decision_label(decision: str | None, pending: bool = True) -> str:
    """An approver's decision as a word; without one, "waiting" while the approval is pending, else "did
    not decide"."""
    if decision is None:
        return _("waiting") if pending else _("did not decide")
    return _(DECISIONS[decision]) if decision in DECISIONS else decision


# Only these schemes become links; the address ends at white space, quotes, angle brackets or backticks.
_LINK = re.compile(r"""(?:https?://|mailto:)[^\s<>"'`]+""", re.IGNORECASE)
_TRAILING = ".,;:!?"
_ANCHOR = Markup('<a href="{0}" rel="noopener noreferrer">{0}</a>')


def linkify(text: str | None) -> Markup:
    """User text, escaped, with its http(s) and mailto addresses as links that tell the target nothing.

    Everything is escaped piece by piece, so no markup of the writer's survives; `javascript:`,
    `data:` and every other scheme stay plain text.
    """
    if not text:
        return Markup("")
    out: list[Markup] = []
    last = 0
    for found in _LINK.finditer(text):
        url = found.group(0)
        while url and (url[-1] in _TRAILING or (url[-1] == ")" and url.count("(") < url.count(")"))):
            url = url[:-1]  # "see https://x.example/a." or "(https://x.example)": the dot and paren are prose
        if url.lower() in {"http://", "https://", "mailto:"}:
            continue
        start, end = found.start(), found.start() + len(url)
        out.append(escape(text[last:start]))
        out.append(_ANCHOR.format(url))  # Markup.format escapes the address, quotes included
        last = end
    out.append(escape(text[last:]))
    return Markup("").join(out)


PAGE_SIZE = 50
_PAGE = re.compile(r"^\d{1,12}$")


@dataclass(frozen=True)
class Pager:
    """One page of a list of `total` rows, `size` a page, chosen by the query parameter `param`."""

    path: str
    query: Mapping[str, str]
    param: str
    total: int
    number: int
    size: int = PAGE_SIZE

    @classmethod
    def of(cls, path: str, query: Mapping[str, str], param: str, total: int, size: int = PAGE_SIZE) -> Pager:
        """The page the query asks for: one that is not a page number is the first, one past the end the last."""
        asked = query.get(param, "1")
        number = int(asked) if _PAGE.match(asked) else 1
        return cls(path, dict(query), param, total, max(1, min(number, cls.last_of(total, size))), size)

    @staticmethod
    def last_of(total: int, size: int) -> int:
        """How many pages `total` rows fill (one, even when there are none)."""
        return max(1, -(-total // size))

    @property
    def pages(self) -> int:
        """How many pages there are."""
        return self.last_of(self.total, self.size)

    @property
    def offset(self) -> int:
        """Rows before this page."""
        return (self.number - 1) * self.size

    @property
    def first_row(self) -> int:
        """The position of this page's first row (1-based; 0 when the list is empty)."""
        return min(self.offset + 1, self.total)

    @property
    def last_row(self) -> int:
        """The position of this page's last row."""
        return min(self.offset + self.size, self.total)

    def link(self, number: int) -> str:
        """This list's page `number`, other lists of the page keeping their own page."""
        return str(URL(self.path).with_query({**self.query, self.param: str(number)}))

    @property
    def previous(self) -> str | None:
        """The link to the page before, if any."""
        return self.link(self.number - 1) if self.number > 1 else None

    @property
    def next(self) -> str | None:
        """The link to the page after, if any."""
        return self.link(self.number + 1) if self.number < self.pages else None


class Pages:
    """Renders the templates with the organisation's name and time zone."""

    def __init__(self, organisation: str, timezone: str) -> None:
        self.organisation = organisation
        self.tz = ZoneInfo(timezone)
        self.env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                               trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.i18n"])
        # The page's own words in the visit's language (the `language` every page is rendered with);
        # newstyle: the template's values are escaped and filled in after translation.
        self.env.install_gettext_callables(_page_gettext, _page_ngettext, newstyle=True)  # type: ignore[attr-defined]
        self.env.filters["when"] = self.when
        self.env.filters["status"] = status_label
        self.env.filters["level"] = level_word
        self.env.filters["decision"] = decision_label
        self.env.filters["linkify"] = linkify
        # Values every page has, worked out in the page's language (the organisation's word for a zone).
        self.per_page: Callable[[], dict[str, Any]] = dict

    def when(self, value: datetime | None) -> str:
        """A time in the organisation's time zone, as the page's language writes it: `24 Nov 2026 09:00` in
        English, `24. Nov. 2026 09:00` in German."""
        if value is None:
            return ""
        spoken = current()
        if spoken.language == SOURCE:
            return value.astimezone(self.tz).strftime("%d %b %Y %H:%M")
        day = dates.format_skeleton("yMMMd", value, tzinfo=self.tz, locale=spoken.locale)
        return f"{day} {dates.format_time(value, 'short', tzinfo=self.tz, locale=spoken.locale)}"

    def render(self, template: str, status: int = 200, **context: Any) -> web.Response:
        """An HTML response from a template."""
        with speaking(context.get("language") or SOURCE):
            html = self.env.get_template(template).render(organisation=self.organisation,
                                                          **{**self.per_page(), **context})
        response = web.Response(text=html, status=status, content_type="text/html")
        response.headers["Cache-Control"] = "no-store"
        return response


@pass_context
def _page_gettext(context: Context, message: str) -> str:
    return translator(context.get("language") or SOURCE).gettext(message)


@pass_context
def _page_ngettext(context: Context, singular: str, plural: str, count: int) -> str:
    return translator(context.get("language") or SOURCE).plural(singular, plural, count)


def add_security_headers(response: web.StreamResponse) -> None:
    """The headers every web page and redirect carries."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
