"""The `/desk` verbs about the person and their teams: web, language, report."""

from __future__ import annotations

from bot.desk.verbs.core import CommandResult, Context, UsageError, parse_number, split_words, verb
from bot.errors import DeskError
from bot.i18n import LANGUAGES, N_, _, translator
from bot.people import languages


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

    switch, team = split_words(args, 2)
    if switch.lower() not in ("on", "off") or not team.strip():
        raise UsageError
    return await switch_weekly_report(ctx.desk, ctx.actor, team, switch.lower() == "on", ctx.dedupe_key)
