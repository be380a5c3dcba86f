"""A Norwegian requester in Slack, from filing to the survey: every product word she is shown is Norwegian.

Nora is not in `app.yaml` and never chose a language: her Slack client is set to `nb-NO`, which Slack
tells the desk through `users.info` (`include_locale`). The agent works in English. Everything that
reaches Nora (the filing confirmation, the agent's reply, the "waiting for you" notice, the scheduler's
reminder, the Solved / Not solved question, the survey, the answers to her clicks) is checked against
the Norwegian catalogue, and for English product words left in it. Then she switches to Swedish and the
next message follows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.i18n import translator
from bot.scheduler import install
from tests.slack.conftest import ALEXIS, IT_HELP, SlackWorld, block_text, buttons
from tests.untranslated import english_left

NORA = "UNORA"
NB, SV = translator("nb"), translator("sv")


def oslo(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=ZoneInfo("Europe/Oslo"))


def shown(post: dict[str, Any]) -> str:
    return block_text(post.get("blocks") or []) or str(post.get("text", ""))


def in_thread(slack: SlackWorld, origin: str) -> list[str]:
    """What the bot posted into Nora's thread, as she reads it now."""
    return [shown(p) for p in slack.posts(IT_HELP) if p.get("thread_ts") == origin]


def nothing_english(texts: list[str], language: str = "nb") -> None:
    for text in texts:
        assert english_left(text, language) == [], text


async def test_a_norwegian_requester_reads_every_product_word_in_norwegian(slack: SlackWorld) -> None:
    slack.fake.add_user(NORA, "nora.hansen@nordlys.example", "Nora Hansen", locale="nb-NO")
    scheduler = install(slack.services, env={"ZONEDESK_SCHEDULER": "off"})
    slack.clock.set(oslo(24, 9))  # a Tuesday morning in Oslo

    # Filing: the confirmation in her thread.
    origin = await slack.message(NORA, "Skjermen min er svart etter oppdateringen", channel=IT_HELP)
    await slack.deliver()
    [confirmation] = in_thread(slack, origin)
    assert NB.gettext("Request #{number} is filed with {zone}", number=1, zone="IT") in confirmation

    # The agent answers in English; Nora reads the desk's words around his text in Norwegian.
    assert await slack.desk(ALEXIS, "claim 1") == "You claimed #1."
    assert await slack.desk(ALEXIS, "reply #1 Could you send a photo of the screen?") == \
        "Your reply on #1 is on its way to the requester."
    await slack.deliver()
    reply = in_thread(slack, origin)[-1]
    assert NB.gettext("*{author}* wrote:", author="Alexis Baker") in reply
    assert "Could you send a photo of the screen?" in reply  # what people type is never translated

    await slack.desk(ALEXIS, "status 1 waiting requester")
    await slack.deliver()
    waiting = in_thread(slack, origin)[-1]
    assert NB.gettext("Request #{number} is waiting for your answer: reply in this thread.", number=1) in waiting

    # The scheduler's reminder, two working days later, in her direct messages.
    slack.clock.set(oslo(26, 9))
    await scheduler.tick()
    await slack.deliver()
    [reminder] = slack.posts(f"D{NORA}")
    assert NB.gettext("#{number} is waiting for your answer", number=1) in shown(reminder)

    # She answers; the agent resolves; the desk asks whether it is solved, and she says it is.
    await slack.message(NORA, "Her er bildet", channel=IT_HELP, thread=origin)
    await slack.desk(ALEXIS, "resolve 1 Replaced the cable")
    await scheduler.tick()
    await slack.deliver()
    [question] = [p for p in slack.posts(IT_HELP) if p.get("thread_ts") == origin
                  and NB.gettext("Is your request #{number} solved?", number=1) in shown(p)]
    labels = shown(question)
    assert NB.gettext("Solved") in labels and NB.gettext("Not solved") in labels
    _, hook = await slack.click(NORA, "zd:solved", buttons(question["blocks"])["zd:solved"], channel=IT_HELP,
                                message=question)
    assert slack.answer_to(hook) == NB.gettext("Thank you! Request #{number} is closed.", number=1)

    # The survey follows, and her rating is thanked in Norwegian.
    await scheduler.tick()
    await slack.deliver()
    [survey] = [p for p in slack.posts(IT_HELP) + slack.posts(f"D{NORA}")
                if NB.gettext("How did we do with #{number}?", number=1) in shown(p)]
    rate_id, rate_value = next((k, v) for k, v in buttons(survey["blocks"]).items() if v.endswith(":5"))
    _, hook = await slack.click(NORA, rate_id, rate_value, channel=survey.get("channel", IT_HELP), message=survey)
    assert slack.answer_to(hook) == NB.gettext("Thank you for rating #{number}: {rating}/5.", number=1, rating=5)

    nothing_english(in_thread(slack, origin) + [shown(p) for p in slack.posts(f"D{NORA}")])

    # She switches to Swedish: the next message to her follows at once.
    answer = await slack.desk(NORA, "language sv")
    assert answer == SV.gettext("Zonedesk now speaks {language} ({code}) with you.", language="Svenska", code="sv")
    await slack.desk(ALEXIS, "reopen 1 Checking once more")
    await slack.deliver()
    reopened = in_thread(slack, origin)[-1]
    assert english_left(reopened, "sv") == [] and "Nora" not in reopened
    assert reopened != NB.gettext("Request #{number} is reopened; we are on it again.", number=1)
