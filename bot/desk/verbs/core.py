"""The `/desk` command language's parts every verb shares: the verb registry (`verb`), what a verb works with
(`Context`), its answer (`CommandResult`), and reading numbers and arguments. `bot.desk.commands` runs them."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.access import Actor
from bot.errors import DeskError
from bot.i18n import _
from bot.people.signin import SignIn

#: Turns a platform's reference to a person (a Slack `<@U123>` mention, a Teams @name) into an e-mail.
PersonResolver = Callable[[str], Awaitable[str | None]]

LIST_LIMIT = 20
SHOW_HISTORY = 5  # `show` ends with this many of the latest history sentences
NUMBER = re.compile(r"^#?(\d{1,12})$")  # a request number as typed: 42 or #42
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
MAILTO = re.compile(r"^<mailto:([^|>]+)(?:\|[^>]*)?>$")  # Slack's rendering of a typed address


@dataclass(frozen=True)
class CommandResult:
    """What to show the person who typed the command; `ok` is False for refusals and usage help.

    `link` is for that person alone (a one-time sign-in link): adapters show it as a button with
    `link_label` in the same private answer, never anywhere else.
    """

    text: str
    ok: bool = True
    link: str | None = None
    link_label: str | None = None


class UsageError(Exception):
    """The arguments do not fit the verb: the answer is its usage line."""


@dataclass(frozen=True)
class Verb:
    """One verb: its usage line, a one-line summary for `help`, and what it does. The usage line and
    summary are messages (marked `N_`), said in the reader's language when shown; the verb is not."""

    name: str
    usage: str
    summary: str
    run: Callable[[Context, str], Awaitable[str | CommandResult]]


@dataclass
class Context:
    """What a verb works with."""

    desk: Any  # bot.desk.Desk (typed loosely: this module must not import the desk's database layer)
    actor: Actor
    resolve: PersonResolver | None
    dedupe_key: str | None = None
    signin: SignIn | None = None  # makes the `web` verb's sign-in links (the adapter's, over the server key)

    async def person(self, token: str) -> str:
        """An e-mail from what the person typed: an address, a mailto link, or a platform mention."""
        token = token.strip()
        mailto = MAILTO.match(token)
        if mailto:
            token = mailto.group(1)
        if _EMAIL.match(token):
            return token.lower()
        if self.resolve is not None:
            email = await self.resolve(token)
            if email:
                return email.lower()
        raise DeskError(_("I do not know who '{person}' is; give their e-mail address.", person=token))


VERBS: dict[str, Verb] = {}


Run = Callable[[Context, str], Awaitable[str]] | Callable[[Context, str], Awaitable[CommandResult]]


def verb(name: str, usage: str, summary: str) -> Callable[[Run], Run]:
    """Register a verb: it answers with text, or with a `CommandResult` when it has more to show."""

    def register(run: Run) -> Run:
        VERBS[name] = Verb(name, usage, summary, run)
        return run

    return register


def parse_number(token: str) -> int:
    """A request number as typed: `42` or `#42`."""
    match = NUMBER.match(token.strip())
    if match is None:
        raise UsageError
    return int(match.group(1))


def split_words(text: str, parts: int) -> list[str]:
    """The first `parts - 1` words and the rest (kept verbatim, line breaks included)."""
    pieces = text.strip().split(None, parts - 1)
    return pieces + [""] * (parts - len(pieces))


def number_and_rest(args: str, *, rest_required: bool) -> tuple[int, str]:
    first, rest = split_words(args, 2)
    if not first or (rest_required and not rest.strip()):
        raise UsageError
    return parse_number(first), rest.strip()


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with an ellipsis when it was longer."""
    return text[:limit] + ("…" if len(text) > limit else "")
