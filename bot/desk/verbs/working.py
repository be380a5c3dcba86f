"""The `/desk` verbs that work a request: claim, assign, reply, note, consult, answer, collaborator, and its fields
(status, priority, category, deadline, label, relate)."""

from __future__ import annotations

from datetime import datetime

from bot.desk.history import level_word
from bot.desk.status import status_word
from bot.desk.verbs.core import MAILTO, Context, UsageError, clip, number_and_rest, parse_number, split_words, verb
from bot.errors import DeskError
from bot.i18n import N_, _


# ---------------------------------------------------------------- ownership and conversation
@verb("claim", N_("claim <number>"), N_("take a request yourself"))
async def _claim(ctx: Context, args: str) -> str:
    number, rest = number_and_rest(args, rest_required=False)
    if rest:
        raise UsageError
    await ctx.desk.claim(ctx.actor, number, dedupe_key=ctx.dedupe_key)
    return _("You claimed #{number}.", number=number)


@verb("assign", N_("assign <number> <person>"), N_("give a request to an agent of its zone (e-mail or @mention)"))
async def _assign(ctx: Context, args: str) -> str:
    number, rest = number_and_rest(args, rest_required=True)
    if len(rest.split()) != 1:
        raise UsageError
    name = await ctx.desk.assign(ctx.actor, number, await ctx.person(rest), dedupe_key=ctx.dedupe_key)
    return _("#{number} is assigned to {name}.", number=number, name=name)


@verb("reply", N_("reply <number> <text> | reply <number> saved:<name> [more text]"),
      N_("a public answer, delivered in the requester's thread (saved:<name> fills in a saved reply)"))
async def _reply(ctx: Context, args: str) -> str:
    number, rest = number_and_rest(args, rest_required=True)
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
    number, rest = number_and_rest(args, rest_required=True)
    await ctx.desk.note(ctx.actor, number, rest, dedupe_key=ctx.dedupe_key)
    return _("Internal note added to #{number}.", number=number)


# ---------------------------------------------------------------- consultation and outside collaborators
@verb("consult", N_("consult <number> [<person> [question] | -<person>]"),
      N_("ask someone in the directory for their view on one request (their answer is an internal note; they see "
         "nothing else); -person withdraws the question; without a person, who was asked"))
async def _consult(ctx: Context, args: str) -> str:
    number, rest = number_and_rest(args, rest_required=False)
    if not rest:
        await ctx.desk.get_request(ctx.actor, number)  # a request one may not read is "not found", never "nobody"
        lines = await ctx.desk.consultations_of(ctx.actor, number)
        if not lines:
            return _("Nobody was asked for their view on #{number}.", number=number)
        said = [_("Asked for their view on #{number}:", number=number)]
        for line in lines:
            state = (_("withdrawn") if not line.open else _("answered") if line.answered_at else _("waiting"))
            said.append(f"• {line.name} ({line.email}): {state}" + (f" · {clip(line.question, 200)}"
                                                                    if line.question else ""))
        return "\n".join(said)
    who, question = split_words(rest, 2)
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
    number, rest = number_and_rest(args, rest_required=True)
    await ctx.desk.answer_consultation(ctx.actor, number, rest, dedupe_key=ctx.dedupe_key)
    return _("Thank you: your view on #{number} is with the desk's agents.", number=number)


@verb("collaborator", N_("collaborator <number> [<e-mail> | -<e-mail>]"),
      N_("bring an outside e-mail address into one request's conversation (it receives the public messages by "
         "mail and its answers land on the request; never notes); -e-mail takes it out; without one, who is in"))
async def _collaborator(ctx: Context, args: str) -> str:
    number, rest = number_and_rest(args, rest_required=False)
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
    mailto = MAILTO.match(token.lstrip("-"))
    address = mailto.group(1) if mailto else token.lstrip("-")
    if token.startswith("-"):
        done = await ctx.desk.remove_collaborator(ctx.actor, number, address, dedupe_key=ctx.dedupe_key)
        return _("{address} is out of the conversation of #{number}: nothing more is sent to it.", address=done,
                 number=number)
    done = await ctx.desk.invite_collaborator(ctx.actor, number, address, dedupe_key=ctx.dedupe_key)
    return _("{address} is in the conversation of #{number}: it receives the public messages by e-mail.",
             address=done, number=number)


# ---------------------------------------------------------------- fields
VERB_STATUS = {"resolve": "resolved", "cancel": "cancelled", "close": "closed", "reopen": "reopened"}


@verb("status", N_("status <number> <status> [reason]"),
      N_("move a request (new, assigned, accepted, in_progress, waiting, resolved, closed, reopened, cancelled); "
         "waiting takes requester, approval or task; resolved takes a note for the requester"))
async def _status(ctx: Context, args: str) -> str:
    number, rest = number_and_rest(args, rest_required=True)
    status, reason = split_words(rest, 2)
    status = status.lower().replace("-", "_")
    status = VERB_STATUS.get(status, status)  # `status 42 resolve` means resolved
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
    number, rest = number_and_rest(args, rest_required=True)
    if len(rest.split()) != 1:
        raise UsageError
    priority = await ctx.desk.set_weight(ctx.actor, number, rest.lower(), dedupe_key=ctx.dedupe_key)
    return _("#{number} now has priority {priority}.", number=number, priority=level_word(priority))


@verb("category", N_("category <number> <category-id|none>"), N_("a category of the request's zone"))
async def _category(ctx: Context, args: str) -> str:
    number, rest = number_and_rest(args, rest_required=True)
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
    number, rest = number_and_rest(args, rest_required=True)
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
    number, rest = number_and_rest(args, rest_required=True)
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
    number, rest = number_and_rest(args, rest_required=True)
    if len(rest.split()) != 1:
        raise UsageError
    if rest.startswith("-"):
        other = parse_number(rest[1:])
        await ctx.desk.unrelate(ctx.actor, number, other, dedupe_key=ctx.dedupe_key)
        return _("#{number} is no longer related to #{other}.", number=number, other=other)
    other = parse_number(rest)
    await ctx.desk.relate(ctx.actor, number, other, dedupe_key=ctx.dedupe_key)
    return _("#{number} is related to #{other}.", number=number, other=other)
