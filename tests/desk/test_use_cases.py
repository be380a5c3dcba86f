"""The desk's use cases end to end, as a requester and the agents see them, on SQLite and PostgreSQL.

Outbound messages are checked as outbox rows (what the delivery worker will send); Slack is switched
on for the desk so a request filed from a Slack thread gets its replies there.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.clock import FakeClock
from bot.delivery.channels import ChannelInfo
from bot.desk import WEB, Desk, Origin
from bot.errors import DeskError, Duplicate, NotFound
from bot.model import Event, Outbox, Relation, Request
from bot.server import Services

ZACK = "zack@nordlys.example"  # not in app.yaml: a requester
ALEXIS = "alexis.baker@nordlys.example"  # IT support
IVAR = "ivar.lund@nordlys.example"  # IT support
FRIDA = "frida.dahl@nordlys.example"  # Front desk dispatcher
HANNA = "hanna.berg@nordlys.example"  # HR service
ERIKA = "erika.schmitt@nordlys.example"  # Payroll
SIRI = "siri.nilsen@nordlys.example"  # Facilities


def slack_thread(ts: str, channel: str = "C0ITHELP") -> Origin:
    return Origin(platform="slack", workspace="T1", channel=channel, thread=ts, message=ts, user="UZACK")


@pytest.fixture
def desk(services: Services) -> Desk:
    services.desk.enable(ChannelInfo("slack"))
    return services.desk


async def _outbox(services: Services, after: int = 0) -> list[dict[str, Any]]:
    """Outbox rows written after row `after`: who gets what."""
    async with services.sessions() as session:
        rows = (await session.execute(select(Outbox).where(Outbox.id > after).order_by(Outbox.id))).scalars()
        return [{"id": r.id, "platform": r.platform, "kind": r.kind, "target": r.target,
                 "title": (r.payload.get("message") or {}).get("title"),
                 "text": (r.payload.get("message") or {}).get("text"), "request": r.request_id} for r in rows]


async def _last_outbox_id(services: Services) -> int:
    rows = await _outbox(services)
    return rows[-1]["id"] if rows else 0


async def _row(services: Services, number: int) -> Request:
    async with services.sessions() as session:
        request = await session.get(Request, number)
        assert request is not None
        return request


# ------------------------------------------------------------------------------------------- filing
ROUTING = [
    # (zone, category, team it lands with, where it is announced)
    ("hr", "sensitive", "employee-relations", []),  # private: never announced in a shared channel
    ("hr", "leave", "hr-service", ["C0HRTRIAGE"]),
    ("hr", None, "hr-service", ["C0HRTRIAGE"]),  # the zone's default team
    ("finance", "payroll-error", "payroll", ["C0PAYROLL"]),  # the team's own triage channel
    ("finance", "invoices", "accounting", ["C0FINTRIAGE"]),
    ("it", "laptop", "it-support", ["C0ITTRIAGE"]),
    ("facilities", "repairs", "facilities-team", ["C0FACTRIAGE"]),
    ("front-desk", None, None, ["C0FRONTDESK"]),
]


@pytest.mark.parametrize(("zone", "category", "team", "announced"), ROUTING,
                         ids=[f"{z}-{c or 'none'}" for z, c, _, _ in ROUTING])
async def test_filing_routes_to_the_team_of_the_category_group(services: Services, desk: Desk, zone: str,
                                                               category: str | None, team: str | None,
                                                               announced: list[str]) -> None:
    zack = desk.actor(ZACK, "Zack McKinnon", channel="slack")
    filed = await desk.file_request(zack, slack_thread("1700.1"), "Something for you", "Details",
                                    zone_id=zone, category_id=category)
    assert (filed.zone_id, filed.team_id, filed.status) == (zone, team, "new")
    detail = await desk.get_request(zack, filed.number)
    assert (detail.team_id, detail.category_id, detail.requester_name) == (team, category, "Zack McKinnon")
    rows = await _outbox(services)
    confirmation = [r for r in rows if r["kind"] == "confirmation"]
    assert [(r["target"]["channel"], r["target"]["thread"]) for r in confirmation] == [("C0ITHELP", "1700.1")]
    assert confirmation[0]["title"] == f"Request #{filed.number} is filed with {detail.zone_name}"
    assert [r["target"]["channel"] for r in rows if r["kind"] == "triage"] == announced


async def test_a_chat_message_without_a_zone_goes_to_the_dispatcher_zone(desk: Desk) -> None:
    zack = desk.actor(ZACK, channel="slack")
    dm = Origin(platform="slack", channel="D0ZACK", thread="1.1", user="UZACK")
    assert (await desk.file_request(zack, dm, "Not sure who to ask")).zone_id == "front-desk"
    assert (await desk.file_request(zack, slack_thread("2.2", "C0ASKHR"), "Leave?")).zone_id == "hr"


# ------------------------------------------------------------------------------------- conversation
async def test_a_reply_reaches_the_thread_and_stamps_the_first_response(services: Services, desk: Desk,
                                                                        clock: FakeClock) -> None:
    zack, alexis = desk.actor(ZACK, channel="slack"), desk.actor(ALEXIS, channel="slack")
    number = (await desk.file_request(zack, slack_thread("1700.1"), "VPN drops", zone_id="it")).number
    assert (await _row(services, number)).first_response_at is None
    start = await _last_outbox_id(services)

    clock.advance(timedelta(minutes=20))
    first = clock.now()
    await desk.reply(alexis, number, "Which office are you in?")
    clock.advance(timedelta(minutes=5))
    await desk.reply(alexis, number, "Try the new client, please.")
    assert (await _row(services, number)).first_response_at == first  # only the first reply counts

    sent = await _outbox(services, start)
    assert [(r["kind"], r["platform"], r["target"]["channel"], r["target"]["thread"], r["text"]) for r in sent] == [
        ("thread_reply", "slack", "C0ITHELP", "1700.1", "Which office are you in?"),
        ("thread_reply", "slack", "C0ITHELP", "1700.1", "Try the new client, please."),
    ]
    detail = await desk.get_request(zack, number)
    assert [(c.author_email, c.public, c.body) for c in detail.comments] == [
        (ALEXIS, True, "Which office are you in?"), (ALEXIS, True, "Try the new client, please.")]


@pytest.mark.parametrize(("origin", "delivered"), [
    (slack_thread("1700.9"), True),
    (Origin(platform="teams", channel="19:ithelp@thread.tacv2", thread="act-1"), False),  # Teams not enabled here
    (WEB, False),  # a web request is followed on its page
], ids=["slack", "teams-not-enabled", "web"])
async def test_outbox_rows_only_for_a_chat_origin_that_is_served(services: Services, desk: Desk, origin: Origin,
                                                                  delivered: bool) -> None:
    number = (await desk.file_request(desk.actor(ZACK), origin, "Printer", zone_id="it")).number
    start = await _last_outbox_id(services)
    await desk.reply(desk.actor(ALEXIS), number, "On my way")
    assert [r["text"] for r in await _outbox(services, start)] == (["On my way"] if delivered else [])
    # The reply is on the request either way, and counts as the first response.
    assert (await _row(services, number)).first_response_at is not None


async def test_a_note_is_never_sent_and_never_shown_to_the_requester(services: Services, desk: Desk) -> None:
    zack = desk.actor(ZACK, channel="slack")
    number = (await desk.file_request(zack, slack_thread("1700.1"), "Need Figma", zone_id="it")).number
    start = await _last_outbox_id(services)
    await desk.note(desk.actor(ALEXIS), number, "Licence budget is empty until January")
    assert await _outbox(services, start) == []
    assert (await _row(services, number)).first_response_at is None  # a note answers nobody
    assert (await desk.get_request(zack, number)).comments == ()
    staff_view = await desk.get_request(desk.actor(IVAR), number)
    assert [(c.public, c.body) for c in staff_view.comments] == [(False, "Licence budget is empty until January")]


# ---------------------------------------------------------------------------------------- ownership
async def test_claim_assign_accept(services: Services, desk: Desk) -> None:
    await services.directory.remember("slack", "UIVAR", IVAR, "Ivar Lund")
    zack, alexis, ivar = desk.actor(ZACK), desk.actor(ALEXIS, channel="slack"), desk.actor(IVAR, channel="teams")
    number = (await desk.file_request(zack, WEB, "New laptop for Ola", zone_id="it", category_id="laptop")).number

    assert await desk.claim(alexis, number) == "accepted"
    detail = await desk.get_request(zack, number)
    assert (detail.assignee_email, detail.assignee_name, detail.status) == (ALEXIS, "Alexis Baker", "accepted")
    with pytest.raises(DeskError, match=f"You already have request #{number}."):
        await desk.claim(alexis, number)

    start = await _last_outbox_id(services)
    assert await desk.assign(alexis, number, IVAR) == "Ivar Lund"
    assert ((await desk.get_request(zack, number)).status, (await desk.get_request(zack, number)).assignee_email) \
        == ("assigned", IVAR)
    dm = await _outbox(services, start)
    assert [(r["kind"], r["target"]["user"], r["title"]) for r in dm] == [
        ("dm", "UIVAR", f"Alexis Baker assigned you #{number}: New laptop for Ola")]
    with pytest.raises(DeskError, match=f"Request #{number} is not assigned to you."):
        await desk.accept(alexis, number)
    await desk.accept(ivar, number)
    detail = await desk.get_request(ivar, number)
    assert detail.status == "accepted"
    assert [(e.kind, e.actor_email, e.channel) for e in detail.history] == [
        ("filed", ZACK, "web"), ("claimed", ALEXIS, "slack"), ("assigned", ALEXIS, "slack"),
        ("accepted", IVAR, "teams")]
    assert detail.history[2].data == {"assignee": IVAR, "previous": ALEXIS}


# ------------------------------------------------------------------------------------------- status
async def test_the_status_machine_with_the_requester_answering(services: Services, desk: Desk) -> None:
    zack, alexis = desk.actor(ZACK, channel="slack"), desk.actor(ALEXIS)
    number = (await desk.file_request(zack, slack_thread("1700.1"), "Outlook crashes", zone_id="it")).number
    await desk.set_status(alexis, number, "in_progress")
    start = await _last_outbox_id(services)
    await desk.set_status(alexis, number, "waiting")  # waiting on the requester unless told otherwise
    detail = await desk.get_request(zack, number)
    assert (detail.status, detail.waiting_reason) == ("waiting", "requester")
    assert [r["text"] for r in await _outbox(services, start)] == [
        f"Request #{number} is waiting for your answer: reply in this thread."]

    # The requester answers in the thread: the request is worked on again.
    await desk.comment(zack, number, "It crashes when I open the calendar", from_thread=True)
    detail = await desk.get_request(zack, number)
    assert (detail.status, detail.waiting_reason) == ("in_progress", None)
    assert (detail.comments[-1].author_email, detail.comments[-1].body) == (ZACK, "It crashes when I open the calendar")

    await desk.set_status(alexis, number, "waiting", reason="approval")
    await desk.comment(zack, number, "Any news?")
    assert (await desk.get_request(zack, number)).status == "waiting"  # waiting on approval, not on Zack

    await desk.set_status(alexis, number, "resolved")
    row = await _row(services, number)
    assert row.resolved_at is not None and row.status == "resolved"
    await desk.set_status(alexis, number, "closed")
    row = await _row(services, number)
    assert (row.status, row.closed_by) == ("closed", "agent")
    history = (await desk.get_request(alexis, number)).history
    assert [(e.kind, e.data.get("status")) for e in history] == [
        ("filed", None), ("status", "in_progress"), ("status", "waiting"), ("commented", "in_progress"),
        ("status", "waiting"), ("commented", None), ("status", "resolved"), ("status", "closed")]


async def test_cancel_and_reopen(services: Services, desk: Desk) -> None:
    zack, alexis = desk.actor(ZACK, channel="slack"), desk.actor(ALEXIS)
    first = (await desk.file_request(zack, slack_thread("1.1"), "Forgot my password", zone_id="it")).number
    start = await _last_outbox_id(services)
    await desk.cancel(zack, first, "found it on a post-it")
    detail = await desk.get_request(zack, first)
    assert detail.status == "cancelled"  # the requester reads the history meant for them, their own reason too
    assert [e.text for e in detail.history] == ["Zack filed it with IT.", "Zack cancelled it: found it on a post-it."]
    staff = await desk.get_request(alexis, first)
    assert (staff.history[-1].kind, staff.history[-1].data["reason"]) == ("status", "found it on a post-it")
    assert [r["text"] for r in await _outbox(services, start)] == [f"Request #{first} is cancelled."]
    assert first not in {r.number for r in await desk.list_requests(alexis, scope="queue")}

    second = (await desk.file_request(zack, slack_thread("2.2"), "Screen is dark", zone_id="it")).number
    await desk.set_status(alexis, second, "resolved")
    await desk.reopen(zack, second, "It went dark again after lunch")
    detail = await desk.get_request(zack, second)
    assert detail.status == "reopened"
    assert detail.comments[-1].body == "It went dark again after lunch"
    assert (await _row(services, second)).resolved_at is None
    assert second in {r.number for r in await desk.list_requests(alexis, scope="queue")}
    await desk.claim(alexis, second)
    assert (await desk.get_request(zack, second)).status == "accepted"


# ------------------------------------------------------------------------------------------- fields
PRIORITIES = [
    # (requester's urgency, dispatcher's weight, category, priority)
    ("low", None, None, "low"),
    ("normal", None, None, "normal"),
    ("high", None, None, "high"),
    ("high", "high", None, "critical"),
    ("low", "high", None, "normal"),
    ("high", "low", None, "normal"),
    ("low", "low", "outage", "high"),  # something is down: never below high
    ("high", "high", "outage", "critical"),  # the floor never lowers
    ("low", None, "laptop", "low"),
]


@pytest.mark.parametrize(("urgency", "weight", "category", "priority"), PRIORITIES,
                         ids=[f"{u}-{w}-{c}" for u, w, c, _ in PRIORITIES])
async def test_priority_from_urgency_weight_and_the_category_floor(desk: Desk, urgency: str, weight: str | None,
                                                                   category: str | None, priority: str) -> None:
    zack, frida = desk.actor(ZACK), desk.actor(FRIDA)
    number = (await desk.file_request(zack, WEB, "Wiki is down", zone_id="it", category_id=category,
                                      urgency=urgency)).number
    if weight is not None:
        # Front desk reads IT but may not weigh its requests; an IT agent may.
        with pytest.raises(DeskError, match="You can read request"):
            await desk.set_weight(frida, number, weight)
        assert await desk.set_weight(desk.actor(ALEXIS), number, weight) == priority
    detail = await desk.get_request(zack, number)
    assert (detail.urgency, detail.priority) == (urgency, priority)


async def test_priority_follows_later_changes(desk: Desk) -> None:
    zack, alexis = desk.actor(ZACK), desk.actor(ALEXIS)
    number = (await desk.file_request(zack, WEB, "Teams calls drop", zone_id="it", urgency="low")).number
    assert await desk.set_category(alexis, number, "outage") == "high"
    assert await desk.set_urgency(zack, number, "high") == "high"  # the requester may say it is urgent
    assert await desk.set_weight(alexis, number, "high") == "critical"
    assert await desk.set_category(alexis, number, None) == "critical"
    assert await desk.set_weight(alexis, number, "low") == "normal"
    assert await desk.set_internal_category(alexis, number, "incident") == "normal"
    detail = await desk.get_request(alexis, number)
    assert (detail.category_id, detail.weight, detail.internal_category) == (None, "low", "incident")
    assert [e.data["priority"] for e in detail.history[1:]] == ["high", "high", "critical", "critical", "normal",
                                                                "normal"]
    # The requester sees the priority, never the desk's weight or internal category.
    mine = await desk.get_request(zack, number)
    assert (mine.priority, mine.weight, mine.internal_category) == ("normal", None, None)


async def test_category_is_one_of_the_zone_s_own(desk: Desk) -> None:
    zack, alexis = desk.actor(ZACK), desk.actor(ALEXIS)
    number = (await desk.file_request(zack, WEB, "Need Photoshop", zone_id="it")).number
    await desk.set_category(alexis, number, "software-access")
    assert (await desk.get_request(zack, number)).category_name == "Software access"
    for other in ("leave", "payroll-error", "repairs", "general"):
        with pytest.raises(DeskError, match=f"'{other}' is not a category of IT"):
            await desk.set_category(alexis, number, other)
    assert (await desk.get_request(zack, number)).category_id == "software-access"


async def test_deadline(desk: Desk) -> None:
    zack, alexis = desk.actor(ZACK), desk.actor(ALEXIS)
    number = (await desk.file_request(zack, WEB, "Accounts for the interns", zone_id="it")).number
    due = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    await desk.set_deadline(alexis, number, due)
    assert (await desk.get_request(zack, number)).deadline == due
    await desk.set_deadline(alexis, number, None)
    detail = await desk.get_request(alexis, number)
    assert detail.deadline is None
    assert [(e.kind, e.data) for e in detail.history[1:]] == [
        ("deadline", {"previous": None, "deadline": due.isoformat()}),
        ("deadline", {"previous": due.isoformat(), "deadline": None})]


async def test_labels_are_personal(desk: Desk) -> None:
    zack, alexis, ivar = desk.actor(ZACK), desk.actor(ALEXIS), desk.actor(IVAR)
    number = (await desk.file_request(zack, WEB, "Dock does not charge", zone_id="it")).number
    await desk.add_label(alexis, number, "Hardware")
    await desk.add_label(alexis, number, "hardware")  # again: still one label
    await desk.add_label(alexis, number, "this-week")
    await desk.add_label(zack, number, "mine")
    assert (await desk.get_request(alexis, number)).labels == ("hardware", "this-week")
    assert (await desk.get_request(zack, number)).labels == ("mine",)
    assert (await desk.get_request(ivar, number)).labels == ()
    await desk.remove_label(ivar, number, "hardware")  # removes only Ivar's own (he has none)
    await desk.remove_label(alexis, number, "this-week")
    assert (await desk.get_request(alexis, number)).labels == ("hardware",)
    # Personal: not part of the shared history.
    assert [e.kind for e in (await desk.get_request(ivar, number)).history] == ["filed"]


async def test_relations_stay_inside_a_zone_and_are_dropped_on_transfer(services: Services, desk: Desk) -> None:
    zack, alexis = desk.actor(ZACK), desk.actor(ALEXIS)
    one = (await desk.file_request(zack, WEB, "Wi-Fi slow on 3rd floor", zone_id="it")).number
    two = (await desk.file_request(zack, WEB, "Wi-Fi drops in room Fjord", zone_id="it")).number
    three = (await desk.file_request(zack, WEB, "Wi-Fi again", zone_id="it")).number
    await desk.relate(alexis, one, two)
    await desk.relate(alexis, three, one)
    assert (await desk.get_request(alexis, one)).related == (two, three)
    assert (await desk.get_request(alexis, two)).related == (one,)
    assert (await desk.get_request(zack, one)).related == ()  # relations are the desk's business
    assert [e.data for e in (await desk.get_request(alexis, two)).history if e.kind == "related"] == [{"other": one}]

    await desk.transfer(alexis, one, "facilities")  # it was the access point's cable after all
    assert (await desk.get_request(alexis, two)).related == ()
    assert (await desk.get_request(alexis, three)).related == ()
    assert (await desk.get_request(desk.actor(SIRI), one)).related == ()
    async with services.sessions() as session:
        assert (await session.execute(select(Relation))).all() == []


# ---------------------------------------------------------------------------------------- transfers
async def test_transfer_drops_zone_specific_fields_and_announces_in_the_new_zone(services: Services,
                                                                                 desk: Desk) -> None:
    zack, alexis = desk.actor(ZACK, channel="slack"), desk.actor(ALEXIS)
    number = (await desk.file_request(zack, slack_thread("1700.1"), "Desk lamp broken", zone_id="it",
                                      category_id="peripherals", urgency="high")).number
    await desk.claim(alexis, number)
    await desk.set_internal_category(alexis, number, "service-request")
    start = await _last_outbox_id(services)

    assert await desk.transfer(alexis, number, "facilities", reason="furniture") == "Facilities"
    detail = await desk.get_request(desk.actor(SIRI), number)
    assert (detail.zone_id, detail.team_id, detail.status, detail.assignee_email) == (
        "facilities", "facilities-team", "new", None)
    assert (detail.category_id, detail.internal_category, detail.priority) == (None, None, "high")
    assert (detail.history[-1].kind, detail.history[-1].actor_email, detail.history[-1].data) == (
        "transferred", ALEXIS, {"source": "it", "target": "facilities", "category": None, "reason": "furniture"})
    sent = await _outbox(services, start)
    assert [(r["kind"], r["target"]["channel"], r["text"] if r["kind"] == "status" else r["title"])
            for r in sent] == [
        ("status", "C0ITHELP", f"Request #{number} is now handled by Facilities."),
        ("triage", "C0FACTRIAGE", f"New request #{number}: Desk lamp broken"),
    ]
    # With a category of the new zone it lands with that category's team.
    await desk.transfer(desk.actor(SIRI), number, "it", category_id="laptop")
    detail = await desk.get_request(alexis, number)
    assert (detail.zone_id, detail.team_id, detail.category_id) == ("it", "it-support", "laptop")


# -------------------------------------------------------------------------------------------- tasks
async def test_tasks_across_zones_and_the_owner_hears_when_one_is_done(services: Services, desk: Desk) -> None:
    await services.directory.remember("slack", "UHANNA", HANNA, "Hanna Berg")
    zack, hanna, erika = desk.actor(ZACK), desk.actor(HANNA), desk.actor(ERIKA, channel="teams")
    number = (await desk.file_request(zack, WEB, "Overtime missing", zone_id="hr", category_id="contract")).number
    await desk.claim(hanna, number)
    start = await _last_outbox_id(services)
    task_id = await desk.create_task(hanna, number, "Pay 3 hours overtime", "Approved by Zack's manager.",
                                     to_team="payroll")
    await desk.set_status(hanna, number, "waiting", reason="task")
    announced = await _outbox(services, start)
    assert [(r["kind"], r["target"]["channel"], r["title"]) for r in announced] == [
        ("task", "C0PAYROLL", f"New task T{task_id} from HR: Pay 3 hours overtime")]
    assert [(t.id, t.to_zone, t.to_team, t.status) for t in await desk.list_tasks(erika)] == [
        (task_id, "finance", "payroll", "open")]

    start = await _last_outbox_id(services)
    assert await desk.complete_task(erika, task_id, "Paid in the December run") == number
    detail = await desk.get_request(hanna, number)
    assert (detail.status, detail.waiting_reason) == ("in_progress", None)  # no open task left to wait on
    assert [(t.status, t.outcome) for t in detail.tasks] == [("done", "Paid in the December run")]
    assert (detail.history[-1].kind, detail.history[-1].actor_email, detail.history[-1].channel) == (
        "task_done", ERIKA, "teams")
    told = await _outbox(services, start)
    assert [(r["kind"], r["target"]["user"], r["title"]) for r in told] == [
        ("dm", "UHANNA", f"Task T{task_id} on #{number} is done: Pay 3 hours overtime")]
    assert await desk.list_tasks(erika) == []
    with pytest.raises(DeskError, match=f"Task T{task_id} is already done."):
        await desk.complete_task(erika, task_id)


async def test_the_agent_who_asked_for_a_task_hears_it_is_done_while_the_request_is_theirs(
        services: Services, desk: Desk) -> None:
    await services.directory.remember("slack", "UHANNA", HANNA, "Hanna Berg")
    await services.directory.remember("slack", "UERIKA", ERIKA, "Erika Schmitt")
    hanna, erika = desk.actor(HANNA), desk.actor(ERIKA, channel="teams")
    number = (await desk.file_request(desk.actor(ZACK), WEB, "Overtime missing", zone_id="hr",
                                      category_id="contract")).number
    first = await desk.create_task(hanna, number, "Pay 3 hours overtime", to_team="payroll")  # nobody claimed it
    second = await desk.create_task(hanna, number, "Correct the payslip", to_team="payroll")
    start = await _last_outbox_id(services)
    await desk.complete_task(erika, first, "Paid")
    told = await _outbox(services, start)
    assert [(r["kind"], r["target"]["user"], r["title"]) for r in told] == [
        ("dm", "UHANNA", f"Task T{first} on #{number} is done: Pay 3 hours overtime")]
    # Moved to Finance, where Hanna sees nothing: the outcome goes to Finance's assignee, not to her.
    await desk.transfer(hanna, number, "finance")
    with pytest.raises(NotFound):
        await desk.get_request(hanna, number)
    await desk.claim(erika, number)
    start = await _last_outbox_id(services)
    await desk.complete_task(erika, second, "Corrected")
    told = await _outbox(services, start)
    assert [(r["kind"], r["target"]["user"]) for r in told if r["kind"] == "dm"] == [("dm", "UERIKA")]


@pytest.mark.parametrize(("agent", "zone", "target", "refusal"), [
    (ALEXIS, "it", {"to_team": "payroll"}, None),  # IT may ask Finance
    (ALEXIS, "it", {"to_agent": SIRI}, None),  # ...and Facilities, a person by name
    (HANNA, "hr", {"to_zone": "finance"}, None),  # HR may ask Finance as a zone
    (HANNA, "hr", {"to_team": "facilities-team"}, "HR may not send tasks to Facilities. Allowed: Finance, IT."),
    (ERIKA, "finance", {"to_team": "it-support"}, "Finance may not send tasks to IT. Allowed: HR."),
    (FRIDA, "front-desk", {"to_team": "it-support"}, "Tasks from Front desk to another department are switched off."),
    (FRIDA, "front-desk", {"to_team": "dispatch"}, None),  # inside its own zone a task is no crossing
], ids=["it-to-payroll", "it-to-siri", "hr-to-finance", "hr-to-facilities", "finance-to-it", "front-desk-off",
        "front-desk-own-team"])
async def test_which_zones_may_send_tasks_where(desk: Desk, agent: str, zone: str, target: dict[str, str],
                                               refusal: str | None) -> None:
    number = (await desk.file_request(desk.actor(ZACK), WEB, "Something", zone_id=zone)).number
    actor = desk.actor(agent)
    if refusal is not None:
        with pytest.raises(DeskError) as refused:
            await desk.create_task(actor, number, "Please help", **target)
        assert refused.value.message == refusal
        assert (await desk.get_request(actor, number)).tasks == ()
        return
    task_id = await desk.create_task(actor, number, "Please help", **target)
    assert [t.id for t in (await desk.get_request(actor, number)).tasks] == [task_id]


# ------------------------------------------------------------------------------------------ history
async def test_every_change_appends_one_event_and_never_edits_an_earlier_one(services: Services, desk: Desk,
                                                                             clock: FakeClock) -> None:
    zack = desk.actor(ZACK, channel="slack")
    alexis, ivar = desk.actor(ALEXIS, channel="teams"), desk.actor(IVAR, channel="web")
    number = (await desk.file_request(zack, slack_thread("9.9"), "Keyboard missing keys", zone_id="it")).number
    other = (await desk.file_request(zack, WEB, "Mouse missing too", zone_id="it")).number
    steps = [
        (alexis, "replied", lambda: desk.reply(alexis, number, "Which keys?")),
        (alexis, "noted", lambda: desk.note(alexis, number, "Spare keyboards in the cupboard")),
        (alexis, "claimed", lambda: desk.claim(alexis, number)),
        (alexis, "assigned", lambda: desk.assign(alexis, number, IVAR)),
        (ivar, "accepted", lambda: desk.accept(ivar, number)),
        (ivar, "status", lambda: desk.set_status(ivar, number, "in_progress")),
        (zack, "urgency", lambda: desk.set_urgency(zack, number, "high")),
        (ivar, "weight", lambda: desk.set_weight(ivar, number, "high")),
        (ivar, "category", lambda: desk.set_category(ivar, number, "peripherals")),
        (ivar, "internal_category", lambda: desk.set_internal_category(ivar, number, "service-request")),
        (ivar, "deadline", lambda: desk.set_deadline(ivar, number, datetime(2026, 12, 2, 9, tzinfo=UTC))),
        (ivar, "related", lambda: desk.relate(ivar, number, other)),
        (ivar, "task_created", lambda: desk.create_task(ivar, number, "Order keyboard", to_team="accounting")),
        (desk.actor("per.holm@nordlys.example", channel="teams"), "task_done",
         lambda: desk.complete_task(desk.actor("per.holm@nordlys.example", channel="teams"), 1, "Ordered")),
        (zack, "commented", lambda: desk.comment(zack, number, "Thanks!")),
        (ivar, "status", lambda: desk.set_status(ivar, number, "resolved")),
        (zack, "status", lambda: desk.reopen(zack, number, "The Enter key is still missing")),
        (ivar, "transferred", lambda: desk.transfer(ivar, number, "facilities")),
        (zack, "status", lambda: desk.cancel(zack, number)),
    ]
    reader = desk.actor(SIRI)  # the request ends in Facilities
    async with services.sessions() as session:
        before = [(e.id, e.at, e.kind, e.data) for e in (await session.execute(
            select(Event).where(Event.request_id == number).order_by(Event.id))).scalars()]
    assert [k for _, _, k, _ in before] == ["filed"]
    for _, kind, change in steps:
        clock.advance(timedelta(minutes=1))
        await change()
        async with services.sessions() as session:
            after = [(e.id, e.at, e.kind, e.data) for e in (await session.execute(
                select(Event).where(Event.request_id == number).order_by(Event.id))).scalars()]
        assert after[:len(before)] == before, f"{kind}: an earlier event changed"
        assert len(after) == len(before) + 1, f"{kind}: one event per change"
        assert (after[-1][1], after[-1][2]) == (clock.now(), kind)
        before = after
    history = (await desk.get_request(reader, number)).history
    assert [(e.kind, e.actor_email, e.channel) for e in history] == [("filed", ZACK, "slack")] + [
        (kind, actor.email, actor.channel) for actor, kind, _ in steps]


async def test_the_same_click_twice_changes_once(services: Services, desk: Desk) -> None:
    zack, alexis = desk.actor(ZACK, channel="slack"), desk.actor(ALEXIS, channel="slack")
    origin = slack_thread("5.5")
    filed = await desk.file_request(zack, origin, "Badge does not open the door", zone_id="it",
                                    dedupe_key="slack:Ev42")
    with pytest.raises(Duplicate) as again:
        await desk.file_request(zack, origin, "Badge does not open the door", zone_id="it", dedupe_key="slack:Ev42")
    assert again.value.message == "This was already handled."
    assert [r.number for r in await desk.list_requests(zack, scope="mine")] == [filed.number]

    await desk.reply(alexis, filed.number, "Facilities owns the doors", dedupe_key="slack:act-1")
    with pytest.raises(Duplicate):
        await desk.reply(alexis, filed.number, "Facilities owns the doors", dedupe_key="slack:act-1")
    await desk.claim(alexis, filed.number, dedupe_key="slack:act-2")
    with pytest.raises(Duplicate):
        await desk.claim(alexis, filed.number, dedupe_key="slack:act-2")
    detail = await desk.get_request(alexis, filed.number)
    assert [c.body for c in detail.comments] == ["Facilities owns the doors"]
    assert [e.kind for e in detail.history] == ["filed", "replied", "claimed"]
