"""One action on many requests, and bundles, as the desk's use cases: each request checked and changed
on its own (refusals listed with the desk's words, nothing half-written), a resubmitted form doing
nothing twice, a bundle's reply reaching every member's own thread. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from bot.delivery.channels import ChannelInfo
from bot.desk import Desk, Origin
from bot.desk.bulk import BULK_MAX, Refused
from bot.desk.bundles import BundleNotFound
from bot.errors import DeskError, Duplicate
from bot.model import BundleMember, Comment, Event, Label, Outbox, Request
from bot.server import Services

ZACK = "zack@nordlys.example"
MAX = "max.meyer@nordlys.example"
ALEXIS = "alexis.baker@nordlys.example"  # IT support
IVAR = "ivar.lund@nordlys.example"  # IT support
FRIDA = "frida.dahl@nordlys.example"  # Front desk; reads IT
HANNA = "hanna.berg@nordlys.example"  # HR service


def thread(ts: str, user: str = "UZACK") -> Origin:
    return Origin(platform="slack", workspace="T1", channel="C0ITHELP", thread=ts, message=ts, user=user)


@pytest.fixture
def desk(services: Services) -> Desk:
    services.desk.enable(ChannelInfo("slack"))
    return services.desk


async def file(desk: Desk, who: str, title: str, zone: str = "it", ts: str | None = None) -> int:
    origin = thread(ts) if ts else Origin(platform="web")
    return (await desk.file_request(desk.actor(who), origin, title, zone_id=zone)).number


async def rows(services: Services, model: Any, *where: Any) -> int:
    async with services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def thread_replies(services: Services, text: str) -> dict[int, str]:
    """Request number -> thread of each queued thread reply carrying `text`."""
    async with services.sessions() as session:
        found = (await session.execute(select(Outbox).where(Outbox.kind == "thread_reply"))).scalars()
        return {r.request_id: r.target["thread"] for r in found
                if (r.payload.get("message") or {}).get("text") == text and r.request_id is not None}


async def test_a_mixed_selection_is_done_where_it_may_be_and_refused_with_reasons(
        desk: Desk, services: Services) -> None:
    it1 = await file(desk, ZACK, "Mail is down", ts="1.1")
    it2 = await file(desk, MAX, "No mail since 9", ts="1.2")
    hr = await file(desk, ZACK, "Leave question", "hr")
    closed = await file(desk, ZACK, "Old one")
    alexis = desk.actor(ALEXIS)
    await desk.set_status(alexis, closed, "resolved")
    await desk.set_status(alexis, closed, "closed")
    events_before = await rows(services, Event)

    outcome = await desk.bulk_action(alexis, [str(it1), f"#{it2}", str(hr), str(closed), "9999"], "status",
                                     status="in_progress", dedupe_key="web:form-1")
    assert outcome.done == (it1, it2)
    assert outcome.refused == (
        Refused(hr, f"Request #{hr} was not found."),  # HR's request reads as missing, as everywhere
        Refused(closed, f"Request #{closed} cannot go from closed to in_progress: a closed request can only be "
                        "reopened."),
        Refused(9999, "Request #9999 was not found."),
    )
    for number, status in ((it1, "in_progress"), (it2, "in_progress"), (hr, "new"), (closed, "closed")):
        async with services.sessions() as session:
            assert (await session.get(Request, number)).status == status  # type: ignore[union-attr]
    assert await rows(services, Event) == events_before + 2  # one history event per request moved, nothing else

    # The same form again: nothing is done twice, and the answer says so.
    again = await desk.bulk_action(alexis, [str(it1), str(it2), str(hr)], "status", status="in_progress",
                                   dedupe_key="web:form-1")
    assert again.repeated == (it1, it2) and again.done == ()
    assert [r.number for r in again.refused] == [hr]
    assert await rows(services, Event) == events_before + 2


async def test_bulk_reply_reaches_each_requester_thread_once(desk: Desk, services: Services) -> None:
    numbers = [await file(desk, ZACK, f"Printer {i}", ts=f"2.{i}") for i in range(3)]
    alexis = desk.actor(ALEXIS)
    outcome = await desk.bulk_action(alexis, numbers, "reply", text="The printer is fixed.", dedupe_key="k")
    assert outcome.done == tuple(numbers)
    assert await thread_replies(services, "The printer is fixed.") == {n: f"2.{i}" for i, n in enumerate(numbers)}
    await desk.bulk_action(alexis, numbers, "reply", text="The printer is fixed.", dedupe_key="k")
    assert await rows(services, Comment, Comment.body == "The printer is fixed.") == 3


async def test_assign_label_and_transfer_go_through_their_use_cases(desk: Desk, services: Services) -> None:
    a, b = await file(desk, ZACK, "Screen"), await file(desk, ZACK, "Keyboard")
    ivar = desk.actor(IVAR)
    assert (await desk.bulk_action(ivar, [a, b], "assign", assignee=ALEXIS)).done == (a, b)
    mine = await desk.bulk_action(ivar, [a], "assign", assignee=IVAR)  # to oneself: a claim
    assert mine.done == (a,)
    assert (await desk.bulk_action(ivar, [a, b], "label", label="Hardware")).done == (a, b)
    assert await rows(services, Label, Label.owner_email == IVAR, Label.label == "hardware") == 2
    moved = await desk.bulk_action(ivar, [a, b], "transfer", zone="facilities", category="repairs",
                                   reason="Wrong desk")
    assert moved.done == (a, b)
    assert (await desk.bulk_action(ivar, [a], "reply", text="hello")).refused == (
        Refused(a, f"Request #{a} was not found."),)  # IT keeps no access after the transfer


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"action": "reply", "text": "   "}, "The reply is empty; write a few words."),
    ({"action": "status", "status": "done-ish"}, "'done-ish' is not a status."),
    ({"action": "assign"}, "Choose who gets the requests."),
    ({"action": "label", "label": "two words"}, "A label is one word"),
    ({"action": "transfer", "zone": "mars"}, "There is no zone 'mars'."),
    ({"action": "explode"}, "Choose what to do with the selected requests."),
])
async def test_a_bad_action_is_refused_before_anything_is_done(desk: Desk, services: Services,
                                                               kwargs: dict[str, str], message: str) -> None:
    number = await file(desk, ZACK, "Screen")
    events = await rows(services, Event)
    kwargs = dict(kwargs)  # the table is shared by both databases
    action = kwargs.pop("action")
    with pytest.raises(DeskError) as refused:
        await desk.bulk_action(desk.actor(ALEXIS), [number], action, **kwargs)
    assert refused.value.message.startswith(message)
    assert await rows(services, Event) == events


async def test_the_selection_is_capped_and_must_hold_numbers(desk: Desk) -> None:
    alexis = desk.actor(ALEXIS)
    with pytest.raises(DeskError) as empty:
        await desk.bulk_action(alexis, [], "reply", text="x")
    assert empty.value.message == "Select at least one request."
    with pytest.raises(DeskError) as many:
        await desk.bulk_action(alexis, [str(n) for n in range(1, BULK_MAX + 2)], "reply", text="x")
    assert many.value.message == f"You selected {BULK_MAX + 1} requests; one action takes at most {BULK_MAX}. " \
                                 "Select fewer."
    with pytest.raises(DeskError) as bad:
        await desk.bulk_action(alexis, ["1", "x1"], "reply", text="x")
    assert bad.value.message == "'x1' is not a request number."


async def test_a_bundle_holds_what_its_maker_may_work_and_lists_refusals(desk: Desk, services: Services) -> None:
    it1 = await file(desk, ZACK, "Mail is down", ts="3.1")
    it2 = await file(desk, MAX, "Outlook offline", ts="3.2")
    hr = await file(desk, ZACK, "Leave", "hr")
    alexis = desk.actor(ALEXIS)
    bundle, outcome = await desk.create_bundle(alexis, "Mail outage", [it1, it2, hr])
    assert outcome.done == (it1, it2)
    assert outcome.refused == (Refused(hr, f"Request #{hr} was not found."),)
    view = await desk.get_bundle(alexis, bundle)
    assert (view.title, [m.number for m in view.members]) == ("Mail outage", [it1, it2])
    # Each member's history says it joined.
    detail = await desk.get_request(alexis, it1)
    assert detail.history[-1].text == f"Alexis Baker added it to bundle B{bundle}: Mail outage."
    assert detail.history[-1].kind == "bundled"
    # A requester never sees it.
    assert all(e.kind != "bundled" for e in (await desk.get_request(desk.actor(ZACK), it1)).history)

    # Already in a bundle: refused, the other one named.
    other, _ = await desk.create_bundle(alexis, "Another", [await file(desk, ZACK, "x")])
    moved = await desk.add_to_bundle(alexis, other, [it1])
    assert moved.refused == (Refused(it1, f"#{it1} is already in bundle B{bundle}; take it out of that bundle "
                                          "first."),)

    removed = await desk.remove_from_bundle(alexis, bundle, [it2, hr])
    assert removed.done == (it2,) and [r.number for r in removed.refused] == [hr]
    assert (await desk.get_request(alexis, it2)).history[-1].text == \
        f"Alexis Baker took it out of bundle B{bundle}."
    assert [m.number for m in (await desk.get_bundle(alexis, bundle)).members] == [it1]


async def test_no_bundle_is_made_when_no_request_may_join(desk: Desk, services: Services) -> None:
    hr = await file(desk, ZACK, "Leave", "hr")
    with pytest.raises(DeskError) as refused:
        await desk.create_bundle(desk.actor(ALEXIS), "Nothing", [hr, 777])
    assert refused.value.message == (f"No request could join the bundle, so none was made:\n"
                                     f"#{hr}: Request #{hr} was not found.\n#777: Request #777 was not found.")
    assert await rows(services, BundleMember) == 0
    with pytest.raises(DeskError) as requester:
        await desk.create_bundle(desk.actor(ZACK), "Mine", [hr])
    assert requester.value.message == "Only agents keep bundles."


async def test_a_bundle_reply_and_status_reach_every_member_on_its_own(desk: Desk, services: Services) -> None:
    numbers = [await file(desk, who, f"VPN down {i}", ts=f"4.{i}") for i, who in enumerate((ZACK, MAX, ZACK))]
    alexis = desk.actor(ALEXIS)
    bundle, _ = await desk.create_bundle(alexis, "VPN outage", numbers)
    await desk.set_status(alexis, numbers[2], "resolved")
    await desk.set_status(alexis, numbers[2], "closed")

    replied = await desk.reply_to_bundle(alexis, bundle, "We are on it.", dedupe_key="slack:cmd-1")
    assert replied.done == tuple(numbers) and replied.refused == ()
    assert await thread_replies(services, "We are on it.") == {n: f"4.{i}" for i, n in enumerate(numbers)}
    assert (await desk.reply_to_bundle(alexis, bundle, "We are on it.", dedupe_key="slack:cmd-1")).repeated == \
        tuple(numbers)

    moved = await desk.set_bundle_status(alexis, bundle, "resolved", "VPN is back.")
    assert moved.done == tuple(numbers[:2])
    assert moved.refused == (Refused(numbers[2], f"Request #{numbers[2]} cannot go from closed to resolved: "
                                                 "a closed request can only be reopened."),)
    async with services.sessions() as session:
        first = await session.get(Request, numbers[0])
        assert first is not None and (first.status, first.resolution) == ("resolved", "VPN is back.")


async def test_a_bundle_shows_each_reader_only_what_they_may_read(desk: Desk) -> None:
    it = await file(desk, ZACK, "Mail down")
    alexis, frida, hanna = desk.actor(ALEXIS), desk.actor(FRIDA), desk.actor(HANNA)
    bundle, _ = await desk.create_bundle(alexis, "Mail", [it])
    # Frida (Front desk) may read IT's requests: she is shown the bundle, and may not reply through it.
    assert [m.number for m in (await desk.get_bundle(frida, bundle)).members] == [it]
    refused = await desk.reply_to_bundle(frida, bundle, "hi")
    assert refused.refused[0].reason.startswith(f"You can read request #{it} but not reply to it")
    # Hanna (HR) may read none of it: the bundle does not exist for her.
    with pytest.raises(BundleNotFound) as missing:
        await desk.get_bundle(hanna, bundle)
    assert missing.value.message == f"Bundle B{bundle} was not found."
    assert await desk.list_bundles(hanna) == []
    fresh = await file(desk, ZACK, "Another")
    await desk.create_bundle(alexis, "Twice", [fresh], dedupe_key="web:same")
    with pytest.raises(Duplicate):  # the same form again makes no second bundle
        await desk.create_bundle(alexis, "Twice", [fresh], dedupe_key="web:same")


async def test_erasing_a_person_leaves_their_address_in_no_bundle(desk: Desk, services: Services) -> None:
    from sqlalchemy import text

    from bot.store.backup import erase_person

    number = await file(desk, ZACK, "Mail down")
    await desk.create_bundle(desk.actor(ALEXIS), "Mail", [number])
    await erase_person(services.engine, ALEXIS, services.clock.now())
    async with services.engine.connect() as conn:
        for table in ("bundles", "bundle_members"):
            dump = " ".join(str(r) for r in (await conn.execute(text(f"SELECT * FROM {table}"))).all())
            assert dump and "alexis" not in dump.lower(), table
