"""Refusals are answers, not crashes: whatever the desk refuses in Slack is told to the person, privately, once.

A refusal (`DeskError`: not found, not allowed, not possible now) must not be logged as an ERROR with a
traceback, and its inbound event must be handled once: the inbox retries only what failed unexpectedly.
"""

from __future__ import annotations

import html
import logging
from typing import Any

import pytest
from sqlalchemy import select

from bot.desk import WEB
from bot.errors import DeskError
from bot.model import Comment, Inbound
from tests.fakes.slack_signing import block_actions_payload, view_submission_payload
from tests.slack.conftest import ALEXIS, IT_HELP, IT_TRIAGE, IVAR, ZACK, SlackWorld, block_text, buttons

NOT_FOUND = "Request #1 was not found."


@pytest.fixture(autouse=True)
def _log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)


def no_errors(caplog: pytest.LogCaptureFixture) -> None:
    errors = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


async def handled_once(slack: SlackWorld, prefix: str) -> None:
    """Every inbound row of this kind was processed on its first attempt, without an error, and nothing waits."""
    async with slack.services.sessions() as session:
        rows = list((await session.execute(select(Inbound).where(Inbound.key.startswith(prefix)))).scalars())
    assert rows, f"no inbound row {prefix}"
    assert [(r.attempts, r.error, r.processed_at is not None) for r in rows] == [(1, None, True)] * len(rows)
    assert await slack.services.inbox.recover() == 0  # nothing left for the retry job


def ephemerals_to(slack: SlackWorld, user: str) -> list[str]:
    """The private notices one person got (ephemeral messages and DMs), as they read them."""
    out = [html.unescape(c.args["text"]) for c in slack.fake.delivered("chat.postEphemeral")
           if c.args.get("user") == user]
    out += [html.unescape(c.args["text"]) for c in slack.fake.delivered("chat.postMessage")
            if c.args.get("channel") == user]
    return out


async def it_request_moved_to_facilities(slack: SlackWorld) -> dict[str, Any]:
    """Zack files #1 in IT and Alexis opens its Reply modal; then Ivar moves #1 to Facilities, which Alexis
    may not see. Returns Alexis's open modal."""
    await slack.message(ZACK, "The printer on floor 3 eats paper", channel="C0ITHELP")
    await slack.deliver()
    card = next(m for m in slack.posts(IT_TRIAGE) if "New request" in block_text(m.get("blocks", [])))
    await slack.click(ALEXIS, "zd:reply", buttons(card["blocks"])["zd:reply"], message=card)
    modal = next(v for v in slack.fake.views.values() if v["callback_id"] == "zd:reply")
    await slack.services.desk.transfer(slack.actor(IVAR), 1, "facilities")
    return modal


async def test_a_saved_reply_for_a_request_one_may_no_longer_read(slack: SlackWorld,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    """Issue 16 #16: this raised NotFound out of `_saved_reply_picked`: an ERROR, and five retries."""
    modal = await it_request_moved_to_facilities(slack)
    updates = len(slack.fake.calls_to("views.update"))
    payload = block_actions_payload("zds:saved", "access-granted", user_id=ALEXIS, action_type="static_select",
                                    view=modal, trigger_id="pick-1")
    assert (await slack.interact(payload)).status == 200
    assert ephemerals_to(slack, ALEXIS)[-1] == NOT_FOUND
    assert len(slack.fake.calls_to("views.update")) == updates  # the modal is left as it was
    await handled_once(slack, "slack:action:")
    no_errors(caplog)


async def test_an_unknown_saved_reply_is_answered_the_same_way(slack: SlackWorld,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    await slack.message(ZACK, "Need access to Figma", channel="C0ITHELP")
    await slack.deliver()
    card = next(m for m in slack.posts(IT_TRIAGE) if "New request" in block_text(m.get("blocks", [])))
    await slack.click(ALEXIS, "zd:reply", buttons(card["blocks"])["zd:reply"], message=card)
    modal = next(v for v in slack.fake.views.values() if v["callback_id"] == "zd:reply")
    payload = block_actions_payload("zds:saved", "no-such-reply", user_id=ALEXIS, action_type="static_select",
                                    view=modal, trigger_id="pick-2")
    await slack.interact(payload)
    assert ephemerals_to(slack, ALEXIS)[-1].startswith("There is no saved reply 'no-such-reply' for IT.")
    await handled_once(slack, "slack:action:")
    no_errors(caplog)


async def test_a_button_on_a_request_one_may_not_see(slack: SlackWorld, caplog: pytest.LogCaptureFixture) -> None:
    await slack.services.desk.file_request(slack.actor(IVAR), WEB, "Rack 4 is overheating", "", zone_id="it")
    for action in ("zd:claim", "zd:reply", "zd:assign"):
        _, hook = await slack.click(ZACK, action, "1")
        assert slack.answer_to(hook) == NOT_FOUND, action
    detail = await slack.services.desk.get_request(slack.actor(IVAR), 1)
    assert detail.assignee_email is None
    await handled_once(slack, "slack:action:")
    no_errors(caplog)


async def test_a_command_verb_refused(slack: SlackWorld, caplog: pytest.LogCaptureFixture) -> None:
    await slack.services.desk.file_request(slack.actor(IVAR), WEB, "Rack 4 is overheating", "", zone_id="it")
    assert await slack.desk(ZACK, "claim 1") == NOT_FOUND
    assert (await slack.desk(ALEXIS, "transfer 1 hr")).startswith("IT may not transfer requests to HR.")
    assert (await slack.desk(ALEXIS, "reply 1 saved:payroll-next-run")).startswith("There is no saved reply")
    await handled_once(slack, "slack:command:")
    no_errors(caplog)


async def test_a_modal_submission_refused(slack: SlackWorld, caplog: pytest.LogCaptureFixture) -> None:
    modal = await it_request_moved_to_facilities(slack)
    assert (await slack.submit(ALEXIS, modal, {"text": {"value": "Try the other tray."}})).status == 200
    assert ephemerals_to(slack, ALEXIS)[-1] == NOT_FOUND
    async with slack.services.sessions() as session:
        assert (await session.execute(select(Comment))).first() is None  # nothing was sent
    await handled_once(slack, "slack:view:")
    no_errors(caplog)


async def test_an_unexpected_failure_is_still_retried(slack: SlackWorld, caplog: pytest.LogCaptureFixture,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Only refusals are answers: a bug keeps its ERROR line and its retry."""
    await slack.services.desk.file_request(slack.actor(IVAR), WEB, "Rack 4 is overheating", "", zone_id="it")

    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("adapters.slack.inbound.run_command", broken)
    await slack.command(ALEXIS, "/desk", "claim 1")
    async with slack.services.sessions() as session:
        row = (await session.execute(select(Inbound).where(Inbound.key.startswith("slack:command:")))).scalar_one()
    assert row.processed_at is None and row.error == "RuntimeError: a bug"
    assert any(r.levelno >= logging.ERROR for r in caplog.records)


@pytest.fixture
def refusing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every kind of payload handler refuses, the way a future handler without its own `except` would."""

    async def refuse(*_: object, **__: object) -> None:
        raise DeskError("Not now: the desk is closed for inventory.")

    for name in ("_event", "_block_actions", "_view_submission", "_message_shortcut", "_command"):
        monkeypatch.setattr(f"adapters.slack.inbound.SlackInbound.{name}", refuse)


REFUSED = "Not now: the desk is closed for inventory."


@pytest.mark.usefixtures("refusing")
async def test_every_kind_of_payload_gets_the_refusal_where_the_person_acted(slack: SlackWorld,
                                                                           caplog: pytest.LogCaptureFixture) -> None:
    """One place answers refusals for every payload kind (`SlackInbound.handle`), each as privately as it can."""
    ts = await slack.message(ZACK, "Is the VPN down?", channel=IT_HELP)
    [told] = [c.args for c in slack.fake.delivered("chat.postEphemeral")]
    assert (told["channel"], told["user"], told["thread_ts"], html.unescape(told["text"])) == (
        IT_HELP, ZACK, ts, REFUSED)

    _, hook = await slack.click(ZACK, "zd:claim", "1")
    assert slack.answer_to(hook) == REFUSED
    await slack.command(ZACK, "/desk", "claim 1", trigger_id="cmd-1")
    assert slack.answer_to("cmd-1") == REFUSED

    home = {"id": "VHOME", "type": "home", "blocks": [], "private_metadata": ""}
    await slack.interact(block_actions_payload("zd:claim", "1", user_id=ZACK, view=home, trigger_id="home-1"))
    assert ephemerals_to(slack, ZACK)[-1] == REFUSED  # from the App Home: a direct message

    modal = view_submission_payload("zd:reply", {"text": {"value": "Hello"}}, user_id=ALEXIS, view_id="VREPLY",
                                    private_metadata='{"number": 1, "channel": "C0ITTRIAGE"}')
    await slack.interact(modal)
    told = slack.fake.last("chat.postEphemeral").args
    assert (told["channel"], told["user"], html.unescape(told["text"])) == (IT_TRIAGE, ALEXIS, REFUSED)

    await slack.shortcut(ALEXIS, "Printer on fire")
    assert html.unescape(slack.fake.calls_to("response_url")[-1].args["text"]) == REFUSED
    for prefix in ("slack:event:", "slack:action:", "slack:command:", "slack:view:", "slack:shortcut:"):
        await handled_once(slack, prefix)
    no_errors(caplog)
