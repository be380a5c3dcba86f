"""`/analytics` gives first response and resolution times in working time beside calendar time, and its help
says what counts as a first response and which pauses are left out; the CSV carries both."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from bot.desk import WEB
from bot.server import Services
from tests.scheduler.world import oslo
from tests.web.conftest import IT_AGENT, IT_AGENT_2, REQUESTER, Browser


async def test_times_in_working_time_beside_calendar_time(browsers: Callable[[], Browser],
                                                          web_services: Services) -> None:
    desk, clock = web_services.desk, web_services.clock
    clock.set(oslo(2026, 11, 24, 15, 30))  # half an hour before IT's working day ends
    number = (await desk.file_request(desk.actor(REQUESTER), WEB, "Laptop fan is loud", zone_id="it")).number
    clock.set(oslo(2026, 11, 25, 8, 30))  # the next morning: 17 h later, of which 1 h of working time
    await desk.reply(desk.actor(IT_AGENT), number, "Cleaning the fan fixes it.")
    clock.set(oslo(2026, 11, 25, 9, 30))
    await desk.set_status(desk.actor(IT_AGENT), number, "waiting", reason="requester")
    clock.set(oslo(2026, 11, 26, 9, 30))  # a day waiting on him: left out of working time
    await desk.comment(desk.actor(REQUESTER), number, "Still loud.")
    clock.set(oslo(2026, 11, 26, 10))
    await desk.set_status(desk.actor(IT_AGENT), number, "resolved")

    ivar = browsers()
    await ivar.sign_in(IT_AGENT_2)
    page = await ivar.get("/analytics?from=2026-11-23&to=2026-11-29&period=range")
    assert page.status == 200
    assert "Internal notes, claiming and status changes are no response." in page.text
    assert "waiting on the requester, waiting on an approval where its SLA rule says so, and resolved" in page.text
    assert "Calendar time counts every hour from filing" in page.text
    # First response: 30 min + 30 min working, 17 h calendar. Resolution: 30 min + 1 h 30 min + 30 min working,
    # 42 h 30 min calendar.
    section = page.html.split('<section id="first_response">')[1].split("</section>")[0]
    assert "Working time" in section and "Calendar time" in section
    assert "<td>1 h</td><td>1 h</td><td>17 h</td><td>17 h</td>" in section
    section = page.html.split('<section id="resolution">')[1].split("</section>")[0]
    assert "<td>2 h 30 min</td><td>2 h 30 min</td><td>42 h 30 min</td><td>42 h 30 min</td>" in section

    async with ivar.http.get(f"{ivar.base}/analytics.csv?from=2026-11-23&to=2026-11-29&period=range"
                             "&table=resolution") as response:
        rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert [(r["median_hours"], r["working_median_hours"]) for r in rows] == [("42.50", "2.50")]
