"""The agent command language (`/desk` in Slack, bot commands in Teams), platform-neutral.

`run_command(desk, actor, "claim #42")` parses the verb and its arguments, calls one desk use case
(which asks `bot.access`), and returns plain text for the person who typed it, in the language being
spoken (the adapter speaks theirs). Adapters only render that text (ephemeral in Slack, a reply in Teams).
The verbs and their keywords stay English, as typed; their usage lines and summaries are translated.
Bad arguments answer with the verb's usage line; a refusal is the desk's own message, so a hidden
request reads exactly like a missing one.
"""

from __future__ import annotations

from typing import Any

from bot.access import Actor

# The verbs register themselves when imported, in this order, which is the order `help` lists them.
# isort: off
from bot.desk.verbs import reading, working, routing, closing, person  # noqa: F401
# isort: on
from bot.desk.verbs.core import VERBS, CommandResult, Context, PersonResolver, UsageError, Verb, split_words
from bot.errors import DeskError, Duplicate
from bot.i18n import _
from bot.people.signin import SignIn


async def run_command(desk: Any, actor: Actor, text: str, *, resolve: PersonResolver | None = None,
                      dedupe_key: str | None = None, signin: SignIn | None = None) -> CommandResult:
    """Interpret one command line for `actor`; never raises for anything the person typed.

    With `dedupe_key` (the platform's id of this command), a verb that changes a request commits the
    key with the change, and running the same command again raises `Duplicate` instead of acting twice.
    `signin` makes sign-in links (the `web` verb); without it that verb says it cannot.
    """
    name, args = split_words(text or "", 2)
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
