"""CSV export of a form: one row per request, a column per field, neutralised cells, only what one may see."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

from bot.catalog import export_form, file_form
from bot.desk import WEB
from bot.server import Services

ROOT = Path(__file__).resolve().parents[2]


async def _file(services: Services, who: str, event: str, contact: str = "") -> int:
    actor = services.desk.actor(who)
    filed = await file_form(services.desk, services.catalog, actor, WEB, "office-event",
                            {"event-name": event, "date": "2026-12-11", "guests": "40", "catering": "on",
                             "contact": contact})
    assert not isinstance(filed, dict), filed
    return filed.number


async def test_csv_has_a_column_per_field_and_neutralises_formulas(services: Services) -> None:
    await _file(services, "zack@nordlys.example", "=HYPERLINK(\"http://evil\",\"click\")")
    await _file(services, "ida@nordlys.example", "+1 party", "ida@nordlys.example")
    await _file(services, "ola@nordlys.example", "@SUM(A1) -2", "")
    siri = services.desk.actor("siri.nilsen@nordlys.example")
    rows = list(csv.reader(io.StringIO(await export_form(services.desk, services.catalog, siri, "office-event"))))
    assert rows[0] == ["request", "title", "requester", "filed_at", "Name of the event", "Date", "Number of guests",
                       "We need food and drinks", "Contact on the day"]
    assert [r[4] for r in rows[1:]] == ["'=HYPERLINK(\"http://evil\",\"click\")", "'+1 party", "'@SUM(A1) -2"]
    assert rows[1][5:] == ["11 December 2026", "40", "Yes", ""]


async def test_csv_cells_read_as_the_page_shows_them(services: Services) -> None:
    """Option labels rather than their values, Yes/No, dates in words, whole numbers without '.0'."""
    zack = services.desk.actor("zack@nordlys.example")
    filed = await file_form(services.desk, services.catalog, zack, WEB, "software-access",
                            {"application": "figma", "access-level": "editor", "needed-by": "2026-12-06",
                             "reason": "=cmd|' /C calc'!A0 for the design review"})
    assert not isinstance(filed, dict), filed
    await _file(services, "ida@nordlys.example", "Quiet lunch")  # catering ticked
    await file_form(services.desk, services.catalog, zack, WEB, "office-event",
                    {"event-name": "No food", "date": "2027-01-05", "guests": "12"})
    alexis = services.desk.actor("alexis.baker@nordlys.example")
    rows = list(csv.reader(io.StringIO(await export_form(services.desk, services.catalog, alexis,
                                                         "software-access"))))
    assert rows[0][4:] == ["Application", "Access level", "Why do you need it?", "Needed by"]
    assert rows[1][1] == "Access to Figma"
    assert rows[1][4:] == ["Figma", "editor", "'=cmd|' /C calc'!A0 for the design review", "6 December 2026"]
    siri = services.desk.actor("siri.nilsen@nordlys.example")
    events = list(csv.reader(io.StringIO(await export_form(services.desk, services.catalog, siri, "office-event"))))
    assert [r[5:8] for r in events[1:]] == [["11 December 2026", "40", "Yes"], ["5 January 2027", "12", "No"]]


async def test_export_holds_only_what_the_caller_may_see(services: Services) -> None:
    mine = await _file(services, "zack@nordlys.example", "Zack's party")
    await _file(services, "ida@nordlys.example", "Ida's party")
    zack = services.desk.actor("zack@nordlys.example")
    alexis = services.desk.actor("alexis.baker@nordlys.example")  # IT: Facilities is closed to IT
    assert len(list(csv.reader(io.StringIO(await export_form(services.desk, services.catalog, alexis,
                                                             "office-event"))))) == 1
    # A requester is not a reader of the zone: the export is for staff, so it holds nothing for them.
    assert mine and len(list(csv.reader(io.StringIO(await export_form(services.desk, services.catalog, zack,
                                                                      "office-event"))))) == 1


def test_cli_export_writes_the_file(tmp_path: Path) -> None:
    env = {**os.environ, "ZONEDESK_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/z.db",
           "ZONEDESK_SECRET_KEY": "cli-test-secret-key-0123456789"}
    out = tmp_path / "events.csv"
    done = subprocess.run([sys.executable, "-m", "bot.cli", "export-form", "office-event", "--since", "2026-01-01",
                           "--output", str(out), "--config", str(ROOT / "app.yaml")], capture_output=True, text=True,
                          env=env, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert out.read_text().startswith("request,title,requester,filed_at,Name of the event")
    bad = subprocess.run([sys.executable, "-m", "bot.cli", "export-form", "no-such-form", "--config",
                          str(ROOT / "app.yaml")], capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert bad.returncode != 0 and "There is no form 'no-such-form'" in bad.stderr
