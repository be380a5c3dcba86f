"""`zonedesk check`: app.yaml, forms/ and saved_replies/ validated together, every problem listed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _check(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", "check", "--config", str(folder / "app.yaml")],
                          capture_output=True, text=True, timeout=60)


def test_the_shipped_configuration_is_valid() -> None:
    done = _check(ROOT)
    assert done.returncode == 0 and "configuration is valid" in done.stdout


def test_every_problem_is_listed_with_file_and_field(tmp_path: Path) -> None:
    for name in ("app.yaml",):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "forms", tmp_path / "forms")
    shutil.copytree(ROOT / "saved_replies", tmp_path / "saved_replies")
    form = tmp_path / "forms" / "office-event.yaml"
    form.write_text(form.read_text().replace("zone: facilities", "zone: facilites")
                    .replace("type: checkbox", "type: tickbox"))
    payroll = tmp_path / "forms" / "payroll-error.yaml"
    payroll.write_text(payroll.read_text().replace("team: payroll", "team: accounting-x"))
    (tmp_path / "saved_replies" / "broken.md.j2").write_text("---\ntitle: Broken\n---\n{% if %}\n")
    done = _check(tmp_path)
    assert done.returncode == 1
    err = done.stderr
    assert f"{form}:" in err and "fields[3].type: expected 'short_text'" in err
    assert f"{payroll}:" in err and "team: 'accounting-x' is not a team of zone 'finance'" in err
    assert "broken.md.j2" in err and "template error" in err
    assert "3 problem(s) found" in err
