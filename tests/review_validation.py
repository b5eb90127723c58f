"""`make validate`'s checks (scripts/validate_data.py) on a copy of the project with an exported NLU file in data/nlu/,
and on the same copy without it, side by side (about 25 s for both): the export must add no problem. When the
project's own data is clean (as it is between changes), that is the whole run passing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from service.settings import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "scripts" / "validate_data.py"


@dataclass(frozen=True)
class Validation:
    returncode: int
    problems: list[str]
    output: str


def _copy(target: Path) -> Path:
    target.mkdir(parents=True)
    for name in ("config.yml", "domain.yml"):
        shutil.copy(PROJECT_ROOT / name, target / name)
    shutil.copytree(PROJECT_ROOT / "data", target / "data")
    return target


def _finished(run: subprocess.Popen[str]) -> Validation:
    output, _ = run.communicate(timeout=300)
    problems = [line for line in output.splitlines() if line.startswith("WARNING ")]
    assert "validated:" in output, output[-3000:]
    return Validation(run.returncode, problems, output)


def validate_export(filename: str, text: str, work: Path) -> tuple[Validation, Validation]:
    """(the project copy with the export, the copy without it)."""
    with_export, baseline = _copy(work / "with_export"), _copy(work / "baseline")
    (with_export / "data" / "nlu" / filename).write_text(text, encoding="utf-8")
    runs = [subprocess.Popen([sys.executable, str(SCRIPT), "--project", str(project)], cwd=project, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for project in (with_export, baseline)]
    return _finished(runs[0]), _finished(runs[1])


def assert_export_validates(filename: str, text: str, work: Path) -> None:
    exported, baseline = validate_export(filename, text, work)
    added = [problem for problem in exported.problems if problem not in baseline.problems]
    assert added == [], exported.output[-3000:]
    assert exported.returncode == 0 or baseline.returncode != 0, exported.output[-3000:]
