"""The `/desk` verbs that read: `list` and `show`."""

from __future__ import annotations

from bot.desk.history import Words, level_word
from bot.desk.status import STATUSES, status_word
from bot.desk.verbs.core import LIST_LIMIT, SHOW_HISTORY, Context, UsageError, clip, number_and_rest, verb
from bot.i18n import N_, _, ngettext

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
    number, rest = number_and_rest(args, rest_required=False)
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

        lines += [clip(label_line(a.label, a.text), 300) for a in detail.answer_lines]
    elif detail.description:
        lines.append(clip(detail.description, 600))
    for comment in detail.comments[-3:]:
        if comment.public:
            lines.append(f"— {comment.author_name}: {comment.body[:300]}")
        else:
            lines.append(_("— {author} (internal note): {text}", author=comment.author_name, text=comment.body[:300]))
    if detail.history:  # already only what this reader may see
        lines.append(_("Latest:"))
        lines += [f"· {clip(event.text, 300)}" for event in detail.history[-SHOW_HISTORY:]]
    lines.append(ctx.desk.link(detail.number))
    return "\n".join(lines)
