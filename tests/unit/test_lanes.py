"""scripts/lanes.py: make targets in lanes side by side; every lane's lines shown, a failed lane fails the run."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from scripts.lanes import Lane, run_lanes

FAKE_MAKE = """#!/bin/sh
# a stand-in for make: prints each target it is asked for; a target named fail-* fails, as make stops there
shift  # --no-print-directory
for target in "$@"; do
  echo "made $target"
  case "$target" in fail-*) exit 2;; esac
done
"""


@pytest.fixture()
def make(tmp_path: Path) -> str:
    path = tmp_path / "make"
    path.write_text(FAKE_MAKE, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_every_lane_runs_its_targets_in_order_and_its_lines_are_named(make: str, capsys: pytest.CaptureFixture[str]) -> None:
    lanes = [Lane(["test-py", "test-fuzz"]), Lane(["train", "test-nlu"])]
    assert run_lanes(lanes, make) == 0
    out = capsys.readouterr().out.splitlines()
    checks = [line for line in out if line.startswith("[test-py")]
    assert checks == ["[test-py     ] made test-py", "[test-py     ] made test-fuzz"]
    assert [line for line in out if line.startswith("[train")] == ["[train       ] made train", "[train       ] made test-nlu"]
    assert all(lane.code == 0 for lane in lanes)


def test_a_failed_lane_fails_the_run_and_the_other_lane_still_ends(make: str, capsys: pytest.CaptureFixture[str]) -> None:
    lanes = [Lane(["fail-py", "test-fuzz"]), Lane(["train", "test-nlu"])]
    assert run_lanes(lanes, make) == 1
    out = capsys.readouterr().out
    assert "made test-fuzz" not in out  # the lane stops at its first failure
    assert "made test-nlu" in out
    assert "lanes: fail-py test-fuzz: FAILED (exit 2)" in out
