"""The agent command language (`/desk` in Slack, bot commands in Teams), platform-neutral.

`run_command(desk, actor, "claim #42")` parses the verb and its arguments, calls one desk use case
(which asks `bot.access`), and returns plain text for the person who typed it, in the language being
spoken (the adapter speaks theirs). Adapters only render that text (ephemeral in Slack, a reply in Teams).
The verbs and their keywords stay English, as typed; their usage lines and summaries are translated.
Bad arguments answer with the verb's usage line; a refusal is the desk's own message, so a hidden
request reads exactly like a missing one.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from bot.access import Actor
from bot.desk.history import Words, level_word
from bot.desk.status import STATUSES, status_word
from bot.errors import DeskError, Duplicate
from bot.i18n import LANGUAGES, N_, _, ngettext, translator
from bot.people import languages
from bot.people.signin import SignIn

#: Turns a platform's reference to a person (a Slack `<@U123>` mention, a Teams @name) into an e-mail.
PersonResolver = Callable[[str], Awaitable[str | None]]

LIST_LIMIT = 20
SHOW_HISTORY = 5  # `show` ends with this many of the latest history sentences
_NUMBER = re.compile(r"^#?(\d{1,12})$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_MAILTO = re.compile(r"^<mailto:([^|>]+)(?:\|[^>]*)?>$")


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
        mailto = _MAILTO.match(token)
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
                      dedupe_key: str | None = None, signin: SignIn | None = None) -> CommandResult:
    """Interpret one command line for `actor`; never raises for anything the person typed.

    With `dedupe_key` (the platform's id of this command), a verb that changes a request commits the
    key with the change, and running the same command again raises `Duplicate` instead of acting twice.
    `signin` makes sign-in links (the `web` verb); without it that verb says it cannot.
    """
    name, args = _split(text or "", 2)
    name = name.lower()
    if not name or name == "help":
        return CommandResult(help_text(args.strip().lower() or None))
    found = VERBS.get(name)
    if found is None:
        unknown = _("I do not know '{name}'.", name=name)
        return CommandResult(f"{unknown}\n{help_text()}", ok=False)
    try:
        answer = await found.run(Context(desk, actor, resolve, dedupe_key, signin), args)
        return answer if isinstance(answer, CommandResult) else CommandResult(answer)
    except Duplicate:
        raise
    except UsageError:
        return CommandResult(usage_line(found), ok=False)
    except DeskError as exc:
        return CommandResult(exc.message, ok=False)


def usage_line(found: Verb) -> str:
    """A verb's usage line, in the language being spoken (the verb and its keywords stay as typed)."""
    return _("Usage: {usage}", usage=_(found.usage))


def help_text(name: str | None = None) -> str:
    """Every verb's usage line, or one verb's, in the language being spoken."""
    if name is not None and name in VERBS:
        found = VERBS[name]
        return f"{usage_line(found)}\n{_(found.summary)}"
    lines = [_("Commands (request numbers as 42 or #42):")]
    lines += [f"• {_(v.usage)}: {_(v.summary)}" for v in VERBS.values()]
    lines.append(_("• help [verb]: this list, or one verb's usage"))
    return "\n".join(lines)


# ---------------------------------------------------------------- reading
_SCOPES = ("mine", "queue", "assigned", "all")
_HEADINGS = {"mine": N_("Your requests"), "queue": N_("Your queue"), "assigned": N_("Assigned to you"),
             "all": N_("Requests you can see")}


@verb("list", N_("list [mine|queue|assigned|all] [open|<status>]"),
      N_("requests you may see; agents default to their queue, everyone else to their own requests"))
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
    heading = _(_HEADINGS[scope])
    if not found:
        if status == "open":
            return _("{heading}: none open.", heading=heading)
        return _("{heading}: none.", heading=heading)
    total = len(found) if len(found) <= LIST_LIMIT else \
        await ctx.desk.count_requests(ctx.actor, scope=scope, status=status)
    if status == "open":
        lines = [ngettext("{heading} ({count} open request):", "{heading} ({count} open requests):", total,
                          heading=heading)]
    else:
        lines = [ngettext("{heading} ({status}, {count} request):", "{heading} ({status}, {count} requests):",
                          total, heading=heading, status=status_word(status or ""))]
    for item in found[:LIST_LIMIT]:
        zone = ctx.desk.config.zone(item.zone_id)
        who = item.assignee_email or _("unassigned")
        lines.append(f"#{item.number} · {status_word(item.status)} · {level_word(item.priority)} · {item.title} "
                     f"({zone.name if zone else item.zone_id}, {who})")
    if len(found) > LIST_LIMIT:
        url = ctx.desk.config.organisation.base_url.rstrip("/") + "/desk"
        lines.append(_("…and more: see them all at {url}", url=url))
    return "\n".join(lines)


@verb("show", N_("show <number>"), N_("a request's fields and latest messages"))
async def _show(ctx: Context, args: str) -> str:
    number, rest = _number_and_rest(args, rest_required=False)
    if rest:
        raise UsageError
    detail = await ctx.desk.get_request(ctx.actor, number)
    words = Words(ctx.desk.config)
    lines = [f"#{detail.number}: {detail.title}",
             _("Status: {status} · Priority: {priority} · {zone_word}: {zone}",
               status=words.status(detail.status, detail.waiting_reason), priority=level_word(detail.priority),
               zone_word=ctx.desk.config.organisation.zone_word, zone=detail.zone_name)]
    if detail.category_name:
        lines.append(_("Category: {category}", category=detail.category_name))
    if detail.assignee_name:
        lines.append(_("Requester: {requester} · Assignee: {assignee}", requester=detail.requester_name,
                       assignee=detail.assignee_name))
    else:
        lines.append(_("Requester: {requester} · Assignee: nobody yet", requester=detail.requester_name))
    if detail.deadline:
        lines.append(_("Deadline: {when} UTC", when=detail.deadline.strftime("%Y-%m-%d %H:%M")))
    if detail.labels:
        lines.append(_("Your labels: {labels}", labels=", ".join(detail.labels)))
    if detail.answer_lines:  # a form's answers, once, in its order (the description only repeats them)
        from bot.catalog.forms import label_line

        lines += [_clip(label_line(a.label, a.text), 300) for a in detail.answer_lines]
    elif detail.description:
        lines.append(_clip(detail.description, 600))
    for comment in detail.comments[-3:]:
        if comment.public:
            lines.append(f"— {comment.author_name}: {comment.body[:300]}")
        else:
            lines.append(_("— {author} (internal note): {text}", author=comment.author_name, text=comment.body[:300]))
    if detail.history:  # already only what this reader may see
        lines.append(_("Latest:"))
        lines += [f"· {_clip(event.text, 300)}" for event in detail.history[-SHOW_HISTORY:]]
    lines.append(ctx.desk.link(detail.number))
    return "\n".join(lines)


def _clip(text: str, limit: int) -> str:
    return text[:limit] + ("…" if len(text) > limit else "")


# ---------------------------------------------------------------- ownership and conversation
@verb("claim", N_("claim <number>"), N_("take a request yourself"))
async def _claim(ctx: Context, args: str) -> str:
    number, rest = _number_and_rest(args, rest_required=False)
    if rest:
        raise UsageError
    await ctx.desk.claim(ctx.actor, number, dedupe_key=ctx.dedupe_key)
    return _("You claimed #{number}.", number=number)


@verb("assign", N_("assign <number> <person>"), N_("give a request to an agent of its zone (e-mail or @mention)"))
async def _assign(ctx: Context, args: str) -> str:
    number, rest = _number_and_rest(args, rest_required=True)
    if len(rest.split()) != 1:
        raise UsageError
    name = await ctx.desk.assign(ctx.actor, number, await ctx.person(rest), dedupe_key=ctx.dedupe_key)
    return _("#{number} is assigned to {name}.", number=number, name=name)


@verb("reply", N_("reply <number> <text> | reply <number> saved:<name> [more text]"),
      N_("a public answer, delivered in the requester's thread (saved:<name> fills in a saved reply)"))
async def _reply(ctx: Context, args: str) -> str:
    number, rest = _number_and_rest(args, rest_required=True)
    if rest.startswith("saved:"):
        name, _space, more = rest[len("saved:"):].partition(" ")
        if not name or ctx.desk.catalog is None:
            raise UsageError
        from bot.catalog import saved_reply_text

        rest = await saved_reply_text(ctx.desk, ctx.desk.catalog, ctx.actor, number, name)
        rest = f"{rest}\n{more.strip()}" if more.strip() else rest
    await ctx.desk.reply(ctx.actor, number, rest, dedupe_key=ctx.dedupe_key)
    return _("Your reply on #{number} is on its way to the requester.", number=number)


@verb("note", N_("note <number> <text>"), N_("an internal note, never shown to the requester"))
async def _note(ctx: Context, args: str) -> str:
    number, rest = _number_and_rest(args, rest_required=True)
    await ctx.desk.note(ctx.actor, number, rest, dedupe_key=ctx.dedupe_key)
    return _("Internal note added to #{number}.", number=number)


# ---------------------------------------------------------------- consultation and outside collaborators
@verb("consult", N_("consult <number> [<person> [question] | -<person>]"),
      N_("ask someone in the directory for their view on one request (their answer is an internal note; they see "
         "nothing else); -person withdraws the question; without a person, who was asked"))
async def _consult(ctx: Context, args: str) -> str:
    number, rest = _number_and_rest(args, rest_required=False)
    if not rest:
        await ctx.desk.get_request(ctx.actor, number)  # a request one may not read is "not found", never "nobody"
        lines = await ctx.desk.consultations_of(ctx.actor, number)
        if not lines:
            return _("Nobody was asked for their view on #{number}.", number=number)
        said = [_("Asked for their view on #{number}:", number=number)]
        for line in lines:
            state = (_("withdrawn") if not line.open else _("answered") if line.answered_at else _("waiting"))
            said.append(f"• {line.name} ({line.email}): {state}" + (f" · {_clip(line.question, 200)}"
                                                                    if line.question else ""))
        return "\n".join(said)
    who, question = _split(rest, 2)
    if who.startswith("-"):
        if question.strip():
            raise UsageError
        name = await ctx.desk.withdraw_consultation(ctx.actor, number, await ctx.person(who[1:]),
                                                    dedupe_key=ctx.dedupe_key)
        return _("The question to {name} about #{number} is withdrawn; they no longer see it.", name=name,
                 number=number)
    name = await ctx.desk.consult(ctx.actor, number, await ctx.person(who), question.strip() or None,
                                  dedupe_key=ctx.dedupe_key)
    return _("{name} is asked for their view on #{number}; their answer will be an internal note.", name=name,
             number=number)


@verb("answer", N_("answer <number> <your view>"),
      N_("answer a question about a request you were asked for your view on (an internal note for its agents)"))
async def _answer(ctx: Context, args: str) -> str:
    number, rest = _number_and_rest(args, rest_required=True)
    await ctx.desk.answer_consultation(ctx.actor, number, rest, dedupe_key=ctx.dedupe_key)
    return _("Thank you: your view on #{number} is with the desk's agents.", number=number)


@verb("collaborator", N_("collaborator <number> [<e-mail> | -<e-mail>]"),
      N_("bring an outside e-mail address into one request's conversation (it receives the public messages by "
         "mail and its answers land on the request; never notes); -e-mail takes it out; without one, who is in"))
async def _collaborator(ctx: Context, args: str) -> str:
    number, rest = _number_and_rest(args, rest_required=False)
    if not rest:
        await ctx.desk.get_request(ctx.actor, number)
        lines = [line for line in await ctx.desk.collaborators_of(ctx.actor, number) if line.active]
        if not lines:
            return _("No outside address is in the conversation of #{number}.", number=number)
        return "\n".join([_("In the conversation of #{number} by e-mail:", number=number),
                          *(f"• {line.email}" for line in lines)])
    if len(rest.split()) != 1:
        raise UsageError
    token = rest.strip()
    mailto = _MAILTO.match(token.lstrip("-"))
    address = mailto.group(1) if mailto else token.lstrip("-")
    if token.startswith("-"):
        done = await ctx.desk.remove_collaborator(ctx.actor, number, address, dedupe_key=ctx.dedupe_key)
        return _("{address} is out of the conversation of #{number}: nothing more is sent to it.", address=done,
                 number=number)
    done = await ctx.desk.invite_collaborator(ctx.actor, number, address, dedupe_key=ctx.dedupe_key)
    return _("{address} is in the conversation of #{number}: it receives the public messages by e-mail.",
             address=done, number=number)


# ---------------------------------------------------------------- fields
_VERB_STATUS = {"resolve": "resolved", "cancel": "cancelled", "close": "closed", "reopen": "reopened"}


@verb("status", N_("status <number> <status> [reason]"),
      N_("move a request (new, assigned, accepted, in_progress, waiting, resolved, closed, reopened, cancelled); "
         "waiting takes requester, approval or task; resolved takes a note for the requester"))
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
    return _("#{number} is now {status}.", number=number, status=status_word(status))


@verb("priority", N_("priority <number> low|normal|high"),
      N_("your weight of a request; the priority follows from it and the requester's urgency"))
async def _priority(ctx: Context, args: str) -> str:
    number, rest = _number_and_rest(args, rest_required=True)
    if len(rest.split()) != 1:
        raise UsageError
    priority = await ctx.desk.set_weight(ctx.actor, number, rest.lower(), dedupe_key=ctx.dedupe_key)
    return _("#{number} now has priority {priority}.", number=number, priority=level_word(priority))


@verb("category", N_("category <number> <category-id|none>"), N_("a category of the request's zone"))
async def _category(ctx: Context, args: str) -> str:
    number, rest = _number_and_rest(args, rest_required=True)
    if len(rest.split()) != 1:
        raise UsageError
    category = None if rest.lower() == "none" else rest.lower()
    priority = await ctx.desk.set_category(ctx.actor, number, category, dedupe_key=ctx.dedupe_key)
    if category is None:
        return _("#{number} is without a category (priority {priority}).", number=number,
                 priority=level_word(priority))
    return _("#{number} is in category {category} (priority {priority}).", number=number, category=category,
             priority=level_word(priority))


@verb("deadline", N_("deadline <number> <YYYY-MM-DD> [HH:MM] | none"),
      N_("a due date, in the zone's time zone (a date alone means the end of its working day)"))
async def _deadline(ctx: Context, args: str) -> str:
    number, rest = _number_and_rest(args, rest_required=True)
    words = rest.split()
    if words == ["none"]:
        await ctx.desk.set_deadline(ctx.actor, number, None, dedupe_key=ctx.dedupe_key)
        return _("#{number} has no deadline.", number=number)
    if len(words) not in (1, 2):
        raise UsageError
    from bot.desk.fields import local_deadline, zone_timezone  # the desk's layer, read when first needed

    detail = await ctx.desk.get_request(ctx.actor, number)  # also the access check before parsing further
    tz = zone_timezone(ctx.desk.config, detail.zone_id)
    try:
        day = datetime.strptime(words[0], "%Y-%m-%d").date()
        at = datetime.strptime(words[1], "%H:%M").time() if len(words) == 2 else None
    except ValueError as exc:
        raise UsageError from exc
    when = local_deadline(ctx.desk.config, detail.zone_id, day, at)
    if when <= ctx.desk.clock.now():
        raise DeskError(_("That deadline is in the past."))
    await ctx.desk.set_deadline(ctx.actor, number, when, dedupe_key=ctx.dedupe_key)
    # The moment as it is typed (`deadline 42 2026-12-01 16:00`), the same in every language.
    return _("#{number} is due {when} ({timezone}).", number=number, when=when.strftime("%Y-%m-%d %H:%M"),
             timezone=tz.key)


@verb("label", N_("label <number> <label> | -<label>"), N_("your personal label on a request (-label removes it)"))
async def _label(ctx: Context, args: str) -> str:
    number, rest = _number_and_rest(args, rest_required=True)
    if len(rest.split()) != 1:
        raise UsageError
    if rest.startswith("-"):
        await ctx.desk.remove_label(ctx.actor, number, rest[1:], dedupe_key=ctx.dedupe_key)
        return _("Label {label} removed from #{number}.", label=rest[1:].lower(), number=number)
    await ctx.desk.add_label(ctx.actor, number, rest, dedupe_key=ctx.dedupe_key)
    return _("#{number} is labelled {label} (only you see your labels).", number=number, label=rest.lower())


@verb("relate", N_("relate <number> <other> | -<other>"),
      N_("relate two requests of one zone (-other removes the relation)"))
async def _relate(ctx: Context, args: str) -> str:
    number, rest = _number_and_rest(args, rest_required=True)
    if len(rest.split()) != 1:
        raise UsageError
    if rest.startswith("-"):
        other = parse_number(rest[1:])
        await ctx.desk.unrelate(ctx.actor, number, other, dedupe_key=ctx.dedupe_key)
        return _("#{number} is no longer related to #{other}.", number=number, other=other)
    other = parse_number(rest)
    await ctx.desk.relate(ctx.actor, number, other, dedupe_key=ctx.dedupe_key)
    return _("#{number} is related to #{other}.", number=number, other=other)


# ---------------------------------------------------------------- zones and tasks
@verb("transfer", N_("transfer <number> <zone>[/<category>] [reason]"), N_("hand a request to another zone"))
async def _transfer(ctx: Context, args: str) -> str:
    number, rest = _number_and_rest(args, rest_required=True)
    target, reason = _split(rest, 2)
    zone, _slash, category = target.lower().partition("/")
    name = await ctx.desk.transfer(ctx.actor, number, zone, category_id=category or None,
                                   reason=reason.strip() or None, dedupe_key=ctx.dedupe_key)
    return _("#{number} is transferred to {zone}.", number=number, zone=name)


@verb("task", N_("task <number> <team|zone|person> <title>"),
      N_("ask a team, zone or agent (possibly in another zone) to do something; they see the task, not the request"))
async def _task(ctx: Context, args: str) -> str:
    number, rest = _number_and_rest(args, rest_required=True)
    target, title = _split(rest, 2)
    if not title.strip():
        raise UsageError
    title, _newline, body = title.strip().partition("\n")
    config = ctx.desk.config
    kwargs: dict[str, str] = {}
    if config.team(target.lower()) is not None:
        kwargs["to_team"] = target.lower()
    elif config.zone(target.lower()) is not None:
        kwargs["to_zone"] = target.lower()
    elif "@" in target or target.startswith("<"):
        kwargs["to_agent"] = await ctx.person(target)
    else:
        raise DeskError(_("There is no team, zone or agent '{target}'.", target=target))
    task_id = await ctx.desk.create_task(ctx.actor, number, title, body.strip(), **kwargs)
    return _("Task T{task} created on #{number}.", task=task_id, number=number)


# ---------------------------------------------------------------- bundles
def _numbers(tokens: list[str]) -> list[int]:
    if not tokens:
        raise UsageError
    return [parse_number(token) for token in tokens]


def _bundle_of(token: str) -> int:
    from bot.desk.bundles import bundle_number

    try:
        return bundle_number(token)
    except ValueError as exc:
        raise UsageError from exc


def _outcome_lines(outcome: Any) -> list[str]:
    """What a bundle action did not do, one line per request (bot.desk.bulk.Outcome)."""
    lines = [f"• #{r.number}: {r.reason}" for r in outcome.refused]
    if outcome.repeated:
        lines.append(_("Done already when this command was first sent: {numbers}.",
                       numbers=", ".join(f"#{n}" for n in outcome.repeated)))
    return lines


def _numbered(numbers: Any) -> str:
    return ", ".join(f"#{n}" for n in numbers)


@verb("bundle", N_("bundle new <title> <numbers…> | add <bundle> <numbers…> | remove <bundle> <numbers…> | "
                   "show <bundle> | reply <bundle> <text> | status <bundle> <status> [reason] | list"),
      N_("group related requests (one outage, many reports) and answer or move them together; each request in "
         "its own thread"))
async def _bundle(ctx: Context, args: str) -> str:
    action, rest = _split(args, 2)
    action = action.lower()
    desk = ctx.desk
    if action in {"", "list"}:
        if rest.strip():
            raise UsageError
        found = await desk.list_bundles(ctx.actor)
        if not found:
            return _("You are shown no bundles.")
        return "\n".join([_("Bundles:")] + [
            ngettext("B{bundle}: {title} ({count} request)", "B{bundle}: {title} ({count} requests)", line.shown,
                     bundle=line.id, title=line.title) for line in found])
    if action == "new":
        words = rest.split()
        split = len(words)
        while split > 0 and _NUMBER.match(words[split - 1]):
            split -= 1
        if split == 0 or split == len(words):
            raise UsageError
        bundle, outcome = await desk.create_bundle(ctx.actor, " ".join(words[:split]), _numbers(words[split:]),
                                                   dedupe_key=ctx.dedupe_key)
        lines = [ngettext("Bundle B{bundle} holds {count} request: {numbers}.",
                          "Bundle B{bundle} holds {count} requests: {numbers}.", len(outcome.done), bundle=bundle,
                          numbers=_numbered(outcome.done))]
        return "\n".join(lines + _outcome_lines(outcome))
    first, more = _split(rest, 2)
    if not first:
        raise UsageError
    bundle = _bundle_of(first)
    if action in {"add", "remove"}:
        numbers = _numbers(more.split())
        if action == "add":
            outcome = await desk.add_to_bundle(ctx.actor, bundle, numbers, dedupe_key=ctx.dedupe_key)
            head = _("Added to bundle B{bundle}: {numbers}.", bundle=bundle, numbers=_numbered(outcome.done)) \
                if outcome.done else _("Nothing was added to bundle B{bundle}.", bundle=bundle)
        else:
            outcome = await desk.remove_from_bundle(ctx.actor, bundle, numbers, dedupe_key=ctx.dedupe_key)
            head = _("Taken out of bundle B{bundle}: {numbers}.", bundle=bundle, numbers=_numbered(outcome.done)) \
                if outcome.done else _("Nothing was taken out of bundle B{bundle}.", bundle=bundle)
        return "\n".join([head, *_outcome_lines(outcome)])
    if action == "show":
        if more.strip():
            raise UsageError
        view = await desk.get_bundle(ctx.actor, bundle)
        lines = [_("Bundle B{bundle}: {title}", bundle=view.id, title=view.title)]
        if not view.members:
            lines.append(_("It holds no request you may see."))
        for item in view.members:
            zone = desk.config.zone(item.zone_id)
            who = item.assignee_email or _("unassigned")
            lines.append(f"#{item.number} · {status_word(item.status)} · {item.title} "
                         f"({zone.name if zone else item.zone_id}, {who})")
        lines.append(desk.config.organisation.base_url.rstrip("/") + f"/bundles/{view.id}")
        return "\n".join(lines)
    if action == "reply":
        if not more.strip():
            raise UsageError
        outcome = await desk.reply_to_bundle(ctx.actor, bundle, more, dedupe_key=ctx.dedupe_key)
        head = ngettext("Your reply is on its way to the requester of {count} request: {numbers}.",
                        "Your reply is on its way to the requesters of {count} requests: {numbers}.",
                        len(outcome.done), numbers=_numbered(outcome.done)) if outcome.done else \
            _("Your reply went to no request of bundle B{bundle}.", bundle=bundle)
        return "\n".join([head, *_outcome_lines(outcome)])
    if action == "status":
        status, reason = _split(more, 2)
        if not status:
            raise UsageError
        outcome = await desk.set_bundle_status(ctx.actor, bundle, status, reason.strip() or None,
                                               dedupe_key=ctx.dedupe_key)
        moved = _VERB_STATUS.get(status.lower().replace("-", "_"), status.lower().replace("-", "_"))
        head = ngettext("{count} request is now {status}: {numbers}.", "{count} requests are now {status}: {numbers}.",
                        len(outcome.done), status=status_word(moved), numbers=_numbered(outcome.done)) \
            if outcome.done else _("No request of bundle B{bundle} moved.", bundle=bundle)
        return "\n".join([head, *_outcome_lines(outcome)])
    raise UsageError


# ---------------------------------------------------------------- closing
@verb("resolve", N_("resolve <number> [note]"),
      N_("resolve a request; the note (optional, may span lines) tells the requester what was done"))
async def _resolve(ctx: Context, args: str) -> str:
    number, note = _number_and_rest(args, rest_required=False)
    await ctx.desk.set_status(ctx.actor, number, "resolved", note=note or None, dedupe_key=ctx.dedupe_key)
    if note:
        return _("#{number} is resolved with your note to the requester.", number=number)
    return _("#{number} is resolved.", number=number)


@verb("cancel", N_("cancel <number> [reason]"), N_("cancel an open request; a cancelled request is final"))
async def _cancel(ctx: Context, args: str) -> str:
    number, reason = _number_and_rest(args, rest_required=False)
    await ctx.desk.cancel(ctx.actor, number, reason or None, dedupe_key=ctx.dedupe_key)
    return _("#{number} is cancelled.", number=number)


@verb("close", N_("close <number>"),
      N_("resolve a request (the requester may still answer); close it for good when it is already resolved"))
async def _close(ctx: Context, args: str) -> str:
    number, rest = _number_and_rest(args, rest_required=False)
    if rest:
        raise UsageError
    detail = await ctx.desk.get_request(ctx.actor, number)
    if detail.status == "resolved":
        await ctx.desk.set_status(ctx.actor, number, "closed", dedupe_key=ctx.dedupe_key)
        return _("#{number} is closed.", number=number)
    await ctx.desk.set_status(ctx.actor, number, "resolved", dedupe_key=ctx.dedupe_key)
    return _("#{number} is resolved.", number=number)


@verb("reopen", N_("reopen <number> [reason]"), N_("reopen a resolved or closed request"))
async def _reopen(ctx: Context, args: str) -> str:
    number, rest = _number_and_rest(args, rest_required=False)
    await ctx.desk.reopen(ctx.actor, number, rest or None, dedupe_key=ctx.dedupe_key)
    return _("#{number} is reopened.", number=number)


# ---------------------------------------------------------------- finding requests
SEARCH_SHOWN = 5  # results a chat answer lists; the web page has the rest


@verb("search", N_("search <words>"),
      N_("the requests you can see that mention these words, best first, with where each was found"))
async def _search(ctx: Context, args: str) -> str:
    if not args.strip():
        raise UsageError
    found = await ctx.desk.search(ctx.actor, args, per_page=SEARCH_SHOWN)
    if found.problem is not None:
        raise DeskError(found.problem)
    if not found.hits:
        return _("Nothing found for “{text}”.", text=found.text)
    if found.more:
        lines = [_("More than {count} requests found for “{text}”; the newest first:", count=found.total,
                   text=found.text)]
    else:
        lines = [ngettext("{count} request found for “{text}”:", "{count} requests found for “{text}”:", found.total,
                          text=found.text)]
    for hit in found.hits:
        lines.append(f"#{hit.number} · {status_word(hit.status)} · {hit.title_text}")
        if hit.snippet_text:
            lines.append(f"    {hit.where}: {_clip(hit.snippet_text, 200)}")
    if found.total > len(found.hits):
        url = ctx.desk.config.organisation.base_url.rstrip("/") + "/search?" + urlencode({"q": found.text})
        lines.append(_("…and more: see them all at {url}", url=url))
    return "\n".join(lines)


# ---------------------------------------------------------------- the person
@verb("web", N_("web [number]"),
      N_("a one-time link that signs you in to Zonedesk in the browser, on a request's page when you give its "
         "number; only you see it"))
async def _web(ctx: Context, args: str) -> CommandResult:
    words = args.split()
    if len(words) > 1:
        raise UsageError
    if ctx.signin is None:
        raise DeskError(_("Zonedesk cannot make sign-in links here; ask an administrator for one."))
    if not words:
        link = await ctx.signin.create_link(ctx.actor.email)  # lands on the desk for staff, the portal for others
        text = _("Your sign-in link for Zonedesk in the browser. It works once, within 15 minutes, and signs you "
                 "in as yourself: do not pass it on.")
    else:
        number = parse_number(words[0])
        # The policy decides: a request the person may not see reads as one that does not exist, and no link
        # to it is made.
        await ctx.desk.get_request(ctx.actor, number)
        link = await ctx.signin.create_link(ctx.actor.email, landing=f"/requests/{number}")
        text = _("Your sign-in link to request #{number} in the browser. It works once, within 15 minutes, and "
                 "signs you in as yourself: do not pass it on.", number=number)
    return CommandResult(text, link=link, link_label=_("Open Zonedesk"))


_DECIDED = {
    languages.SAVED: N_("you chose it"),
    languages.PERSON: N_("app.yaml sets it for you"),
    languages.HINT: N_("your app asks for it"),
    languages.ZONE: N_("it is the default of your {zone}"),
    languages.ORGANISATION: N_("it is the organisation's default"),
    languages.DEFAULT: N_("it is the default"),
}


@verb("language", N_("language [code]"), N_("the language Zonedesk speaks with you, or choose one (e.g. language nb)"))
async def _language(ctx: Context, args: str) -> str:
    words = args.split()
    if len(words) > 1:
        raise UsageError
    if words:
        code = await ctx.desk.choose_language(ctx.actor.email, words[0], ctx.dedupe_key)
        return languages.chosen(code)  # already in the language chosen
    async with ctx.desk.sessions() as session:
        reading = await languages.person_language(session, ctx.desk.config, ctx.actor.email,
                                                  hint=ctx.actor.extra.get("locale"))
    said = translator(reading.language)
    how = said.gettext(_DECIDED[reading.source], zone=ctx.desk.config.organisation.zone_noun_in(reading.language))
    return "\n".join((
        said.gettext("Zonedesk speaks {language} ({code}) with you: {how}.",
                     language=LANGUAGES[reading.language], code=reading.language, how=how),
        said.gettext("Choose another with `language <code>`: {choices}.", choices=languages.choices())))


# ---------------------------------------------------------------- the weekly report
@verb("report", N_("report on|off <team>"),
      N_("turn a team's weekly report in its triage channel on or off (a manager of its zone, or an administrator)"))
async def _report(ctx: Context, args: str) -> str:
    from bot.analytics.weekly import switch_weekly_report  # the analytics package reads the database

    switch, team = _split(args, 2)
    if switch.lower() not in ("on", "off") or not team.strip():
        raise UsageError
    return await switch_weekly_report(ctx.desk, ctx.actor, team, switch.lower() == "on", ctx.dedupe_key)
