"""app.yaml validation: a bad file names the file, the key path, the line and what was expected."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from bot import config as config_module
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


def test_languages_are_read_normalised_with_english_by_default(tmp_path: Path) -> None:
    assert load_config(ROOT / "app.yaml").organisation.language == "en"
    path = tmp_path / "app.yaml"
    path.write_text(SAMPLE.replace("  language: en ", "  language: nb-NO ", 1)
                    .replace("auto_close_days: 3", "auto_close_days: 3\n    language: sv_SE")
                    .replace("name: Per Holm, roles: [agent]}", "name: Per Holm, roles: [agent], language: no}"))
    config = load_config(path)
    assert config.organisation.language == "nb"
    assert config.zone("facilities").language == "sv"  # type: ignore[union-attr]
    assert config.zone("it").language is None  # type: ignore[union-attr]
    assert config.person("per.holm@nordlys.example").language == "nb"  # type: ignore[union-attr]
    assert config.person("siri.nilsen@nordlys.example").language is None  # type: ignore[union-attr]
    path.write_text(SAMPLE.replace("  language: en ", "", 1))
    assert load_config(path).organisation.language == "en"


def test_chat_channels_are_keyed_by_platform() -> None:
    config = load_config(ROOT / "app.yaml")
    assert config.intake.channels == {
        "slack": {"C0ITHELP": "it", "C0ASKHR": "hr", "C0OFFICE": "facilities"},
        "teams": {"19:ithelp@thread.tacv2": "it"},
    }
    assert config.zone("it").triage == {"slack": "C0ITTRIAGE", "teams": "19:ittriage@thread.tacv2"}  # type: ignore[union-attr]
    assert config.zone("hr").triage == {"slack": "C0HRTRIAGE"}  # type: ignore[union-attr]
    assert config.team("payroll").triage == {"slack": "C0PAYROLL"}  # type: ignore[union-attr]
    assert config.team("accounting").triage == {}  # type: ignore[union-attr]


NEW_INTAKE = """  channels:
    slack: {C0ITHELP: it, C0ASKHR: hr, C0OFFICE: facilities}
    teams: {"19:ithelp@thread.tacv2": it}"""
OLD_INTAKE = """  slack_channels: {C0ITHELP: it, C0ASKHR: hr, C0OFFICE: facilities}
  teams_channels: {"19:ithelp@thread.tacv2": it}"""


def test_the_deprecated_intake_keys_still_load_to_the_same_configuration(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert NEW_INTAKE in SAMPLE
    old = tmp_path / "app.yaml"
    old.write_text(SAMPLE.replace(NEW_INTAKE, OLD_INTAKE))
    with caplog.at_level(logging.WARNING, logger="bot.config"):
        loaded = load_config(old)
    assert loaded == load_config(ROOT / "app.yaml")
    lines = old.read_text().splitlines()
    for key in ("slack_channels", "teams_channels"):
        [warning] = [r.getMessage() for r in caplog.records if f": intake.{key}: deprecated" in r.getMessage()]
        line = int(warning.split(":")[1])
        assert lines[line - 1].strip().startswith(key), warning


def test_a_problem_under_a_deprecated_key_names_that_key_and_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "app.yaml"
    bad.write_text(SAMPLE.replace(NEW_INTAKE, OLD_INTAKE.replace("C0ASKHR: hr", "C0ASKHR: hrr")))
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    [problem] = caught.value.problems
    assert (problem.path, problem.message) == ("intake.slack_channels.C0ASKHR", "unknown zone 'hrr'")
    assert problem.line is not None and "C0ASKHR: hrr" in bad.read_text().splitlines()[problem.line - 1]


def test_both_spellings_of_one_platform_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "app.yaml"
    bad.write_text(SAMPLE.replace(NEW_INTAKE, NEW_INTAKE + "\n  slack_channels: {C0OTHER: it}"))
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    assert "intake: slack_channels is the deprecated spelling of channels.slack: keep only channels.slack" in str(
        caught.value)


def test_a_platform_without_a_channel_id_is_left_out(tmp_path: Path) -> None:
    """`teams: null` was how a zone said "no Teams channel" when the platforms were fixed keys."""
    path = tmp_path / "app.yaml"
    path.write_text(SAMPLE.replace("triage: {slack: C0HRTRIAGE}", "triage: {slack: C0HRTRIAGE, teams: null}"))
    assert load_config(path).zone("hr").triage == {"slack": "C0HRTRIAGE"}  # type: ignore[union-attr]


def test_platform_keys_are_not_checked_when_no_channel_is_installed(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(SAMPLE.replace("triage: {slack: C0HRTRIAGE}", "triage: {fax: '+4712345678'}"))
    with pytest.raises(ConfigError, match=r"zones\[2\]\.triage\.fax: unknown channel 'fax'"):
        load_config(path)
    monkeypatch.setattr(config_module, "entry_points", lambda group: [])
    assert load_config(path).zone("hr").triage == {"fax": "+4712345678"}  # type: ignore[union-attr]


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
    ("triage: {slack: C0HRTRIAGE}", "triage: {slak: C0HRTRIAGE}", "zones[2].triage.slak",
     "unknown channel 'slak' (expected one of: email, slack, teams, web)", "slak: C0HRTRIAGE"),
    ("triage: {slack: C0PAYROLL}", "triage: {teems: C0PAYROLL}", "teams[4].triage.teems",
     "unknown channel 'teems' (expected one of: email, slack, teams, web)", "teems: C0PAYROLL"),
    ('    teams: {"19:ithelp', '    msteams: {"19:ithelp', "intake.channels.msteams",
     "unknown channel 'msteams' (expected one of: email, slack, teams, web)", "msteams:"),
    ("C0ASKHR: hr,", "C0ASKHR: h-r,", "intake.channels.slack.C0ASKHR", "unknown zone 'h-r'", "C0ASKHR: h-r"),
    ("  language: en ", "  language: xx ", "organisation.language",
     "unknown language 'xx' (expected one of: en, nb, sv, nl, it, pl, de)", "language: xx"),
    ("auto_close_days: 3", "auto_close_days: 3\n    language: klingon", "zones[4].language",
     "unknown language 'klingon' (expected one of: en, nb, sv, nl, it, pl, de)", "language: klingon"),
    ("name: Per Holm, roles: [agent]}", "name: Per Holm, roles: [agent], language: fr}", "people[6].language",
     "unknown language 'fr' (expected one of: en, nb, sv, nl, it, pl, de)", "language: fr"),
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
