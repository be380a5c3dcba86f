"""Access, table-driven: role x zone visibility x private team x transferred x task-only x dispatcher.

One world of requests is built through the use cases; then for every (person, request) pair the
expected level decides what reading the request, its notes, its history and its tasks, and acting
on it must do, and the SQL list filters must return exactly the same set. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.access import Level
from bot.desk import WEB
from bot.errors import DeskError, NotFound
from bot.server import Services

N, Q, R, A = Level.NONE, Level.REQUESTER, Level.READER, Level.AGENT

PEOPLE = {
    "zack": "zack@nordlys.example",  # not in app.yaml: a requester only
    "max": "max.meyer@nordlys.example",  # not in app.yaml
    "alexis": "alexis.baker@nordlys.example",  # IT agent
    "ivar": "ivar.lund@nordlys.example",  # IT agent, manages IT
    "frida": "frida.dahl@nordlys.example",  # Front desk (dispatcher zone) agent and dispatcher
    "hanna": "hanna.berg@nordlys.example",  # HR service
    "olav": "olav.strand@nordlys.example",  # HR service + private Employee relations, manages HR
    "erika": "erika.schmitt@nordlys.example",  # Finance / Payroll
    "siri": "siri.nilsen@nordlys.example",  # Facilities
    "marte": "marte.viken@nordlys.example",  # approver only
    "admin": "admin@nordlys.example",  # admin only
}

# Expected level per request (columns) and person (rows).
#   it        an IT request filed by zack
#   hr        an HR request (HR service) filed by zack
#   private   an HR request for the private team Employee relations, filed by max
#   desk      a request still in the Front desk (dispatcher zone), filed by max
#   routed    filed at the Front desk, routed to IT by frida: IT is open to the Front desk, so it keeps READ
#   moved     an IT request transferred to Facilities: IT keeps nothing (Facilities is closed)
#   tasked    an HR request with a task for Payroll: Finance sees the task, never the request
COLUMNS = ("it", "hr", "private", "desk", "routed", "moved", "tasked")
EXPECTED = {
    "zack":   (Q, Q, N, N, N, Q, Q),
    "max":    (N, N, Q, Q, Q, N, N),
    "alexis": (A, N, N, N, A, N, N),
    "ivar":   (A, N, N, N, A, N, N),
    "frida":  (R, N, N, A, R, N, N),
    "hanna":  (N, A, N, N, N, N, A),
    "olav":   (N, A, A, N, N, N, A),
    "erika":  (N, N, N, N, N, N, N),
    "siri":   (N, N, N, N, N, A, N),
    "marte":  (N, N, N, N, N, N, N),
    "admin":  (N, N, N, N, N, N, N),
}


@dataclass
class World:
    services: Services
    numbers: dict[str, int]
    task_id: int

    def who(self, name: str):  # type: ignore[no-untyped-def]
        return self.services.desk.actor(PEOPLE[name])


@pytest.fixture
async def world(services: Services) -> World:
    desk = services.desk
    a = lambda name: desk.actor(PEOPLE[name])  # noqa: E731
    numbers = {}
    numbers["it"] = (await desk.file_request(a("zack"), WEB, "Laptop fan is loud", zone_id="it")).number
    numbers["hr"] = (await desk.file_request(a("zack"), WEB, "Parental leave from May", zone_id="hr",
                                             category_id="leave")).number
    numbers["private"] = (await desk.file_request(a("max"), WEB, "A situation in my team", zone_id="hr",
                                                  category_id="sensitive")).number
    numbers["desk"] = (await desk.file_request(a("max"), WEB, "Who handles parking?", zone_id="front-desk")).number
    numbers["routed"] = (await desk.file_request(a("max"), WEB, "Screen flickers", zone_id="front-desk")).number
    await desk.transfer(a("frida"), numbers["routed"], "it", category_id="peripherals")
    numbers["moved"] = (await desk.file_request(a("zack"), WEB, "Broken chair", zone_id="it")).number
    await desk.transfer(a("alexis"), numbers["moved"], "facilities")
    numbers["tasked"] = (await desk.file_request(a("zack"), WEB, "Overtime missing on payslip", zone_id="hr",
                                                 category_id="contract")).number
    task_id = await desk.create_task(a("hanna"), numbers["tasked"], "Pay 3 hours overtime for Zack",
                                     "Hours were approved by the manager.", to_team="payroll")
    for key in numbers:  # a note on each, written by someone who may act there
        actor = next(name for name, row in EXPECTED.items() if row[COLUMNS.index(key)] == A)
        await desk.note(a(actor), numbers[key], f"internal note on {key}")
    return World(services, numbers, task_id)


PAIRS = [(person, column) for person in EXPECTED for column in COLUMNS]


@pytest.mark.parametrize(("person", "column"), PAIRS, ids=[f"{p}-{c}" for p, c in PAIRS])
async def test_reading_a_request_its_notes_history_and_tasks(world: World, person: str, column: str) -> None:
    expected = EXPECTED[person][COLUMNS.index(column)]
    desk = world.services.desk
    number = world.numbers[column]
    if expected == N:
        with pytest.raises(NotFound) as refused:
            await desk.get_request(world.who(person), number)
        assert refused.value.message == f"Request #{number} was not found."  # same words as a missing one
        return
    detail = await desk.get_request(world.who(person), number)
    assert detail.level == expected
    notes = [c.body for c in detail.comments if not c.public]
    assert bool(notes) == (expected >= R), notes
    assert bool(detail.history) == (expected >= R)
    if column == "tasked":
        assert [t.title for t in detail.tasks] == (["Pay 3 hours overtime for Zack"] if expected >= R else [])


@pytest.mark.parametrize(("person", "column"), PAIRS, ids=[f"{p}-{c}" for p, c in PAIRS])
async def test_acting_on_a_request(world: World, person: str, column: str) -> None:
    expected = EXPECTED[person][COLUMNS.index(column)]
    desk = world.services.desk
    number = world.numbers[column]
    if expected == A:
        await desk.note(world.who(person), number, "I am on it")
        return
    error = NotFound if expected == N else DeskError
    with pytest.raises(error) as refused:
        await desk.note(world.who(person), number, "sneaky")
    if expected == R:
        assert "You can read request" in refused.value.message and "belongs to another zone" in refused.value.message
    elif expected == Q:
        assert refused.value.message == "Only an agent of the request's zone can add notes."
    with pytest.raises(error):
        await desk.claim(world.who(person), number)
    with pytest.raises(error):
        await desk.reply(world.who(person), number, "hello")


@pytest.mark.parametrize("person", list(EXPECTED))
async def test_list_filters_in_sql_agree_with_the_rule(world: World, person: str) -> None:
    desk = world.services.desk
    actor = world.who(person)
    row = EXPECTED[person]
    visible = {world.numbers[c] for c, level in zip(COLUMNS, row, strict=True) if level >= Q}
    actionable = {world.numbers[c] for c, level in zip(COLUMNS, row, strict=True) if level == A}
    assert {r.number for r in await desk.list_requests(actor, limit=500)} == visible
    assert {r.number for r in await desk.list_requests(actor, scope="queue", limit=500)} == actionable
    assert await desk.count_requests(actor) == len(visible)


async def test_a_task_receiver_sees_the_task_never_the_request(world: World) -> None:
    desk = world.services.desk
    erika = world.who("erika")
    tasks = await desk.list_tasks(erika)
    assert [(t.id, t.title, t.body) for t in tasks] == [
        (world.task_id, "Pay 3 hours overtime for Zack", "Hours were approved by the manager.")]
    assert (await desk.get_task(erika, world.task_id)).from_zone == "hr"
    with pytest.raises(NotFound):
        await desk.get_request(erika, world.numbers["tasked"])
    # Accounting is in Finance too, but the task was for Payroll.
    for email in (PEOPLE["alexis"], PEOPLE["zack"], "per.holm@nordlys.example"):
        assert await desk.list_tasks(desk.actor(email)) == []
        with pytest.raises(DeskError, match=f"Task T{world.task_id} was not found"):
            await desk.get_task(desk.actor(email), world.task_id)
    # Finishing the task tells the request's side; it still never opens the request to Finance.
    number = await desk.complete_task(erika, world.task_id, "Paid in the December run")
    detail = await desk.get_request(world.who("hanna"), number)
    assert [t.status for t in detail.tasks] == ["done"] and detail.history[-1].kind == "task_done"
    with pytest.raises(NotFound):
        await desk.get_request(erika, number)


async def test_a_dispatcher_zone_routes_but_never_resolves(world: World) -> None:
    desk = world.services.desk
    frida = world.who("frida")
    with pytest.raises(DeskError, match="Front desk routes requests but does not resolve them"):
        await desk.set_status(frida, world.numbers["desk"], "resolved")
    await desk.set_status(frida, world.numbers["desk"], "in_progress")
    assert (await desk.transfer(frida, world.numbers["desk"], "facilities")) == "Facilities"
    with pytest.raises(NotFound):  # Facilities is not open to the Front desk
        await desk.get_request(frida, world.numbers["desk"])


async def test_a_private_team_request_never_reaches_a_shared_triage_channel(world: World) -> None:
    desk = world.services.desk
    assert desk.triage_channels("hr", "employee-relations") == []
    assert desk.triage_channels("hr", "hr-service") == [("slack", "C0HRTRIAGE")]
