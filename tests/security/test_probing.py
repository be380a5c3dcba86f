"""An agent of another zone asks for every request by every path; oversized and markup-laden input."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from sqlalchemy import select

from bot.catalog import export_form, file_form
from bot.desk import WEB
from bot.model import Request
from bot.server import Services
from tests.slack.conftest import HANNA, IT_HELP, IT_TRIAGE, ZACK, SlackWorld, block_text
from tests.web.conftest import HR_AGENT, REQUESTER, Browser, number_of


async def test_probing_every_number_by_slack_commands_leaks_nothing(slack: SlackWorld) -> None:
    await slack.message(ZACK, "Salary of the CEO is visible on the wiki", channel=IT_HELP)
    await slack.message(ZACK, "Printer jams <secret project Falcon>", channel=IT_HELP)
    await slack.deliver()
    missing = await slack.desk(HANNA, "show 999")
    assert missing == "Request #999 was not found."
    for number in (1, 2):
        for verb in ("show", "claim", "reopen", "close"):
            answer = await slack.desk(HANNA, f"{verb} {number}")
            assert answer == f"Request #{number} was not found.", (verb, answer)
        for verb in ("reply", "note"):
            assert await slack.desk(HANNA, f"{verb} {number} hello") == f"Request #{number} was not found."
    listing = await slack.desk(HANNA, "list")
    assert "Salary" not in listing and "Falcon" not in listing
    async with slack.services.sessions() as session:
        titles = (await session.execute(select(Request.title))).scalars().all()
    assert len(titles) == 2, "probing created nothing"


async def test_probing_by_web_export_and_search_leaks_nothing(browsers: Callable[[], Browser],
                                                              web_services: Services) -> None:
    zack = browsers()
    await zack.sign_in(REQUESTER)
    filed = number_of(await zack.file("Access to the board's files", "codename Falcon"))
    await file_form(web_services.desk, web_services.catalog, web_services.desk.actor(REQUESTER), WEB,
                    "office-event", {"event-name": "Falcon launch party", "date": "2026-12-11", "guests": "30"})
    hanna = browsers()
    await hanna.sign_in(HR_AGENT)
    missing = await hanna.get("/requests/999")
    for number in (filed, filed + 1):
        page = await hanna.get(f"/requests/{number}")
        assert page.status == 404 and page.text == missing.text.replace("999", str(number))
    search = await hanna.get("/desk?q=Falcon")
    assert "Falcon" not in search.text.replace("q=Falcon", "")
    actor = web_services.desk.actor(HR_AGENT)
    rows = list(csv.reader(io.StringIO(await export_form(web_services.desk, web_services.catalog, actor,
                                                         "office-event"))))
    assert len(rows) == 1, "only the header: nothing of Facilities for HR"
    assert await web_services.desk.list_requests(actor, text="Falcon") == []


async def test_a_one_megabyte_message_is_refused_with_a_clear_message(slack: SlackWorld) -> None:
    await slack.message(ZACK, "Please read\n" + "x" * 1_000_000, channel=IT_HELP)
    await slack.deliver()
    told = [c for c in slack.fake.calls if c.method in {"chat.postMessage", "chat.postEphemeral"}
            and "too long" in str(c.args)]
    assert told, "the person hears why"
    assert "at most 20,000" in str(told[-1].args)
    assert await slack.requests() == 0


async def test_markup_in_a_request_is_inert_in_slack(slack: SlackWorld) -> None:
    await slack.message(ZACK, "Help <!channel> <!here> <@UALEXIS> <https://evil.example|https://good.example>",
                        channel=IT_HELP)
    await slack.deliver()
    card = next(m for m in slack.posts(IT_TRIAGE) if "New request" in block_text(m.get("blocks", [])))
    text = block_text(card["blocks"])
    for raw in ("<!channel>", "<!here>", "<@UALEXIS>", "<https://evil.example|"):
        assert raw not in text, raw
    # Slack markup is spelled out when it arrives: no ping, and the real link target is shown, not hidden.
    assert "@channel @here" in text and "https://good.example (https://evil.example)" in text
