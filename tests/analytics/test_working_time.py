"""First response and resolution times in working time, against answers worked out by hand, on SQLite and
PostgreSQL alike.

Oslo local times, Christmas 2026. IT keeps the default calendar (08:00-16:00, Monday to Friday, Norwegian
holidays, closed 24 and 31 December); here Facilities keeps its own, 10:00-18:00 on the same days. Fri 25
and Sat 26 December are public holidays, Thu 24 a closed day.

- R: IT, Mon 21 09:00; reply 09:20; resolved 12:00; the requester reopens Tue 22 09:00; resolved 11:00.
  First response 20 min, in working time too. Resolution 26 h; working 3 h + 2 h = 5 h (paused while resolved).
- W: IT, Tue 22 14:00; reply 15:00; waits on the requester 15:10; she answers Wed 23 10:00; resolved Mon 28
  10:00. First response 1 h, in working time too. Resolution 140 h; working 1 h 10 min (Tue) + 6 h (Wed) +
  2 h (Mon) = 9 h 10 min: waiting is paused, and 24 to 27 December are closed.
- H: IT, Fri 25 (a holiday) 11:00; reply Mon 28 09:30; resolved 15:00. First response 70 h 30 min; working
  1 h 30 min, counted from Mon 08:00. Resolution 76 h; working 7 h.
- T: IT, Mon 21 15:00; transferred to Facilities Tue 22 09:00; Siri replies 11:00 and resolves 17:00. First
  response 20 h; working 1 h + 1 h by IT's calendar, then 1 h by Facilities' = 3 h. Resolution 26 h; working
  2 h (IT's) + 7 h (Facilities') = 9 h.

T counts for Facilities, which holds it; measured by IT's calendar alone its first response would be 4 h, by
Facilities' alone 4 h too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.access import Actor
from bot.analytics import Query, Report, build_report, csv_table
from bot.analytics.measuring import rebuild
from bot.clock import FakeClock
from bot.config import load_config
from bot.desk import WEB
from bot.model import RequestMeasure
from bot.server import Services, build_services
from tests.analytics.conftest import ALEXIS, IVAR, SIRI
from tests.scheduler.world import oslo

ROOT = Path(__file__).resolve().parents[2]
HOURS, MINUTES = 3600, 60
SOFIA, EMIL = "sofia@nordlys.example", "emil.berg@nordlys.example"
CHRISTMAS = {"from": "2026-12-21", "to": "2026-12-28", "period": "range"}


def _config_with_facilities_hours(folder: Path, hours: str = "10:00-18:00") -> Path:
    """app.yaml with a calendar of Facilities' own."""
    source = (ROOT / "app.yaml").read_text()
    calendar = (f"  facilities:\n    timezone: Europe/Oslo\n    hours: \"{hours}\"\n"
                "    weekdays: [mon, tue, wed, thu, fri]\n    country: \"NO\"\n    closed: [2026-12-24, 2026-12-31]\n")
    source = source.replace("\n# Collaboration zones.", "\n" + calendar + "\n# Collaboration zones.", 1)
    source = source.replace("  - id: facilities\n    name: Facilities\n",
                            "  - id: facilities\n    name: Facilities\n    calendar: facilities\n", 1)
    path = folder / "app.yaml"
    path.write_text(source)
    for name in ("forms", "saved_replies"):
        if (ROOT / name).exists() and not (folder / name).exists():
            (folder / name).symlink_to(ROOT / name)
    return path


@dataclass
class Christmas:
    services: Services
    numbers: dict[str, int]

    async def report(self, email: str, **params: str) -> Report:
        desk = self.services.desk
        return await build_report(desk, desk.actor(email), Query.parse({**CHRISTMAS, **params}))

    async def measures(self) -> dict[str, tuple[int | None, ...]]:
        async with self.services.sessions() as session:
            rows = {r.request_id: r for r in (await session.execute(select(RequestMeasure))).scalars()}
        return {letter: (rows[n].first_response_seconds, rows[n].first_response_working_seconds,
                         rows[n].resolution_seconds, rows[n].resolution_working_seconds)
                for letter, n in self.numbers.items()}


@pytest.fixture
async def christmas(db_url: str, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Christmas]:
    services = build_services(_config_with_facilities_hours(tmp_path), db_url, clock=clock,
                              env={"ZONEDESK_SECRET_KEY": "test-secret-key-0123456789abcdef"})
    desk = services.desk

    def who(email: str) -> Actor:
        return desk.actor(email)

    async def file(title: str, requester: str) -> int:
        return (await desk.file_request(who(requester), WEB, title, zone_id="it")).number

    alexis, siri = who(ALEXIS), who(SIRI)
    n: dict[str, int] = {}
    clock.set(oslo(2026, 12, 21, 9))
    n["R"] = await file("Laptop will not start", SOFIA)
    clock.set(oslo(2026, 12, 21, 9, 20))
    await desk.reply(alexis, n["R"], "Hold the power button for ten seconds.")
    clock.set(oslo(2026, 12, 21, 12))
    await desk.set_status(alexis, n["R"], "resolved")
    clock.set(oslo(2026, 12, 21, 15))
    n["T"] = await file("Chair is broken", SOFIA)
    clock.set(oslo(2026, 12, 22, 9))
    await desk.reopen(who(SOFIA), n["R"], "It died again")
    await desk.transfer(alexis, n["T"], "facilities")
    clock.set(oslo(2026, 12, 22, 11))
    await desk.set_status(alexis, n["R"], "resolved")
    await desk.reply(siri, n["T"], "A new chair comes this afternoon.")
    clock.set(oslo(2026, 12, 22, 14))
    n["W"] = await file("Outlook asks for my password", EMIL)
    clock.set(oslo(2026, 12, 22, 15))
    await desk.reply(alexis, n["W"], "Did you change it lately?")
    clock.set(oslo(2026, 12, 22, 15, 10))
    await desk.set_status(alexis, n["W"], "waiting", reason="requester")
    clock.set(oslo(2026, 12, 22, 17))
    await desk.set_status(siri, n["T"], "resolved")
    clock.set(oslo(2026, 12, 23, 10))
    await desk.comment(who(EMIL), n["W"], "Yes, on Friday.")
    clock.set(oslo(2026, 12, 25, 11))
    n["H"] = await file("VPN drops", SOFIA)
    clock.set(oslo(2026, 12, 28, 9, 30))
    await desk.reply(alexis, n["H"], "Which network are you on?")
    clock.set(oslo(2026, 12, 28, 10))
    await desk.set_status(alexis, n["W"], "resolved")
    clock.set(oslo(2026, 12, 28, 15))
    await desk.set_status(alexis, n["H"], "resolved")
    yield Christmas(services, n)
    await services.engine.dispose()


EXPECTED = {
    "R": (20 * MINUTES, 20 * MINUTES, 26 * HOURS, 5 * HOURS),
    "W": (1 * HOURS, 1 * HOURS, 140 * HOURS, 9 * HOURS + 10 * MINUTES),
    "H": (70 * HOURS + 30 * MINUTES, 90 * MINUTES, 76 * HOURS, 7 * HOURS),
    "T": (20 * HOURS, 3 * HOURS, 26 * HOURS, 9 * HOURS),
}


async def test_each_request_is_measured_when_it_is_answered_and_resolved(christmas: Christmas) -> None:
    assert await christmas.measures() == EXPECTED


async def test_the_figures_give_working_time_beside_calendar_time(christmas: Christmas) -> None:
    it = await christmas.report(IVAR)  # R, W and H: T is Facilities' now
    first, resolved = it.first_response[0], it.resolution[0]
    # First responses: calendar [20 min, 1 h, 70 h 30 min], working [20 min, 1 h, 1 h 30 min]; the 90th
    # percentile sits 1.8 ranks up: 1 h + 0.8 x 69 h 30 min, and 1 h + 0.8 x 30 min.
    assert (first.count, first.median, first.p90) == (3, 1 * HOURS, 3600 + 200160)
    assert (first.working_median, first.working_p90) == (1 * HOURS, 3600 + 1440)
    # Resolutions: calendar [26 h, 76 h, 140 h], working [5 h, 7 h, 9 h 10 min].
    # The 90th percentiles: 76 h + 0.8 x 64 h, and 7 h + 0.8 x 2 h 10 min.
    assert (resolved.count, resolved.median, resolved.p90) == (3, 76 * HOURS, 273600 + 184320)
    assert (resolved.working_median, resolved.working_p90) == (7 * HOURS, 25200 + 6240)
    assert it.totals.first_response == first and it.total_summary().resolution_working_median == 7 * HOURS
    table = csv_table(it, "first_response").splitlines()
    assert table[0] == "from,to,requests,median_hours,p90_hours,working_median_hours,working_p90_hours"
    assert table[1] == "2026-12-21,2026-12-28,3,1.00,56.60,1.00,1.40"

    facilities = await christmas.report(SIRI)  # her team holds T now
    assert [(d.count, d.median, d.working_median) for d in facilities.first_response] == [(1, 20 * HOURS, 3 * HOURS)]
    assert [(d.count, d.median, d.working_median) for d in facilities.resolution] == [(1, 26 * HOURS, 9 * HOURS)]


async def test_a_reopened_request_is_not_resolved_until_it_is_again(christmas: Christmas, clock: FakeClock) -> None:
    desk = christmas.services.desk
    clock.set(oslo(2026, 12, 28, 15, 30))
    await desk.reopen(desk.actor(SOFIA), christmas.numbers["H"], "Still drops")
    measured = await christmas.measures()
    assert measured["H"] == (70 * HOURS + 30 * MINUTES, 90 * MINUTES, None, None)
    report = await christmas.report(IVAR)
    assert report.resolution[0].count == 2 and report.first_response[0].count == 3


async def test_a_rebuild_from_the_history_gives_the_same_measures_and_follows_a_new_calendar(
        christmas: Christmas, tmp_path: Path) -> None:
    engine = christmas.services.engine
    async with engine.begin() as conn:
        assert await conn.run_sync(lambda sync: rebuild(sync, christmas.services.config)) == 4
    assert await christmas.measures() == EXPECTED
    # Facilities now opens at 08:00: T's hours with Facilities count from then on.
    folder = tmp_path / "earlier"
    folder.mkdir()
    earlier = load_config(_config_with_facilities_hours(folder, "08:00-16:00"))
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: rebuild(sync, earlier))
    measured = await christmas.measures()
    assert measured["T"] == (20 * HOURS, 1 * HOURS + 1 * HOURS + 2 * HOURS, 26 * HOURS, 2 * HOURS + 7 * HOURS)
    assert {k: v for k, v in measured.items() if k != "T"} == {k: v for k, v in EXPECTED.items() if k != "T"}


def test_the_history_replayed_keeps_why_a_request_waits() -> None:
    """Claiming or an approval decided while the request waits on its requester leaves it waiting on her:
    still paused. An approval pauses only where the SLA rule says so."""
    from datetime import UTC, datetime

    from bot.analytics.measuring import Step, stretches

    def at(hour: int) -> datetime:
        return datetime(2026, 12, 1, hour, tzinfo=UTC)

    steps = [Step(at(9), "filed", {"zone": "it"}),
             Step(at(10), "status", {"status": "waiting", "reason": "requester"}),
             Step(at(11), "claimed", {"status": "waiting"}),
             Step(at(12), "approval_decided", {"status": "waiting"}),
             Step(at(13), "commented", {"status": "in_progress"}),
             Step(at(14), "approval_requested", {}),
             Step(at(15), "approval_decided", {"status": "in_progress"}),
             Step(at(16), "transferred", {"target": "facilities"})]
    life = stretches("it", at(9), steps, lambda zone: zone == "it")
    assert [(s.start.hour, s.end.hour if s.end else None, s.zone, s.paused) for s in life] == [
        (9, 10, "it", False), (10, 13, "it", True), (13, 14, "it", False), (14, 15, "it", True),
        (15, 16, "it", False), (16, None, "facilities", False)]
    unpaused = stretches("it", at(9), steps, lambda zone: False)
    assert [(s.start.hour, s.paused) for s in unpaused] == [(9, False), (10, True), (13, False), (16, False)]


async def test_the_report_s_percentiles_are_percentile_cont_of_the_measures(christmas: Christmas) -> None:
    """The report's first response percentiles are PostgreSQL's `percentile_cont` of the requests' measures, on
    PostgreSQL asked of the database itself, on SQLite by the same arithmetic (decision 0010)."""
    from sqlalchemy import func

    from bot.analytics.measures import continuous

    it = (await christmas.report(IVAR)).first_response[0]
    m = RequestMeasure
    numbers = [christmas.numbers[letter] for letter in "RWH"]
    columns = (m.first_response_seconds, m.first_response_working_seconds)
    async with christmas.services.sessions() as session:
        measured = (await session.execute(select(*columns).where(m.request_id.in_(numbers)))).all()
        if session.bind.dialect.name == "postgresql":
            found = [float(v) for v in (await session.execute(select(*(
                func.percentile_cont(p).within_group(column) for column in columns for p in (0.5, 0.9)))
                .where(m.request_id.in_(numbers)))).one()]
        else:
            found = [continuous(sorted(int(row[i]) for row in measured), p) for i in (0, 1) for p in (0.5, 0.9)]
    assert len(measured) == 3
    assert found == [it.median, it.p90, it.working_median, it.working_p90]
