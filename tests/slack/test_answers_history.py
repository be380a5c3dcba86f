"""Slack shows a form's answers once and in words (`/desk show`, the triage announcement), and the
history in sentences, each reader only what is meant for them."""

from __future__ import annotations

from bot.catalog import file_form
from bot.desk import WEB
from tests.slack.conftest import ALEXIS, IT_TRIAGE, ZACK, SlackWorld, block_text

FIGMA = {"application": "figma", "access-level": "editor", "reason": "Reviews with <the agency> & co",
         "needed-by": "2026-12-06"}


async def _filed(slack: SlackWorld) -> int:
    services = slack.services
    zack = services.desk.actor("zack@nordlys.example", "Zack")
    filed = await file_form(services.desk, services.catalog, zack, WEB, "software-access", FIGMA)
    assert not isinstance(filed, dict), filed
    return filed.number


async def test_the_triage_announcement_reads_the_answers_in_words(slack: SlackWorld) -> None:
    await _filed(slack)
    await slack.deliver()
    [post] = slack.posts(IT_TRIAGE)
    text = block_text(post["blocks"])
    assert "New request #1: Access to Figma" in text
    assert ("Application: Figma\nAccess level: editor\nWhy do you need it? Reviews with &lt;the agency&gt; &amp; co\n"
            "Needed by: 6 December 2026") in text  # user text escaped for mrkdwn


async def test_desk_show_gives_answers_once_and_history_in_words(slack: SlackWorld) -> None:
    number = await _filed(slack)
    assert await slack.desk(ALEXIS, f"note {number} Licence pool is empty until Monday") == \
        f"Internal note added to #{number}."
    assert await slack.desk(ALEXIS, f"status {number} waiting requester") == f"#{number} is now waiting."
    shown = await slack.desk(ALEXIS, f"show {number}")
    assert ("Application: Figma\nAccess level: editor\nWhy do you need it? Reviews with <the agency> & co\n"
            "Needed by: 6 December 2026") in shown
    assert shown.count("Figma") == 2  # the title and the answer, no repeated description
    assert "· Alexis Baker added an internal note." in shown
    assert "· Alexis Baker moved it from New to Waiting on requester." in shown

    mine = await slack.desk(ZACK, f"show {number}")
    assert "Application: Figma" in mine and "· Alexis Baker moved it from New to Waiting on requester." in mine
    assert "internal note" not in mine and "Licence pool" not in mine
