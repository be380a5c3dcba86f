"""Hostile text on Teams: markup comes out inert in every card, oversized input is refused, outbound stays small.

Cards are checked as the fake connector received them (and as invoke responses came back): user text
sits in TextBlocks and facts with every markdown character escaped, never as card JSON, a mention or a
link whose label hides where it goes.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import given, settings, target
from hypothesis import strategies as st

from adapters.teams.cards import Signer, card_activity, render_card, updated_card
from bot.delivery.messages import Button, Message
from bot.desk.actions import Outcome
from bot.desk.approvals import request_approval
from tests.teams import conftest as teams_world
from tests.teams.conftest import (
    ALEXIS,
    IT_HELP,
    IT_TRIAGE,
    IVAR,
    KARI,
    MARTE,
    Person,
    TeamsWorld,
    actions,
    card_markdown,
    card_of,
    card_text,
)

connector, openid, teams = teams_world.connector, teams_world.openid, teams_world.teams  # the Teams world's fixtures

BASE_URL = "http://127.0.0.1:3000/"  # app.yaml's organisation.base_url: the only place a card may link to
CARD_JSON = '{"type":"AdaptiveCard","body":[{"type":"ActionSet","actions":[{"type":"Action.OpenUrl","url":"https://evil.example"}]}]}'
# As a person types it in Teams (which sends HTML: typed angle brackets arrive as entities).
HOSTILE = (f"Printer broken {CARD_JSON} &lt;at&gt;Alexis Baker&lt;/at&gt; [https://good.example](https://evil.example) "
           "**urgent** &lt;script&gt;alert(1)&lt;/script&gt; <img src=x onerror=alert(1)>")
SHOWN = [CARD_JSON, "<at>Alexis Baker</at>", "[https://good.example](https://evil.example)", "**urgent**",
         "<script>alert(1)</script>", "<img src=x onerror=alert(1)>"]
RENDERED = {"TextBlock", "FactSet", "Input.Text"}  # every element type our cards are made of
OUR_BUTTONS = {"Claim", "Assign", "Reply", "Add a comment", "Approve", "Reject"}
MARKUP = set("\\`*_[]<>~|")
WIRE_MAX = 80_000  # bytes of an outbound activity or invoke response, as JSON on the wire
SHORTENED = "(shortened: open the request in Zonedesk to read it all)"


def live_markup(markdown: str) -> list[str]:
    """Characters a TextBlock would read as markdown: those of `MARKUP` not escaped by a backslash."""
    found, escaped = [], False
    for char in markdown:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in MARKUP:
            found.append(char)
    return found


def assert_inert(card: dict[str, Any]) -> None:
    """What a person sees on a card is plain text: no element, action, mention or link came from user text."""
    assert {element["type"] for element in card["body"]} <= RENDERED, card["body"]
    assert "entities" not in card.get("msteams", {}), "a mention only renders with entities: there are none"
    for action in card.get("actions", []):
        if action["type"] == "Action.OpenUrl":
            assert action["url"].startswith(BASE_URL), action
        else:
            assert action["title"] in OUR_BUTTONS, action
    for line in card_markdown(card).splitlines():
        assert live_markup(line) == [], line


def wire(value: Any) -> int:
    return len(json.dumps(value))


# ---------------------------------------------------------------- markup injection
async def test_markup_in_a_request_is_inert_in_every_teams_card(teams: TeamsWorld) -> None:
    _, post = await teams.post_in_channel(KARI, HOSTILE)
    await teams.deliver()
    [confirmation] = teams.sent_to(f"{IT_HELP};messageid={post}")
    [(_, announcement)] = teams.new_threads(IT_TRIAGE)
    claimed = await teams.click(ALEXIS, actions(card_of(announcement))["Claim"], conversation=IT_TRIAGE,
                                kind="channel")
    await teams.say(ALEXIS, "desk show 1")
    [shown] = teams.sent_to(ALEXIS.chat)

    cards = {"confirmation": card_of(confirmation), "triage": card_of(announcement),
             "after the claim": claimed.body["value"], "desk show": card_of(shown)}
    for name, card in cards.items():
        assert_inert(card)
        assert "Printer broken" in card_text(card), name
    # The whole request is on the triage card and in `desk show`, as typed: both addresses of the link in view.
    for name in ("triage", "after the claim", "desk show"):
        for typed in SHOWN:
            assert typed in card_text(cards[name]), (name, typed)
    assert "Claimed by Alexis Baker" in card_text(cards["after the claim"])
    assert all("evil" not in json.dumps(a) for a in cards["triage"]["actions"] if a["type"] == "Action.OpenUrl")


async def test_markup_in_an_agents_reply_and_in_a_display_name_is_inert(teams: TeamsWorld) -> None:
    mallory = Person("29:1mallory", "aad-mallory-0009", "**IT Security** [Verify](https://evil.example) <at>All</at>",
                     "mallory@nordlys.example")
    teams.connector.add_member(mallory.aad, mallory.user_id, mallory.name, mallory.email)
    _, post = await teams.post_in_channel(mallory, "Cannot log in")
    await teams.deliver()

    await teams.say(ALEXIS, "desk reply 1 [Click to verify](https://evil.example) ![x](https://evil.example/x.png) "
                            "&lt;at&gt;Mallory&lt;/at&gt; <b>done</b>")
    await teams.deliver()

    [(_, announcement)] = teams.new_threads(IT_TRIAGE)
    triage = card_of(announcement)
    assert_inert(triage)
    assert f"Requester: {mallory.name}" in card_text(triage)
    reply = card_of(teams.sent_to(f"{IT_HELP};messageid={post}")[-1])
    assert_inert(reply)
    assert "Alexis Baker wrote:" in card_text(reply)
    assert "[Click to verify](https://evil.example) ![x](https://evil.example/x.png) <at>Mallory</at>" in card_text(
        reply)


async def test_markup_in_a_message_a_request_is_made_from_stays_data_in_the_dialog(teams: TeamsWorld) -> None:
    html = "<p>[https://good.example](https://evil.example) &lt;script&gt;x&lt;/script&gt;</p>" + CARD_JSON
    value = {"commandId": "createRequest", "commandContext": "message",
             "messagePayload": {"id": "1732000000900", "body": {"contentType": "html", "content": html}}}

    answer = await teams.invoke(ALEXIS, "composeExtension/fetchTask", value,
                                conversation=f"{IT_HELP};messageid=1732000000900", kind="channel")

    card = answer.body["task"]["value"]["card"]["content"]
    assert {e["type"] for e in card["body"]} <= {"Input.Text", "Input.ChoiceSet", "TextBlock"}
    values = {e["id"]: e.get("value") for e in card["body"] if e["type"].startswith("Input.")}
    assert values["description"] == f"[https://good.example](https://evil.example) <script>x</script>\n{CARD_JSON}"
    assert [a["type"] for a in card["actions"]] == ["Action.Submit"]


# ---------------------------------------------------------------- oversized input
@pytest.mark.parametrize("size", [25_000, 1_000_000])
async def test_an_oversized_message_is_refused_with_a_clear_message_and_nothing_is_written(teams: TeamsWorld,
                                                                                          size: int) -> None:
    answer, _ = await teams.say(KARI, "Please read\n" + "x" * size)

    assert answer.status == 200
    [told] = teams.sent_to(KARI.chat)
    text = card_text(card_of(told))
    assert "too long" in text and "at most 20,000" in text, text
    assert wire(told) < WIRE_MAX  # the refusal does not quote the megabyte back
    assert await teams.requests() == 0
    assert await teams.inbound() == 0
    assert await teams.pending() == 0


async def test_many_unclosed_mentions_are_answered_at_once(teams: TeamsWorld) -> None:
    started = time.perf_counter()
    answer, _ = await teams.post_in_channel(KARI, "<at>" * 24_000)  # 96 KB: under the early refusal

    assert answer.status == 200
    assert time.perf_counter() - started < 3  # was quadratic: about 10 s, the event loop blocked
    assert await teams.requests() == 0  # 96,000 characters: too long for the desk


async def test_a_huge_dialog_submit_is_refused_in_the_dialog_and_nothing_is_written(teams: TeamsWorld) -> None:
    data = {"zd_dialog": "create", "title": "Office chair", "description": "y" * 1_000_000, "zone": "it"}

    answer = await teams.invoke(KARI, "task/submit", {"data": data})

    assert answer.status == 200
    card = answer.body["task"]["value"]["card"]["content"]
    assert "The description is too long (1,000,000 characters; at most 20,000)." in card_text(card)
    assert wire(answer.body) < WIRE_MAX  # shown again as far as the input takes it, not the whole megabyte
    assert await teams.requests() == 0
    assert await teams.inbound() == 0


async def test_a_huge_card_click_is_answered_briefly_and_changes_nothing(teams: TeamsWorld) -> None:
    value = {"action": {"type": "Action.Execute", "verb": "zd:claim",
                        "data": {"zd": "claim", "v": "1" * 100_000, "m": {"text": "z" * 500_000}, "s": "x",
                                 "zd_comment": "c" * 500_000}}}

    answer = await teams.invoke(ALEXIS, "adaptiveCard/action", value)

    assert answer.status == 200
    assert answer.body["type"] == "application/vnd.microsoft.activity.message"
    assert wire(answer.body) < 2_000
    assert await teams.inbound() == 0


async def test_a_body_over_the_servers_limit_is_413_with_a_clear_message_and_nothing_is_written(
        teams: TeamsWorld) -> None:
    activity = teams.activity(KARI, "personal", KARI.chat, type="message", text="x" * 3_000_000)

    answer = await teams.post(activity)
    forged = await teams.post(activity, token=teams.token(key="rogue"))

    assert (answer.status, answer.body) == (413, {"error": "the activity is larger than 2,097,152 bytes"})
    assert forged.status == 401
    assert await teams.requests() == 0
    assert teams.connector.calls == []


# ---------------------------------------------------------------- outbound size
async def test_outbound_activities_stay_under_80_kb_and_long_text_is_shortened(teams: TeamsWorld) -> None:
    # The longest the desk allows, in the characters that cost most on the wire (an emoji: 12 bytes of JSON).
    unicorn = Person("29:1unicorn", "aad-unicorn-0010", "🦄" * 200, "unicorn@nordlys.example")
    teams.connector.add_member(unicorn.aad, unicorn.user_id, unicorn.name, unicorn.email)
    await teams.say(MARTE, "desk help")  # Marte's personal chat is known, for the approval card
    description = ("😀" * 70 + "\n") * 280  # 19,880 characters in 280 lines
    filed = await teams.invoke(unicorn, "task/submit", {"data": {"zd_dialog": "create", "title": "🧾" * 200,
                                                                "description": description, "zone": "it"}})
    assert "Filed as #1" in filed.body["task"]["value"]
    await teams.deliver()
    await teams.say(ALEXIS, "desk reply 1 " + "🙂" * 19_000)
    await request_approval(teams.services.desk, teams.actor(IVAR), 1, [MARTE.email], question="❓" * 1_000)
    await teams.deliver()
    [(_, announcement)] = teams.new_threads(IT_TRIAGE)
    claimed = await teams.click(ALEXIS, actions(card_of(announcement))["Claim"], conversation=IT_TRIAGE,
                                kind="channel")

    sent = [c.body for c in teams.connector.calls if c.route != "token" and c.body]
    assert len(sent) >= 5
    for body in sent:
        assert wire(body) < WIRE_MAX, (wire(body), json.dumps(body)[:200])
    assert wire(claimed.body) < WIRE_MAX
    reply = card_of(teams.sent_to(unicorn.chat)[-1])
    assert "🙂" * 100 in card_text(reply) and card_text(reply).endswith(SHORTENED)
    approval = card_of(teams.sent_to(MARTE.chat)[-1])
    assert "❓" * 100 in card_text(approval)
    assert "Claimed by Alexis Baker" in card_text(claimed.body["value"])


EXPENSIVE = ["😀", "é", "\\", "*", "\n", "\u2028", "\x00", "a"]


@pytest.mark.parametrize("char", EXPENSIVE, ids=[repr(c) for c in EXPENSIVE])
@pytest.mark.parametrize("shape", ["reply", "triage", "approval"])
def test_the_largest_card_the_desk_can_send_fits_on_the_wire(shape: str, char: str) -> None:
    assert_fits(shape, char * 200, char * 20_000, char * 200)


LONG = st.lists(st.tuples(st.sampled_from([*EXPENSIVE, " ", "&", '"']), st.integers(1, 6000)), min_size=1,
                max_size=6).map(lambda parts: "".join(char * n for char, n in parts)[:20_000])


@settings(max_examples=40, deadline=None)
@given(title=LONG.map(lambda t: t[:200]), text=LONG, name=LONG.map(lambda t: t[:200]),
       shape=st.sampled_from(["reply", "triage", "approval"]))
def test_any_card_the_desk_can_send_fits_on_the_wire(title: str, text: str, name: str, shape: str) -> None:
    target(assert_fits(shape, title, text, name), label="activity bytes")  # steer towards the largest cards


def assert_fits(shape: str, title: str, text: str, name: str) -> int:
    """A card of the desk's own shapes, filled up to the desk's limits (titles and names 200 characters, texts
    20,000; triage and approval texts cut by the desk), is under 80 KB, inert, and its buttons still verify."""
    signer = Signer(b"test-secret-key")
    if shape == "reply":
        message = Message(text=text, author=name, extra={"number": 1})
    elif shape == "triage":
        message = Message(title=f"New request #1: {title}", text=text[:500], fields=(("Requester", name),),
                          buttons=(Button("claim", "Claim", "1", "primary"), Button("assign", "Assign", "1"),
                                   Button("reply", "Reply", "1")), link=BASE_URL + "requests/1", extra={"number": 1})
    else:
        message = Message(title=f"Approval needed for #1: {title}", text=text[:1000], fields=(("Requester", name),),
                          buttons=(Button("approve", "Approve", "1", "primary"), Button("reject", "Reject", "1")),
                          extra={"approval": 1, "number": 1, "comment": True})

    card = render_card(message, signer)
    size = wire(card_activity(card, message.plain()).serialize())

    assert size < WIRE_MAX
    assert_inert(card)
    for action in card.get("actions", []):
        if action["type"] == "Action.Execute":
            redrawn = updated_card(action["data"], Outcome("done", Message(text="Claimed by Alexis Baker")), signer)
            assert redrawn is not None and "Claimed by Alexis Baker" in card_text(redrawn)
            assert wire(redrawn) < WIRE_MAX
    return size
