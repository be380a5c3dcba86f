"""What happens after the acknowledgement: one recorded Slack payload turned into desk calls.

`SlackInbound.handle(key, payload)` is the inbox handler for source "slack". It runs right after the
ack (the payload carries `LIVE`) or later from `Inbox.recover` after a crash (no `LIVE`): it must work
from the recorded payload alone. Desk calls that change something pass `dedupe_key=key`, so the
change and "processed" commit together and a second run is a `Duplicate`, silently ignored. Things
that need a fresh trigger_id (opening a modal) only happen live; recovery tells the person to retry.

Everything done for a person is said in their language (`Unit.language`: their saved choice, `app.yaml`,
their Slack client's locale, the zone's, the organisation's), spoken around the whole handling so a
`DeskError` raised deep in the core reads in it too. A command, click, modal or shortcut resolves it once,
first; a message resolves it only when the desk acts on it (the desk asks for its writer lazily, so the
chatter of a channel it merely reads costs no lookup); an App Home is rendered in its owner's language.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from datetime import datetime, timedelta
from typing import Any, Protocol

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack import views
from adapters.slack.blocks import (
    ACTION_PREFIX,
    action_name,
    comment_of,
    escape,
    notice_blocks,
    section,
    with_status_line,
)
from adapters.slack.files import files_of_event
from adapters.slack.people import SlackPeople
from bot.access import Actor, Level
from bot.catalog import saved_reply_choices, saved_reply_text
from bot.delivery.inbox import Inbox
from bot.desk import Desk, Origin, Outcome, title_from_text
from bot.desk.actions import perform
from bot.desk.commands import run_command
from bot.desk.receive import filing_files
from bot.errors import DeskError, Duplicate
from bot.i18n import _, current, speaking
from bot.people.signin import SignIn

log = logging.getLogger(__name__)

SOURCE = "slack"
HOME_RECHECK = timedelta(minutes=1)
HOME_KEY = "slack:home:"  # a stored reference marks people who have opened the App Home
LIVE = "_zonedesk_live"  # added to the payload handed over right after the ack; never recorded
IGNORED_SUBTYPES = frozenset({
    "bot_message", "message_changed", "message_deleted", "message_replied", "channel_join", "channel_leave",
    "channel_topic", "channel_purpose", "channel_name", "group_join", "group_leave", "pinned_item",
    "unpinned_item", "ekm_access_denied", "me_message", "tombstone", "assistant_app_thread",
})


class FormModals(Protocol):
    """The hook for forms (owned by the forms feature): `/request <form>` and `zd:form:<id>` submissions."""

    def modal(self, form_id: str, metadata: dict[str, Any]) -> dict[str, Any] | None:
        """The modal for a form (callback_id `zd:form:<id>`), or None when there is no such form."""
        ...

    def errors(self, form_id: str, view: dict[str, Any]) -> dict[str, str]:
        """Field errors of a submission (block_id -> message), checked before the ack without the database."""
        ...

    async def submit(self, actor: Actor, origin: Origin, form_id: str, view: dict[str, Any], dedupe_key: str
                     ) -> str:
        """File the submitted form and return the notice for the person."""
        ...


def worth_recording(body: dict[str, Any]) -> bool:
    """False for events we never act on (bots, edits, joins): they are acknowledged and dropped unrecorded."""
    if body.get("type") != "event_callback":
        return True
    event = body.get("event") or {}
    if event.get("type") == "app_home_opened":
        return bool(event.get("tab", "home") == "home")
    if event.get("bot_id") or event.get("subtype") in IGNORED_SUBTYPES or event.get("subtype") == "bot_message":
        return False
    return bool(event.get("user"))


_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")


def text_from_slack(text: str, bot_user: str | None = None) -> str:
    """Slack's message markup as plain text: mentions and links spelled out, entities decoded."""
    if bot_user:
        text = re.sub(rf"<@{re.escape(bot_user)}(?:\|[^>]*)?>", "", text)

    def spell(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("@"):
            return f"@{label or target[1:]}"
        if target.startswith("#"):
            return f"#{label or target[1:]}"
        if target.startswith("!"):
            return f"@{(label or target[1:]).split('^')[0]}"
        if target.startswith("mailto:"):
            return label or target[7:]
        return f"{label} ({target})" if label and label != target else target

    return html.unescape(_LINK.sub(spell, text)).strip()


class SlackInbound:
    """Turns recorded Slack payloads into desk calls and answers the person in Slack."""

    def __init__(self, desk: Desk, inbox: Inbox, client: AsyncWebClient, people: SlackPeople,
                 forms: FormModals | None = None, signin: SignIn | None = None) -> None:
        self.desk = desk
        self.signin = signin  # sign-in links for `/desk web` and the App Home's "Open Zonedesk"
        self.inbox = inbox
        self.client = client
        self.people = people
        self.forms = forms
        self.bot_user: str | None = None
        self.pause: Callable[[], Awaitable[None]] = _nothing  # the runtime lets acknowledgements go first
        self._home_seen: set[str] = set()  # users known to have opened the App Home (never shrinks)
        self._home_unseen: dict[str, datetime] = {}  # users who had not, when last checked
        self._home_running: set[str] = set()
        self._home_again: set[str] = set()

    # ---------------------------------------------------------------- entry
    async def handle(self, key: str, payload: dict[str, Any]) -> None:
        """The inbox handler: route one payload by its kind.

        Every refusal of the desk (a `DeskError`: not found, not allowed, not possible now) is an answer,
        not a failure: the person is told why, privately, and the event is handled. Only what nobody
        planned escapes to the inbox, which logs it and tries again later.
        """
        live = bool(payload.pop(LIVE, False))
        kind = payload.get("type")
        try:
            if kind == "event_callback":
                if self.bot_user is None:  # normally set from bolt's context; after a restart, ask once
                    self.bot_user = (await self.client.auth_test()).get("user_id")
                await self._event(key, payload, payload.get("event") or {})
            elif kind in {"block_actions", "view_submission", "message_action"} or payload.get("command"):
                await self._interaction(key, payload, live)
            else:
                log.info("slack: nothing to do for a %s payload", kind)
        except Duplicate:
            return  # already handled (a platform retry that slipped past the inbox, or a recovery re-run)
        except DeskError as exc:
            log.info("slack: refused a %s payload (%s); told the person", kind or "command", type(exc).__name__)
            await self._refuse(payload, exc.message)

    async def _interaction(self, key: str, payload: dict[str, Any], live: bool) -> None:
        """A command, click, modal submission or shortcut, handled in the language of the person who did it."""
        kind = payload.get("type")
        actor = await self.people.actor(str((payload.get("user") or {}).get("id") or payload.get("user_id")))
        with speaking(await self.desk.language(actor)):
            if kind == "block_actions":
                await self._block_actions(key, payload, actor, live)
            elif kind == "view_submission":
                await self._view_submission(key, payload, actor)
            elif kind == "message_action":
                await self._message_shortcut(payload, live)
            else:
                await self._command(key, payload, actor, live)

    async def _refuse(self, payload: dict[str, Any], text: str) -> None:
        """Tell the person whose payload was refused why, where they acted, as privately as the payload allows:
        its response_url (commands, message buttons), else an ephemeral message in the channel (the event's,
        the click's, or the one a modal was opened from), else a direct message (App Home, modals)."""
        if payload.get("type") == "event_callback":
            event = payload.get("event") or {}
            user, channel = event.get("user"), event.get("channel")
            thread = event.get("thread_ts") or event.get("ts")
        else:
            user = (payload.get("user") or {}).get("id") or payload.get("user_id")
            channel = ((payload.get("channel") or {}).get("id") or payload.get("channel_id")
                       or views.metadata_of(payload.get("view") or {}).get("channel"))
            thread = None
        try:
            if payload.get("response_url"):
                await self._respond(payload, text)
            elif user:
                await self._tell(channel, str(user), text, thread)
        except (SlackApiError, aiohttp.ClientError) as exc:  # the refusal changed nothing: no reason to run it again
            log.warning("slack: could not tell %s why their %s was refused: %s", user, payload.get("type"),
                        type(exc).__name__)

    # ---------------------------------------------------------------- events
    async def _event(self, key: str, body: dict[str, Any], event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "app_home_opened":
            await self._home_opened(event["user"])
            await self.publish_home(event["user"])
        elif kind == "message":
            await self._message(key, body, event)
        elif kind == "app_mention":
            await self._mention(key, body, event)

    async def _message(self, key: str, body: dict[str, Any], event: dict[str, Any]) -> None:
        if not worth_recording(body) or event.get("user") == self.bot_user:
            return
        channel, ts, thread = event["channel"], event["ts"], event.get("thread_ts")
        in_thread = bool(thread and thread != ts)
        origin = Origin(SOURCE, body.get("team_id"), channel, thread if in_thread else None, ts, event["user"])
        direct = event.get("channel_type") == "im"
        await self._receive(key, origin, event, addressed=direct, direct=direct)

    async def _mention(self, key: str, body: dict[str, Any], event: dict[str, Any]) -> None:
        # The same post also arrives as a message event where the desk reads every message (a DM, an
        # intake channel, a request's thread): that one handles it, this one would handle it twice.
        channel, ts, thread = event["channel"], event["ts"], event.get("thread_ts")
        if self.desk.channel_zone(SOURCE, channel) is not None or event.get("channel_type") == "im":
            return
        if thread and await self.desk.thread_request(SOURCE, channel, thread) is not None:
            return
        origin = Origin(SOURCE, body.get("team_id"), channel, thread if thread != ts else None, ts, event["user"])
        await self._receive(key, origin, event, addressed=True, direct=False)

    async def _receive(self, key: str, origin: Origin, event: dict[str, Any], *, addressed: bool,
                       direct: bool) -> None:
        """Hand a message to the desk, which decides what it is; then show the person what became of it."""
        text = text_from_slack(event.get("text") or "", self.bot_user)
        user = event["user"]
        thread = origin.thread or origin.message
        with ExitStack() as speech:
            writer_of: list[Actor] = []

            async def writer() -> Actor:
                # Asked only when the desk acts on the message: the writer's language is spoken from here to
                # the end of this handling (the desk awaits this in the same task, so what it raises or
                # answers next is in that language).
                if not writer_of:
                    actor = await self.people.actor(user)
                    speech.enter_context(speaking(await self.desk.language(actor)))
                    writer_of.append(actor)
                await self.pause()  # acknowledgements first: the desk writes next
                return writer_of[0]

            try:
                received = await self.desk.receive(writer, origin, text, key, addressed=addressed, direct=direct,
                                                   files=files_of_event(event))
            except Duplicate:
                raise
            except DeskError as exc:
                await self.ephemeral(origin.channel, user, exc.message, thread)
                return
            if received.outcome is Outcome.CHOOSE_ZONE and origin.channel:
                await writer()
                noun = self.desk.config.organisation.zone_noun  # the organisation's word, in the asker's language
                await self.client.chat_postMessage(channel=origin.channel, thread_ts=thread,
                                                   text=_("Who should handle this? Choose the {zone}.", zone=noun),
                                                   blocks=views.zone_choice_blocks(received.zones, key, noun))
            elif received.outcome is Outcome.EMPTY:
                await writer()
                await self.ephemeral(origin.channel, user,
                                     _("Write a few words about what you need, and I file it."), thread)
            elif received.actor is not None:  # filed, or written on a request: the App Homes show it
                await self.refresh_homes(received.actor,
                                         None if received.outcome is Outcome.FILED else received.number)

    # ---------------------------------------------------------------- buttons
    async def _block_actions(self, key: str, payload: dict[str, Any], actor: Actor, live: bool) -> None:
        action = (payload.get("actions") or [{}])[0]
        action_id = str(action.get("action_id") or "")
        value = str(action.get("value") or (action.get("selected_option") or {}).get("value") or "")
        user = payload["user"]["id"]
        if action_id.startswith(views.ZONE_CHOICE_PREFIX):
            await self._zone_chosen(key, payload, actor, action_id[len(views.ZONE_CHOICE_PREFIX):], value)
            return
        if action_id == views.SAVED_REPLY_ACTION:
            if live:
                await self._saved_reply_picked(payload, actor, value)
            return
        if action_id == views.NEW_REQUEST_ACTION:
            if live:
                await self._open_create(payload, {"source": "home", "user": user, "team": _team(payload)})
            return
        if action_id == views.OPEN_WEB_ACTION:
            await self._open_web(payload, actor)
            return
        if not action_id.startswith(ACTION_PREFIX):
            return
        comment = comment_of(payload)
        if comment:  # approve/reject read "<approval>:<comment>"
            value = f"{value}:{comment}"
        try:
            outcome = await perform(self.desk, actor, action_name(action_id), value, dedupe_key=key)
        except Duplicate:
            raise
        except DeskError as exc:
            await self._tell_clicker(payload, exc.message)
            return
        channel = (payload.get("channel") or {}).get("id") or (payload.get("container") or {}).get("channel_id")
        if outcome.open_reply is not None or outcome.open_assign is not None or outcome.open_answer is not None:
            if not live:
                await self._tell_clicker(payload, _("That click arrived while Zonedesk was restarting; click again."))
                return
            try:
                if outcome.open_reply is not None:
                    await self._open_reply(payload, actor, outcome.open_reply, channel)
                elif outcome.open_answer is not None:
                    await self._open_answer(payload, actor, outcome.open_answer, channel)
                else:
                    await self._open_assign(payload, actor, outcome.open_assign or 0, channel)
            except DeskError as exc:
                await self._tell_clicker(payload, exc.message)
            return
        message = payload.get("message")
        if outcome.card is not None and message and channel:
            try:
                blocks = with_status_line(message.get("blocks") or [], outcome.card.text)
                if outcome.final:  # a decided approval: no buttons left to press
                    blocks = [b for b in blocks if b.get("type") not in {"actions", "input"}]
                await self.client.chat_update(channel=channel, ts=message["ts"],
                                              text=message.get("text") or escape(outcome.card.text), blocks=blocks)
            except SlackApiError as exc:
                log.warning("slack: could not update the card: %s", exc.response.get("error"))
        await self._tell_clicker(payload, outcome.notice)
        number = _int(value)
        await self.refresh_homes(actor, number)

    async def _zone_chosen(self, key: str, payload: dict[str, Any], actor: Actor, zone_id: str, event_key: str
                           ) -> None:
        user = payload["user"]["id"]
        original = await self.inbox.payload(event_key) if event_key.startswith("slack:event:") else None
        if original is None:  # kept two weeks (bot.server.RETAIN), or not a message of ours
            await self._tell_clicker(payload, _("That message is too old to file from here; please send it again."))
            return
        event = original.get("event") or {}
        if event.get("user") != user:
            noun = self.desk.config.organisation.zone_noun
            await self._tell_clicker(payload, _("Only the person who wrote the message can choose its {noun}.",
                                                noun=noun))
            return
        origin = Origin(SOURCE, original.get("team_id"), event["channel"], None, event["ts"], user)
        text = text_from_slack(event.get("text") or "", self.bot_user)
        files = files_of_event(event)
        text = text or ", ".join(f.name for f in files)[:200]
        try:
            filed = await self.desk.file_request(actor, origin, title_from_text(text), text, zone_id=zone_id,
                                                 dedupe_key=key, after=filing_files(actor, files))
        except Duplicate:
            raise
        except DeskError as exc:
            await self._tell_clicker(payload, exc.message)
            return
        message = payload.get("message") or {}
        if message.get("ts"):
            done = _("Filed with {zone} as #{number}.", zone=filed.zone_name, number=filed.number)
            try:
                await self.client.chat_update(channel=event["channel"], ts=message["ts"], text=done,
                                              blocks=[section(escape(done))])
            except SlackApiError as exc:
                log.warning("slack: could not update the zone question: %s", exc.response.get("error"))
        await self.refresh_homes(actor)

    # ---------------------------------------------------------------- modals
    async def _open_create(self, payload: dict[str, Any], metadata: dict[str, Any], *, title: str = "",
                           description: str = "", zone_id: str | None = None) -> None:
        view = views.create_modal(self.desk.config, self.desk.filing_zones(), title=title, description=description,
                                  zone_id=zone_id, metadata=metadata)
        await self._open(payload, view)

    async def _open_reply(self, payload: dict[str, Any], actor: Actor, number: int, channel: str | None) -> None:
        detail = await self.desk.get_request(actor, number)
        if detail.level < Level.AGENT:
            noun = self.desk.config.organisation.zone_noun
            await self._tell_clicker(payload, _("Only an agent of the request's {noun} can reply to #{number}.",
                                                noun=noun, number=number))
            return
        catalog = self.desk.catalog
        saved = [(c.name, c.title) for c in await saved_reply_choices(self.desk, catalog, detail)] \
            if catalog is not None else []
        await self._open(payload, views.reply_modal(number, detail.title, {"number": number, "channel": channel},
                                                    saved))

    async def _saved_reply_picked(self, payload: dict[str, Any], actor: Actor, name: str) -> None:
        """Fill the Reply modal's text with a saved reply for its request (the agent edits, then sends)."""
        view = payload.get("view") or {}
        metadata = views.metadata_of(view)
        number = _int(str(metadata.get("number") or "")) or 0
        # A refusal (a request this agent may not read or work, no such saved reply) leaves the modal as it
        # is; `handle` tells the agent why.
        text = await saved_reply_text(self.desk, self.desk.catalog, actor, number, name)
        detail = await self.desk.get_request(actor, number)
        saved = [(c.name, c.title) for c in await saved_reply_choices(self.desk, self.desk.catalog, detail)]
        await self.client.views_update(view_id=view.get("id"), hash=view.get("hash"),
                                       view=views.reply_modal(number, detail.title, metadata, saved, text))

    async def _open_answer(self, payload: dict[str, Any], actor: Actor, number: int, channel: str | None) -> None:
        asked = await self.desk.consulted(actor, number)  # "not found" again if withdrawn since the click
        await self._open(payload, views.answer_modal(number, asked.title, asked.question,
                                                     {"number": number, "channel": channel}))

    async def _open_assign(self, payload: dict[str, Any], actor: Actor, number: int, channel: str | None) -> None:
        detail = await self.desk.get_request(actor, number)
        if detail.level < Level.AGENT:
            noun = self.desk.config.organisation.zone_noun
            await self._tell_clicker(payload, _("Only an agent of the request's {noun} can assign #{number}.",
                                                noun=noun, number=number))
            return
        agents = self.desk.policy.assignees(detail.zone_id, detail.team_id)
        await self._open(payload, views.assign_modal(number, agents, {"number": number, "channel": channel}))

    async def _open(self, payload: dict[str, Any], view: dict[str, Any]) -> None:
        try:
            await self.client.views_open(trigger_id=payload["trigger_id"], view=view)
        except SlackApiError as exc:
            log.warning("slack: views.open failed: %s", exc.response.get("error"))
            await self._tell_clicker(payload, _("I could not open the dialog in time; please try again."))

    async def _view_submission(self, key: str, payload: dict[str, Any], actor: Actor) -> None:
        view = payload.get("view") or {}
        callback = str(view.get("callback_id") or "")
        user = payload["user"]["id"]
        metadata = views.metadata_of(view)
        try:
            if callback == views.CREATE:
                await self._submit_create(key, payload, actor, view, metadata)
            elif callback == views.REPLY:
                number = int(metadata["number"])
                text = views.value_of(view, "text-saved") or views.value_of(view, "text") or ""
                await self.desk.reply(actor, number, text, dedupe_key=key)
                await self._tell(metadata.get("channel"), user,
                                 _("Your reply on #{number} is on its way.", number=number))
                await self.refresh_homes(actor, number)
            elif callback == views.ANSWER:
                number = int(metadata["number"])
                await self.desk.answer_consultation(actor, number, views.value_of(view, "text") or "", dedupe_key=key)
                await self._tell(metadata.get("channel"), user,
                                 _("Thank you: your view on #{number} is with the desk's agents.", number=number))
            elif callback == views.ASSIGN:
                number = int(metadata["number"])
                name = await self.desk.assign(actor, number, views.value_of(view, "assignee") or "", dedupe_key=key)
                await self._tell(metadata.get("channel"), user, _("#{number} is assigned to {name}.", number=number,
                                                                   name=name))
                await self.refresh_homes(actor, number)
            elif callback.startswith(views.FORM_PREFIX) and self.forms is not None:
                origin = await self._dm_origin(user, _team(payload), metadata.get("title") or _("Your request"))
                notice = await self.forms.submit(actor, origin, callback[len(views.FORM_PREFIX):], view, key)
                await self._tell(None, user, notice)
                await self.refresh_homes(actor)
        except Duplicate:
            raise
        except DeskError as exc:
            await self._tell(metadata.get("channel"), user, exc.message)

    async def _submit_create(self, key: str, payload: dict[str, Any], actor: Actor, view: dict[str, Any],
                             metadata: dict[str, Any]) -> None:
        form, errors = views.read_create_form(self.desk.config, view)
        if form is None:  # checked before the ack; a recovered stale payload ends here
            await self._tell(None, actor.extra.get("slack_user"), " ".join(errors.values()))
            return
        user = payload["user"]["id"]
        if metadata.get("source") == "shortcut":
            origin = Origin(SOURCE, metadata.get("team"), metadata["channel"], metadata.get("thread"),
                            metadata["message"], user)
        else:
            origin = await self._dm_origin(user, metadata.get("team") or _team(payload), form.title)
        filed = await self.desk.file_request(actor, origin, form.title, form.description, zone_id=form.zone_id,
                                             category_id=form.category_id, urgency=form.urgency, dedupe_key=key)
        log.info("slack: filed #%s from a modal", filed.number)
        await self.refresh_homes(actor)

    async def _dm_origin(self, user: str, team: str | None, title: str) -> Origin:
        """A request filed from a modal lives in the person's DM, in the thread of a first message."""
        opened = await self.client.conversations_open(users=user)
        channel = (opened.get("channel") or {}).get("id") or user
        posted = await self.client.chat_postMessage(
            channel=channel, text=_("Your request: {title}", title=escape(title)),
            blocks=[section(_("*Your request:* {title}", title=escape(title)))])
        return Origin(SOURCE, team, posted.get("channel") or channel, None, posted["ts"], user)

    # ---------------------------------------------------------------- shortcuts and commands
    async def _message_shortcut(self, payload: dict[str, Any], live: bool) -> None:
        if payload.get("callback_id") != "create_request":
            return
        if not live:
            await self._tell_clicker(payload, _("That arrived while Zonedesk was restarting; use the shortcut again."))
            return
        message = payload.get("message") or {}
        channel = (payload.get("channel") or {}).get("id")
        text = text_from_slack(message.get("text") or "", self.bot_user)
        metadata = {"source": "shortcut", "channel": channel, "message": message.get("ts"),
                    "thread": message.get("thread_ts") if message.get("thread_ts") != message.get("ts") else None,
                    "team": _team(payload)}
        await self._open_create(payload, metadata, title=title_from_text(text), description=text,
                                zone_id=self.desk.channel_zone(SOURCE, channel))

    async def _command(self, key: str, payload: dict[str, Any], actor: Actor, live: bool) -> None:
        command = str(payload.get("command") or "")
        user = str(payload.get("user_id"))
        text = str(payload.get("text") or "")
        if command == "/request":
            if not live:
                await self._respond(payload, _("That arrived while Zonedesk was restarting; type /request again."))
                return
            metadata = {"source": "command", "user": user, "team": payload.get("team_id"),
                        "channel": payload.get("channel_id")}
            form_id = text.strip().split()[0] if text.strip() else None
            if form_id and self.forms is not None:
                modal = self.forms.modal(form_id, metadata)
                if modal is not None:
                    await self._open(payload, modal)
                    return
                await self._respond(payload, _("There is no form '{form}'; here is the general request form.",
                                               form=form_id))
            await self._open_create(payload, metadata,
                                    zone_id=self.desk.channel_zone(SOURCE, payload.get("channel_id")))
            return
        result = await run_command(self.desk, actor, text, resolve=self.people.email_of_mention, dedupe_key=key,
                                   signin=self.signin)
        await self._respond(payload, result.text, result.link, result.link_label)
        if result.ok and result.link is None:  # a sign-in link changes nothing an App Home shows
            words = text.split()
            await self.refresh_homes(actor, _int(words[1]) if len(words) > 1 else None)

    async def _open_web(self, payload: dict[str, Any], actor: Actor) -> None:
        """The App Home's "Open Zonedesk": a fresh sign-in link, as `/desk web` answers it, in a direct message.

        A click in the App Home has no channel to answer ephemerally in and no response_url. A DM reaches
        only the person (the app's DM with them), needs no trigger_id (so it also works when the click is
        handled after a restart), and is where the sign-in page's "send me a link" sends links too. The
        link stays in the DM's history, which is harmless: it works once and expires in 15 minutes.
        """
        result = await run_command(self.desk, actor, "web", signin=self.signin)
        await self._tell(None, payload["user"]["id"], result.text, link=result.link, link_label=result.link_label)

    # ---------------------------------------------------------------- App Home
    async def publish_home(self, user: str, language: str | None = None) -> None:
        """Publish a person's App Home in their language (`language` when the caller knows it already: the
        person it is handling); a refresh asked for while one runs is folded into one more run."""
        if user in self._home_running:
            self._home_again.add(user)
            return
        self._home_running.add(user)
        try:
            while True:
                self._home_again.discard(user)
                await self._publish_home(user, language)
                if user not in self._home_again:
                    break
        finally:
            self._home_running.discard(user)

    async def _publish_home(self, user: str, language: str | None) -> None:
        """The App Home: their requests, and for agents their assignments and queue."""
        actor = await self.people.actor(user)
        language = language or await self.desk.language(actor)
        await self.pause()
        mine = await self.desk.list_requests(actor, scope="mine", status="open", limit=views.HOME_LIST + 1)
        assigned = queue = None
        if actor.is_staff:
            assigned = await self.desk.list_requests(actor, scope="assigned", status="open",
                                                     limit=views.HOME_LIST + 1)
            queue = await self.desk.list_requests(actor, scope="queue", limit=views.HOME_LIST + 1)
        with speaking(language):
            view = views.home_view(actor.name, mine, assigned, queue, self.desk.config,
                                   self.desk.config.organisation.base_url)
        await self.pause()
        await self.client.views_publish(user_id=user, view=view)

    async def refresh_homes(self, actor: Actor, number: int | None = None) -> None:
        """After a change made through Slack: the actor's Home, and the requester's and assignee's, each in
        their own language (the actor's is the one being spoken: this runs while handling them).

        Best effort: a Home is a view of current state, so a missed refresh heals on the next open.
        """
        own = actor.extra.get("slack_user")
        users = {own}
        await self.pause()
        try:
            try:
                detail = await self.desk.get_request(actor, number) if number is not None else None
            except DeskError:
                detail = None  # e.g. transferred away: the actor no longer sees it
            if detail is not None:
                for email in {detail.requester_email, detail.assignee_email} - {None, actor.email}:
                    users.update(await self.people.user_ids(str(email)))
            for user in sorted(u for u in users if u):
                if await self._has_home(user):
                    await self.publish_home(user, current().language if user == own else None)
        except Exception:  # the change is committed; a failed refresh must not make it look failed
            log.warning("slack: App Home refresh failed", exc_info=True)

    async def _home_opened(self, user: str) -> None:
        """Remember (in the database, for every replica) that this person uses the App Home."""
        if user not in self._home_seen:
            await self.people.directory.save_reference(f"{HOME_KEY}{user}", SOURCE, {"opened": True})
            self._home_seen.add(user)
            self._home_unseen.pop(user, None)

    async def _has_home(self, user: str) -> bool:
        """Whether refreshing this person's Home is worth it: never-opened Homes get their view on open."""
        if user in self._home_seen:
            return True
        now = self.desk.clock.now()
        checked = self._home_unseen.get(user)
        if checked is not None and now - checked < HOME_RECHECK:
            return False  # another replica may have seen the open since; look again after a while
        if await self.people.directory.reference(f"{HOME_KEY}{user}") is not None:
            self._home_seen.add(user)
            self._home_unseen.pop(user, None)
            return True
        self._home_unseen[user] = now
        return False

    # ---------------------------------------------------------------- answering privately
    async def _respond(self, payload: dict[str, Any], text: str, link: str | None = None,
                       link_label: str | None = None) -> None:
        """A private answer through the payload's response_url (commands, message buttons); `link` (a
        sign-in link) only ever goes in such a private answer, as a button."""
        url = payload.get("response_url")
        if not url:
            await self._tell((payload.get("channel") or {}).get("id") or payload.get("channel_id"),
                             (payload.get("user") or {}).get("id") or payload.get("user_id"), text,
                             link=link, link_label=link_label)
            return
        response = await AsyncWebhookClient(str(url), session=self.client.session).send(
            text=escape(text[:3000]), blocks=notice_blocks(text, link, link_label), response_type="ephemeral",
            replace_original=False)
        if response.status_code >= 300:
            log.warning("slack: response_url answered %s", response.status_code)

    async def _tell_clicker(self, payload: dict[str, Any], text: str) -> None:
        if payload.get("response_url"):
            await self._respond(payload, text)
            return
        user = (payload.get("user") or {}).get("id")
        if (payload.get("view") or {}).get("type") == "home":
            if user:
                # A click in the App Home: the refreshed Home is the answer (in the clicker's language, spoken now).
                await self.publish_home(user, current().language)
            return
        await self._tell((payload.get("channel") or {}).get("id"), user, text)

    async def _tell(self, channel: str | None, user: str | None, text: str, thread: str | None = None, *,
                    link: str | None = None, link_label: str | None = None) -> None:
        """A private notice: ephemeral in the channel where it happened, else a DM (with a link button when
        given: only ever to `user`)."""
        if not user:
            return
        if channel:
            await self.ephemeral(channel, user, text, thread, link=link, link_label=link_label)
        else:
            await self._direct(user, text, link, link_label)

    async def ephemeral(self, channel: str | None, user: str, text: str, thread: str | None = None, *,
                        link: str | None = None, link_label: str | None = None) -> None:
        """An ephemeral message only `user` sees; falls back to a DM when the bot cannot post there."""
        try:
            await self.client.chat_postEphemeral(channel=channel or user, user=user, thread_ts=thread,
                                                  text=escape(text[:3000]),
                                                  blocks=notice_blocks(text, link, link_label))
        except SlackApiError as exc:
            log.info("slack: ephemeral failed (%s); sending a DM", exc.response.get("error"))
            await self._direct(user, text, link, link_label)

    async def _direct(self, user: str, text: str, link: str | None = None, link_label: str | None = None) -> None:
        """A message in the app's DM with `user` (posting to a user id lands there); links are not unfurled."""
        await self.client.chat_postMessage(channel=user, text=escape(text[:3000]),
                                           blocks=notice_blocks(text, link, link_label), unfurl_links=False,
                                           unfurl_media=False)


async def _nothing() -> None:
    return None


def _team(payload: dict[str, Any]) -> str | None:
    team = payload.get("team")
    return str(team.get("id")) if isinstance(team, dict) and team.get("id") else payload.get("team_id")


def _int(value: str) -> int | None:
    try:
        return int(value.lstrip("#"))
    except ValueError:
        return None  # not a request number: nothing more to refresh

