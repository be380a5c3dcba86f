"""app.yaml validation: a bad file names the file, the key path, the line and what was expected."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = (ROOT / "app.yaml").read_text()


def test_the_shipped_company_is_valid() -> None:
    config = load_config(ROOT / "app.yaml")
    assert [z.name for z in config.zones] == ["Front desk", "IT", "HR", "Finance", "Facilities"]
    assert config.zone("front-desk").kind == "dispatcher"  # type: ignore[union-attr]
    assert config.zone("it").visible_to == ("front-desk",)  # type: ignore[union-attr]
    assert config.team("employee-relations").private  # type: ignore[union-attr]
    assert {t.id for t in config.teams_in("finance")} == {"payroll", "accounting"}


# (text in the sample, its bad replacement, key path reported, message, text on the reported line)
BAD = [
    ("visible_to: [front-desk]", "visible_to: [front-dsk]", "zones[1].visible_to[0]", "unknown zone 'front-dsk'",
     "front-dsk"),
    ("kind: dispatcher", "kind: dispatch", "zones[0].kind", "expected 'standard' or 'dispatcher'", "kind: dispatch"),
    ("zone: finance\n    members: [erika", "zone: finanse\n    members: [erika", "teams[4].zone",
     "unknown zone 'finanse'", "zone: finanse"),
    ("{email: per.holm@nordlys.example,", "{email: per.holm-at-nordlys,", "people[6].email",
     "is not valid here (expected an e-mail address)", "per.holm-at-nordlys"),
    ("auto_close_days: 3", "auto_close_days: 3\n    autoclose: 3", "zones[4].autoclose", "unknown key",
     "autoclose: 3"),
    ('hours: "08:00-16:00"', 'hours: "16:00-08:00"', "calendars.default.hours", "must come after its start",
     "16:00-08:00"),
    ("outage: high ", "outage: urgent ", "priority.floors.outage", "is not one of the levels", "outage: urgent"),
    ("members: [olav.strand@nordlys.example]\n", "members: [nobody@nordlys.example]\n",
     "teams[3].members[0]", "'nobody@nordlys.example' is not listed under people", "nobody@nordlys.example"),
]


@pytest.mark.parametrize(("old", "new", "path", "message", "on_line"), BAD, ids=[b[2] for b in BAD])
def test_bad_file_names_file_key_line_and_expectation(tmp_path: Path, old: str, new: str, path: str,
                                                      message: str, on_line: str) -> None:
    assert old in SAMPLE, old
    bad = tmp_path / "app.yaml"
    bad.write_text(SAMPLE.replace(old, new, 1))
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    text = str(caught.value)
    assert f": {path}: " in text and message in text, text
    line = next(p.line for p in caught.value.problems if p.path == path)
    assert line is not None and on_line in bad.read_text().splitlines()[line - 1], line


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    bad = tmp_path / "app.yaml"
    bad.write_text(SAMPLE.replace("kind: dispatcher", "kind: nope").replace("transfer_to: [hr]", "transfer_to: [x]"))
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    assert len(caught.value.problems) >= 1
    bad.write_text(SAMPLE.replace("transfer_to: [hr]", "transfer_to: [x]").replace("tasks_to: [hr]", "tasks_to: [y]"))
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    assert {p.path for p in caught.value.problems} == {"zones[3].transfer_to[0]", "zones[3].tasks_to[0]"}


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "app.yaml"
    bad.write_text("zones:\n  - id: it\n    name: [unclosed\n")
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    assert "not valid YAML" in str(caught.value) and caught.value.problems[0].line is not None


def test_serve_with_a_bad_file_exits_non_zero_with_the_message(tmp_path: Path) -> None:
    bad = tmp_path / "app.yaml"
    bad.write_text(SAMPLE.replace("visible_to: [front-desk]", "visible_to: [nowhere]"))
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve", "--config", str(bad), "--port", "0"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "ZONEDESK_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/z.db",
             "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode != 0
    assert f"{bad}:" in done.stderr and "zones[1].visible_to[0]: unknown zone 'nowhere'" in done.stderr
    assert not (tmp_path / "z.db").exists(), "nothing is created when the configuration is bad"
