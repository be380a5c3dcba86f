"""The agent command language (`/desk` in Slack, bot commands in Teams), platform-neutral.

`run_command(desk, actor, "claim #42")` parses the verb and its arguments, calls one desk use case
(which asks `bot.access`), and returns plain text for the person who typed it. Adapters only render
that text (ephemeral in Slack, a reply in Teams). Bad arguments answer with the verb's usage line;
a refusal is the desk's own message, so a hidden request reads exactly like a missing one.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from bot.access import Actor
from bot.desk.history import Words
from bot.desk.status import STATUSES
from bot.errors import DeskError, Duplicate
from bot.i18n import LANGUAGES, N_, translator
from bot.people import languages

#: Turns a platform's reference to a person (a Slack `<@U123>` mention, a Teams @name) into an e-mail.
PersonResolver = Callable[[str], Awaitable[str | None]]

LIST_LIMIT = 20
SHOW_HISTORY = 5  # `show` ends with this many of the latest history sentences
_NUMBER = re.compile(r"^#?(\d{1,12})$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_MAILTO = re.compile(r"^<mailto:([^|>]+)(?:\|[^>]*)?>$")


@dataclass(frozen=True)
class CommandResult:
    """What to show the person who typed the command; `ok` is False for refusals and usage help."""

    text: str
    ok: bool = True


class UsageError(Exception):
    """The arguments do not fit the verb: the answer is its usage line."""


@dataclass(frozen=True)
class Verb:
    """One verb: its usage line, a one-line summary for `help`, and what it does."""

    name: str
    usage: str
    summary: str
    run: Callable[[Context, str], Awaitable[str]]


@dataclass
class Context:
    """What a verb works with."""

    desk: Any  # bot.desk.Desk (typed loosely: this module must not import the desk's database layer)
    actor: Actor
    resolve: PersonResolver | None
    dedupe_key: str | None = None

    async def person(self, token: str) -> str:
        """An e-mail from what the person typed: an address, a mailto link, or a platform mention."""
        token = token.strip()
        mailto = _MAILTO.match(token)
        if mailto:
            token = mailto.group(1)
        if _EMAIL.match(token):
            return token.lower()
        if self.resolve is not None:
            email = await self.resolve(token)
            if email:
                return email.lower()
        raise DeskError(f"I do not know who '{token}' is; give their e-mail address.")


VERBS: dict[str, Verb] = {}


def verb(name: str, usage: str, summary: str) -> Callable[[Callable[[Context, str], Awaitable[str]]],
                                                          Callable[[Context, str], Awaitable[str]]]:
    """Register a verb."""

    def register(run: Callable[[Context, str], Awaitable[str]]) -> Callable[[Context, str], Awaitable[str]]:
        VERBS[name] = Verb(name, usage, summary, run)
        return run

    return register


def parse_number(token: str) -> int:
    """A request number as typed: `42` or `#42`."""
    match = _NUMBER.match(token.strip())
    if match is None:
        raise UsageError
    return int(match.group(1))


def _split(text: str, parts: int) -> list[str]:
    """The first `parts - 1` words and the rest (kept verbatim, line breaks included)."""
    pieces = text.strip().split(None, parts - 1)
    return pieces + [""] * (parts - len(pieces))


def _number_and_rest(args: str, *, rest_required: bool) -> tuple[int, str]:
    first, rest = _split(args, 2)
    if not first or (rest_required and not rest.strip()):
        raise UsageError
    return parse_number(first), rest.strip()


async def run_command(desk: Any, actor: Actor, text: str, *, resolve: PersonResolver | None = None,
                      dedupe_key: str | None = None) -> CommandResult:
    """Interpret one command line for `actor`; never raises for anything the person typed.

    With `dedupe_key` (the platform's id of this command), a verb that changes a request commits the
    key with the change, and running the same command again raises `Duplicate` instead of acting twice.
    """
    name, args = _split(text or "", 2)
    name = name.lower()
    if not name or name == "help":
        return CommandResult(help_text(args.strip().lower() or None))
    found = VERBS.get(name)
    if found is None:
        return CommandResult(f"I do not know '{name}'.\n{help_text()}", ok=False)
    try:
        return CommandResult(await found.run(Context(desk, actor, resolve, dedupe_key), args))
    except Duplicate:
        raise
    except UsageError:
        return CommandResult(f"Usage: {found.usage}", ok=False)
    except DeskError as exc:
        return CommandResult(exc.message, ok=False)


def help_text(name: str | None = None) -> str:
    """Every verb's usage line, or one verb's."""
    if name is not None and name in VERBS:
        found = VERBS[name]
        return f"Usage: {found.usage}\n{found.summary}"
    lines = ["Commands (request numbers as 42 or #42):"]
    lines += [f"• {v.usage}: {v.summary}" for v in VERBS.values()]
    lines.append("• help [verb]: this list, or one verb's usage")
    return "\n".join(lines)


# ---------------------------------------------------------------- reading
_SCOPES = ("mine", "queue", "assigned", "all")


@verb("list", "list [mine|queue|assigned|all] [open|<status>]",
      "requests you may see; agents default to their queue, everyone else to their own requests")
async def _list(ctx: Context, args: str) -> str:
    words = args.lower().split()
    if len(words) > 2:
        raise UsageError
    scope = "queue" if ctx.actor.is_staff else "mine"
    status: str | None = "open"
    for word in words:
        if word in _SCOPES:
            scope = word
        else:
            if word != "open" and word not in STATUSES:
                raise UsageError
            status = word
    found = await ctx.desk.list_requests(ctx.actor, scope=scope, status=status, limit=LIST_LIMIT + 1)
    heading = {"mine": "Your requests", "queue": "Your queue", "assigned": "Assigned to you",
               "all": "Requests you can see"}[scope]
    if not found:
        return f"{heading}: none{' open' if status == 'open' else ''}."
    lines = [f"{heading}{' (open)' if status == 'open' else f' ({status})' if status else ''}:"]
    for item in found[:LIST_LIMIT]:
        zone = ctx.desk.config.zone(item.zone_id)
        who = item.assignee_email or "unassigned"
        lines.append(f"#{item.number} · {item.status} · {item.priority} · {item.title} "
                     f"({zone.name if zone else item.zone_id}, {who})")
    if len(found) > LIST_LIMIT:
        base = ctx.desk.config.organisation.base_url.rstrip("/")
        lines.append(f"…and more: see them all at {base}/desk")
    return "\n".join(lines)


@verb("show", "show <number>", "a request's fields and latest messages")
async def _show(ctx: Context, args: str) -> str:
    number, rest = _number_and_rest(args, rest_required=False)
    if rest:
        raise UsageError
    detail = await ctx.desk.get_request(ctx.actor, number)
    words = Words(ctx.desk.config)
    lines = [f"#{detail.number}: {detail.title}",
             f"Status: {words.status(detail.status, detail.waiting_reason)} · Priority: {detail.priority}"
             f" · {ctx.desk.config.organisation.zone_word}: {detail.zone_name}"]
    if detail.category_name:
        lines.append(f"Category: {detail.category_name}")
    lines.append(f"Requester: {detail.requester_name} · Assignee: {detail.assignee_name or 'nobody yet'}")
    if detail.deadline:
        lines.append(f"Deadline: {detail.deadline:%Y-%m-%d %H:%M} UTC")
    if detail.labels:
        lines.append(f"Your labels: {', '.join(detail.labels)}")
    if detail.answer_lines:  # a form's answers, once, in its order (the description only repeats them)
        from bot.catalog.forms import label_line

        lines += [_clip(label_line(a.label, a.text), 300) for a in detail.answer_lines]
    elif detail.description:
        lines.append(_clip(detail.description, 600))
    for comment in detail.comments[-3:]:
        kind = "" if comment.public else " (internal note)"
        lines.append(f"— {comment.author_name}{kind}: {comment.body[:300]}")
    if detail.history:  # already only what this reader may see
        lines.append("Latest:")
        lines += [f"· {_clip(event.text, 300)}" for event in detail.history[-SHOW_HISTORY:]]
    lines.append(ctx.desk.link(detail.number))
    return "\n".join(lines)


def _clip(text: str, limit: int) -> str:
    return text[:limit] + ("…" if len(text) > limit else "")


# ---------------------------------------------------------------- ownership and conversation
@verb("claim", "claim <number>", "take a request yourself")
async def _claim(ctx: Context, args: str) -> str:
    number, rest = _number_and_rest(args, rest_required=False)
    if rest:
        raise UsageError
    await ctx.desk.claim(ctx.actor, number, dedupe_key=ctx.dedupe_key)
    return f"You claimed #{number}."


@verb("assign", "assign <number> <person>", "give a request to an agent of its zone (e-mail or @mention)")
async def _assign(ctx: Context, args: str) -> str:
    number, rest = _number_and_rest(args, rest_required=True)
    if len(rest.split()) != 1:
        raise UsageError
    name = await ctx.desk.assign(ctx.actor, number, await ctx.person(rest), dedupe_key=ctx.dedupe_key)
    return f"#{number} is assigned to {name}."


@verb("reply", "reply <number> <text> | reply <number> saved:<name> [more text]",
      "a public answer, delivered in the requester's thread (saved:<name> fills in a saved reply)")
async def _reply(ctx: Context, args: str) -> str:
    number, rest = _number_and_rest(args, rest_required=True)
    if rest.startswith("saved:"):
        name, _, more = rest[len("saved:"):].partition(" ")
        if not name or ctx.desk.catalog is None:
            raise UsageError
        from bot.catalog import saved_reply_text

        rest = await saved_reply_text(ctx.desk, ctx.desk.catalog, ctx.actor, number, name)
        rest = f"{rest}\n{more.strip()}" if more.strip() else rest
    await ctx.desk.reply(ctx.actor, number, rest, dedupe_key=ctx.dedupe_key)
    return f"Your reply on #{number} is on its way to the requester."


@verb("note", "note <number> <text>", "an internal note, never shown to the requester")
async def _note(ctx: Context, args: str) -> str:
    number, rest = _number_and_rest(args, rest_required=True)
    await ctx.desk.note(ctx.actor, number, rest, dedupe_key=ctx.dedupe_key)
    return f"Internal note added to #{number}."


# ---------------------------------------------------------------- fields
_VERB_STATUS = {"resolve": "resolved", "cancel": "cancelled", "close": "closed", "reopen": "reopened"}


@verb("status", "status <number> <status> [reason]",
      "move a request (new, assigned, accepted, in_progress, waiting, resolved, closed, reopened, cancelled); "
      "waiting takes requester, approval or task; resolved takes a note for the requester")
async def _status(ctx: Context, args: str) -> str:
    number, rest = _number_and_rest(args, rest_required=True)
    status, reason = _split(rest, 2)
    status = status.lower().replace("-", "_")
    status = _VERB_STATUS.get(status, status)  # `status 42 resolve` means resolved
    if status == "cancelled":
        await ctx.desk.cancel(ctx.actor, number, reason.strip() or None, dedupe_key=ctx.dedupe_key)
    elif status == "resolved":  # the rest is the resolution note, kept as written
        await ctx.desk.set_status(ctx.actor, number, status, note=reason.strip() or None, dedupe_key=ctx.dedupe_key)
    elif status == "reopened":
        await ctx.desk.reopen(ctx.actor, number, reason.strip() or None, dedupe_key=ctx.dedupe_key)
    else:
        await ctx.desk.set_status(ctx.actor, number, status, reason=reason.strip().lower() or None,
                                   dedupe_key=ctx.dedupe_key)
    return f"#{number} is now {status}."


@verb("priority", "priority <number> low|normal|high",
      "your weight of a request; the priority follows from it and the requester's urgency")
async def _priority(ctx: Context, args: str) -> str:
    number, rest = _number_and_rest(args, rest_required=True)
    if len(rest.split()) != 1:
        raise UsageError
    priority = await ctx.desk.set_weight(ctx.actor, number, rest.lower())
    return f"#{number} now has priority {priority}."


@verb("category", "category <number> <category-id|none>", "a category of the request's zone")
async def _category(ctx: Context, args: str) -> str:
    number, rest = _number_and_rest(args, rest_required=True)
    if len(rest.split()) != 1:
        raise UsageError
    category = None if rest.lower() == "none" else rest.lower()
    priority = await ctx.desk.set_category(ctx.actor, number, category)
    return f"#{number} is {'without a category' if category is None else f'in category {category}'} " \
           f"(priority {priority})."


@verb("deadline", "deadline <number> <YYYY-MM-DD> [HH:MM] | none",
      "a due date, in the zone's time zone (a date alone means the end of its working day)")
async def _deadline(ctx: Context, args: str) -> str:
    number, rest = _number_and_rest(args, rest_required=True)
    words = rest.split()
    if words == ["none"]:
        await ctx.desk.set_deadline(ctx.actor, number, None)
        return f"#{number} has no deadline."
    if len(words) not in (1, 2):
        raise UsageError
    detail = await ctx.desk.get_request(ctx.actor, number)  # also the access check before parsing further
    zone = ctx.desk.config.zone(detail.zone_id)
    calendar = ctx.desk.config.calendars.get(zone.calendar if zone else "default")
    tz = zoneinfo.ZoneInfo(calendar.timezone if calendar else "UTC")
    try:
        day = datetime.strptime(words[0], "%Y-%m-%d").date()
        if len(words) == 2:
            when = datetime.combine(day, datetime.strptime(words[1], "%H:%M").time(), tz)
        else:
            hours, minutes = (int(p) for p in (calendar.hours if calendar else "08:00-16:00").split("-")[1].split(":"))
            when = datetime.combine(day, time(0), tz) + timedelta(hours=hours, minutes=minutes)
    except ValueError as exc:
        raise UsageError from exc
    if when <= ctx.desk.clock.now():
        raise DeskError("That deadline is in the past.")
    await ctx.desk.set_deadline(ctx.actor, number, when)
    return f"#{number} is due {when:%Y-%m-%d %H:%M} ({tz.key})."


@verb("label", "label <number> <label> | -<label>", "your personal label on a request (-label removes it)")
async def _label(ctx: Context, args: str) -> str:
    number, rest = _number_and_rest(args, rest_required=True)
    if len(rest.split()) != 1:
        raise UsageError
    if rest.startswith("-"):
        await ctx.desk.remove_label(ctx.actor, number, rest[1:])
        return f"Label {rest[1:].lower()} removed from #{number}."
    await ctx.desk.add_label(ctx.actor, number, rest)
    return f"#{number} is labelled {rest.lower()} (only you see your labels)."


# ---------------------------------------------------------------- zones and tasks
@verb("transfer", "transfer <number> <zone>[/<category>] [reason]", "hand a request to another zone")
async def _transfer(ctx: Context, args: str) -> str:
    number, rest = _number_and_rest(args, rest_required=True)
    target, reason = _split(rest, 2)
    zone, _, category = target.lower().partition("/")
    name = await ctx.desk.transfer(ctx.actor, number, zone, category_id=category or None,
                                   reason=reason.strip() or None, dedupe_key=ctx.dedupe_key)
    return f"#{number} is transferred to {name}."


@verb("task", "task <number> <team|zone|person> <title>",
      "ask a team, zone or agent (possibly in another zone) to do something; they see the task, not the request")
async def _task(ctx: Context, args: str) -> str:
    number, rest = _number_and_rest(args, rest_required=True)
    target, title = _split(rest, 2)
    if not title.strip():
        raise UsageError
    title, _, body = title.strip().partition("\n")
    config = ctx.desk.config
    kwargs: dict[str, str] = {}
    if config.team(target.lower()) is not None:
        kwargs["to_team"] = target.lower()
    elif config.zone(target.lower()) is not None:
        kwargs["to_zone"] = target.lower()
    elif "@" in target or target.startswith("<"):
        kwargs["to_agent"] = await ctx.person(target)
    else:
        raise DeskError(f"There is no team, zone or agent '{target}'.")
    task_id = await ctx.desk.create_task(ctx.actor, number, title, body.strip(), **kwargs)
    return f"Task T{task_id} created on #{number}."


# ---------------------------------------------------------------- closing
@verb("resolve", "resolve <number> [note]",
      "resolve a request; the note (optional, may span lines) tells the requester what was done")
async def _resolve(ctx: Context, args: str) -> str:
    number, note = _number_and_rest(args, rest_required=False)
    await ctx.desk.set_status(ctx.actor, number, "resolved", note=note or None, dedupe_key=ctx.dedupe_key)
    return f"#{number} is resolved{' with your note to the requester' if note else ''}."


@verb("cancel", "cancel <number> [reason]", "cancel an open request; a cancelled request is final")
async def _cancel(ctx: Context, args: str) -> str:
    number, reason = _number_and_rest(args, rest_required=False)
    await ctx.desk.cancel(ctx.actor, number, reason or None, dedupe_key=ctx.dedupe_key)
    return f"#{number} is cancelled."


@verb("close", "close <number>",
      "resolve a request (the requester may still answer); close it for good when it is already resolved")
async def _close(ctx: Context, args: str) -> str:
    number, rest = _number_and_rest(args, rest_required=False)
    if rest:
        raise UsageError
    detail = await ctx.desk.get_request(ctx.actor, number)
    target = "closed" if detail.status == "resolved" else "resolved"
    await ctx.desk.set_status(ctx.actor, number, target, dedupe_key=ctx.dedupe_key)
    return f"#{number} is {target}."


@verb("reopen", "reopen <number> [reason]", "reopen a resolved or closed request")
async def _reopen(ctx: Context, args: str) -> str:
    number, rest = _number_and_rest(args, rest_required=False)
    await ctx.desk.reopen(ctx.actor, number, rest or None, dedupe_key=ctx.dedupe_key)
    return f"#{number} is reopened."


# ---------------------------------------------------------------- the person
_DECIDED = {
    languages.SAVED: N_("you chose it"),
    languages.PERSON: N_("app.yaml sets it for you"),
    languages.HINT: N_("your app asks for it"),
    languages.ZONE: N_("it is the default of your {zone}"),
    languages.ORGANISATION: N_("it is the organisation's default"),
    languages.DEFAULT: N_("it is the default"),
}


@verb("language", "language [code]", "the language Zonedesk speaks with you, or choose one (e.g. language nb)")
async def _language(ctx: Context, args: str) -> str:
    words = args.split()
    if len(words) > 1:
        raise UsageError
    if words:
        code = languages.language_code(words[0])  # an unknown code is refused before anything is written
        async with ctx.desk.transaction(ctx.dedupe_key) as tx:
            await languages.save_language(tx.session, ctx.actor.email, code, tx.now)
        return languages.chosen(code)  # already in the language chosen
    async with ctx.desk.sessions() as session:
        reading = await languages.person_language(session, ctx.desk.config, ctx.actor.email,
                                                  hint=ctx.actor.extra.get("locale"))
    said = translator(reading.language)
    how = said.gettext(_DECIDED[reading.source], zone=ctx.desk.config.organisation.zone_noun)
    return "\n".join((
        " ".join((said.gettext("Zonedesk speaks {language} ({code}) with you: {how}.",
                               language=LANGUAGES[reading.language], code=reading.language, how=how),
                  said.gettext(languages.UNTRANSLATED))),
        said.gettext("Choose another with `language <code>`: {choices}.", choices=languages.choices())))
