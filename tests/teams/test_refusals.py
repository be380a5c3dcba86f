"""Refusals are answers, not crashes: whatever the desk refuses in Teams is told to the person where they acted.

A refusal (`DeskError`: not found, not allowed, not possible now) ends the turn well (200, so Teams does not
send the activity again), is not logged as an ERROR, and the person reads the desk's sentence: on the card
for a card button, in the dialog for a dialog, in their personal chat for a message or a command.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from adapters.teams.dialogs import Dialogs
from bot.errors import NotFound
from tests.teams.conftest import ALEXIS, IT_TRIAGE, IVAR, KARI, Answer, TeamsWorld, actions, card_of, card_text
from tests.teams.test_task_module import submit_data, task_card, task_message

NOT_FOUND = "Request #1 was not found."


@pytest.fixture(autouse=True)
def _log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)


def no_errors(caplog: pytest.LogCaptureFixture) -> None:
    errors = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


def last_told(teams: TeamsWorld, chat: str) -> str:
    """The last private notice in a personal chat, as the person reads it."""
    return card_text(card_of(teams.sent_to(chat)[-1]))


async def triage_card_moved_away(teams: TeamsWorld) -> dict[str, Any]:
    """Kari files #1 in IT; Ivar moves it to Facilities, which Alexis (IT) may not see. Returns IT's triage card."""
    await teams.post_in_channel(KARI, "The printer on floor 3 eats paper")
    await teams.deliver()
    [(_, announcement)] = teams.new_threads(IT_TRIAGE)
    await teams.services.desk.transfer(teams.actor(IVAR), 1, "facilities")
    return card_of(announcement)


async def test_a_saved_reply_for_a_request_one_may_not_read(teams: TeamsWorld,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    await triage_card_moved_away(teams)
    answer, _ = await teams.say(ALEXIS, "desk reply 1 saved:access-granted")
    assert answer.status == 200
    assert last_told(teams, ALEXIS.chat) == NOT_FOUND
    no_errors(caplog)


async def test_a_button_on_a_request_one_may_not_see(teams: TeamsWorld, caplog: pytest.LogCaptureFixture) -> None:
    card = await triage_card_moved_away(teams)
    clicked = await teams.click(ALEXIS, actions(card)["Claim"], conversation=IT_TRIAGE, kind="channel")
    assert clicked.status == 200
    assert clicked.body == {"statusCode": 200, "type": "application/vnd.microsoft.activity.message",
                            "value": NOT_FOUND}
    # A client without Universal Actions posts the button's data as a message: the answer comes privately.
    fallback = teams.activity(ALEXIS, "personal", ALEXIS.chat, type="message", text="",
                              value=actions(card)["Claim"]["data"])
    assert (await teams.post(fallback)).status == 200
    assert last_told(teams, ALEXIS.chat) == NOT_FOUND
    facilities = teams.services.desk.actor("siri.nilsen@nordlys.example")
    assert (await teams.services.desk.get_request(facilities, 1)).assignee_email is None
    no_errors(caplog)


async def test_a_command_verb_refused(teams: TeamsWorld, caplog: pytest.LogCaptureFixture) -> None:
    await triage_card_moved_away(teams)
    answer, _ = await teams.say(ALEXIS, "desk claim 1")
    assert answer.status == 200 and last_told(teams, ALEXIS.chat) == NOT_FOUND
    answer, _ = await teams.say(KARI, "desk claim 1")  # the requester sees it, but is no agent
    assert answer.status == 200 and last_told(teams, KARI.chat).startswith("Only an agent of the request's department")
    no_errors(caplog)


async def test_a_dialog_submission_refused(teams: TeamsWorld, caplog: pytest.LogCaptureFixture) -> None:
    await teams.post_in_channel(KARI, "The printer on floor 3 eats paper")
    await teams.deliver()
    [(_, announcement)] = teams.new_threads(IT_TRIAGE)
    reply = actions(card_of(announcement))["Reply"]["data"]
    dialog = task_card(await teams.invoke(ALEXIS, "task/fetch", {"data": reply}, conversation=IT_TRIAGE,
                                          kind="channel"))
    await teams.services.desk.transfer(teams.actor(IVAR), 1, "facilities")

    submitted = await teams.invoke(ALEXIS, "task/submit", {"data": submit_data(dialog, text="Try the other tray")},
                                   conversation=IT_TRIAGE, kind="channel")
    assert submitted.status == 200 and task_message(submitted) == NOT_FOUND
    opened = await teams.invoke(ALEXIS, "task/fetch", {"data": reply}, conversation=IT_TRIAGE, kind="channel")
    assert opened.status == 200 and task_message(opened) == NOT_FOUND
    assert await teams.comments() == 0
    no_errors(caplog)


async def test_a_refusal_no_handler_catches_is_answered_by_the_turn(teams: TeamsWorld,
                                                                    caplog: pytest.LogCaptureFixture,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A dialog (or any future handler) that lets a refusal through still answers in the dialog, with 200."""

    async def refuses(*_: object, **__: object) -> None:
        raise NotFound(1)

    monkeypatch.setattr(Dialogs, "fetch", refuses)
    monkeypatch.setattr(Dialogs, "submit", refuses)
    for name in ("task/fetch", "task/submit"):
        answer = await teams.invoke(ALEXIS, name, {"data": {"zd_dialog": "reply", "number": "1"}})
        assert answer.status == 200 and task_message(answer) == NOT_FOUND, name
    extension = await teams.invoke(ALEXIS, "composeExtension/fetchTask", {"commandId": "createRequest",
                                                                         "commandContext": "message"})
    assert extension.status == 200 and task_message(extension) == NOT_FOUND
    no_errors(caplog)


async def test_an_unexpected_failure_still_fails_the_turn(teams: TeamsWorld, caplog: pytest.LogCaptureFixture,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Only refusals are answers: a bug is a 500 with its ERROR line, and Teams sends the activity again."""

    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("adapters.teams.bot.run_command", broken)
    answer: Answer
    answer, _ = await teams.say(ALEXIS, "desk claim 1")
    assert answer.status == 500
    assert any(r.levelno >= logging.ERROR for r in caplog.records)
