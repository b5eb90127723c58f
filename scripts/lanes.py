"""`python scripts/lanes.py "test-py test-fuzz" "train test-nlu"`: make targets in lanes that run side by side.

Each argument is a lane: its targets run one after another in one `make` (the first failure ends the lane), and the
lanes run at the same time, so a step that leaves a core idle (training is one thread most of the time) shares the
machine with one that does not. Every line a lane prints goes out at once, prefixed with the lane's first target.
Exit 1 when any lane failed; the lanes that did not fail still run to their end, so one run shows every failure.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass


@dataclass
class Lane:
    targets: list[str]
    code: int | None = None
    seconds: float = 0.0

    @property
    def name(self) -> str:
        return self.targets[0]


def _pump(lane: Lane, process: subprocess.Popen[bytes], out_lock: threading.Lock, started: float) -> None:
    """Print the lane's lines as they come, then note how it ended and when."""
    assert process.stdout is not None
    width = 12
    for raw in process.stdout:
        line = raw.decode("utf-8", errors="replace").rstrip("\n")
        with out_lock:
            sys.stdout.write(f"[{lane.name:<{width}}] {line}\n")
            sys.stdout.flush()
    lane.code = process.wait()
    lane.seconds = time.perf_counter() - started


def run_lanes(lanes: list[Lane], make: str) -> int:
    out_lock = threading.Lock()
    started = time.perf_counter()
    pumps: list[threading.Thread] = []
    processes: list[subprocess.Popen[bytes]] = []
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # a lane's lines as they are written, not when a buffer fills
    try:
        for lane in lanes:
            process = subprocess.Popen([make, "--no-print-directory", *lane.targets], stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
            processes.append(process)
            pump = threading.Thread(target=_pump, args=(lane, process, out_lock, started), daemon=True)
            pump.start()
            pumps.append(pump)
        for pump in pumps:
            pump.join()
    except KeyboardInterrupt:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait()
        return 130
    for lane in lanes:
        verdict = "passed" if lane.code == 0 else f"FAILED (exit {lane.code})"
        print(f"lanes: {' '.join(lane.targets)}: {verdict}, done after {lane.seconds:.0f} s", flush=True)
    return 0 if all(lane.code == 0 for lane in lanes) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lanes", nargs="+", help="one lane: make targets separated by spaces, in order")
    args = parser.parse_args()
    lanes = [Lane(spec.split()) for spec in args.lanes if spec.split()]
    if not lanes:
        parser.error("no targets given")
    return run_lanes(lanes, os.environ.get("MAKE", "make"))


if __name__ == "__main__":
    sys.exit(main())
