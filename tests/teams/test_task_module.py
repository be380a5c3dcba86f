"""Dialogs (task modules): Reply, Assign and Add a comment, and the hook that forms plug into."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from adapters.teams import DialogRequest, ShowCard, ShowMessage, channel
from adapters.teams.cards import dialog_card, error_block, input_text
from tests.teams.conftest import ALEXIS, IT_TRIAGE, IVAR, KARI, TeamsWorld, actions, card_of


def task_card(answer: Any) -> dict[str, Any]:
    """The card a task/fetch or task/submit answer shows in the dialog."""
    task = answer.body["task"]
    assert task["type"] == "continue", task
    assert task["value"]["card"]["contentType"] == "application/vnd.microsoft.card.adaptive"
    return task["value"]["card"]["content"]  # type: ignore[no-any-return]


def task_message(answer: Any) -> str:
    """The message a dialog closes with."""
    task = answer.body["task"]
    assert task["type"] == "message", task
    return str(task["value"])


def inputs(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in card["body"] if e["type"].startswith("Input.")}


def submit_data(card: dict[str, Any], **values: str) -> dict[str, Any]:
    """What Teams sends when the dialog's card is submitted: the button's data plus the inputs."""
    [submit] = card["actions"]
    return {**submit["data"], **values}


async def filed_in_it(teams: TeamsWorld) -> dict[str, Any]:
    await teams.post_in_channel(KARI, "Docking station not charging")
    await teams.deliver()
    [(_, announcement)] = teams.new_threads(IT_TRIAGE)
    return card_of(announcement)


async def test_reply_opens_a_dialog_and_its_submit_reaches_the_requesters_thread(teams: TeamsWorld) -> None:
    triage = await filed_in_it(teams)
    opened = await teams.invoke(ALEXIS, "task/fetch", {"data": actions(triage)["Reply"]["data"]},
                                conversation=IT_TRIAGE, kind="channel")

    assert opened.status == 200
    dialog = task_card(opened)
    assert inputs(dialog)["text"]["isMultiline"] is True
    value = {"data": submit_data(dialog, text="A new cable is on its way")}
    submitted = await teams.invoke(ALEXIS, "task/submit", value, conversation=IT_TRIAGE, kind="channel")

    assert task_message(submitted) == "Your reply on #1 is on its way to the requester."
    await teams.deliver()
    detail = await teams.services.desk.get_request(teams.actor(KARI), 1)
    assert [c.body for c in detail.comments] == ["A new cable is on its way"]


async def test_a_resubmitted_dialog_does_not_reply_twice(teams: TeamsWorld) -> None:
    triage = await filed_in_it(teams)
    dialog = task_card(await teams.invoke(ALEXIS, "task/fetch", {"data": actions(triage)["Reply"]["data"]}))
    value = {"data": submit_data(dialog, text="On it")}

    await teams.invoke(ALEXIS, "task/submit", value, id="f:submit-1")
    again = await teams.invoke(ALEXIS, "task/submit", value, id="f:submit-1")

    assert task_message(again) == "This was already done."
    assert await teams.comments() == 1


async def test_assign_lists_the_zones_agents_and_assigns(teams: TeamsWorld) -> None:
    triage = await filed_in_it(teams)
    dialog = task_card(await teams.invoke(ALEXIS, "task/fetch", {"data": actions(triage)["Assign"]["data"]}))

    choices = {c["value"]: c["title"] for c in inputs(dialog)["assignee"]["choices"]}
    assert choices == {IVAR.email: IVAR.name}
    done = await teams.invoke(ALEXIS, "task/submit", {"data": submit_data(dialog, assignee=IVAR.email)})

    assert task_message(done) == "#1 is assigned to Ivar Lund."
    detail = await teams.services.desk.get_request(teams.actor(IVAR), 1)
    assert detail.assignee_email == IVAR.email


async def test_a_requester_cannot_open_the_reply_dialog(teams: TeamsWorld) -> None:
    triage = await filed_in_it(teams)

    answer = await teams.invoke(KARI, "task/fetch", {"data": actions(triage)["Reply"]["data"]})

    assert task_message(answer) == "Only an agent of the request's department can reply to #1."


async def test_add_a_comment_from_the_personal_chat(teams: TeamsWorld) -> None:
    await teams.say(KARI, "Wi-Fi password for guests?")
    await teams.deliver()
    [confirmation] = teams.sent_to(KARI.chat)
    opened = await teams.invoke(KARI, "task/fetch", {"data": actions(card_of(confirmation))["Add a comment"]["data"]})

    done = await teams.invoke(KARI, "task/submit", {"data": submit_data(task_card(opened), text="For 12 visitors")})

    assert task_message(done) == "Added to #1."
    detail = await teams.services.desk.get_request(teams.actor(KARI), 1)
    assert [c.body for c in detail.comments] == ["For 12 visitors"]


class ShoeSizeDialog:
    """A stand-in for a form: one required field, validated on submit, errors next to the field."""

    def card(self, value: str = "", error: str | None = None) -> ShowCard:
        body = [*input_text("size", "Shoe size", value), *error_block(error)]
        return ShowCard("Safety shoes", dialog_card(body, "Order", {"zd_dialog": "shoes"}))

    async def fetch(self, request: DialogRequest) -> ShowCard | ShowMessage:
        return self.card()

    async def submit(self, request: DialogRequest) -> ShowCard | ShowMessage:
        size = str(request.data.get("size") or "")
        if not size.isdigit():
            return self.card(size, "Give your size as a number, like 42.")
        assert request.origin is not None
        filed = await request.desk.file_request(request.actor, request.origin, f"Safety shoes, size {size}",
                                                zone_id="facilities", dedupe_key=request.dedupe_key)
        return ShowMessage(f"Ordered as #{filed.number}.")


@pytest.fixture
def shoes() -> Iterator[None]:
    channel.dialogs.register("shoes", ShoeSizeDialog())
    yield
    channel.dialogs._dialogs.pop("shoes", None)


async def test_a_form_dialog_plugs_in_and_shows_errors_next_to_the_field(teams: TeamsWorld, shoes: None) -> None:
    opened = await teams.invoke(KARI, "task/fetch", {"data": {"msteams": {"type": "task/fetch"}, "zd_dialog": "shoes"}})
    form = task_card(opened)

    refused = await teams.invoke(KARI, "task/submit", {"data": submit_data(form, size="large")})
    again = task_card(refused)
    assert inputs(again)["size"]["value"] == "large"
    assert "Give your size as a number, like 42." in [e.get("text") for e in again["body"]]
    assert await teams.requests() == 0

    done = await teams.invoke(KARI, "task/submit", {"data": submit_data(form, size="43")})
    assert task_message(done) == "Ordered as #1."
    await teams.deliver()
    assert "Safety shoes, size 43" in str(teams.sent_to(KARI.chat)[-1])
