"""Modals: the "Create request" message shortcut, `/request`, the triage card's Claim, Assign and Reply,
and the hook that forms plug into."""

from __future__ import annotations

import json
from typing import Any

from adapters.slack import channel
from bot.access import Actor
from bot.desk import Origin
from tests.slack.conftest import ALEXIS, DM, HANNA, IT_HELP, IT_TRIAGE, IVAR, SIRI, ZACK, SlackWorld, block_text

CHANNEL = "C0GENERAL"


def opened(slack: SlackWorld) -> dict[str, Any]:
    """The view the bot opened last (as the fake stored it, with its id and hash)."""
    call = slack.fake.last("views.open")
    view_id = next(v for v, stored in slack.fake.views.items() if stored["callback_id"] == call.args["view"]
                   ["callback_id"] and stored["blocks"] == call.args["view"]["blocks"])
    return slack.fake.views[view_id]


def option_values(view: dict[str, Any], block_id: str) -> list[str]:
    element = next(b for b in view["blocks"] if b.get("block_id") == block_id)["element"]
    options = element.get("options") or [o for g in element.get("option_groups", []) for o in g["options"]]
    return [o["value"] for o in options]


def select(value: str) -> dict[str, Any]:
    return {"value": {"type": "static_select", "selected_option": {"value": value}}}


async def test_the_shortcut_opens_a_prefilled_modal_and_files_into_the_messages_thread(slack: SlackWorld) -> None:
    ts = slack.next_ts()
    answer = await slack.shortcut(ZACK, "The coffee machine leaks\nWater all over the floor", channel=CHANNEL, ts=ts)
    assert (answer.status, answer.text) == (200, "")
    call = slack.fake.last("views.open")
    assert call.args["trigger_id"].startswith("shortcut-")
    view = opened(slack)
    assert view["callback_id"] == "zd:create"
    title = next(b for b in view["blocks"] if b["block_id"] == "title")["element"]["initial_value"]
    details = next(b for b in view["blocks"] if b["block_id"] == "description")["element"]["initial_value"]
    assert (title, details) == ("The coffee machine leaks", "The coffee machine leaks\nWater all over the floor")

    answer = await slack.submit(ZACK, view, {"zone": select("facilities"), "category": select("facilities/repairs"),
                                             "title": {"value": {"value": "Coffee machine leaks"}},
                                             "description": {"value": {"value": details}},
                                             "urgency": select("high")})
    assert (answer.status, answer.text) == (200, "")  # an empty ack closes the modal
    await slack.deliver()

    request = await slack.services.desk.get_request(slack.actor(ZACK), 1)
    assert (request.zone_id, request.category_id, request.urgency, request.title) == (
        "facilities", "repairs", "high", "Coffee machine leaks")
    [confirmation] = slack.posts(CHANNEL)
    assert confirmation["thread_ts"] == ts and "Request #1 is filed with Facilities" in block_text(
        confirmation["blocks"])


async def test_field_errors_are_shown_in_the_modal_and_nothing_is_recorded(slack: SlackWorld) -> None:
    await slack.shortcut(ZACK, "Something", channel=CHANNEL)
    view = opened(slack)
    recorded = await slack.inbound()
    answer = await slack.submit(ZACK, view, {"zone": select("hr"), "category": select("it/laptop"),
                                             "title": {"value": {"value": "  "}}})
    assert answer.status == 200
    assert answer.json() == {"response_action": "errors", "errors": {
        "category": "That category belongs to another department; choose one of HR or none.",
        "title": "Write a short title."}}
    assert await slack.inbound() == recorded and await slack.requests() == 0


async def test_request_command_opens_the_modal_and_the_request_lives_in_a_dm_thread(slack: SlackWorld) -> None:
    await slack.command(ZACK, "/request", "", channel=IT_HELP)
    view = opened(slack)
    assert {"front-desk", "it", "hr", "finance", "facilities"} == set(option_values(view, "zone"))
    assert "it/software-access" in option_values(view, "category")
    zone = next(b for b in view["blocks"] if b["block_id"] == "zone")["element"]
    assert zone["initial_option"]["value"] == "it"  # typed in IT's intake channel

    await slack.submit(ZACK, view, {"zone": select("it"), "title": {"value": {"value": "Access to Figma"}}})
    await slack.deliver()
    first, confirmation = slack.posts(f"D{ZACK}")
    assert "Access to Figma" in block_text(first["blocks"])
    assert confirmation["thread_ts"] == first["ts"]
    # The requester's answer in that thread is a comment on the request.
    await slack.message(ZACK, "For the design team", channel=f"D{ZACK}", thread=first["ts"])
    request = await slack.services.desk.get_request(slack.actor(ZACK), 1)
    assert [c.body for c in request.comments] == ["For the design team"]


async def triage_card(slack: SlackWorld) -> dict[str, Any]:
    origin = await slack.message(ZACK, "Laptop fan is loud", channel=IT_HELP)
    await slack.deliver()
    [card] = slack.posts(IT_TRIAGE)
    card["origin"] = origin
    return card


async def test_claim_on_the_triage_card_updates_the_card_and_tells_the_agent(slack: SlackWorld) -> None:
    card = await triage_card(slack)
    _, hook = await slack.click(ALEXIS, "zd:claim", "1", message=card)
    assert slack.answer_to(hook) == "You claimed #1."
    updated = slack.posts(IT_TRIAGE)[0]
    assert "Claimed by Alexis Baker" in block_text(updated["blocks"])
    assert "Laptop fan is loud" in block_text(updated["blocks"])  # the rest of the card stays
    detail = await slack.services.desk.get_request(slack.actor(ALEXIS), 1)
    assert (detail.assignee_email, detail.status) == ("alexis.baker@nordlys.example", "accepted")


async def test_reply_on_the_triage_card_opens_a_modal_and_sends_to_the_requesters_thread(slack: SlackWorld
                                                                                        ) -> None:
    card = await triage_card(slack)
    await slack.click(ALEXIS, "zd:reply", "1", message=card, trigger_id="reply-trigger")
    assert slack.fake.last("views.open").args["trigger_id"] == "reply-trigger"
    view = opened(slack)
    assert view["callback_id"] == "zd:reply" and json.loads(view["private_metadata"])["number"] == 1

    await slack.submit(ALEXIS, view, {"text": {"value": {"value": "A new fan is on its way"}}})
    await slack.deliver()
    reply = slack.posts(IT_HELP)[-1]
    assert reply["thread_ts"] == card["origin"] and "A new fan is on its way" in block_text(reply["blocks"])
    notice = slack.fake.last("chat.postEphemeral").args
    assert (notice["user"], notice["channel"], notice["text"]) == (ALEXIS, IT_TRIAGE, "Your reply on #1 is on its way.")


async def test_assign_on_the_triage_card_offers_the_zones_agents(slack: SlackWorld) -> None:
    card = await triage_card(slack)
    await slack.click(IVAR, "zd:assign", "1", message=card)
    view = opened(slack)
    assert option_values(view, "assignee") == ["alexis.baker@nordlys.example", "ivar.lund@nordlys.example"]

    await slack.submit(IVAR, view, {"assignee": select("alexis.baker@nordlys.example")})
    detail = await slack.services.desk.get_request(slack.actor(ALEXIS), 1)
    assert (detail.assignee_email, detail.status) == ("alexis.baker@nordlys.example", "assigned")


async def test_someone_outside_the_zone_cannot_open_the_reply_modal(slack: SlackWorld) -> None:
    card = await triage_card(slack)
    _, hook = await slack.click(HANNA, "zd:reply", "1", message=card)
    assert slack.answer_to(hook) == "Request #1 was not found."
    assert slack.fake.calls_to("views.open") == []


async def test_a_task_card_is_marked_done_by_the_receiving_team_and_the_assignee_hears_of_it(slack: SlackWorld
                                                                                           ) -> None:
    card = await triage_card(slack)
    await slack.click(ALEXIS, "zd:claim", "1", message=card)
    assert await slack.desk(ALEXIS, "task 1 facilities Move the desk away from the window") == \
        "Task T1 created on #1."
    await slack.deliver()
    [task] = slack.posts("C0FACTRIAGE")
    assert "New task T1 from IT: Move the desk away from the window" in block_text(task["blocks"])
    assert "Laptop fan is loud" not in block_text(task["blocks"])  # the receivers see the task, not the request

    _, hook = await slack.click(SIRI, "zd:task_done", "1", channel="C0FACTRIAGE", message=task)
    assert slack.answer_to(hook) == "Task T1 is done."
    await slack.deliver()
    assert "Task T1 on #1 is done" in block_text(slack.posts(f"D{ALEXIS}")[-1]["blocks"])


class OneForm:
    """A forms feature with one form, `laptop`, standing in for the real forms module behind the hook."""

    def modal(self, form_id: str, metadata: dict[str, Any]) -> dict[str, Any] | None:
        if form_id != "laptop":
            return None
        return {"type": "modal", "callback_id": "zd:form:laptop", "title": {"type": "plain_text", "text": "Laptop"},
                "private_metadata": json.dumps({**metadata, "title": "New laptop"}),
                "blocks": [{"type": "input", "block_id": "model", "label": {"type": "plain_text", "text": "Model"},
                            "element": {"type": "plain_text_input", "action_id": "value"}}]}

    def errors(self, form_id: str, view: dict[str, Any]) -> dict[str, str]:
        model = view["state"]["values"].get("model", {}).get("value", {}).get("value") or ""
        return {} if model.strip() else {"model": "Which model?"}

    async def submit(self, actor: Actor, origin: Origin, form_id: str, view: dict[str, Any], dedupe_key: str) -> str:
        return f"form {form_id} from {actor.email} in {origin.channel}"


async def test_forms_plug_in_behind_request_with_a_form_name(slack: SlackWorld) -> None:
    runtime = slack.runtime
    runtime.forms = runtime.inbound.forms = OneForm()
    try:
        await slack.command(ZACK, "/request", "laptop")
        view = opened(slack)
        assert view["callback_id"] == "zd:form:laptop"
        bad = await slack.submit(ZACK, view, {"model": {"value": {"value": ""}}})
        assert bad.json() == {"response_action": "errors", "errors": {"model": "Which model?"}}
        await slack.submit(ZACK, view, {"model": {"value": {"value": "X1 Carbon"}}})
        notice = slack.posts(f"D{ZACK}")[-1]
        assert block_text(notice["blocks"]) == f"form laptop from zack@nordlys.example in D{ZACK}"
    finally:
        runtime.forms = runtime.inbound.forms = channel.forms


async def test_without_forms_request_with_a_name_falls_back_to_the_general_modal(slack: SlackWorld) -> None:
    await slack.command(ZACK, "/request", "laptop", channel=DM)
    assert opened(slack)["callback_id"] == "zd:create"
