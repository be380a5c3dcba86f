"""`/desk language`: anyone chooses the language Zonedesk speaks with them; the choice is saved once, by e-mail."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.i18n import translator
from bot.model import PersonLanguage
from bot.people.languages import saved_language
from tests.slack.conftest import ALEXIS, ZACK, SlackWorld

UNTRANSLATED = "Zonedesk's words are being translated and will follow your choice as they arrive."


async def saved(slack: SlackWorld, email: str) -> str | None:
    async with slack.services.sessions() as session:
        return await saved_language(session, email)


async def rows(slack: SlackWorld) -> int:
    async with slack.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(PersonLanguage)) or 0)


def now_speaks(code: str, name: str) -> str:
    """The answer to choosing a language, in that language, from its catalogue."""
    said = translator(code)
    return (said.gettext("Zonedesk now speaks {language} ({code}) with you.", language=name, code=code) + " "
            + said.gettext(UNTRANSLATED))


async def test_a_requester_chooses_a_language_by_any_code_for_it_and_is_answered_in_it(slack: SlackWorld) -> None:
    answer = await slack.desk(ZACK, "language nb-NO")
    assert answer == now_speaks("nb", "Norsk bokmål")
    assert answer.startswith("Zonedesk snakker nå Norsk bokmål (nb) med deg.")  # the catalogue has it in Norwegian
    assert await saved(slack, "zack@nordlys.example") == "nb"

    assert await slack.desk(ZACK, "language de") == now_speaks("de", "Deutsch")
    assert await slack.desk(ZACK, "language en") == f"Zonedesk now speaks English (en) with you. {UNTRANSLATED}"
    assert await slack.desk(ZACK, "language no") == now_speaks("nb", "Norsk bokmål")
    assert await saved(slack, "zack@nordlys.example") == "nb"
    assert await rows(slack) == 1  # one row a person, updated in place


async def test_without_a_code_the_answer_says_which_language_and_why(slack: SlackWorld) -> None:
    before = await slack.desk(ALEXIS, "language")
    assert before.startswith("Zonedesk speaks English (en) with you: it is the organisation's default.")
    assert "nb (Norsk bokmål)" in before and "pl (Polski)" in before and UNTRANSLATED in before

    await slack.desk(ALEXIS, "language sv")
    after = await slack.desk(ALEXIS, "language")
    assert after.startswith("Zonedesk talar Svenska (sv) med dig: du har valt det.")  # in the language chosen


async def test_an_unknown_code_lists_the_choices_and_saves_nothing(slack: SlackWorld) -> None:
    answer = await slack.desk(ZACK, "language xx")
    assert answer.startswith("Zonedesk does not speak 'xx'. Choose one of: en (English), nb (Norsk bokmål)")
    assert await rows(slack) == 0
    assert (await slack.desk(ZACK, "language nb sv")) == "Usage: language [code]"
    assert await rows(slack) == 0
