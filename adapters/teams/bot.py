"""What Zonedesk does with each Teams activity: thin handlers over the desk, one desk call per activity.

- A message in the personal chat, or mentioning the bot in a channel, files a request; a message in a
  thread that belongs to a request adds to it (the origin thread: a comment; the triage thread: an
  internal note). In a chat, which has no threads, replying to the message that filed a request counts.
- `desk <verb> ...` typed to the bot runs the agent command language (`bot.desk.commands`); the answer goes
  to the agent alone: in the personal chat, or from a channel into the agent's personal chat (Teams has
  no private messages inside a channel; see docs/decisions/0005).
- Card buttons arrive as `adaptiveCard/action` invokes and go to `bot.desk.actions.perform`; the invoke
  response replaces the card, so everyone sees who acted.
- Dialogs (`task/fetch`, `task/submit`) and the message extension "Create request" go to `Dialogs`.
- A refusal of the desk (`DeskError`) is answered in one place, `on_turn`, whatever the activity: on the card,
  in the dialog, or privately in the personal chat; the turn ends well, so Teams does not send it again.
- Whatever is done for a person is done in their language (`Desk.language`: their choice, `app.yaml`, the
  activity's `locale`...), spoken around the handling, so the desk's refusals and answers read in it. A
  channel message is only looked into (who wrote it, their language) once the desk acts on it.

Every activity is de-duplicated by `teams:activity:<conversation>:<id>`, committed with the change it
causes, so a re-sent activity creates nothing new. The confirmation of a new request is written to the
outbox by the desk and sent by `TeamsSender` after commit.
"""

from __future__ import annotations

import html
import logging
import re
from contextlib import ExitStack
from http import HTTPStatus
from typing import Any

from botbuilder.core import CardFactory, InvokeResponse, TurnContext, serializer_helper
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    ConversationParameters,
)
from botbuilder.schema.teams import (
    MessagingExtensionAction,
    MessagingExtensionActionResponse,
    TaskModuleContinueResponse,
    TaskModuleMessageResponse,
    TaskModuleRequest,
    TaskModuleResponse,
    TaskModuleTaskInfo,
)
from msrest.serialization import Model

from adapters.teams import cards
from adapters.teams.cards import ACTION, DIALOG, OPEN_WEB, VALUE, Signer, shorten
from adapters.teams.conversations import (
    CHANNEL,
    PERSONAL,
    PLATFORM,
    References,
    activity_key,
    base_conversation,
    deserialize,
    kind_of,
    tenant_of,
    thread_of,
    user_key,
)
from adapters.teams.dialogs import DialogAnswer, DialogRequest, Dialogs, ShowCard
from adapters.teams.files import files_of_activity
from adapters.teams.people import TeamsPeople, person_key
from bot.access import Actor
from bot.desk import Desk, Origin, Outcome
from bot.desk.actions import perform
from bot.desk.commands import run_command
from bot.desk.unit import TEXT_MAX
from bot.errors import DeskError, Duplicate
from bot.i18n import N_, _, speaking
from bot.people.signin import SignIn

log = logging.getLogger(__name__)

COMMAND = re.compile(r"^\s*/?desk(?:\s+|$)", re.IGNORECASE)
# A mention's name holds no "<" (Teams escapes it); `(.*?)</at>` instead made a message of many "<at>"
# without a closing tag cost quadratic time on the event loop (28 KB of them blocked it for seconds).
_AT = re.compile(r"<at>([^<]*)</at>", re.IGNORECASE)
_TAG = re.compile(r"</?(?:p|div|span|br|b|i|em|strong|u|s)(?:\s[^<>]*)?/?>", re.IGNORECASE)
RAW_TEXT_MAX = 100_000  # characters of a message's HTML; the desk's own limit (TEXT_MAX) applies after cleaning
# Invokes the SDK dispatches to our handlers, with the model it reads their value into; and those it answers itself.
INVOKE_MODELS: dict[str, type[Model]] = {
    "task/fetch": TaskModuleRequest, "task/submit": TaskModuleRequest,
    "composeExtension/fetchTask": MessagingExtensionAction, "composeExtension/submitAction": MessagingExtensionAction,
}
SDK_INVOKES = frozenset({"healthCheck"})
# Where the SDK keeps a turn's invoke response once sent (the CloudAdapter reads it from there).
INVOKE_RESPONSE_KEY = TurnContext._INVOKE_RESPONSE_KEY
# Where a turn keeps the language of the person acting, once known (a refusal is told in it).
LANGUAGE_KEY = "zonedesk.language"
HELP = N_("Tell me what you need and I file it as a request; we answer here. "
          "Agents: type `desk help` for the commands.")
NOT_FOR_REQUESTS = N_("This channel is not set up for requests. Write to me in a personal chat, or ask an "
                      "administrator to map the channel to a department.")


def clean_text(activity: Activity, bot_id: str, *, mention_tokens: bool = False) -> str:
    """The message's text without the bot's mention; other mentions as `@Name` (or `<at:ID>` for commands)."""
    text = activity.text or ""
    others: dict[str, str] = {}
    bot_texts: set[str] = set()
    for entity in activity.entities or []:
        if (entity.type or "").lower() != "mention":
            continue
        props = entity.additional_properties or {}
        mentioned = props.get("mentioned")
        if not isinstance(mentioned, dict):
            continue  # not a mention Teams would send: its text stays as written
        shown = str(props.get("text") or f"<at>{mentioned.get('name', '')}</at>")
        if mentioned.get("id") == bot_id:
            bot_texts.add(shown)
        elif mentioned.get("id"):
            others[shown] = f"<at:{mentioned['id']}>" if mention_tokens else f"@{mentioned.get('name', '')}"
    for shown in bot_texts:
        text = text.replace(shown, " ")
    for shown, token in others.items():
        text = text.replace(shown, token)
    if not bot_texts and kind_of(activity) != PERSONAL:
        text = _AT.sub(" ", text, count=1)  # no entities: the first mention of a channel message is ours
    text = _AT.sub(lambda m: f"@{m.group(1)}", text)
    if "<" in text and _TAG.search(text):
        text = _TAG.sub("\n", text)
    return html.unescape(text).strip()


def channel_ids(activity: Activity) -> list[str]:
    """The ids `app.yaml` may name a channel message's channel by: its base conversation id, or the channel
    id Teams gives in channelData."""
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    return [base_conversation(activity.conversation.id), str((data.get("channel") or {}).get("id") or "")]


class ZonedeskBot(TeamsActivityHandler):  # type: ignore[misc]  # untyped base (botbuilder)
    """The Teams activity handler of one server."""

    def __init__(self, desk: Desk, people: TeamsPeople, references: References, dialogs: Dialogs, signer: Signer,
                 *, app_id: str, signin: SignIn | None = None) -> None:
        self.desk = desk
        self.signin = signin  # sign-in links for `desk web` and the "Open Zonedesk" button
        self.people = people
        self.references = references
        self.dialogs = dialogs
        self.signer = signer
        self.app_id = app_id
        self.bot_id = f"28:{app_id}"

    async def on_turn(self, turn_context: TurnContext) -> None:
        """Every activity: in a personal chat, keep its reference first (direct messages go there later).

        Every refusal of the desk (a `DeskError`: not found, not allowed, not possible now) is answered here,
        for every kind of activity, and the turn ends well (200: Teams does not send it again). Only what
        nobody planned fails the turn.
        """
        activity = turn_context.activity
        if activity.conversation is not None and activity.from_property is not None \
                and activity.type in (ActivityTypes.message, ActivityTypes.invoke) and kind_of(activity) == PERSONAL:
            await self.references.remember_turn(turn_context)
        try:
            await super().on_turn(turn_context)
        except DeskError as exc:
            if isinstance(exc, Duplicate) and activity.type != ActivityTypes.invoke:
                log.info("teams: %s seen before; ignored", activity_key(activity))
                return
            log.info("teams: refused a %s activity (%s); told the person", activity.name or activity.type,
                     type(exc).__name__)
            with speaking(turn_context.turn_state.get(LANGUAGE_KEY)):  # the desk's sentence is in it already
                await self.refuse(turn_context, exc.message)

    async def language(self, turn_context: TurnContext, actor: Actor | None = None, *, again: bool = False) -> str:
        """The language of the person acting in this turn (`Desk.language`: their choice, `app.yaml`, the
        activity's locale, a mapped channel's zone...), looked up once per turn (`again`: after they chose)."""
        known = turn_context.turn_state.get(LANGUAGE_KEY)
        if known is None or again:
            activity = turn_context.activity
            zone = self.desk.channel_zone(PLATFORM, *channel_ids(activity)) if kind_of(activity) == CHANNEL else None
            known = await self.desk.language(actor or await self.people.actor(turn_context), zone)
            turn_context.turn_state[LANGUAGE_KEY] = known
        return str(known)

    async def refuse(self, turn_context: TurnContext, text: str) -> None:
        """Tell the person why the desk refused: an invoke's own response (the card, the dialog, the message
        extension shows it), else a private message (`tell`)."""
        activity = turn_context.activity
        if activity.type != ActivityTypes.invoke:
            await self.tell(turn_context, text)
            return
        if turn_context.turn_state.get(INVOKE_RESPONSE_KEY) is not None:
            return  # the response went out before the refusal: nothing more can be said in this turn
        await turn_context.send_activity(Activity(type=ActivityTypes.invoke_response,
                                                  value=refusal_response(activity.name or "", text)))

    # ---------------------------------------------------------------- messages
    async def on_message_activity(self, turn_context: TurnContext) -> None:
        """A message: a fallback click, a command, a comment or note in a linked thread, or a new request."""
        activity = turn_context.activity
        if isinstance(activity.value, dict) and activity.value.get(OPEN_WEB):
            await self._open_web(turn_context)
            return
        if isinstance(activity.value, dict) and activity.value.get(ACTION):
            await self._fallback_click(turn_context, activity.value)
            return
        if isinstance(activity.value, dict) and activity.value.get(DIALOG):
            return  # a dialog's submit that a client posted as a message: nothing to do outside the dialog
        if len(activity.text or "") > RAW_TEXT_MAX:  # Teams sends at most ~28 KB; no parsing of more than that
            with speaking(await self.language(turn_context)) as said:
                await self.tell(turn_context, _(
                    "Your message is too long ({length} characters; at most {limit}). Shorten it, or open "
                    "Zonedesk in the browser and attach the details as a file.",
                    length=said.number(len(activity.text or "")), limit=said.number(TEXT_MAX)))
            return
        text = clean_text(activity, self.bot_id)
        key = activity_key(activity)
        if COMMAND.match(text):
            await self._command(turn_context, key)
            return
        kind = kind_of(activity)
        if kind == CHANNEL:
            conversation, root = thread_of(activity)
            reply_to = root if root != str(activity.id) else None
            aliases = channel_ids(activity)
        else:
            conversation, root, reply_to, aliases = activity.conversation.id, None, activity.reply_to_id, []
        origin = Origin(PLATFORM, tenant_of(activity), conversation, root, str(activity.id),
                        person_key(activity.from_property))

        # The desk asks who wrote the message only when it acts on it; from then on, their language is spoken
        # (until the desk is done: `spoken` leaves it), so what the desk refuses or queues reads in it.
        spoken = ExitStack()

        async def writer() -> Actor:
            if kind != PERSONAL:  # a personal chat was remembered as the turn began
                await self.references.remember_turn(turn_context, conversation)
            actor = await self.people.actor(turn_context)
            spoken.enter_context(speaking(await self.language(turn_context, actor)))
            return actor

        with spoken:
            try:
                received = await self.desk.receive(writer, origin, text, key, addressed=True,
                                                   direct=kind == PERSONAL, reply_to=reply_to, aliases=aliases,
                                                   files=files_of_activity(activity))
            except Duplicate:
                log.info("teams: %s seen before; ignored", key)
                return
        if received.outcome is Outcome.EMPTY:
            with speaking(await self.language(turn_context, received.actor)):
                await self.tell(turn_context, _(HELP), actions=(cards.open_web_action(),))
        elif received.outcome is Outcome.CHOOSE_ZONE:
            with speaking(await self.language(turn_context, received.actor)):
                await self.tell(turn_context, _(NOT_FOR_REQUESTS))

    async def _command(self, turn_context: TurnContext, key: str) -> None:
        """Run a `desk` command and answer it once, even when Teams sends the activity again.

        A verb that changes something claims `key` with its change (a re-send is a Duplicate); a question
        (list, show, help) claims `<key>:answered` once its answer went out, and a re-send finding that
        mark stays silent. Should the process die between the answer and the mark, a re-send answers
        again: at least once, never lost.
        """
        answered = f"{key}:answered"
        if await self.desk.handled(answered):
            log.info("teams: command %s answered before; ignored", key)
            return
        text = COMMAND.sub("", clean_text(turn_context.activity, self.bot_id, mention_tokens=True), count=1)
        actor = await self.people.actor(turn_context)
        language = await self.language(turn_context, actor)
        with speaking(language):
            try:
                result = await run_command(self.desk, actor, text, resolve=self.people.resolver(turn_context),
                                           dedupe_key=key, signin=self.signin)
            except Duplicate:
                log.info("teams: command %s seen before; ignored", key)
                return
        words = text.lower().split()
        if words[:1] == ["language"] and len(words) > 1 and result.ok:  # the language just chosen frames its answer
            language = await self.language(turn_context, actor, again=True)
        with speaking(language):
            await self.tell(turn_context, result.text, actions=cards.link_action(result.link, result.link_label)
                            if result.link else ())
        await self.desk.mark_handled(answered, "teams")

    async def _open_web(self, turn_context: TurnContext) -> None:
        """The welcome and help card's "Open Zonedesk": a fresh sign-in link, as `desk web` answers it, in the
        person's personal chat (`tell`)."""
        actor = await self.people.actor(turn_context)
        with speaking(await self.language(turn_context, actor)):
            result = await run_command(self.desk, actor, "web", signin=self.signin)
            await self.tell(turn_context, result.text, actions=cards.link_action(result.link, result.link_label)
                            if result.link else ())

    async def _fallback_click(self, turn_context: TurnContext, data: dict[str, Any]) -> None:
        """A button clicked in a client without Universal Actions: act, tell the clicker, update the card."""
        actor = await self.people.actor(turn_context)
        with speaking(await self.language(turn_context, actor)):
            try:
                outcome = await perform(self.desk, actor, str(data.get(ACTION)), with_comment(data),
                                        dedupe_key=activity_key(turn_context.activity))
            except Duplicate:
                return
            card = cards.updated_card(data, outcome, self.signer)
            reply_to = turn_context.activity.reply_to_id
            if card is not None and reply_to:
                update = Activity(type=ActivityTypes.message, id=reply_to,
                                  conversation=turn_context.activity.conversation,
                                  attachments=[CardFactory.adaptive_card(card)])
                try:
                    await turn_context.update_activity(update)
                except Exception:  # the action is done; a card that could not be redrawn is cosmetic
                    log.warning("teams: could not update the card after a fallback click", exc_info=True)
            await self.tell(turn_context, outcome.notice)

    # ---------------------------------------------------------------- answering one person
    async def tell(self, turn_context: TurnContext, text: str, *, actions: tuple[dict[str, Any], ...] = ()) -> None:
        """A private answer: in the personal chat; from a channel or group chat, in the person's personal chat.

        Only when that chat cannot be reached does a line go into the conversation, without the answer (nor
        its buttons: a sign-in link goes to its owner or nowhere).
        """
        activity = card_message(text, actions)
        if kind_of(turn_context.activity) == PERSONAL:
            await turn_context.send_activity(activity)
            return
        try:
            await self.send_personal(turn_context, activity)
        except Exception:
            log.warning("teams: could not reach %s in a personal chat", turn_context.activity.from_property.id,
                        exc_info=True)
            await turn_context.send_activity(card_message(
                _("I could not answer you privately: open a personal chat with Zonedesk, then try again.")))

    async def send_personal(self, turn_context: TurnContext, activity: Activity) -> None:
        """Send to the sender's personal chat with the bot (started now if the bot has never been in it)."""
        account = turn_context.activity.from_property
        adapter = turn_context.adapter
        reference = await self.references.load(user_key(person_key(account)))

        async def deliver(proactive: TurnContext) -> None:
            proactive.activity.id = None  # a new message, not a reply to the continuation event
            await proactive.send_activity(activity)

        if reference is not None:
            await adapter.continue_conversation(reference, deliver, self.app_id)
            return
        tenant = tenant_of(turn_context.activity)
        parameters = ConversationParameters(is_group=False, bot=ChannelAccount(id=self.bot_id),
                                            members=[ChannelAccount(id=account.id)], tenant_id=tenant,
                                            channel_data={"tenant": {"id": tenant}})

        async def started(proactive: TurnContext) -> None:
            proactive.activity.from_property = ChannelAccount(id=account.id, aad_object_id=account.aad_object_id)
            proactive.activity.conversation.conversation_type = PERSONAL
            await self.references.remember_turn(proactive)
            await deliver(proactive)

        await adapter.create_conversation(self.app_id, started, parameters, "msteams",
                                          turn_context.activity.service_url)

    # ---------------------------------------------------------------- card buttons
    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        """Card clicks here (their response body is plain JSON); dialogs and the message extension as the SDK
        routes them, once their value has the shape the SDK reads; any other invoke is refused with a 400.

        The SDK would answer 501 to an invoke it has no handler for, and fail with a 500 on a value it
        cannot read: a 5xx says "our fault" (and pages someone), which neither is.
        """
        name = turn_context.activity.name or ""
        if name == "adaptiveCard/action":
            return InvokeResponse(status=200, body=await self.card_action(turn_context))
        model = INVOKE_MODELS.get(name)
        if model is None and name not in SDK_INVOKES:
            return invoke_refusal(f"Zonedesk does not handle '{shorten(name, 60)}' invokes.")
        if model is not None:
            try:
                deserialize(model, turn_context.activity.value)
            except (ValueError, TypeError, AttributeError) as exc:  # msrest's DeserializationError is a ValueError
                log.info("teams: refused a %s invoke whose value is malformed: %s", name, type(exc).__name__)
                return invoke_refusal(f"The value of this '{name}' invoke is malformed.")
        response: InvokeResponse = await super().on_invoke_activity(turn_context)
        if response is not None and response.status == HTTPStatus.NOT_IMPLEMENTED:
            return invoke_refusal(f"Zonedesk does not handle this kind of '{name}' invoke.")
        return response

    async def card_action(self, turn_context: TurnContext) -> dict[str, Any]:
        """A Universal Action click: run the neutral action; the response replaces the card (or says why not).

        The body is built as JSON here: the SDK's AdaptiveCardInvokeResponse model cannot carry the text
        value of a "message" response.
        """
        value = as_dict(turn_context.activity.value)
        action = as_dict(value.get("action"))
        data = as_dict(action.get("data"))
        actor = await self.people.actor(turn_context)
        with speaking(await self.language(turn_context, actor)):
            if action.get("type") != "Action.Execute" or not data.get(ACTION):
                return cards.message_response(_("This button is no longer supported."))
            try:
                outcome = await perform(self.desk, actor, str(data[ACTION]), with_comment(data),
                                        dedupe_key=activity_key(turn_context.activity))
            except Duplicate:
                return cards.message_response(_("This was already handled."))
            card = cards.updated_card(data, outcome, self.signer)
            if card is None:
                return cards.message_response(outcome.notice)
            return cards.card_response(card)

    # ---------------------------------------------------------------- dialogs
    async def on_teams_task_module_fetch(self, turn_context: TurnContext,
                                         task_module_request: TaskModuleRequest) -> TaskModuleResponse:
        """A task/fetch button: open the dialog it names."""
        data = dialog_data(task_module_request.data)
        request = await self._dialog_request(turn_context, data)
        with speaking(await self.language(turn_context, request.actor)):
            return task_response(await self.dialogs.fetch(str(data.get(DIALOG) or ""), request))

    async def on_teams_task_module_submit(self, turn_context: TurnContext,
                                          task_module_request: TaskModuleRequest) -> TaskModuleResponse:
        """A dialog's card was submitted."""
        data = dialog_data(task_module_request.data)
        request = await self._dialog_request(turn_context, data)
        with speaking(await self.language(turn_context, request.actor)):
            return task_response(await self.dialogs.submit(str(data.get(DIALOG) or ""), request))

    async def on_teams_messaging_extension_fetch_task(self, turn_context: TurnContext,
                                                      action: MessagingExtensionAction
                                                      ) -> MessagingExtensionActionResponse:
        """"Create request" on a message: the create dialog, prefilled with the message."""
        request = await self._dialog_request(turn_context, {}, action)
        with speaking(await self.language(turn_context, request.actor)):
            answer = await self.dialogs.fetch("create", request)
            return MessagingExtensionActionResponse(task=task_response(answer).task)

    async def on_teams_messaging_extension_submit_action(self, turn_context: TurnContext,
                                                         action: MessagingExtensionAction
                                                         ) -> MessagingExtensionActionResponse:
        """The create dialog of the message extension was submitted: file it in the message's thread."""
        data = dialog_data(action.data)
        request = await self._dialog_request(turn_context, data, action)
        if request.origin is not None:
            await self.references.remember_turn(turn_context, request.origin.channel)
        with speaking(await self.language(turn_context, request.actor)):
            answer = await self.dialogs.submit("create", request)
            return MessagingExtensionActionResponse(task=task_response(answer).task)

    async def _dialog_request(self, turn_context: TurnContext, data: dict[str, Any],
                              action: MessagingExtensionAction | None = None) -> DialogRequest:
        activity = turn_context.activity
        actor = await self.people.actor(turn_context)
        kind = kind_of(activity)
        payload = action.message_payload if action is not None else None
        message_text = None
        if payload is not None and payload.id:
            message_id = str(payload.id)
            message_text = message_payload_text(payload)
            if kind == CHANNEL:
                root = str(payload.reply_to_id or message_id)
                conversation = f"{base_conversation(activity.conversation.id)};messageid={root}"
                origin = Origin(PLATFORM, tenant_of(activity), conversation, root, message_id,
                                person_key(activity.from_property))
            else:
                origin = Origin(PLATFORM, tenant_of(activity), activity.conversation.id, None, message_id,
                                person_key(activity.from_property))
        elif kind == CHANNEL:
            conversation, root = thread_of(activity)
            origin = Origin(PLATFORM, tenant_of(activity), conversation, root, str(activity.id),
                            person_key(activity.from_property))
        else:
            origin = Origin(PLATFORM, tenant_of(activity), activity.conversation.id, None, str(activity.id),
                            person_key(activity.from_property))
        return DialogRequest(self.desk, actor, data, activity_key(activity), origin, message_text,
                             {"zone": self._zone_for(activity, kind)})

    def _zone_for(self, activity: Activity, kind: str) -> str | None:
        """The zone a dialog opened here files into unless the person picks another."""
        mapped = self.desk.channel_zone(PLATFORM, *channel_ids(activity)) if kind == CHANNEL else None
        return mapped or self.desk.intake_zone(PLATFORM, None)

    # ---------------------------------------------------------------- installation
    async def on_conversation_update_activity(self, turn_context: TurnContext) -> None:
        """The bot was added somewhere: remember the conversation, so the desk can post there later."""
        await self.references.remember_turn(turn_context)

    async def on_installation_update(self, turn_context: TurnContext) -> None:
        """The app was installed or removed: remember the conversation (an install is where posts can go).
        Installed for a person, it greets them in the personal chat with the help card and its "Open Zonedesk"."""
        await self.references.remember_turn(turn_context)
        activity = turn_context.activity
        if activity.action == "add" and activity.conversation is not None and kind_of(activity) == PERSONAL:
            try:
                with speaking(await self.language(turn_context)):
                    await turn_context.send_activity(card_message(_(HELP), (cards.open_web_action(),)))
            except Exception:  # a greeting that could not be sent is no reason for Teams to install again
                log.warning("teams: could not greet a new personal chat", exc_info=True)


def refusal_response(name: str, text: str) -> InvokeResponse:
    """The invoke response that shows a refusal where the person acted: on the card for a card click, as the
    dialog's message for a dialog or the message extension, else as a 400 with the text."""
    if name == "adaptiveCard/action":
        return InvokeResponse(status=200, body=cards.message_response(text))
    if name in {"task/fetch", "task/submit"}:
        return InvokeResponse(status=200, body=serializer_helper(
            TaskModuleResponse(task=TaskModuleMessageResponse(value=text))))
    if name.startswith("composeExtension/"):
        return InvokeResponse(status=200, body=serializer_helper(
            MessagingExtensionActionResponse(task=TaskModuleMessageResponse(value=text))))
    return invoke_refusal(text)


def invoke_refusal(text: str) -> InvokeResponse:
    """A 400 invoke response for an invoke we do not act on."""
    return InvokeResponse(status=HTTPStatus.BAD_REQUEST, body={"error": text})


def card_message(text: str, actions: tuple[dict[str, Any], ...] = ()) -> Activity:
    """A private notice as a message with a card (plain text in Teams would be read as markdown)."""
    return cards.card_activity(cards.notice_card(text, actions=actions), text)


def as_dict(value: Any) -> dict[str, Any]:
    """A JSON object from the client, or an empty one."""
    return value if isinstance(value, dict) else {}


def dialog_data(data: Any) -> dict[str, Any]:
    """A task/fetch or submit's data, without Teams' own `msteams` key."""
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if k != "msteams"}


def task_response(answer: DialogAnswer) -> TaskModuleResponse:
    """A dialog answer as Teams wants it."""
    if isinstance(answer, ShowCard):
        info = TaskModuleTaskInfo(title=answer.title, card=cards.attachment(answer.card), height=answer.height,
                                  width=answer.width)
        return TaskModuleResponse(task=TaskModuleContinueResponse(value=info))
    return TaskModuleResponse(task=TaskModuleMessageResponse(value=answer.text))


def message_payload_text(payload: Any) -> str:
    """The plain text of a message a message extension was opened on (Teams gives its HTML body)."""
    body = getattr(payload, "body", None)
    content = str(getattr(body, "content", "") or "")
    if (getattr(body, "content_type", "") or "").lower() == "html" or "<" in content:
        content = _AT.sub(lambda m: f"@{m.group(1)}", content)
        content = re.sub(r"<br\s*/?>|</p>|</div>", "\n", content, flags=re.IGNORECASE)
        content = re.sub(r"<[^<>]+>", "", content)
    return html.unescape(content).strip()


def with_comment(data: dict[str, Any]) -> str:
    """A button's value, with the card's optional comment appended (approve/reject read "<id>:<comment>")."""
    value = str(data.get(VALUE) or "")
    comment = data.get(cards.COMMENT_INPUT)
    return f"{value}:{comment.strip()}" if isinstance(comment, str) and comment.strip() else value
