"""The `/desk` verbs that close and find requests: resolve, cancel, close, reopen, search."""

from __future__ import annotations

from urllib.parse import urlencode

from bot.desk.status import status_word
from bot.desk.verbs.core import Context, UsageError, clip, number_and_rest, verb
from bot.errors import DeskError
from bot.i18n import N_, _, ngettext


# ---------------------------------------------------------------- closing
@verb("resolve", N_("resolve <number> [note]"),
      N_("resolve a request; the note (optional, may span lines) tells the requester what was done"))
async def _resolve(ctx: Context, args: str) -> str:
    number, note = number_and_rest(args, rest_required=False)
    await ctx.desk.set_status(ctx.actor, number, "resolved", note=note or None, dedupe_key=ctx.dedupe_key)
    if note:
        return _("#{number} is resolved with your note to the requester.", number=number)
    return _("#{number} is resolved.", number=number)


@verb("cancel", N_("cancel <number> [reason]"), N_("cancel an open request; a cancelled request is final"))
async def _cancel(ctx: Context, args: str) -> str:
    number, reason = number_and_rest(args, rest_required=False)
    await ctx.desk.cancel(ctx.actor, number, reason or None, dedupe_key=ctx.dedupe_key)
    return _("#{number} is cancelled.", number=number)


@verb("close", N_("close <number>"),
      N_("resolve a request (the requester may still answer); close it for good when it is already resolved"))
async def _close(ctx: Context, args: str) -> str:
    number, rest = number_and_rest(args, rest_required=False)
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
    number, rest = number_and_rest(args, rest_required=False)
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
            lines.append(f"    {hit.where}: {clip(hit.snippet_text, 200)}")
    if found.total > len(found.hits):
        url = ctx.desk.config.organisation.base_url.rstrip("/") + "/search?" + urlencode({"q": found.text})
        lines.append(_("…and more: see them all at {url}", url=url))
    return "\n".join(lines)
