"""The `/desk` verbs that move work between zones and requests: transfer, task, bundle."""

from __future__ import annotations

from typing import Any

from bot.desk.status import status_word
from bot.desk.verbs.core import NUMBER, Context, UsageError, number_and_rest, parse_number, split_words, verb
from bot.desk.verbs.working import VERB_STATUS
from bot.errors import DeskError
from bot.i18n import N_, _, ngettext


# ---------------------------------------------------------------- zones and tasks
@verb("transfer", N_("transfer <number> <zone>[/<category>] [reason]"), N_("hand a request to another zone"))
async def _transfer(ctx: Context, args: str) -> str:
    number, rest = number_and_rest(args, rest_required=True)
    target, reason = split_words(rest, 2)
    zone, _slash, category = target.lower().partition("/")
    name = await ctx.desk.transfer(ctx.actor, number, zone, category_id=category or None,
                                   reason=reason.strip() or None, dedupe_key=ctx.dedupe_key)
    return _("#{number} is transferred to {zone}.", number=number, zone=name)


@verb("task", N_("task <number> <team|zone|person> <title>"),
      N_("ask a team, zone or agent (possibly in another zone) to do something; they see the task, not the request"))
async def _task(ctx: Context, args: str) -> str:
    number, rest = number_and_rest(args, rest_required=True)
    target, title = split_words(rest, 2)
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
    action, rest = split_words(args, 2)
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
        while split > 0 and NUMBER.match(words[split - 1]):
            split -= 1
        if split == 0 or split == len(words):
            raise UsageError
        bundle, outcome = await desk.create_bundle(ctx.actor, " ".join(words[:split]), _numbers(words[split:]),
                                                   dedupe_key=ctx.dedupe_key)
        lines = [ngettext("Bundle B{bundle} holds {count} request: {numbers}.",
                          "Bundle B{bundle} holds {count} requests: {numbers}.", len(outcome.done), bundle=bundle,
                          numbers=_numbered(outcome.done))]
        return "\n".join(lines + _outcome_lines(outcome))
    first, more = split_words(rest, 2)
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
        status, reason = split_words(more, 2)
        if not status:
            raise UsageError
        outcome = await desk.set_bundle_status(ctx.actor, bundle, status, reason.strip() or None,
                                               dedupe_key=ctx.dedupe_key)
        moved = VERB_STATUS.get(status.lower().replace("-", "_"), status.lower().replace("-", "_"))
        head = ngettext("{count} request is now {status}: {numbers}.", "{count} requests are now {status}: {numbers}.",
                        len(outcome.done), status=status_word(moved), numbers=_numbered(outcome.done)) \
            if outcome.done else _("No request of bundle B{bundle} moved.", bundle=bundle)
        return "\n".join([head, *_outcome_lines(outcome)])
    raise UsageError
