"""Access, table-driven: role x zone visibility x private team x transfer x task-only x dispatcher zone.

One world of requests is built through the use cases. For every (person, request) pair the table
says the person's level; that level decides what reading the request, its notes, its history and its
tasks, and acting on it must do. The SQL list filters must select exactly the requests the per-request
rule grants, and the table must agree with both. Every test runs on SQLite and on PostgreSQL.

The company is the shipped sample (`app.yaml`) plus two people it lacks: a zone manager who is in no
team (Nora manages HR) and a person with the agent role but no team (Tor).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from bot.access import Actor, Level, Policy
from bot.config import AppConfig, load_config
from bot.desk import WEB, Desk
from bot.desk.status import OPEN
from bot.errors import DeskError, NotFound
from bot.model import Base, Request, Task
from bot.server import Services

ROOT = Path(__file__).resolve().parents[2]
N, Q, R, A = Level.NONE, Level.REQUESTER, Level.READER, Level.AGENT

PEOPLE = {
    "zack": "zack@nordlys.example",  # not in app.yaml: a requester only
    "max": "max.meyer@nordlys.example",  # not in app.yaml: a requester only
    "alexis": "alexis.baker@nordlys.example",  # IT agent
    "ivar": "ivar.lund@nordlys.example",  # IT agent who manages IT
    "frida": "frida.dahl@nordlys.example",  # dispatcher in Front desk; IT is visible to Front desk
    "hanna": "hanna.berg@nordlys.example",  # HR service, not in the private team Employee relations
    "olav": "olav.strand@nordlys.example",  # HR service and Employee relations (private), manages HR
    "nora": "nora.lie@nordlys.example",  # manages HR, member of no team (added below)
    "erika": "erika.schmitt@nordlys.example",  # Finance / Payroll
    "per": "per.holm@nordlys.example",  # Finance / Accounting
    "siri": "siri.nilsen@nordlys.example",  # Facilities
    "marte": "marte.viken@nordlys.example",  # approver only
    "admin": "admin@nordlys.example",  # admin only
    "tor": "tor.aas@nordlys.example",  # agent role, no team (added below)
}
EXTRA_PEOPLE = [
    {"email": PEOPLE["nora"], "name": "Nora Lie", "roles": ["zone_manager"], "manages": ["hr"]},
    {"email": PEOPLE["tor"], "name": "Tor Aas", "roles": ["agent"]},
]

# The requests (columns):
#   it       IT, filed by zack
#   hr       HR (HR service), filed by zack
#   private  HR, category 'sensitive' -> the private team Employee relations, filed by max
#   desk     still in Front desk (a dispatcher zone), filed by max
#   routed   filed at Front desk, routed to IT by frida: IT is visible to Front desk, so it keeps READ
#   moved    IT, transferred to Facilities by alexis: IT keeps nothing (Facilities is closed)
#   tasked   HR, with a task for Payroll: Finance sees the task, never the request
#   payslip  Finance, filed by alexis (an agent is a plain requester outside their zone)
#   closed   IT, filed by zack, resolved and closed
COLUMNS = ("it", "hr", "private", "desk", "routed", "moved", "tasked", "payslip", "closed")
EXPECTED: dict[str, tuple[Level, ...]] = {
    #          it hr pr de ro mo ta pa cl
    "zack":   (Q, Q, N, N, N, Q, Q, N, Q),
    "max":    (N, N, Q, Q, Q, N, N, N, N),
    "alexis": (A, N, N, N, A, N, N, Q, A),
    "ivar":   (A, N, N, N, A, N, N, N, A),
    "frida":  (R, N, N, A, R, N, N, N, R),
    "hanna":  (N, A, N, N, N, N, A, N, N),
    "olav":   (N, A, A, N, N, N, A, N, N),
    "nora":   (N, R, N, N, N, N, R, N, N),
    "erika":  (N, N, N, N, N, N, N, A, N),
    "per":    (N, N, N, N, N, N, N, A, N),
    "siri":   (N, N, N, N, N, A, N, N, N),
    "marte":  (N, N, N, N, N, N, N, N, N),
    "admin":  (N, N, N, N, N, N, N, N, N),
    "tor":    (N, N, N, N, N, N, N, N, N),
}

# Tasks: who receives each (sees it in list_tasks); anyone who may read its request may open it too.
TASKS = {
    "payroll": ("tasked", "Pay 3 hours overtime for Zack"),  # HR -> the Payroll team
    "finance": ("it", "Approve the licence invoice"),  # IT -> the Finance zone (no team named)
    "siri": ("it", "Unlock the server room"),  # IT -> Siri in person
}
RECEIVERS = {"payroll": {"erika"}, "finance": {"erika", "per"}, "siri": {"siri"}}

# What each verb is called in the refusal a person reads.
DOING = {"reply": "reply to it", "note": "add notes", "claim": "claim it", "status": "change its status",
         "comment": "write on it"}


@dataclass
class World:
    desk: Desk
    services: Services
    numbers: dict[str, int]
    tasks: dict[str, int]

    def who(self, name: str) -> Actor:
        return self.desk.actor(PEOPLE[name])


@pytest.fixture(scope="session")
def matrix_config(tmp_path_factory: pytest.TempPathFactory) -> AppConfig:
    """The sample company plus a manager in no team and an agent in no team."""
    data = yaml.safe_load((ROOT / "app.yaml").read_text())
    data["people"] += EXTRA_PEOPLE
    path = tmp_path_factory.mktemp("matrix") / "app.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_config(path)


@pytest.fixture
async def world(services: Services, matrix_config: AppConfig) -> World:
    desk = Desk(matrix_config, services.sessions, services.clock)

    def a(name: str) -> Actor:
        return desk.actor(PEOPLE[name])

    async def file(name: str, title: str, zone: str, category: str | None = None) -> int:
        return (await desk.file_request(a(name), WEB, title, zone_id=zone, category_id=category)).number

    n = {
        "it": await file("zack", "Laptop fan is loud", "it"),
        "hr": await file("zack", "Parental leave from May", "hr", "leave"),
        "private": await file("max", "A situation in my team", "hr", "sensitive"),
        "desk": await file("max", "Who handles parking?", "front-desk"),
        "routed": await file("max", "Screen flickers", "front-desk"),
        "moved": await file("zack", "Broken chair", "it"),
        "tasked": await file("zack", "Overtime missing on payslip", "hr", "contract"),
        "payslip": await file("alexis", "My payslip shows the wrong tax table", "finance", "payroll-error"),
        "closed": await file("zack", "Mouse double-clicks", "it"),
    }
    await desk.transfer(a("frida"), n["routed"], "it", category_id="peripherals")
    await desk.note(a("alexis"), n["moved"], "internal note on moved, written in IT")
    await desk.transfer(a("alexis"), n["moved"], "facilities")
    await desk.set_status(a("alexis"), n["closed"], "resolved")
    await desk.set_status(a("alexis"), n["closed"], "closed")
    tasks = {
        "payroll": await desk.create_task(a("hanna"), n["tasked"], TASKS["payroll"][1], "Approved by the manager.",
                                          to_team="payroll"),
        "finance": await desk.create_task(a("alexis"), n["it"], TASKS["finance"][1], to_zone="finance"),
        "siri": await desk.create_task(a("alexis"), n["it"], TASKS["siri"][1], to_agent=PEOPLE["siri"]),
    }
    for key, number in n.items():  # a public reply and an internal note on each, by someone who may act
        agent = next(name for name, row in EXPECTED.items() if row[COLUMNS.index(key)] == A)
        await desk.reply(a(agent), number, f"public reply on {key}")
        await desk.note(a(agent), number, f"internal note on {key}")
    return World(desk, services, n, tasks)


async def _snapshot(services: Services) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to prove a refusal wrote nothing."""
    async with services.sessions() as session:
        return {t.name: sorted(tuple(map(repr, row)) for row in (await session.execute(select(t))).all())
                for t in Base.metadata.sorted_tables}


def _level(person: str, column: str) -> Level:
    return EXPECTED[person][COLUMNS.index(column)]


async def _check_reading(desk: Desk, world: World, person: str) -> None:
    actor = world.who(person)
    with pytest.raises(NotFound) as missing:
        await desk.get_request(actor, 9999)
    assert missing.value.message == "Request #9999 was not found."
    for column, number in world.numbers.items():
        expected = _level(person, column)
        where = f"{person} reading {column}"
        if expected == N:
            with pytest.raises(NotFound) as refused:
                await desk.get_request(actor, number)
            # The same words as for a request that does not exist: nothing tells it is there.
            assert refused.value.message == f"Request #{number} was not found.", where
            continue
        detail = await desk.get_request(actor, number)
        assert detail.level == expected, where
        assert detail.can_act == (expected == A), where
        bodies = {c.body for c in detail.comments}
        notes = {c.body for c in detail.comments if not c.public}
        assert f"public reply on {column}" in bodies, where
        if expected >= R:
            assert f"internal note on {column}" in notes, where
            assert detail.history and detail.history[0].kind == "filed", where
        else:
            assert notes == set(), where
            # Only the events meant for requesters, in words, without their data: no note, task,
            # weight or internal category shows through.
            assert detail.history[0].kind == "filed" and all(e.public and not e.data for e in detail.history), where
            assert not {"noted", "task_created", "task_done", "weight", "internal_category", "related"} & {
                e.kind for e in detail.history}, where
            assert detail.weight is None and detail.internal_category is None, where
        own_tasks = {title for col, title in TASKS.values() if col == column}
        assert {t.title for t in detail.tasks} == (own_tasks if expected >= R else set()), where
    # The note IT wrote before the transfer went with the request to Facilities.
    if _level(person, "moved") >= R:
        moved = await desk.get_request(actor, world.numbers["moved"])
        assert "internal note on moved, written in IT" in {c.body for c in moved.comments}


async def test_reading_a_request_its_notes_history_and_tasks(world: World) -> None:
    for person in EXPECTED:
        await _check_reading(world.desk, world, person)


async def _act(desk: Desk, actor: Actor, verb: str, number: int) -> None:
    if verb == "reply":
        await desk.reply(actor, number, "hello from the matrix")
    elif verb == "note":
        await desk.note(actor, number, "matrix note")
    elif verb == "claim":
        await desk.claim(actor, number)
    elif verb == "status":
        await desk.set_status(actor, number, "in_progress")
    else:
        await desk.comment(actor, number, "a comment")


async def test_acting_is_refused_below_agent_and_writes_nothing(world: World) -> None:
    desk = world.desk
    before = await _snapshot(world.services)
    for person in EXPECTED:
        actor = world.who(person)
        for column, number in world.numbers.items():
            expected = _level(person, column)
            if expected == A:
                continue
            # A requester's own comment is not acting as an agent; everyone else may not write either.
            verbs = ["reply", "note", "claim", "status"] + ([] if expected == Q else ["comment"])
            for verb in verbs:
                where = f"{person} {verb} on {column}"
                with pytest.raises(DeskError) as refused:
                    await _act(desk, actor, verb, number)
                message = refused.value.message
                if expected == N:
                    assert isinstance(refused.value, NotFound), where
                    assert message == f"Request #{number} was not found.", where
                elif expected == R:
                    assert message == (f"You can read request #{number} but not {DOING[verb]}: "
                                       "it belongs to another department."), where
                else:
                    assert message == f"Only an agent of the request's department can {DOING[verb]}.", where
    assert await _snapshot(world.services) == before, "a refused action wrote something"


async def test_agents_act_on_their_zone_s_requests(world: World) -> None:
    desk = world.desk
    for column, number in world.numbers.items():
        agents = [person for person in EXPECTED if _level(person, column) == A]
        assert agents, column
        for person in agents:
            actor = world.who(person)
            await desk.note(actor, number, f"{person} was here")
            await desk.reply(actor, number, f"{person} answers")
            if column == "closed":
                with pytest.raises(DeskError) as refused:
                    await desk.claim(actor, number)
                assert refused.value.message == f"Request #{number} is closed; reopen it before claiming."
                continue
            await desk.claim(actor, number)
            detail = await desk.get_request(actor, number)
            assert detail.assignee_email == PEOPLE[person], (person, column)
        if column != "closed":
            await desk.set_status(world.who(agents[0]), number, "in_progress")
        detail = await desk.get_request(world.who(agents[0]), number)
        assert {f"{p} was here" for p in agents} | {f"{p} answers" for p in agents} <= {
            c.body for c in detail.comments}
        assert detail.status == ("closed" if column == "closed" else "in_progress")


async def test_list_filters_in_sql_agree_with_the_rule(world: World) -> None:
    desk, policy = world.desk, world.desk.policy
    async with world.services.sessions() as session:
        rows = list((await session.execute(select(Request))).scalars())
    for person in EXPECTED:
        actor = world.who(person)
        row = dict(zip(COLUMNS, EXPECTED[person], strict=True))
        # The per-request rule, asked one request at a time...
        by_rule: dict[int, Level] = {}
        for number in world.numbers.values():
            try:
                by_rule[number] = (await desk.get_request(actor, number)).level
            except NotFound:
                by_rule[number] = N
        assert by_rule == {world.numbers[c]: level for c, level in row.items()}, person
        # ...and the SQL filters of the lists.
        visible = {number for number, level in by_rule.items() if level >= Q}
        statuses = {s.number: s.status for s in await desk.list_requests(actor, limit=500)}
        assert set(statuses) == visible, person
        queue = {number for number, level in by_rule.items() if level == A and statuses[number] in OPEN}
        assert {r.number for r in await desk.list_requests(actor, scope="queue", limit=500)} == queue, person
        assert await desk.count_requests(actor) == len(visible), person
        assert await desk.count_requests(actor, scope="queue") == len(queue), person
        filed_by = {"zack": ("it", "hr", "moved", "tasked", "closed"), "max": ("private", "desk", "routed"),
                    "alexis": ("payslip",)}.get(person, ())
        mine = {r.number for r in await desk.list_requests(actor, scope="mine")}
        assert mine == {world.numbers[c] for c in filed_by}, person
        # The policy's own clause against its own rule, at every level, over the raw rows.
        async with world.services.sessions() as session:
            for minimum in (Q, R, A):
                selected = set((await session.execute(
                    select(Request.id).where(policy.request_clause(actor, minimum)))).scalars())
                assert selected == {r.id for r in rows if policy.level(actor, r) >= minimum}, (person, minimum)


async def test_tasks_are_seen_by_their_receivers_and_by_readers_of_the_request(world: World) -> None:
    desk, policy = world.desk, world.desk.policy
    async with world.services.sessions() as session:
        tasks = list((await session.execute(select(Task))).scalars())
    for person in EXPECTED:
        actor = world.who(person)
        received = {key for key, people in RECEIVERS.items() if person in people}
        assert {t.id for t in await desk.list_tasks(actor)} == {world.tasks[k] for k in received}, person
        for key, task_id in world.tasks.items():
            column, title = TASKS[key]
            if key in received or _level(person, column) >= R:
                assert (await desk.get_task(actor, task_id)).title == title, (person, key)
            else:
                with pytest.raises(DeskError) as refused:
                    await desk.get_task(actor, task_id)
                assert refused.value.message == f"Task T{task_id} was not found.", (person, key)
        # The SQL filter of list_tasks and the Python rule agree.
        async with world.services.sessions() as session:
            selected = set((await session.execute(select(Task.id).where(policy.task_clause(actor)))).scalars())
        assert selected == {t.id for t in tasks if policy.receives_task(actor, t)}, person


async def test_a_task_receiver_sees_the_task_never_the_request(world: World) -> None:
    desk = world.desk
    erika, per = world.who("erika"), world.who("per")
    number, task_id = world.numbers["tasked"], world.tasks["payroll"]
    task = await desk.get_task(erika, task_id)
    assert (task.title, task.body, task.from_zone, task.to_team) == (
        "Pay 3 hours overtime for Zack", "Approved by the manager.", "hr", "payroll")
    with pytest.raises(NotFound):
        await desk.get_request(erika, number)
    assert number not in {r.number for r in await desk.list_requests(erika, limit=500)}
    # Accounting is in Finance too, but the task was for Payroll: Per may not finish it.
    with pytest.raises(DeskError, match=f"^Task T{task_id} was not found.$"):
        await desk.complete_task(per, task_id, "done?")
    assert await desk.complete_task(erika, task_id, "Paid in the December run") == number
    detail = await desk.get_request(world.who("hanna"), number)
    assert [(t.id, t.status, t.outcome) for t in detail.tasks] == [(task_id, "done", "Paid in the December run")]
    assert (detail.history[-1].kind, detail.history[-1].actor_email) == ("task_done", PEOPLE["erika"])
    # Finishing it still opens nothing.
    with pytest.raises(NotFound):
        await desk.get_request(erika, number)
    assert await desk.list_tasks(erika) == [await desk.get_task(erika, world.tasks["finance"])]


async def test_a_dispatcher_zone_routes_but_never_resolves(world: World) -> None:
    desk, frida = world.desk, world.who("frida")
    number = world.numbers["desk"]
    message = ("Front desk routes requests but does not resolve them; "
               "transfer it to the department that handles it.")
    with pytest.raises(DeskError) as refused:
        await desk.set_status(frida, number, "resolved")
    assert refused.value.message == message
    await desk.set_status(frida, number, "in_progress")
    with pytest.raises(DeskError) as again:
        await desk.set_status(frida, number, "resolved")
    assert again.value.message == message
    assert (await desk.get_request(frida, number)).status == "in_progress"
    # It routes: to IT (which Front desk may follow), where IT resolves it.
    assert await desk.transfer(frida, number, "it") == "IT"
    await desk.set_status(world.who("alexis"), number, "resolved")
    assert (await desk.get_request(frida, number)).status == "resolved"


# Transfers: who may see the request before and after it moves. Receiving a transfer never grants
# the sender's zone anything; only the target zone's visibility does.
TRANSFERS = [
    # (name, filed in zone, category, moved by, to zone, {person: (before, after)})
    ("it to facilities: IT loses it", "it", None, "alexis", "facilities",
     {"alexis": (A, N), "ivar": (A, N), "frida": (R, N), "siri": (N, A), "zack": (Q, Q)}),
    ("front desk to it: the front desk keeps reading", "front-desk", None, "frida", "it",
     {"frida": (A, R), "alexis": (N, A), "ivar": (N, A), "siri": (N, N), "zack": (Q, Q)}),
    ("it to front desk: IT loses it", "it", None, "alexis", "front-desk",
     {"alexis": (A, N), "frida": (R, A), "zack": (Q, Q)}),
    ("private hr to finance: the private team loses it", "hr", "sensitive", "olav", "finance",
     {"olav": (A, N), "hanna": (N, N), "nora": (N, N), "erika": (N, A), "per": (N, A), "zack": (Q, Q)}),
    ("finance to hr", "finance", "payroll-error", "erika", "hr",
     {"erika": (A, N), "per": (A, N), "hanna": (N, A), "olav": (N, A), "nora": (N, R), "zack": (Q, Q)}),
    ("facilities to it: the front desk can now follow it", "facilities", "repairs", "siri", "it",
     {"siri": (A, N), "alexis": (N, A), "frida": (N, R), "zack": (Q, Q)}),
]


@pytest.mark.parametrize(("zone", "category", "mover", "target", "levels"),
                         [t[1:] for t in TRANSFERS], ids=[t[0] for t in TRANSFERS])
async def test_a_transfer_moves_access_with_the_request(services: Services, matrix_config: AppConfig, zone: str,
                                                        category: str | None, mover: str, target: str,
                                                        levels: dict[str, tuple[Level, Level]]) -> None:
    desk = Desk(matrix_config, services.sessions, services.clock)
    number = (await desk.file_request(desk.actor(PEOPLE["zack"]), WEB, "Moving along", zone_id=zone,
                                      category_id=category)).number

    async def level(person: str) -> Level:
        actor = desk.actor(PEOPLE[person])
        listed = number in {r.number for r in await desk.list_requests(actor, limit=500)}
        try:
            found = (await desk.get_request(actor, number)).level
        except NotFound:
            found = N
        assert listed == (found >= Q), f"{person}: the list and the request disagree"
        return found

    assert {p: await level(p) for p in levels} == {p: before for p, (before, _) in levels.items()}
    await desk.transfer(desk.actor(PEOPLE[mover]), number, target)
    assert {p: await level(p) for p in levels} == {p: after for p, (_, after) in levels.items()}


# What the channels offer before anyone acts: the assign list, the task receivers. Each offer is
# checked against the desk, which must then accept it.
async def _rows(world: World) -> dict[str, Request]:
    async with world.services.sessions() as session:
        found = {r.id: r for r in (await session.execute(select(Request))).scalars()}
    return {column: found[number] for column, number in world.numbers.items()}


async def test_only_a_request_s_agents_may_work_it(world: World) -> None:
    desk, policy = world.desk, world.desk.policy
    rows = await _rows(world)
    for column, number in world.numbers.items():
        row = rows[column]
        agents = [person for person in EXPECTED if _level(person, column) == A]
        for person in EXPECTED:
            actor, may = world.who(person), person in agents
            where = f"{person} working {column}"
            assert policy.can_work(actor, row) == may, where
            assert policy.can_work_in(actor, row.zone_id, row.team_id) == may, where
            if column == "closed":
                continue
            # What the assigning agent sees: the desk takes exactly those the policy lets work it.
            if person == agents[0]:
                with pytest.raises(DeskError, match=r"^To take it yourself, use claim\.$"):
                    await desk.assign(actor, number, actor.email)
            elif may:
                assert await desk.assign(world.who(agents[0]), number, actor.email) == actor.name, where
            else:
                with pytest.raises(DeskError) as refused:
                    await desk.assign(world.who(agents[0]), number, actor.email)
                assert refused.value.message == (
                    f"{actor.email} is not an agent who can work on request #{number}."), where


# The assign list Slack and Teams show for each request (the clicker is left out afterwards), by name.
ASSIGN_LISTS = {
    "it": ("alexis", "ivar"),
    "hr": ("hanna", "olav"),  # not Nora: she manages HR but works in no team
    "private": ("olav",),  # the private team's members only: not Hanna of HR service
    "desk": ("frida",),  # a dispatcher works her own zone's requests
    "routed": ("alexis", "ivar"),  # now IT's: Frida, who routed it, only reads it
    "moved": ("siri",),  # IT, which sent it away, is no longer offered
    "tasked": ("hanna", "olav"),  # Erika, who received its task, is not
    "payslip": ("erika", "per"),  # Alexis filed it but is no agent of Finance
    "closed": ("alexis", "ivar"),
}


async def test_the_assign_list_offers_exactly_who_may_work_the_request(world: World) -> None:
    policy = world.desk.policy
    rows = await _rows(world)
    assert set(ASSIGN_LISTS) == set(COLUMNS)
    for column, offered in ASSIGN_LISTS.items():
        row = rows[column]
        expected = [(PEOPLE[p], world.who(p).name) for p in offered]
        assert policy.assignees(row.zone_id, row.team_id) == expected, column
        assert {p for p in EXPECTED if policy.can_work(world.who(p), row)} == set(offered), column


async def test_cancel_reopen_and_urgency_are_the_requester_s_and_the_agents(world: World) -> None:
    desk, policy = world.desk, world.desk.policy
    rows = await _rows(world)
    for person in EXPECTED:
        actor = world.who(person)
        for column, number in world.numbers.items():
            level, where = _level(person, column), f"{person} cancelling {column}"
            message = "Only the requester or an agent of the request's department can cancel it."
            if level in (Q, A):  # Alexis filed the payslip request: as its requester he may cancel it
                policy.require_requester_or_agent(actor, rows[column], "cancel it")
                continue
            with pytest.raises(DeskError) as refused:
                policy.require_requester_or_agent(actor, rows[column], "cancel it")
            assert refused.value.message == message, where
            if level == R:  # a reader (Frida following IT, Nora managing HR) is told so by the desk too
                with pytest.raises(DeskError) as told:
                    await desk.cancel(actor, number)
                assert told.value.message == message, where
    assert (await desk.get_request(world.who("zack"), world.numbers["it"])).status in OPEN


# Analytics: the zones each person's figures come from, and the requests they count (Policy.analytics_clause).
# Managers read their zones', agents their own teams' (and their zones' requests no team holds yet: the
# front desk's), nobody else any; never a request they may not open: not the private one for Nora.
ANALYTICS: dict[str, tuple[set[str], set[str]]] = {
    "zack": (set(), set()),
    "max": (set(), set()),
    "alexis": ({"it"}, {"it", "routed", "closed"}),  # IT support; 'moved' left for Facilities
    "ivar": ({"it"}, {"it", "routed", "closed"}),
    "frida": ({"front-desk"}, {"desk"}),  # she reads IT's 'it' and 'routed', but IT's figures are not hers
    "hanna": ({"hr"}, {"hr", "tasked"}),
    "olav": ({"hr"}, {"hr", "private", "tasked"}),
    "nora": ({"hr"}, {"hr", "tasked"}),  # manages HR, not in the private team
    "erika": ({"finance"}, {"payslip"}),
    "per": ({"finance"}, set()),  # Accounting: Finance's payslip request is Payroll's
    "siri": ({"facilities"}, {"moved"}),  # counted where it is now
    "marte": (set(), set()),
    "admin": (set(), set()),  # the admin role alone reads no figures (decision 0002)
    "tor": (set(), set()),
}


async def test_analytics_count_only_what_each_reader_may_open(world: World) -> None:
    from bot.analytics.facts import FILED, over_facts
    from bot.model import AnalyticsFact

    policy = world.desk.policy
    rows = await _rows(world)
    assert set(ANALYTICS) == set(EXPECTED)
    for person, (zones, counted) in ANALYTICS.items():
        actor = world.who(person)
        scope = policy.analytics_scope(actor)
        assert (set(scope.zones), bool(scope)) == (zones, bool(zones)), person
        async with world.services.sessions() as session:
            selected = set((await session.execute(
                select(Request.id).where(policy.analytics_clause(actor)))).scalars())
        assert selected == {world.numbers[c] for c in counted}, person
        async with world.services.sessions() as session:  # the same clause on the facts the figures read
            filed = set((await session.execute(select(AnalyticsFact.request_id).where(
                over_facts(policy.analytics_clause(actor)), AnalyticsFact.fact == FILED))).scalars())
        assert filed == selected, person
        assert {c for c, row in rows.items() if policy.in_analytics(actor, row)} == counted, person
        assert all(_level(person, c) >= R for c in counted), person


# Who may receive a task from a request, per receiving zone in the order offered: (teams, agents).
TASK_RECEIVERS = {
    "it": {"it": (("it-support",), ("alexis", "ivar")),
           "facilities": (("facilities-team",), ("siri",)),
           "finance": (("payroll", "accounting"), ("erika", "per"))},
    # A private team may receive a task; Nora (manages HR, no team) may not in person.
    "hr": {"hr": (("hr-service", "employee-relations"), ("hanna", "olav")),
           "finance": (("payroll", "accounting"), ("erika", "per")),
           "it": (("it-support",), ("alexis", "ivar"))},
    "desk": {"front-desk": (("dispatch",), ("frida",))},  # tasks are off in Front desk: its own zone only
    "payslip": {"finance": (("payroll", "accounting"), ("erika", "per")),
                "hr": (("hr-service", "employee-relations"), ("hanna", "olav"))},
    "moved": {"facilities": (("facilities-team",), ("siri",))},  # Facilities sends tasks nowhere else
}

# May a task name this person in this zone, and does the desk agree.
TASK_TAKERS = [
    ("olav", "hr", True), ("hanna", "hr", True),
    ("nora", "hr", False),  # manages HR, in no team
    ("tor", "it", False),  # the agent role but no team
    ("frida", "front-desk", True), ("frida", "it", False),  # she reads IT, works only Front desk
    ("erika", "finance", True), ("erika", "hr", False),
    ("marte", "hr", False), ("zack", "it", False),
]
HOME = {"it": "it", "hr": "hr", "front-desk": "desk", "finance": "payslip"}  # a request of each zone


async def test_task_receivers_are_the_ones_the_desk_accepts(world: World) -> None:
    desk, policy = world.desk, world.desk.policy
    rows = await _rows(world)
    for column, expected in TASK_RECEIVERS.items():
        number, sender = world.numbers[column], world.who(ASSIGN_LISTS[column][0])
        offered = policy.task_receivers(rows[column].zone_id)
        assert [(r.zone.id, tuple(t.id for t in r.teams), tuple(a.email for a in r.agents)) for r in offered] == [
            (zone, teams, tuple(PEOPLE[p] for p in agents)) for zone, (teams, agents) in expected.items()], column
        for receivers in offered:
            for team in receivers.teams:
                await desk.create_task(sender, number, f"for {team.id}", to_team=team.id)
            for agent in receivers.agents:
                await desk.create_task(sender, number, f"for {agent.email}", to_zone=receivers.zone.id,
                                       to_agent=agent.email)
    for person, zone, may in TASK_TAKERS:
        actor, where = world.who(person), f"a task for {person} in {zone}"
        assert policy.can_receive_task_in(actor, zone) == may, where
        column = HOME[zone]
        sender = world.who(ASSIGN_LISTS[column][0])
        if may:
            await desk.create_task(sender, world.numbers[column], "in person", to_zone=zone, to_agent=actor.email)
        else:
            with pytest.raises(DeskError, match=r"is not an agent\.$|does not work in that department\.$"):
                await desk.create_task(sender, world.numbers[column], "in person", to_zone=zone,
                                       to_agent=actor.email)


def test_with_tasks_switched_off_a_zone_tasks_only_its_own_people(tmp_path: Path) -> None:
    data = yaml.safe_load((ROOT / "app.yaml").read_text())
    next(z for z in data["zones"] if z["id"] == "it")["tasks_enabled"] = False
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    offered = Policy(load_config(path)).task_receivers("it")
    assert [(r.zone.id, [t.id for t in r.teams], [a.email for a in r.agents]) for r in offered] == [
        ("it", ["it-support"], [PEOPLE["alexis"], PEOPLE["ivar"]])]


# ---------------------------------------------------------------- approvers
# A named approver of a pending or decided approval reads what the decision needs (Level.APPROVER):
# requester, fields, form answers, the public conversation and the approvals; never notes, tasks or the
# zone's other requests, never in a list, and may change nothing. A withdrawn approval grants nothing.
#   asked      IT, the new-hire form filed by zack; its manager Marte approves (pending)
#   decided    IT, filed by max; Alexis asked Marte and Erika (all), both approved
#   withdrawn  IT, filed by zack; Alexis asked Marte and Erika, then zack cancelled it
#   private    HR's private team Employee relations, filed by max; Olav asked Erika (pending)
#   other      IT, filed by zack; no approval
P = Level.APPROVER
APPROVAL_COLUMNS = ("asked", "decided", "withdrawn", "private", "other")
APPROVER_EXPECTED: dict[str, tuple[Level, ...]] = {
    #          as de wi pr ot
    "marte":  (P, P, N, N, N),
    "erika":  (N, P, N, P, N),  # a Finance agent: no more than an approver in IT and in a private team
    "zack":   (Q, N, Q, N, Q),
    "max":    (N, Q, N, Q, N),
    "alexis": (A, A, A, N, A),
    "frida":  (R, R, R, N, R),
    "olav":   (N, N, N, A, N),
    "siri":   (N, N, N, N, N),
}


@pytest.fixture
async def approvals_world(services: Services, matrix_config: AppConfig) -> World:
    from bot.catalog import file_form
    from bot.desk.approvals import decide, request_approval

    desk = Desk(matrix_config, services.sessions, services.clock)
    desk.catalog = services.catalog

    def a(name: str) -> Actor:
        return desk.actor(PEOPLE[name])

    asked = await file_form(desk, services.catalog, a("zack"), WEB, "new-hire-account", {
        "name": "Kari Nordmann", "personal-email": "kari@example.com", "manager": PEOPLE["marte"],
        "start-date": "2026-12-01", "laptop": "No laptop", "nda-signed": "on"})
    assert not isinstance(asked, dict)
    n = {
        "asked": asked.number,
        "decided": (await desk.file_request(a("max"), WEB, "Second monitor", zone_id="it")).number,
        "withdrawn": (await desk.file_request(a("zack"), WEB, "Standing desk", zone_id="it")).number,
        "private": (await desk.file_request(a("max"), WEB, "A situation", zone_id="hr",
                                            category_id="sensitive")).number,
        "other": (await desk.file_request(a("zack"), WEB, "Mouse is broken", zone_id="it")).number,
    }
    both = [PEOPLE["marte"], PEOPLE["erika"]]
    decided = await request_approval(desk, a("alexis"), n["decided"], both, mode="all")
    await decide(desk, a("marte"), decided, "approved")
    await decide(desk, a("erika"), decided, "approved")
    await request_approval(desk, a("alexis"), n["withdrawn"], both)
    await desk.cancel(a("zack"), n["withdrawn"])
    await request_approval(desk, a("olav"), n["private"], [PEOPLE["erika"]])
    for key, number in n.items():
        agent = next(name for name, row in APPROVER_EXPECTED.items() if row[APPROVAL_COLUMNS.index(key)] == A)
        await desk.reply(a(agent), number, f"public reply on {key}")
        await desk.note(a(agent), number, f"internal note on {key}")
    return World(desk, services, n, {})


def _approver_level(person: str, column: str) -> Level:
    return APPROVER_EXPECTED[person][APPROVAL_COLUMNS.index(column)]


async def test_a_named_approver_reads_what_the_decision_needs_and_nothing_more(approvals_world: World) -> None:
    from bot.desk.approvals import approvals_of

    desk = approvals_world.desk
    for person in APPROVER_EXPECTED:
        actor = approvals_world.who(person)
        for column, number in approvals_world.numbers.items():
            expected, where = _approver_level(person, column), f"{person} reading {column}"
            if expected == N:
                with pytest.raises(NotFound) as refused:
                    await desk.get_request(actor, number)
                assert refused.value.message == f"Request #{number} was not found.", where
                assert await approvals_of(desk, actor, number) == [], where
                continue
            detail = await desk.get_request(actor, number)
            assert detail.level == expected, where
            if expected != P:
                continue
            assert not detail.can_act, where
            assert {c.body for c in detail.comments} == {f"public reply on {column}"}, where
            assert detail.tasks == () and detail.weight is None and detail.internal_category is None, where
            assert all(not e.data for e in detail.history), where
            assert bool(detail.answers) == (column == "asked"), where
            approvals = await approvals_of(desk, actor, number)  # who else decides
            assert approvals and all(actor.email in {v.email for v in a.approvers} for a in approvals), where


async def test_an_approver_s_lists_and_the_sql_clause_agree_with_the_rule(approvals_world: World) -> None:
    desk, policy = approvals_world.desk, approvals_world.desk.policy
    rules: dict[str, dict[int, Level]] = {}
    async with approvals_world.services.sessions() as session:
        rows = list((await session.execute(select(Request))).scalars())
        for person in APPROVER_EXPECTED:
            actor = approvals_world.who(person)
            named = set((await session.execute(select(Request.id).where(policy.approver_clause(actor)))).scalars())
            by_rule = {r.id: policy.level(actor, r, approver=r.id in named) for r in rows}
            assert by_rule == {approvals_world.numbers[c]: level for c, level in
                               zip(APPROVAL_COLUMNS, APPROVER_EXPECTED[person], strict=True)}, person
            for minimum in (P, Q, R, A):
                selected = set((await session.execute(
                    select(Request.id).where(policy.request_clause(actor, minimum)))).scalars())
                assert selected == {n for n, level in by_rule.items() if level >= minimum}, (person, minimum)
            rules[person] = by_rule
    for person, by_rule in rules.items():
        # Lists show what one filed or works, never what one only approves.
        listed = {s.number for s in await desk.list_requests(approvals_world.who(person), limit=500)}
        assert listed == {n for n, level in by_rule.items() if level >= Q}, person


async def test_an_approver_may_change_nothing_on_the_request(approvals_world: World) -> None:
    desk = approvals_world.desk
    before = await _snapshot(approvals_world.services)
    for person in APPROVER_EXPECTED:
        actor = approvals_world.who(person)
        for column, number in approvals_world.numbers.items():
            if _approver_level(person, column) != P:
                continue
            told = f"You can see request #{number} to decide its approval, but not "
            for verb in ("reply", "note", "claim", "status"):  # told why, not "not found": they can see it
                with pytest.raises(DeskError) as refused:
                    await _act(desk, actor, verb, number)
                assert refused.value.message.startswith(told), (person, column, verb)
            with pytest.raises(DeskError):
                await _act(desk, actor, "comment", number)
            for change in (desk.cancel, desk.reopen):
                with pytest.raises(DeskError) as refused:
                    await change(actor, number)
                assert refused.value.message.startswith(told), (person, column, change.__name__)
    assert await _snapshot(approvals_world.services) == before, "an approver's refused action wrote something"


# The approvals page: what waits on each person, and what no longer needs them (asked, never decided).
APPROVAL_LISTS = {
    #          waiting on them   no longer needed
    "marte":  (("asked",),       ("withdrawn",)),
    "erika":  (("private",),     ("withdrawn",)),  # the private team's request too: she was named
}


async def test_the_approvals_page_lists_exactly_the_approvals_naming_the_person(approvals_world: World) -> None:
    from bot.desk.approvals import no_longer_needed, pending_for, waits_on

    desk, numbers = approvals_world.desk, approvals_world.numbers
    for person in APPROVER_EXPECTED:
        actor = approvals_world.who(person)
        waiting, gone = APPROVAL_LISTS.get(person, ((), ()))
        assert [v.request_id for v in await pending_for(desk, actor)] == [numbers[c] for c in waiting], person
        assert [v.request_id for v in await no_longer_needed(desk, actor)] == [numbers[c] for c in gone], person
        assert await waits_on(desk, actor) == bool(waiting), person


# ---------------------------------------------------------------- editing on the web (the request page's "Edit" panel)
# Each web edit calls the chat verb's use case: for every person and request the web form and the chat
# command are allowed or refused together, with the same words, and the table says which. Through the
# real web channel (HTTP, sign-in, CSRF). Nora and Tor are left out: the web serves `app.yaml`, which
# lacks them (they can edit nothing either way: their rows are all NONE or READER).
# (form action, posted fields, the chat command or None, who may: "agent" or "requester or agent" or "label")
WEB_EDITS = [
    ("priority", {"weight": "high"}, "priority {n} high", "agent"),
    ("category", {"category": ""}, "category {n} none", "agent"),
    ("deadline", {"deadline_date": "2026-12-09"}, "deadline {n} 2026-12-09", "agent"),
    ("label", {"label": "matrix"}, "label {n} matrix", "label"),
    ("urgency", {"urgency": "high"}, None, "requester or agent"),
    ("internal", {"internal": ""}, None, "agent"),
]


def _may_edit(rule: str, level: Level, requester: bool) -> bool:
    if rule == "agent":
        return level == A
    if rule == "requester or agent":
        return level == A or requester
    return level >= Q  # a personal label: anyone who may see the request as its requester or more


async def test_web_edits_are_allowed_and_refused_exactly_as_the_chat_verbs(world: World) -> None:
    import aiohttp
    from aiohttp import web

    from bot.desk.commands import run_command
    from bot.server import create_app
    from tests.web.conftest import Browser

    services = world.services
    app = await create_app(services, env={}, background=False)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            for person in (p for p in EXPECTED if p not in {"nora", "tor"}):
                http.cookie_jar.clear()
                browser = Browser(f"http://{host}:{port}", http, services)
                await browser.sign_in(PEOPLE[person])
                actor = services.desk.actor(PEOPLE[person], channel="slack")
                for column, number in world.numbers.items():
                    level = _level(person, column)
                    async with services.sessions() as session:
                        row = await session.get(Request, number)
                        assert row is not None
                        requester = row.requester_email == PEOPLE[person]
                    for action, form, chat, rule in WEB_EDITS:
                        where = f"{person} {action} on {column}"
                        page = await browser.post(f"/requests/{number}/{action}", form)
                        allowed = _may_edit(rule, level, requester)
                        if level == N:
                            assert page.status == 404 and f"Request #{number} was not found." in page.text, where
                        else:
                            assert page.status == (200 if allowed else 400), (where, page.status, page.text[:300])
                        if chat is None:
                            continue
                        said = await run_command(services.desk, actor, chat.format(n=number))
                        assert said.ok == allowed, (where, said.text)
                        if not allowed:
                            assert said.text in page.text, (where, said.text)
    finally:
        await runner.cleanup()


FILING_FOR = {  # who may file a request for someone else, and in which zones (dispatchers anywhere)
    "frida": {"front-desk", "it", "hr", "finance", "facilities"},
    "alexis": {"it"}, "ivar": {"it"}, "hanna": {"hr"}, "olav": {"hr"}, "erika": {"finance"}, "per": {"finance"},
    "siri": {"facilities"},
}


async def test_filing_for_someone_else_is_for_dispatchers_and_a_zone_s_agents(world: World) -> None:
    desk = world.desk
    zones = [z.id for z in desk.config.zones]
    for person in EXPECTED:
        actor = world.who(person)
        for zone in zones:
            allowed = zone in FILING_FOR.get(person, set())
            assert desk.policy.may_file_on_behalf(actor, zone) == allowed, (person, zone)
            if allowed:
                filed = await desk.file_request(actor, WEB, f"For Zack by {person}", zone_id=zone,
                                                on_behalf_of=(PEOPLE["zack"], "Zack"))
                mine = await desk.get_request(world.who("zack"), filed.number)
                assert mine.level >= Q and mine.requester_email == PEOPLE["zack"], (person, zone)
            else:
                with pytest.raises(DeskError) as refused:
                    await desk.file_request(actor, WEB, "Not allowed", zone_id=zone,
                                            on_behalf_of=(PEOPLE["zack"], "Zack"))
                assert "on behalf of someone else" in refused.value.message, (person, zone)


# ---------------------------------------------------------------- the status board (bot.desk.board)
# Whose boards each person may open (zones they work in or manage, and those zones' teams not private to
# others); everyone else has none. On every board they may open, the cards are exactly the requests of
# that zone (and team) the per-request rule lets them read (READER or more), and a card moves (has a
# move form, drags) exactly when they may act on it (AGENT).
BOARDS = {
    "alexis": {"it", "it/it-support"},
    "ivar": {"it", "it/it-support"},
    "frida": {"front-desk", "front-desk/dispatch"},
    "hanna": {"hr", "hr/hr-service"},
    "olav": {"hr", "hr/hr-service", "hr/employee-relations"},
    "nora": {"hr", "hr/hr-service"},  # manages HR, in no team: reads its board, the private team's cards not
    "erika": {"finance", "finance/payroll", "finance/accounting"},
    "per": {"finance", "finance/payroll", "finance/accounting"},
    "siri": {"facilities", "facilities/facilities-team"},
}


async def test_a_board_shows_exactly_what_the_rule_lets_its_reader_read(world: World) -> None:
    from bot.desk.board import BoardScope, NoBoard, board_scopes, choose_scope, open_board

    desk, policy, config = world.desk, world.desk.policy, world.desk.config
    rows = await _rows(world)
    column_of = {number: column for column, number in world.numbers.items()}
    every_board = [BoardScope(z.id) for z in config.zones] + [BoardScope(t.zone, t.id) for t in config.teams]
    for person in EXPECTED:
        actor = world.who(person)
        name = {f"{s.zone_id}/{s.team_id}" if s.team_id else s.zone_id for s in board_scopes(desk, actor)}
        assert name == BOARDS.get(person, set()), person
        if not name:
            with pytest.raises(DeskError) as refused:
                choose_scope(desk, actor, None, None)
            assert "The board is for agents" in refused.value.message, person
        for scope in every_board:
            where = f"{person} on {scope}"
            opens = policy.can_open_board(actor, scope.zone_id, scope.team_id)
            key = f"{scope.zone_id}/{scope.team_id}" if scope.team_id else scope.zone_id
            assert opens == (key in name), where
            if not opens:
                with pytest.raises(NoBoard):
                    await open_board(desk, actor, scope)
                with pytest.raises(NoBoard if name else DeskError):  # no board at all: told the board is for agents
                    choose_scope(desk, actor, scope.zone_id, scope.team_id)
                async with world.services.sessions() as session:
                    assert not list((await session.execute(select(Request.id).where(
                        policy.board_clause(actor, scope.zone_id, scope.team_id)))).scalars()), where
                continue
            board = await open_board(desk, actor, scope, limit=500)
            shown = {c.number: c for column in board.columns for c in column.cards}
            expected = {r.id for r in rows.values() if r.zone_id == scope.zone_id
                        and (scope.team_id is None or r.team_id == scope.team_id)
                        and _level(person, column_of[r.id]) >= R}
            assert set(shown) == expected, where
            assert board.total == len(expected), where
            for number, card in shown.items():
                assert card.can_move == (_level(person, column_of[number]) == A), (where, number)
                assert card.status == rows[column_of[number]].status, (where, number)


# ---------------------------------------------------------------- bulk actions and bundles
# One action on many requests asks the same use case per request: a request one may not see is refused
# as "not found" in the outcome, with the same words as alone; one may read but not work is refused with
# why. A bundle shows each reader only the members they may read as staff (READER or more), and a bundle
# with none of those does not exist for them.
async def test_bulk_actions_refuse_each_request_as_the_use_case_does(world: World) -> None:
    desk = world.desk
    for person in EXPECTED:
        actor = world.who(person)
        outcome = await desk.bulk_action(actor, list(world.numbers.values()), "reply", text="bulk hello")
        refused = {r.number: r.reason for r in outcome.refused}
        for column, number in world.numbers.items():
            expected, where = _level(person, column), f"{person} bulk reply on {column}"
            if expected == A:
                assert number in outcome.done, where
            elif expected == N:
                assert refused[number] == f"Request #{number} was not found.", where
            elif expected == R:
                assert refused[number] == (f"You can read request #{number} but not reply to it: it belongs to "
                                           "another department."), where
            else:
                assert refused[number] == "Only an agent of the request's department can reply to it.", where


BUNDLED = ("hr", "private", "tasked")  # made by Olav, who works all three (he is in the private team)


async def test_a_bundle_shows_each_reader_only_the_members_they_may_read(world: World) -> None:
    from bot.desk.bundles import BundleNotFound, bundles_of

    desk = world.desk
    olav = world.who("olav")
    bundle, made = await desk.create_bundle(olav, "Overtime rules changed", [world.numbers[c] for c in BUNDLED])
    assert made.done == tuple(world.numbers[c] for c in BUNDLED)
    # A request Olav may not see is refused as not found; Frida may read "routed" but not work it.
    refused = await desk.add_to_bundle(olav, bundle, [world.numbers["routed"]])
    assert refused.refused[0].reason == f"Request #{world.numbers['routed']} was not found."
    routed = world.numbers["routed"]
    _other, frida = await desk.create_bundle(world.who("frida"), "Routing", [world.numbers["desk"], routed])
    assert frida.done == (world.numbers["desk"],)
    assert frida.refused[0].reason == (f"You can read request #{routed} but not bundle it: it belongs to another "
                                       "department.")
    for person in EXPECTED:
        actor = world.who(person)
        shown = [world.numbers[c] for c in BUNDLED if _level(person, c) >= R]
        where = f"{person} reading bundle B{bundle}"
        # The request page names a member's bundles only to a reader it shows that member to.
        for case in BUNDLED:
            named = [b for b, _title in await bundles_of(desk, actor, world.numbers[case])]
            assert (bundle in named) == (actor.is_staff and _level(person, case) >= R), f"{where}, page of {case}"
        listed = {line.id: line.shown for line in await desk.list_bundles(actor)}
        if actor.is_staff and shown:
            view = await desk.get_bundle(actor, bundle)
            assert [m.number for m in view.members] == shown, where
            assert listed.get(bundle) == len(shown), where
            # A reply reaches only the members they are shown; each is then checked as `reply` checks it.
            outcome = await desk.reply_to_bundle(actor, bundle, f"{person} answers the bundle")
            assert set(outcome.done) | {r.number for r in outcome.refused} == set(shown), where
            assert set(outcome.done) == {world.numbers[c] for c in BUNDLED if _level(person, c) == A}, where
            continue
        assert bundle not in listed, where
        with pytest.raises(DeskError) as missing:
            await desk.get_bundle(actor, bundle)
        if actor.is_staff:
            assert isinstance(missing.value, BundleNotFound), where
            assert missing.value.message == f"Bundle B{bundle} was not found.", where
            with pytest.raises(BundleNotFound):
                await desk.reply_to_bundle(actor, bundle, "hello")
        else:
            assert missing.value.message == "Only agents keep bundles.", where


# -- lists, exports and saved views (bot.desk.listing, bot.desk.views) -----------------------------------

LIST_QUERIES: list[dict[str, str]] = [
    {}, {"status": "open"}, {"status": "closed"}, {"zone": "it"}, {"zone": "hr"}, {"zone": "front-desk"},
    {"requester": PEOPLE["zack"]}, {"requester": "me"}, {"assignee": "none"}, {"label": "mine"},
    {"q": "reply"}, {"q": "note"},  # every request has a public reply and an internal note (see `world`)
    {"scope": "queue"}, {"scope": "zone"}, {"scope": "team"}, {"scope": "mine"}, {"scope": "assigned"},
    {"sort": "title", "dir": "asc"}, {"sort": "priority"},
]


def _expected_list(world: World, person: str, rows: dict[int, Request], query: dict[str, str]) -> set[int]:
    """What a list with this query must hold for the person, worked out from the per-request rule alone."""
    actor, scope = world.who(person), query.get("scope", "all")
    minimum = A if scope in ("queue", "zone", "team", "assigned") else Q
    wanted = set()
    for key, number in world.numbers.items():
        row = rows[number]
        if _level(person, key) < minimum:
            continue
        in_scope = {"queue": row.status in OPEN, "mine": row.requester_email == actor.email,
                    "team": row.team_id in actor.teams, "assigned": row.assignee_email == actor.email}
        if not in_scope.get(scope, True):
            continue
        if "status" in query and (row.status in OPEN) != (query["status"] == "open"):
            continue
        if "zone" in query and row.zone_id != query["zone"]:
            continue
        requester = query.get("requester")
        if requester and row.requester_email != (actor.email if requester == "me" else requester):
            continue
        if "assignee" in query and row.assignee_email is not None:
            continue
        if query.get("q") == "note" and _level(person, key) < R:  # every request has a note: for readers only
            continue
        if "label" in query and key not in ("it", "hr", "private"):  # everyone labels these three "mine" below
            continue
        wanted.add(number)
    return wanted


async def test_lists_and_exports_select_exactly_what_the_rule_grants(world: World) -> None:
    from multidict import MultiDict

    from bot.desk.listing import ListQuery, count_requests, iter_rows, list_page

    desk = world.desk
    for person in EXPECTED:  # each labels three requests "mine" where they may (labels are personal)
        for key in ("it", "hr", "private"):
            if _level(person, key) >= Q:
                await desk.add_label(world.who(person), world.numbers[key], "mine")
    rows = await _rows(world)
    by_number = {r.id: r for r in rows.values()}
    for person in EXPECTED:
        actor = world.who(person)
        for query in LIST_QUERIES:
            where = f"{person} listing {query}"
            lq = ListQuery.from_query(MultiDict(query), desk.config)
            expected = _expected_list(world, person, by_number, query)
            shown: list[int] = []
            page = await list_page(desk, actor, lq.filter, lq.sort, limit=2)
            shown += [r.number for r in page.rows]
            while page.next is not None:  # page by page, as the web follows "Next"
                page = await list_page(desk, actor, lq.filter, lq.sort, after=page.next, limit=2)
                shown += [r.number for r in page.rows]
            assert len(shown) == len(set(shown)), where
            assert set(shown) == expected, where
            exported = [r.number async for r in iter_rows(desk, actor, lq.filter, lq.sort, batch=3)]
            assert exported == shown, where  # the export: the same rows in the same order
            assert (await count_requests(desk, actor, lq.filter)).number == len(expected), where


async def test_a_saved_view_opens_for_its_owner_and_their_team_only(world: World) -> None:
    from bot.desk.views import ViewNotFound, delete_view, get_view, list_views, save_view
    from bot.model import SavedView

    desk = world.desk
    olav = world.who("olav")  # HR service and the private Employee relations team
    personal = await save_view(desk, olav, "Mine", "zone=hr")
    shared = await save_view(desk, olav, "HR service", "zone=hr", "hr-service")
    private = await save_view(desk, olav, "Relations", "zone=hr", "employee-relations")
    with pytest.raises(DeskError):  # a team one is not in
        await save_view(desk, world.who("hanna"), "Sneaky", "", "employee-relations")
    members = {t.id: set(t.members) for t in desk.config.teams}
    async with world.services.sessions() as session:
        stored = list((await session.execute(select(SavedView))).scalars())
    for person in EXPECTED:
        actor = world.who(person)
        may = {personal.id} if actor.email == olav.email else set()
        may |= {v.id for v, team in ((shared, "hr-service"), (private, "employee-relations"))
                if actor.email in members[team]}
        assert {v.id for v in await list_views(desk, actor)} == may, person
        async with world.services.sessions() as session:
            selected = set((await session.execute(select(SavedView.id).where(
                desk.policy.view_clause(actor)))).scalars())
        assert selected == may == {v.id for v in stored if desk.policy.may_open_view(actor, v)}, person
        for view in (personal, shared, private):
            if view.id in may:
                assert (await get_view(desk, actor, view.id)).name == view.name, person
                continue
            with pytest.raises(ViewNotFound):
                await get_view(desk, actor, view.id)
            with pytest.raises(ViewNotFound):
                await delete_view(desk, actor, view.id)
        if actor.email != olav.email and shared.id in may:
            with pytest.raises(DeskError, match="Only the person who saved the view"):
                await delete_view(desk, actor, shared.id)


async def test_search_finds_exactly_what_the_rule_lets_each_person_read(world: World) -> None:
    """Search (`bot.desk.search`): "public" is in a reply on every request, "internal" only in the notes. Each
    person finds, and is told the count of, exactly the requests they may see, and finds notes only where they
    may read them (READER or more); the clause lists filter by agrees."""
    from bot.desk.search import matching_clause, search

    desk = world.desk
    for person in EXPECTED:
        actor = world.who(person)
        by_rule: dict[int, Level] = {}
        for number in world.numbers.values():
            try:
                by_rule[number] = (await desk.get_request(actor, number)).level
            except NotFound:
                by_rule[number] = N
        for word, minimum in (("public", Q), ("internal", R)):
            expected = {number for number, level in by_rule.items() if level >= minimum}
            found = await search(desk, actor, word, per_page=100)
            assert {h.number for h in found.hits} == expected and found.total == len(expected), (person, word)
            async with world.services.sessions() as session:
                clause = matching_clause(desk.policy, actor, word)
                selected = set((await session.execute(select(Request.id).where(
                    clause, desk.policy.request_clause(actor, Q)))).scalars())
            assert selected == expected, (person, word)
        # A requester's snippet never comes from a note, even where a note matches as well as a reply.
        for hit in (await search(desk, actor, "on", per_page=100)).hits:
            assert hit.found_in != "note" or by_rule[hit.number] >= R, (person, hit)


# Who may turn a team's weekly report in chat off or on: the managers of its zone and administrators, nobody
# else (its agents, other zones' managers, approvers and requesters are refused, and nothing is written).
_ALL_TEAMS = {"dispatch", "it-support", "hr-service", "employee-relations", "payroll", "accounting",
              "facilities-team"}
WEEKLY_SWITCHERS = {"ivar": {"it-support"}, "olav": {"hr-service", "employee-relations"},
                    "nora": {"hr-service", "employee-relations"}, "admin": _ALL_TEAMS}


async def test_a_teams_weekly_report_is_switched_by_its_zones_managers_and_administrators(world: World) -> None:
    from bot.analytics.weekly import switch_weekly_report
    from bot.model import WeeklyReport

    desk = world.desk
    assert {t.id for t in desk.config.teams} == _ALL_TEAMS
    for person in PEOPLE:
        actor = world.who(person)
        for team in sorted(_ALL_TEAMS):
            allowed = team in WEEKLY_SWITCHERS.get(person, set())
            assert desk.policy.can_switch_weekly_report(actor, team) == allowed, (person, team)
            async with world.services.sessions() as session:
                before = await session.get(WeeklyReport, team)
                before_state = (before.enabled, before.changed_by) if before else None
            try:
                await switch_weekly_report(desk, actor, team, False)
                switched = True
            except DeskError:
                switched = False
            assert switched == allowed, (person, team)
            async with world.services.sessions() as session:
                after = await session.get(WeeklyReport, team)
                after_state = (after.enabled, after.changed_by) if after else None
            assert after_state == ((False, actor.email) if allowed else before_state), (person, team)


async def test_a_weekly_report_counts_exactly_its_teams_requests(world: World) -> None:
    """The report's reader is the team (`Policy.team_reader`): its figures count every request the team holds,
    a private team's too (its channel is its members'), and nothing else."""
    from bot.analytics import Query
    from bot.analytics.query import counted

    policy, config = world.desk.policy, world.desk.config
    async with world.services.sessions() as session:
        held = {number: team for number, team in (await session.execute(select(Request.id, Request.team_id))).all()}
        for team in config.teams:
            where = counted(policy, config, policy.team_reader(team.id), Query(team=team.id))
            selected = set((await session.execute(select(Request.id).where(where))).scalars())
            assert selected == {n for n, t in held.items() if t == team.id}, team.id
    assert {t for t in held.values() if t} >= {"it-support", "hr-service", "employee-relations"}


@contextlib.asynccontextmanager
async def _web(services: Services) -> AsyncIterator[str]:
    """The real web channel over these services, on an ephemeral port."""
    from aiohttp import web

    from bot.server import create_app

    runner = web.AppRunner(await create_app(services, env={}, background=False))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


async def test_relating_on_the_web_is_allowed_and_refused_as_the_chat_verb(world: World) -> None:
    """Relating "it" to "closed" (both IT): an agent of IT may; anyone else is refused as `/desk relate` is,
    and a person who may not see "it" reads "not found"."""
    import aiohttp

    from bot.desk.commands import run_command
    from tests.web.conftest import Browser

    services, it, closed = world.services, world.numbers["it"], world.numbers["closed"]
    async with _web(services) as base, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        for person in (p for p in EXPECTED if p not in {"nora", "tor"}):
            http.cookie_jar.clear()
            browser = Browser(base, http, services)
            await browser.sign_in(PEOPLE[person])
            actor = services.desk.actor(PEOPLE[person], channel="slack")
            page = await browser.post(f"/requests/{it}/relate", {"other": str(closed)})
            level = _level(person, "it")
            if level == A:
                assert page.status == 200 and f"Request #{it} is related to #{closed}." in page.text, person
                undone = await run_command(services.desk, actor, f"relate {it} -{closed}")  # chat undoes it
                assert undone.ok, (person, undone.text)
                continue
            said = await run_command(services.desk, actor, f"relate {it} {closed}")
            assert not said.ok and said.text in page.text, (person, said.text)
            assert page.status == (404 if level == N else 400), (person, page.status)
    async with services.sessions() as session:
        from bot.model import Relation

        assert (await session.execute(select(Relation))).all() == []


async def test_an_approver_may_not_label_the_request_on_the_web_or_in_chat(approvals_world: World) -> None:
    """A named approver sees the request to decide, and may change nothing, personal labels included."""
    import aiohttp

    from bot.desk.commands import run_command
    from tests.web.conftest import Browser

    services = approvals_world.services
    async with _web(services) as base, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        browser = Browser(base, http, services)
        await browser.sign_in(PEOPLE["marte"])
        for column in ("asked", "decided"):
            number = approvals_world.numbers[column]
            page = await browser.get(f"/requests/{number}")
            assert page.status == 200 and "Add a label" not in page.text and "<summary>Edit</summary>" not in page.html
            refused = await browser.post(f"/requests/{number}/label", {"label": "mine"})
            said = await run_command(services.desk, services.desk.actor(PEOPLE["marte"], channel="slack"),
                                     f"label {number} mine")
            message = f"You can see request #{number} to decide its approval, but not label it."
            assert refused.status == 400 and message in refused.text and said.text == message, column
    async with services.sessions() as session:
        from bot.model import Label

        assert (await session.execute(select(Label))).all() == []


async def test_working_time_figures_count_only_what_each_reader_may_open(world: World) -> None:
    """First response and resolution times are read from `request_measures`, joined to each request under the
    reader's analytics clause: each person's figures measure exactly the requests `ANALYTICS` lets them count
    (every request here was answered; only 'closed' was resolved)."""
    from datetime import timedelta

    from bot.analytics import NoFigures, Query, build_report
    from bot.model import RequestMeasure

    async with world.services.sessions() as session:
        measured = set((await session.execute(select(RequestMeasure.request_id))).scalars())
    assert measured == set(world.numbers.values())
    today = world.services.clock.now().date()
    query = Query(period="range", first=today - timedelta(days=7), last=today + timedelta(days=7))
    for person, (_zones, counted) in ANALYTICS.items():
        try:
            report = await build_report(world.desk, world.who(person), query)
        except NoFigures:
            assert not counted, person
            continue
        first, resolved = report.totals.first_response, report.totals.resolution
        assert first.count == len(counted) and resolved.count == len(counted & {"closed"}), person
        assert (first.working_median is None) == (not counted), person


# ---------------------------------------------------------------- e-mail (adapters/email, decision 0016)
def _mail(sender: str, to: str, subject: str, body: str) -> bytes:
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Message-ID"] = f"<{abs(hash((sender, to, subject)))}@mail.nordlys.example>"
    message.set_content(body)
    return bytes(message.as_bytes())


async def test_what_a_mail_sender_reaches_on_each_request(world: World, matrix_config: AppConfig) -> None:
    """For every person and request: a mail that proves its thread (the request's reply address) comments
    on it only for its requester and answers it only for its agents; anyone else, and everyone without
    that proof, files a request of their own and leaves the quoted one untouched; outside mail files
    nothing."""
    from adapters.email.addresses import reply_address
    from adapters.email.inbound import MailDesk
    from bot.model import Comment

    zones = [dict(z.model_dump(by_alias=True, exclude_defaults=True), email=f"{z.id}@nordlys.example")
             for z in matrix_config.zones]
    config = matrix_config.model_copy(update={"zones": tuple(type(matrix_config.zones[0]).model_validate(z)
                                                             for z in zones)})
    desk = Desk(config, world.services.sessions, world.services.clock)
    secret = b"matrix-secret-key-0123456789"
    mail = MailDesk(desk, secret)

    async def comments(number: int) -> int:
        async with world.services.sessions() as session:
            return len((await session.execute(select(Comment.id).where(Comment.request_id == number))).all())

    for person, row in EXPECTED.items():
        for column, number in world.numbers.items():
            async with world.services.sessions() as session:
                found = await session.get(Request, number)
                assert found is not None
                zone, requester, status = found.zone_id, found.requester_email, found.status
            level = row[COLUMNS.index(column)]
            before = await comments(number)
            to = reply_address(secret, f"{zone}@nordlys.example", number)
            proven = await mail.receive(_mail(PEOPLE[person], to, f"Re: [#{number}] x", f"{person} on {column}"),
                                        [to])
            own = requester == PEOPLE[person]
            if own and status != "closed":
                expected = "comment"
            elif level == A and not own:
                expected = "reply"
            else:
                expected = "filed"
            assert proven.outcome == expected, (person, column, proven)
            assert await comments(number) == before + (expected != "filed"), (person, column)
            # The same mail without the proof (to the zone's plain address): a request of their own.
            plain = await mail.receive(_mail(PEOPLE[person], f"{zone}@nordlys.example", f"Re: [#{number}] y",
                                             f"{person} plain on {column}"), [f"{zone}@nordlys.example"])
            assert plain.outcome == "filed" and plain.number != number and not plain.verified, (person, column)
            assert await comments(number) == before + (expected != "filed"), (person, column)
    outside = await mail.receive(_mail("eve@evil.example", "it@nordlys.example", "[#1] hi", "let me in"),
                                 ["it@nordlys.example"])
    assert outside.outcome == "ignored"


# ---------------------------------------------------------------- consultation and outside collaborators
# A person asked for their view on one request (bot.desk.consultation) reads that request's public conversation
# on their consultation page while asked, and nothing else: it is in none of their lists, searches, boards or
# figures, they may change nothing, and withdrawn it is "not found" again. Only the request's agents ask,
# withdraw, bring outside addresses in and take them out; an outside address is sent public messages only.
CONSULTEES = ("hanna", "marte", "tor")  # HR agent, approver only, agent without a team: none may read "it"


async def test_a_consultee_reads_the_public_conversation_only_while_asked(world: World) -> None:
    from bot.desk.board import BoardScope, NoBoard, open_board
    from bot.desk.consultation import asked_of
    from bot.desk.search import search

    desk, policy, number = world.desk, world.desk.policy, world.numbers["it"]

    async def consulted_ids(person: str) -> set[int]:
        async with world.services.sessions() as session:
            return set((await session.execute(select(Request.id).where(
                policy.consulted_clause(world.who(person))))).scalars())

    for person in CONSULTEES:  # before
        with pytest.raises(NotFound):
            await desk.consulted(world.who(person), number)
        with pytest.raises(NotFound):
            await desk.answer_consultation(world.who(person), number, "too early")
        assert await consulted_ids(person) == set()
    for person in CONSULTEES:
        await desk.consult(world.who("alexis"), number, PEOPLE[person], "What do you think?")
    await desk.answer_consultation(world.who("hanna"), number, "Hanna's view")

    for person in EXPECTED:  # during
        actor = world.who(person)
        where = f"{person} during"
        if person not in CONSULTEES:
            with pytest.raises(NotFound):
                await desk.consulted(actor, number)
            assert await consulted_ids(person) == set(), where
            continue
        seen = await desk.consulted(actor, number)
        assert {c.body for c in seen.conversation} == {"public reply on it"}, where  # never a note
        assert {a.body for a in seen.answers} == ({"Hanna's view"} if person == "hanna" else set()), where
        assert await consulted_ids(person) == {number}, where
        assert [n for n, _title in await asked_of(desk, actor)] == [number], where
        with pytest.raises(NotFound):
            await desk.get_request(actor, number)  # the request itself stays closed to them
        assert number not in {s.number for s in await desk.list_requests(actor, limit=500)}, where
        assert number not in {h.number for h in (await search(desk, actor, "public", per_page=100)).hits}, where
        async with world.services.sessions() as session:
            for minimum in (P, Q, R, A):
                assert number not in set((await session.execute(select(Request.id).where(
                    policy.request_clause(actor, minimum)))).scalars()), (where, minimum)
            assert number not in set((await session.execute(select(Request.id).where(
                policy.analytics_clause(actor)))).scalars()), where
        for zone in world.desk.config.zones:
            try:
                board = await open_board(desk, actor, BoardScope(zone.id), limit=500)
            except (NoBoard, DeskError):
                continue
            assert number not in {c.number for column in board.columns for c in column.cards}, where
        before = await _snapshot(world.services)
        for verb in ("reply", "note", "claim", "status", "comment"):
            with pytest.raises(NotFound):
                await _act(desk, actor, verb, number)
        with pytest.raises(NotFound):
            await desk.consult(actor, number, PEOPLE["erika"])
        with pytest.raises(NotFound):
            await desk.invite_collaborator(actor, number, "kim@supplier.example")
        assert await _snapshot(world.services) == before, where

    # Staff who read the request read the answer as a note; the requester reads neither it nor who was asked.
    zack = await desk.get_request(world.who("zack"), number)
    assert "Hanna's view" not in {c.body for c in zack.comments}
    assert not {"consulted", "consultation_answered"} & {e.kind for e in zack.history}
    assert await desk.consultations_of(world.who("zack"), number) == []
    frida = await desk.get_request(world.who("frida"), number)  # a reader of IT
    assert "Hanna's view" in {c.body for c in frida.comments if not c.public}
    assert {c.name for c in await desk.consultations_of(world.who("frida"), number)} == {
        "Hanna Berg", "Marte Viken", "Tor Aas"}

    for person in CONSULTEES:  # after
        await desk.withdraw_consultation(world.who("ivar"), number, PEOPLE[person])
        with pytest.raises(NotFound):
            await desk.consulted(world.who(person), number)
        with pytest.raises(NotFound):
            await desk.answer_consultation(world.who(person), number, "too late")
        assert await consulted_ids(person) == set()
        assert await asked_of(desk, world.who(person)) == []


async def test_only_a_request_s_agents_ask_for_views_and_bring_outside_addresses_in(world: World) -> None:
    desk = world.desk
    for column, number in world.numbers.items():
        for person in EXPECTED:
            actor, level, where = world.who(person), _level(person, column), f"{person} on {column}"
            asked = next(p for p in ("marte", "tor") if _level(p, column) == N)  # someone who cannot read it
            address = f"{person}.{column}@supplier.example"
            if level == A:
                assert await desk.consult(actor, number, PEOPLE[asked]) == ("Marte Viken" if asked == "marte"
                                                                            else "Tor Aas"), where
                await desk.withdraw_consultation(actor, number, PEOPLE[asked])
                assert await desk.invite_collaborator(actor, number, address) == address, where
                await desk.remove_collaborator(actor, number, address)
                continue
            before = await _snapshot(world.services)
            expected_error = NotFound if level == N else DeskError
            for attempt in (desk.consult(actor, number, PEOPLE[asked]),
                            desk.withdraw_consultation(actor, number, PEOPLE[asked]),
                            desk.invite_collaborator(actor, number, address),
                            desk.remove_collaborator(actor, number, address)):
                with pytest.raises(expected_error) as refused:
                    await attempt
                if level == N:
                    assert refused.value.message == f"Request #{number} was not found.", where
                else:
                    assert not isinstance(refused.value, NotFound), where
            assert await _snapshot(world.services) == before, where
    # Nobody who reads a request as staff, and not its requester, is asked in: they read it already.
    it = world.numbers["it"]
    for person in ("ivar", "frida", "zack"):
        with pytest.raises(DeskError) as refused:
            await desk.consult(world.who("alexis"), it, PEOPLE[person]) if person != "zack" else \
                await desk.consult(world.who("alexis"), it, "zack@nordlys.example")
        assert "read" in refused.value.message or "know" in refused.value.message, person


async def test_an_outside_collaborator_is_mailed_public_messages_only_and_comments_while_in(world: World) -> None:
    from bot.delivery.channels import ChannelInfo
    from bot.desk.collaborators import is_party
    from bot.model import Outbox

    desk, policy, number = world.desk, world.desk.policy, world.numbers["it"]
    desk.enable(ChannelInfo(platform="email", threads=True))
    kim = desk.actor("kim@supplier.example", "Kim Berg", channel="email")

    async def mailed() -> list[str]:
        async with world.services.sessions() as session:
            rows = (await session.execute(select(Outbox).where(Outbox.platform == "email").order_by(Outbox.id)))
            return [str(r.payload["message"]["text"]) for r in rows.scalars() if r.target.get("channel") == kim.email]

    async def party() -> bool:
        async with world.services.sessions() as session:
            request = await session.get(Request, number)
            assert request is not None
            found = set((await session.execute(select(Request.id).where(
                policy.collaborator_clause(kim.email)))).scalars())
        assert (number in found) == await is_party(desk, request, kim.email)
        return number in found

    assert not await party()
    with pytest.raises(NotFound):
        await desk.collaborator_comment(kim, number, "let me in")
    await desk.invite_collaborator(world.who("alexis"), number, kim.email)
    assert await party()
    [invitation] = await mailed()
    assert "public reply on it" in invitation and "internal note" not in invitation
    await desk.note(world.who("alexis"), number, "a note the supplier must never read")
    await desk.reply(world.who("alexis"), number, "a reply the supplier reads")
    await desk.comment(world.who("zack"), number, "the requester's answer")
    assert (await mailed())[1:] == ["a reply the supplier reads", "the requester's answer"]
    await desk.collaborator_comment(kim, number, "We can replace the fan on Monday.")
    zack = await desk.get_request(world.who("zack"), number)
    assert "We can replace the fan on Monday." in {c.body for c in zack.comments if c.public}
    with pytest.raises(NotFound):
        await desk.get_request(kim, number)  # a collaborator reads nothing on the web
    assert await desk.list_requests(kim) == []
    assert len(await mailed()) == 3  # not mailed its own comment back

    await desk.remove_collaborator(world.who("ivar"), number, kim.email)
    assert not await party()
    await desk.reply(world.who("alexis"), number, "after removal")
    assert len(await mailed()) == 3  # nothing more is sent
    with pytest.raises(NotFound):
        await desk.collaborator_comment(kim, number, "still here?")


async def _with_files(world: World) -> dict[int, tuple[int, int]]:
    """A file on each request's filing message and one on its internal note: request -> (public id, note id)."""
    from bot.files import FileRef, record_files
    from bot.model import Comment

    files: dict[int, tuple[int, int]] = {}
    for key, number in world.numbers.items():
        async with world.desk.transaction() as tx:
            request = await tx.find(number)
            assert request is not None
            note = await tx.session.scalar(select(Comment.id).where(
                Comment.request_id == number, Comment.public.is_(False), Comment.body == f"internal note on {key}"))
            author = world.desk.actor(request.requester_email, channel="slack")
            (shown,) = await record_files(tx, request, None, True, author, [
                FileRef("slack", f"{key}.png", "image/png", 10, {"id": f"F{number}", "url": "https://x"})])
            (hidden,) = await record_files(tx, request, note, False, author, [
                FileRef("slack", f"{key}-note.log", "text/plain", 10, {"id": f"G{number}", "url": "https://x"})])
        files[number] = (shown, hidden)
    return files


async def _check_files(world: World, expected: dict[str, dict[str, Level]]) -> None:
    from bot.files import attachments_of, open_attachment

    files = await _with_files(world)
    every = {i for pair in files.values() for i in pair}
    for person, levels in expected.items():
        actor = world.who(person)
        for column, number in world.numbers.items():
            level, where = levels[column], f"{person} opening the files of {column}"
            shown, hidden = files[number]
            allowed = {shown, hidden} if level >= R else ({shown} if level > N else set())
            if level == N:
                with pytest.raises(NotFound):
                    await attachments_of(world.desk, actor, number)
            else:
                assert {a.id for a in await attachments_of(world.desk, actor, number)} == allowed, where
            for attachment in every:  # through this request: only its own files, and only those allowed
                if attachment in allowed:
                    assert (await open_attachment(world.desk, actor, number, attachment)).id == attachment, where
                else:
                    with pytest.raises(NotFound) as refused:
                        await open_attachment(world.desk, actor, number, attachment)
                    assert refused.value.message == f"Request #{number} was not found.", where


async def test_a_request_s_files_open_for_whoever_sees_it_and_a_note_s_only_for_note_readers(world: World) -> None:
    await _check_files(world, {person: dict(zip(COLUMNS, row, strict=True)) for person, row in EXPECTED.items()})


async def test_a_named_approver_opens_the_public_files_of_what_they_decide_and_no_note_s(
        approvals_world: World) -> None:
    await _check_files(approvals_world, {person: dict(zip(APPROVAL_COLUMNS, row, strict=True))
                                         for person, row in APPROVER_EXPECTED.items()})


async def test_search_past_its_count_cap_still_finds_only_what_the_rule_lets_read(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same with more matches than search ranks (COUNT_CAP 2, DENSE 1: newest first, SQLite walking the
    requests): each person's page is the newest of exactly the requests the rule lets them read."""
    import bot.desk.search as searching

    monkeypatch.setattr(searching, "COUNT_CAP", 2)
    monkeypatch.setattr(searching, "DENSE", 1)
    desk = world.desk
    for person in EXPECTED:
        actor = world.who(person)
        for word, minimum in (("public", Q), ("internal", R)):
            expected = sorted((world.numbers[c] for c, level in zip(COLUMNS, EXPECTED[person], strict=True)
                               if level >= minimum), reverse=True)
            found = await searching.search(desk, actor, word, per_page=10)
            assert [h.number for h in found.hits] == expected[:2], (person, word)
            assert (found.total, found.more) == (min(len(expected), 2), len(expected) > 2), (person, word)


async def test_a_consultee_opens_the_public_files_of_the_one_request_they_are_asked_about(world: World) -> None:
    """Asked about "it", each consultee lists and opens its filing message's file on their consultation page and
    nothing else: not its note's file, not another request's file through it, and nothing once withdrawn;
    everyone not asked opens nothing there, whatever they read elsewhere."""
    desk, number = world.desk, world.numbers["it"]
    files = await _with_files(world)
    shown, _note_s = files[number]
    every = {i for pair in files.values() for i in pair}
    for person in CONSULTEES:
        await desk.consult(world.who("alexis"), number, PEOPLE[person], "What do you think?")

    for person in EXPECTED:
        actor = world.who(person)
        asked = person in CONSULTEES
        if asked:
            assert [f.id for f in (await desk.consulted(actor, number)).files] == [shown], person
        for attachment in every:
            if asked and attachment == shown:
                assert (await desk.consulted_attachment(actor, number, attachment)).id == shown, person
            else:
                with pytest.raises(NotFound):
                    await desk.consulted_attachment(actor, number, attachment)
        for other in set(world.numbers.values()) - {number}:  # asked about "it" only
            with pytest.raises(NotFound):
                await desk.consulted_attachment(actor, other, files[other][0])

    for person in CONSULTEES:
        await desk.withdraw_consultation(world.who("ivar"), number, PEOPLE[person])
        with pytest.raises(NotFound):
            await desk.consulted_attachment(world.who(person), number, shown)
