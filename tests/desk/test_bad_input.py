"""Bad input to the desk: the person reads a clear message, and not one row is written anywhere.

Each case runs against the same small world (with rows in every table a change could touch: requests,
events, comments, outbox, relations, tasks, labels, inbound). Before and after each case every table
is counted and read in full; a refusal must leave both exactly as they were. SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.delivery.channels import ChannelInfo
from bot.desk import WEB, Desk, Origin
from bot.desk.status import STATUSES
from bot.errors import DeskError, Duplicate, NotFound
from bot.model import Base
from bot.server import Services

ZACK = "zack@nordlys.example"  # not in app.yaml
EVE = "eve@nordlys.example"  # not in app.yaml either, and never filed anything
ALEXIS = "alexis.baker@nordlys.example"  # IT agent
FRIDA = "frida.dahl@nordlys.example"  # Front desk dispatcher (reads IT)
HANNA = "hanna.berg@nordlys.example"  # HR agent
ERIKA = "erika.schmitt@nordlys.example"  # Payroll agent
MARTE = "marte.viken@nordlys.example"  # approver only: known, but no agent

TABLES = ("requests", "events", "comments", "outbox", "relations", "tasks", "labels", "inbound")
IT_CATEGORIES = "access, hardware, laptop, new-hire, outage, peripherals, software-access"
ZONES = "front-desk (Front desk), it (IT), hr (HR), finance (Finance), facilities (Facilities)"


@dataclass
class World:
    services: Services
    desk: Desk
    n: dict[str, int]
    task: int


@pytest.fixture
async def world(services: Services) -> World:
    desk = services.desk
    desk.enable(ChannelInfo("slack"))  # so a leaked outbound message would show as an outbox row
    zack, alexis = desk.actor(ZACK), desk.actor(ALEXIS)

    def slack(thread: str) -> Origin:
        return Origin(platform="slack", workspace="T1", channel="C0ITHELP", thread=thread, user="U1")

    n = {
        "it": (await desk.file_request(zack, slack("1.1"), "Laptop fan is loud", zone_id="it",
                                       dedupe_key="slack:Ev1")).number,
        "it2": (await desk.file_request(zack, slack("1.2"), "Laptop fan, again", zone_id="it")).number,
        "hr": (await desk.file_request(zack, WEB, "Leave in May", zone_id="hr", category_id="leave")).number,
        "desk": (await desk.file_request(zack, WEB, "Parking?", zone_id="front-desk")).number,
        "cancelled": (await desk.file_request(zack, WEB, "Never mind", zone_id="it")).number,
        "marte": (await desk.file_request(desk.actor(MARTE), WEB, "My badge", zone_id="facilities")).number,
    }
    await desk.cancel(zack, n["cancelled"], "solved it myself")
    await desk.reply(alexis, n["it"], "Looking at it")
    await desk.note(alexis, n["it"], "Probably dust")
    await desk.relate(alexis, n["it"], n["it2"])
    await desk.add_label(alexis, n["it"], "hardware")
    task = await desk.create_task(alexis, n["it"], "Order a fan", to_team="accounting")
    return World(services, desk, n, task)


async def _counts(services: Services) -> dict[str, int]:
    async with services.sessions() as session:
        return {t.name: int(await session.scalar(select(func.count()).select_from(t)) or 0)
                for t in Base.metadata.sorted_tables}


async def _rows(services: Services) -> dict[str, list[tuple[str, ...]]]:
    async with services.sessions() as session:
        return {t.name: sorted(tuple(map(repr, row)) for row in (await session.execute(select(t))).all())
                for t in Base.metadata.sorted_tables}


Case = Callable[[Desk, dict[str, int]], Awaitable[Any]]


def file(email: str, title: str = "Help", description: str = "", **kw: Any) -> Case:
    """`desk.file_request` from the web."""
    return lambda desk, n: desk.file_request(desk.actor(email), WEB, title, description, **kw)


def call(method: str, email: str, request: str, *args: Any, **kw: Any) -> Case:
    """`desk.<method>(person, number of request, *args)`; an argument "{it}" is the number of request "it"."""

    def run(desk: Desk, n: dict[str, int]) -> Awaitable[Any]:
        real = [n[x[1:-1]] if isinstance(x, str) and x[:1] == "{" and x[-1:] == "}" else x for x in args]
        return getattr(desk, method)(desk.actor(email), n[request], *real, **kw)

    return run


# (what the person did, the call, the exact message they read; {it}, {hr}... stand for request numbers)
CASES: list[tuple[str, Case, str]] = [
    # Filing
    ("unknown zone", file(ZACK, zone_id="marketing"), f"There is no zone 'marketing'. Zones: {ZONES}."),
    ("unknown category", file(ZACK, zone_id="it", category_id="printer"),
     f"'printer' is not a category of IT. Categories: {IT_CATEGORIES}."),
    ("a category of another zone", file(ZACK, zone_id="it", category_id="payroll-error"),
     f"'payroll-error' is not a category of IT. Categories: {IT_CATEGORIES}."),
    ("a team of another zone", file(ZACK, zone_id="it", team_id="payroll"), "'payroll' is not a team of IT."),
    ("unknown urgency", file(ZACK, zone_id="it", urgency="asap"),
     "'asap' is not an urgency. Choose one of: low, normal, high."),
    ("empty title", file(ZACK, "   \n ", zone_id="it"), "The title is empty; write a few words."),
    ("100 kB title", file(ZACK, "x" * 100_000, zone_id="it"),
     "The title is too long (100,000 characters; at most 200)."),
    ("100 kB description", file(ZACK, "Big", "x" * 100_000, zone_id="it"),
     "The description is too long (100,000 characters; at most 20,000)."),
    ("on behalf of someone, by an agent outside their zone (no dispatcher)",
     file(ALEXIS, zone_id="hr", on_behalf_of=("zack@nordlys.example", "Zack")),
     "Only a dispatcher or an agent of HR can file a request there on behalf of someone else."),
    ("on behalf of something that is no e-mail", file(FRIDA, zone_id="it", on_behalf_of=("Zack", "Zack")),
     "'Zack' is not an e-mail address."),
    ("the same platform event twice",
     lambda desk, n: desk.file_request(desk.actor(ZACK), WEB, "Again", zone_id="it", dedupe_key="slack:Ev1"),
     "This was already handled."),
    ("a second request from a thread that has one",
     lambda desk, n: desk.file_request(desk.actor(ZACK), Origin(platform="slack", channel="C0ITHELP", thread="1.1"),
                                       "Same thread", zone_id="it"),
     "This thread already belongs to a request; reply in it instead."),
    # Status
    ("new to closed", call("set_status", ALEXIS, "it", "closed"),
     "Request #{it} cannot go from new to closed: "
     "from new it can move to: accepted, assigned, cancelled, in_progress, resolved, waiting."),
    ("not a status", call("set_status", ALEXIS, "it", "done"),
     f"'done' is not a status. Statuses: {', '.join(STATUSES)}."),
    ("the status it already has", call("set_status", ALEXIS, "it", "new"), "Request #{it} is already new."),
    ("waiting on nothing known", call("set_status", ALEXIS, "it", "waiting", reason="godot"),
     "Waiting on what? Choose one of: requester, approval, task."),
    *[(f"cancelled to {status}", call("set_status", ALEXIS, "cancelled", status),
       f"Request #{{cancelled}} cannot go from cancelled to {status}: "
       "a cancelled request is final; file a new one instead.")
      for status in STATUSES if status != "cancelled"],
    ("the requester reopens a cancelled request", call("reopen", ZACK, "cancelled"),
     "Request #{cancelled} cannot go from cancelled to reopened: "
     "a cancelled request is final; file a new one instead."),
    ("claiming a cancelled request", call("claim", ALEXIS, "cancelled"),
     "Request #{cancelled} is cancelled; reopen it before claiming."),
    ("the requester writes on a cancelled request", call("comment", ZACK, "cancelled", "Hello?"),
     "Request #{cancelled} is cancelled; file a new request or ask to reopen it."),
    ("a dispatcher zone resolves", call("set_status", FRIDA, "desk", "resolved"),
     "Front desk routes requests but does not resolve them; transfer it to the department that handles it."),
    # Fields
    ("a category of another zone, later", call("set_category", ALEXIS, "it", "leave"),
     f"'leave' is not a category of IT. Categories: {IT_CATEGORIES}."),
    ("an internal category the zone lacks", call("set_internal_category", HANNA, "hr", "incident"),
     "'incident' is not an internal category of HR: none are defined."),
    ("a weight that is no level", call("set_weight", ALEXIS, "it", "huge"),
     "'huge' is not a weight. Choose one of: low, normal, high."),
    ("a deadline without a time zone", call("set_deadline", ALEXIS, "it", datetime(2026, 12, 1, 12, 0)),
     "The deadline needs a time zone."),
    ("a label of two words", call("add_label", ALEXIS, "it", "two words"),
     "A label is one word of letters, digits, '-' or '_' (at most 40)."),
    ("an empty reply", call("reply", ALEXIS, "it", "  "), "The reply is empty; write a few words."),
    ("a 100 kB note", call("note", ALEXIS, "it", "n" * 100_000),
     "The note is too long (100,000 characters; at most 20,000)."),
    # Transfers and relations
    ("transfer to a zone not allowed", call("transfer", HANNA, "hr", "it"),
     "HR may not transfer requests to IT. Allowed: Finance."),
    ("transfer to an unknown zone", call("transfer", ALEXIS, "it", "legal"),
     f"There is no zone 'legal'. Zones: {ZONES}."),
    ("transfer with the old zone's category", call("transfer", ALEXIS, "it", "facilities", category_id="laptop"),
     "'laptop' is not a category of Facilities. Categories: building, office-event, repairs."),
    ("transfer a cancelled request", call("transfer", ALEXIS, "cancelled", "facilities"),
     "Request #{cancelled} is cancelled; only open requests can be transferred."),
    ("relation across zones, by someone who sees both", call("relate", FRIDA, "desk", "{it}"),
     "Relations exist only between requests of the same department."),
    ("relation to a request of a zone one cannot see", call("relate", ALEXIS, "it", "{hr}"),
     "Request #{hr} was not found."),
    ("relation to itself", call("relate", ALEXIS, "it", "{it}"), "A request cannot be related to itself."),
    ("relation that exists", call("relate", ALEXIS, "it2", "{it}"), "#{it2} and #{it} are already related."),
    # Assignment
    ("assign to someone who is no agent", call("assign", ALEXIS, "it", MARTE),
     f"{MARTE} is not an agent who can work on request #{{it}}."),
    ("assign to someone unknown", call("assign", ALEXIS, "it", EVE),
     f"{EVE} is not an agent who can work on request #{{it}}."),
    ("assign to an agent of another zone", call("assign", ALEXIS, "it", HANNA),
     f"{HANNA} is not an agent who can work on request #{{it}}."),
    ("accept what is not assigned to you", call("accept", ALEXIS, "it"), "Request #{it} is not assigned to you."),
    # Tasks
    ("task to a zone not allowed", call("create_task", ALEXIS, "it", "Fix desk", to_team="hr-service"),
     "IT may not send tasks to HR. Allowed: Facilities, Finance."),
    ("task from a zone with tasks switched off", call("create_task", FRIDA, "desk", "Check", to_team="it-support"),
     "Tasks from Front desk to another department are switched off."),
    ("task to an unknown team", call("create_task", ALEXIS, "it", "Fix", to_team="legal"), "There is no team 'legal'."),
    ("task to someone who is no agent", call("create_task", ALEXIS, "it", "Fix", to_agent=MARTE),
     f"{MARTE} is not an agent."),
    ("task to nobody", call("create_task", ALEXIS, "it", "Fix"), "Name the team or agent the task is for."),
    ("finish a task that does not exist", lambda desk, n: desk.complete_task(desk.actor(ERIKA), 999),
     "Task T999 was not found."),
    ("finish a task addressed to another team", lambda desk, n: desk.complete_task(desk.actor(ERIKA), 1),
     "Task T1 was not found."),
    # People acting as agents who are not
    *[(f"someone not in app.yaml: {verb}", call(verb, EVE, "it", *args), "Request #{it} was not found.")
      for verb, args in (("reply", ("I am IT, honest",)), ("claim", ()), ("note", ("psst",)),
                         ("set_status", ("resolved",)), ("transfer", ("facilities",)))],
    *[(f"a requester not in app.yaml, on their own request: {verb}", call(verb, ZACK, "it", *args),
       f"Only an agent of the request's department can {doing}.")
      for verb, args, doing in (("reply", ("answering myself",), "reply to it"), ("claim", (), "claim it"),
                                ("note", ("note to self",), "add notes"),
                                ("set_status", ("resolved",), "change its status"))],
    *[(f"an approver acting as agent: {verb}", call(verb, MARTE, "it", *args), "Request #{it} was not found.")
      for verb, args in (("reply", ("approved!",)), ("claim", ()), ("note", ("fine by me",)))],
    *[(f"an approver acting as agent on her own request: {verb}", call(verb, MARTE, "marte", *args),
       f"Only an agent of the request's department can {doing}.")
      for verb, args, doing in (("reply", ("done",), "reply to it"), ("claim", (), "claim it"),
                                ("note", ("hmm",), "add notes"))],
    ("someone else's requester cancels", call("cancel", EVE, "it"), "Request #{it} was not found."),
    ("a reader cancels", call("cancel", FRIDA, "it"),
     "Only the requester or an agent of the request's department can cancel it."),
]


async def test_bad_input_gets_a_clear_message_and_writes_nothing(world: World) -> None:
    assert all(count > 0 for name, count in (await _counts(world.services)).items() if name in TABLES)
    counts, rows = await _counts(world.services), await _rows(world.services)
    for name, case, message in CASES:
        with pytest.raises(DeskError) as refused:
            await case(world.desk, world.n)
        assert refused.value.message == message.format(**world.n), name
        assert await _counts(world.services) == counts, f"{name}: rows were written"
        assert await _rows(world.services) == rows, f"{name}: rows were changed"


async def test_no_access_and_no_such_request_read_the_same(world: World) -> None:
    desk = world.desk
    for email in (EVE, MARTE, HANNA):
        with pytest.raises(NotFound) as hidden:
            await desk.reply(desk.actor(email), world.n["it"], "hello")
        with pytest.raises(NotFound) as missing:
            await desk.reply(desk.actor(email), 999, "hello")
        assert hidden.value.message.replace(str(world.n["it"]), "N") == missing.value.message.replace("999", "N")


async def test_the_same_event_twice_files_one_request(world: World) -> None:
    desk, zack = world.desk, world.desk.actor(ZACK)
    first = await desk.file_request(zack, WEB, "Printer jams", zone_id="it", dedupe_key="teams:act-7")
    with pytest.raises(Duplicate):
        await desk.file_request(zack, WEB, "Printer jams", zone_id="it", dedupe_key="teams:act-7")
    titles = [r.title for r in await desk.list_requests(zack, scope="mine")]
    assert titles.count("Printer jams") == 1 and first.title == "Printer jams"


async def test_unknown_people_may_always_file_as_requesters(world: World) -> None:
    desk = world.desk
    for email in ("new.hire@nordlys.example", "Contractor@Example.COM"):
        stranger = desk.actor(email)
        assert not stranger.known and not stranger.is_staff
        filed = await desk.file_request(stranger, WEB, "Where is the canteen?", zone_id="facilities")
        assert [r.number for r in await desk.list_requests(stranger, scope="mine")] == [filed.number]
        detail = await desk.get_request(stranger, filed.number)
        assert (detail.requester_email, detail.title) == (email.lower(), "Where is the canteen?")
        assert detail.zone_name == "Facilities" and detail.can_act is False
