"""`/desk language`: anyone chooses the language Zonedesk speaks with them; the choice is saved once, by e-mail."""

from __future__ import annotations

import html
from dataclasses import replace
from typing import Any

from sqlalchemy import event, func, select

from adapters.slack.blocks import render_message
from bot.delivery.messages import Message
from bot.i18n import translator
from bot.model import PersonLanguage
from bot.people.languages import saved_language
from tests.slack.conftest import ALEXIS, DM, FRONT_DESK, IT_HELP, ZACK, SlackWorld, block_text
from tests.untranslated import english_left


async def saved(slack: SlackWorld, email: str) -> str | None:
    async with slack.services.sessions() as session:
        return await saved_language(session, email)


async def rows(slack: SlackWorld) -> int:
    async with slack.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(PersonLanguage)) or 0)


def now_speaks(code: str, name: str) -> str:
    """The answer to choosing a language, in that language, from its catalogue."""
    said = translator(code)
    return said.gettext("Zonedesk now speaks {language} ({code}) with you.", language=name, code=code)


async def test_a_requester_chooses_a_language_by_any_code_for_it_and_is_answered_in_it(slack: SlackWorld) -> None:
    answer = await slack.desk(ZACK, "language nb-NO")
    assert answer == now_speaks("nb", "Norsk bokmål")
    assert answer.startswith("Zonedesk snakker nå Norsk bokmål (nb) med deg.")  # the catalogue has it in Norwegian
    assert await saved(slack, "zack@nordlys.example") == "nb"

    assert await slack.desk(ZACK, "language de") == now_speaks("de", "Deutsch")
    assert await slack.desk(ZACK, "language en") == "Zonedesk now speaks English (en) with you."
    assert await slack.desk(ZACK, "language no") == now_speaks("nb", "Norsk bokmål")
    assert await saved(slack, "zack@nordlys.example") == "nb"
    assert await rows(slack) == 1  # one row a person, updated in place


async def test_without_a_code_the_answer_says_which_language_and_why(slack: SlackWorld) -> None:
    before = await slack.desk(ALEXIS, "language")
    assert before.startswith("Zonedesk speaks English (en) with you: it is the organisation's default.")
    assert "nb (Norsk bokmål)" in before and "pl (Polski)" in before

    await slack.desk(ALEXIS, "language sv")
    after = await slack.desk(ALEXIS, "language")
    assert after.startswith("Zonedesk talar Svenska (sv) med dig: du har valt det.")  # in the language chosen


async def test_an_unknown_code_lists_the_choices_and_saves_nothing(slack: SlackWorld) -> None:
    answer = await slack.desk(ZACK, "language xx")
    assert answer.startswith("Zonedesk does not speak 'xx'. Choose one of: en (English), nb (Norsk bokmål)")
    assert await rows(slack) == 0
    assert (await slack.desk(ZACK, "language nb sv")) == "Usage: language [code]"
    assert await rows(slack) == 0


# ---------------------------------------------------------------- the person's language around what is done for them
# Slack's locale reaches the desk through users.info (asked with include_locale); a person who chose nothing is
# answered in it, and a choice of their own outranks it.

NB, PL = translator("nb"), translator("pl")
ZACK_EMAIL, ZACK_NAME = "zack@nordlys.example", "Zack McKinnon"


def in_norwegian(slack: SlackWorld) -> None:
    """Zack's Slack client is set to Norwegian (before the desk first looks him up); he chose nothing."""
    slack.fake.add_user(ZACK, ZACK_EMAIL, ZACK_NAME, locale="nb-NO")


def norwegian(msgid: str, **values: object) -> str:
    """A message as the Norwegian catalogue says it, checked to be translated (not the English source)."""
    said = NB.gettext(msgid, **values)
    assert said != msgid.format(**values), f"not yet in the Norwegian catalogue: {msgid!r}"
    return said


async def test_a_slack_user_whose_client_is_norwegian_is_answered_in_norwegian(slack: SlackWorld) -> None:
    in_norwegian(slack)

    refused = await slack.desk(ZACK, "claim 999")  # a refusal raised deep in the core
    assert refused == norwegian("Request #{number} was not found.", number=999)
    helped = await slack.desk(ZACK, "help")
    assert helped.startswith(norwegian("Commands (request numbers as 42 or #42):") + "\n")

    assert [c.args.get("include_locale") for c in slack.fake.calls_to("users.info")] == ["1"]  # once, then cached
    assert await saved(slack, ZACK_EMAIL) is None  # the client's language is a hint, never saved


async def test_a_language_of_ones_own_outranks_the_slack_locale(slack: SlackWorld) -> None:
    in_norwegian(slack)
    assert await slack.desk(ZACK, "language pl") == now_speaks("pl", "Polski")

    refused = await slack.desk(ZACK, "claim 999")
    assert refused == PL.gettext("Request #{number} was not found.", number=999) != NB.gettext(
        "Request #{number} was not found.", number=999)


async def test_a_requester_whose_client_is_norwegian_gets_the_confirmation_in_norwegian(slack: SlackWorld) -> None:
    in_norwegian(slack)
    ts = await slack.message(ZACK, "My laptop will not boot")
    await slack.deliver()

    [confirmation] = slack.posts(DM)
    assert confirmation["thread_ts"] == ts
    shown = block_text(confirmation["blocks"])
    assert norwegian("Request #{number} is filed with {zone}", number=1, zone="Front desk") in shown
    # The announcement for the desk's agents is in the channel's language (the organisation's: English).
    [announcement] = slack.posts(FRONT_DESK)
    assert "New request #1: My laptop will not boot" in block_text(announcement["blocks"])


async def test_what_the_desk_refuses_of_a_message_is_said_in_its_writers_language(slack: SlackWorld) -> None:
    """The writer's language is resolved when the desk asks who wrote the message, and spoken from then on."""
    in_norwegian(slack)
    ts = await slack.message(ZACK, "Printer jammed")
    await slack.desk(ZACK, "cancel 1")

    await slack.message(ZACK, "Still jammed", thread=ts)  # in the thread of a cancelled request
    [refusal] = [c.args["text"] for c in slack.fake.calls_to("chat.postEphemeral")]
    assert html.unescape(refusal) == norwegian(
        "Request #{number} is {status}; file a new request or ask to reopen it.", number=1,
        status=NB.gettext("cancelled"))

    await slack.event({"type": "app_mention", "channel": "C0RANDOM", "user": ZACK, "ts": slack.next_ts(),
                       "text": "<@UBOT>"})  # addressed to the desk with nothing to file
    assert html.unescape(slack.fake.last("chat.postEphemeral").args["text"]) == norwegian(
        "Write a few words about what you need, and I file it.")


async def test_a_message_the_desk_ignores_costs_no_lookup_of_its_writer_or_their_language(slack: SlackWorld
                                                                                          ) -> None:
    in_norwegian(slack)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = slack.services.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        await slack.message(ZACK, "lunch anyone?", channel="C0RANDOM")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert await slack.requests() == 0
    assert slack.fake.calls_to("users.info") == []
    assert statements and not [s for s in statements if "person_languages" in s or "identities" in s]


async def test_the_app_home_is_in_its_owners_language(slack: SlackWorld) -> None:
    in_norwegian(slack)
    await slack.message(ZACK, "Need a second screen", channel=IT_HELP)
    await slack.event({"type": "app_home_opened", "user": ZACK, "channel": f"D{ZACK}", "tab": "home",
                       "event_ts": slack.next_ts()})

    home = slack.fake.last("views.publish").args["view"]
    shown = block_text(home["blocks"])
    assert norwegian("Hello {name}", name=ZACK_NAME) in shown
    assert norwegian("My requests") in shown and norwegian("New request") in shown
    assert "Need a second screen" in shown  # what people typed is never translated
    assert english_left(shown, "nb") == []


async def test_modals_and_their_field_errors_are_in_the_language_of_who_opened_them(slack: SlackWorld) -> None:
    in_norwegian(slack)
    await slack.command(ZACK, "/request", "", channel=IT_HELP)
    view = slack.fake.last("views.open").args["view"]
    assert (view["title"]["text"], view["submit"]["text"], view["close"]["text"]) == (
        norwegian("New request"), norwegian("File it"), norwegian("Cancel"))
    assert english_left(block_text(view["blocks"]), "nb") == []

    stored = next(v for v in slack.fake.views.values() if v["callback_id"] == "zd:create")
    answer = await slack.submit(ZACK, stored, {"zone": {"value": {"type": "static_select",
                                                                  "selected_option": {"value": "it"}}},
                                               "title": {"value": {"value": "  "}}})
    # Checked before the ack, with no database to ask: the modal remembers the language it was opened in.
    assert answer.json() == {"response_action": "errors", "errors": {"title": norwegian("Write a short title.")}}


def test_the_renderer_says_its_own_words_in_the_messages_language() -> None:
    message = Message(text="Skjermen flimrer", author="Ivar Lund", link="https://desk.example/requests/1",
                      language="nb")
    text, blocks = render_message(message)
    shown = block_text(blocks)
    assert norwegian("*{author}* wrote:", author="Ivar Lund") in shown
    assert norwegian("Open in Zonedesk") in shown
    assert text == "Ivar Lund: Skjermen flimrer"
    assert "Open in Zonedesk" in block_text(render_message(replace(message, language="en"))[1])
