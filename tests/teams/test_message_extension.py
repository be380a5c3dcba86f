"""The message extension action "Create request" on someone's message."""

from __future__ import annotations

from typing import Any

from tests.teams.conftest import ALEXIS, GENERAL, IT_HELP, KARI, TeamsWorld, card_of, card_text


def on_message(message_id: str, html: str, *, root: str | None = None, data: dict[str, Any] | None = None
               ) -> dict[str, Any]:
    """The invoke value Teams sends for a message action (with the form's data on submit)."""
    payload: dict[str, Any] = {"id": message_id, "body": {"contentType": "html", "content": html},
                               "from": {"user": {"id": KARI.aad, "displayName": KARI.name}},
                               "createdDateTime": "2026-11-24T07:58:00.000Z"}
    if root:
        payload["replyToId"] = root
    value: dict[str, Any] = {"commandId": "createRequest", "commandContext": "message", "messagePayload": payload}
    if data is not None:
        value["data"] = data
    return value


def dialog_of(answer: Any) -> dict[str, Any]:
    task = answer.body["task"]
    assert task["type"] == "continue", task
    return task["value"]["card"]["content"]  # type: ignore[no-any-return]


def values_of(card: dict[str, Any]) -> dict[str, Any]:
    return {e["id"]: e.get("value") for e in card["body"] if e["type"].startswith("Input.")}


async def test_the_dialog_opens_prefilled_with_the_message(teams: TeamsWorld) -> None:
    answer = await teams.invoke(ALEXIS, "composeExtension/fetchTask",
                                on_message("1732000000500", "<p>The <b>VPN</b> is down &amp; nobody can log in</p>"),
                                conversation=f"{IT_HELP};messageid=1732000000500", kind="channel")

    assert answer.status == 200
    assert answer.body["task"]["value"]["title"] == "Create request"
    values = values_of(dialog_of(answer))
    assert values == {"title": "The VPN is down & nobody can log in",
                      "description": "The VPN is down & nobody can log in", "zone": "it"}


async def test_submitting_files_the_request_in_the_messages_thread(teams: TeamsWorld) -> None:
    root = "1732000000600"
    conversation = f"{GENERAL};messageid={root}"
    form = {"zd_dialog": "create", "title": "Projector in room 2 is broken", "description": "No signal on HDMI",
            "zone": "facilities"}

    answer = await teams.invoke(ALEXIS, "composeExtension/submitAction",
                                on_message("1732000000601", "<p>no signal again</p>", root=root, data=form),
                                conversation=conversation, kind="channel")

    assert answer.body["task"] == {"type": "message", "value": "Filed as #1 with Facilities. We answer in the "
                                                               "conversation the message is in."}
    detail = await teams.services.desk.get_request(teams.actor(ALEXIS), 1)
    assert (detail.title, detail.zone_id, detail.requester_email) == ("Projector in room 2 is broken", "facilities",
                                                                      ALEXIS.email)
    await teams.deliver()
    [confirmation] = teams.sent_to(conversation)
    assert "Request #1 is filed with Facilities" in card_text(card_of(confirmation))


async def test_a_resent_submit_files_nothing_new(teams: TeamsWorld) -> None:
    value = on_message("1732000000700", "<p>Coffee machine leaks</p>",
                       data={"zd_dialog": "create", "title": "Coffee machine leaks", "zone": "facilities"})

    await teams.invoke(KARI, "composeExtension/submitAction", value, id="f:me-1")
    again = await teams.invoke(KARI, "composeExtension/submitAction", value, id="f:me-1")

    assert again.body["task"]["value"] == "This was already done."
    assert await teams.requests() == 1


async def test_an_empty_title_shows_the_dialog_again_with_the_reason(teams: TeamsWorld) -> None:
    value = on_message("1732000000800", "<p>hm</p>", data={"zd_dialog": "create", "title": "  ", "zone": "it"})

    answer = await teams.invoke(KARI, "composeExtension/submitAction", value)

    card = dialog_of(answer)
    assert "The title is empty; write a few words." in [e.get("text") for e in card["body"]]
    assert await teams.requests() == 0


async def test_a_thread_that_already_has_a_request_says_so(teams: TeamsWorld) -> None:
    _, post = await teams.post_in_channel(KARI, "Badge reader at the back door is dead")
    conversation = f"{IT_HELP};messageid={post}"
    form = {"zd_dialog": "create", "title": "Badge reader", "zone": "facilities"}

    answer = await teams.invoke(ALEXIS, "composeExtension/submitAction",
                                on_message(post, "<p>Badge reader at the back door is dead</p>", data=form),
                                conversation=conversation, kind="channel")

    card = dialog_of(answer)
    assert "This thread already belongs to a request; reply in it instead." in [e.get("text") for e in card["body"]]
    assert await teams.requests() == 1
