"""`zonedesk check`: app.yaml, forms/ and saved_replies/ validated together, every problem listed in one run."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from bot.config import load_config

ROOT = Path(__file__).resolve().parent.parent


def _check(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", "check", "--config", str(folder / "app.yaml")],
                          capture_output=True, text=True, timeout=60)


def _copy(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "app.yaml", tmp_path / "app.yaml")
    shutil.copytree(ROOT / "forms", tmp_path / "forms")
    shutil.copytree(ROOT / "saved_replies", tmp_path / "saved_replies")
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _break_forms_and_replies(folder: Path) -> tuple[Path, Path]:
    """A form with a misspelt zone and an unknown field type, one naming another zone's team, a broken template."""
    form = folder / "forms" / "office-event.yaml"
    _edit(form, "zone: facilities", "zone: facilites")
    _edit(form, "type: checkbox", "type: tickbox")
    payroll = folder / "forms" / "payroll-error.yaml"
    _edit(payroll, "team: payroll", "team: accounting-x")
    (folder / "saved_replies" / "broken.md.j2").write_text("---\ntitle: Broken\n---\n{% if %}\n")
    return form, payroll


def test_the_shipped_configuration_says_what_it_checked() -> None:
    done = _check(ROOT)
    config = load_config(ROOT / "app.yaml")
    forms = len(list((ROOT / "forms").glob("*.yaml")))
    replies = len([p for p in (ROOT / "saved_replies").iterdir() if p.is_file() and not p.name.startswith(".")])
    assert done.returncode == 0, done.stderr
    assert done.stdout == (f"checked {ROOT / 'app.yaml'} ({len(config.zones)} zones, {len(config.teams)} teams), "
                           f"{forms} forms, {replies} saved replies: no problems\n")


def test_every_problem_of_forms_and_replies_is_listed_with_file_and_field(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    form, payroll = _break_forms_and_replies(folder)
    done = _check(folder)
    assert done.returncode == 1 and done.stdout == ""
    err = done.stderr
    assert f"{form}:" in err and "fields[3].type: expected 'short_text'" in err
    assert f"{payroll}:" in err and "team: 'accounting-x' is not a team of zone 'finance'" in err
    assert "broken.md.j2" in err and "template error" in err
    assert err.rstrip().endswith("5 forms, 4 saved replies: 3 problems found")


def test_forms_are_checked_against_an_app_yaml_whose_references_are_wrong(tmp_path: Path) -> None:
    """Issue 16 #14: a wrong reference in app.yaml no longer hides the forms' problems until it is fixed."""
    folder = _copy(tmp_path)
    _edit(folder / "app.yaml", "dispatcher_zone: front-desk", "dispatcher_zone: it")
    _, payroll = _break_forms_and_replies(folder)
    software = folder / "forms" / "software-access.yaml"
    _edit(software, "zone: it", "zone: itt")
    err = _check(folder).stderr
    assert "intake.dispatcher_zone: 'it' is not a zone whose kind is 'dispatcher' (expected one of: front-desk)" in err
    assert f"{payroll}:" in err and "team: 'accounting-x' is not a team of zone 'finance'" in err
    assert f"{software}:7: zone: unknown zone 'itt' (expected one of: " in err
    assert "broken.md.j2" in err
    assert "(5 zones, 7 teams), 5 forms, 4 saved replies: 5 problems found" in err


def test_forms_own_problems_are_listed_when_app_yaml_cannot_be_read(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    _edit(folder / "app.yaml", "intake:\n", "intake:\n  unroted: ask\n")  # a misspelt key: the schema fails
    form, _ = _break_forms_and_replies(folder)
    done = _check(folder)
    err = done.stderr
    assert done.returncode == 1
    assert "intake.unroted: unknown key" in err
    assert f"{form}:" in err and "fields[3].type: expected 'short_text'" in err
    assert "broken.md.j2" in err and "template error" in err
    assert "forms and saved replies were checked on their own" in err
    assert f"checked {folder / 'app.yaml'}, 5 forms, 4 saved replies: 3 problems found" in err


def test_an_unknown_dispatcher_zone_lists_the_dispatcher_zones(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    _edit(folder / "app.yaml", "dispatcher_zone: front-desk", "dispatcher_zone: frontdesk")
    done = _check(folder)
    assert done.returncode == 1
    assert "intake.dispatcher_zone: unknown zone 'frontdesk' (expected one of: front-desk)" in done.stderr
    assert done.stderr.rstrip().endswith("1 problem found")


def test_a_missing_app_yaml_is_one_problem_not_a_crash(tmp_path: Path) -> None:
    done = _check(tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "cannot read the file" in done.stderr
    assert done.stderr.rstrip().endswith(f"checked {tmp_path / 'app.yaml'}, 0 forms, 0 saved replies: 1 problem found")
