"""Capacity of the scaled topology: sustained turns/s at p95 ≤ 300 ms, for 2 Rasa servers and then 1.

Starts the scaled topology (scripts/scaled.py: action server, two Rasa servers, two desks, nginx, on the
machine's PostgreSQL, Redis and RabbitMQ; its own database, Redis prefix and queue, dropped afterwards),
then steps up the number of concurrent customers of bench/load_driver.py (the widget's socket.io
channel through nginx; each customer pauses --think-ms ±50% before a message, like a person reading and
typing, and opens a new conversation every 5 turns) until the reply p95 goes over 300 ms or more than 1% of
the turns fail. Then it kills one Rasa server and does the same for one.

For every step it reads utime+stime of each process from /proc/<pid>/stat before and after and prints the
CPU seconds per answered turn per process; the load driver's own CPU is shown too (it shares the cores).
Prints a table, then JSON. Bounded: --budget-s (default 330 s) for the whole run, start-up included.

    python bench/load.py [--think-ms 1000] [--step-s 12] [--steps 4,8,16,24,32,48,64] [--budget-s 330]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load_driver import LoadResult, run_load, scripted_customers  # noqa: E402
from scripts.scaled import Ports, Topology  # noqa: E402

P95_LIMIT_MS = 300.0
MAX_ERROR_SHARE = 0.01
TURNS_PER_SESSION = 5
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PROCESSES = ("nginx", "rasa1", "rasa2", "actions", "desk1", "desk2")


def _stat(pid: int | str) -> list[str] | None:
    """The fields of /proc/<pid>/stat after "pid (comm)": state is [0], session [3], utime [11], stime [12]."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()


def session_members(leaders: Mapping[str, int]) -> dict[str, list[int]]:
    """Every process of each leader's session: scripts/scaled.py starts each process in a session of its own, and
    nginx's workers (or anything else a process starts) do the work there."""
    by_session = {pid: name for name, pid in leaders.items()}
    members: dict[str, list[int]] = {name: [] for name in leaders}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(entry.name)) is not None:
            name = by_session.get(int(fields[3]))
            if name is not None:
                members[name].append(int(entry.name))
    return members


def cpu_of(pids: Mapping[str, Sequence[int]]) -> dict[str, float]:
    """utime + stime summed over each name's processes, in seconds (processes gone meanwhile count no more)."""
    totals: dict[str, float] = {}
    for name, numbers in pids.items():
        ticks = [int(f[11]) + int(f[12]) for f in (_stat(pid) for pid in numbers) if f is not None]
        if ticks:
            totals[name] = sum(ticks) / CLOCK_TICKS
    return totals


def own_cpu() -> float:
    times = os.times()
    return times.user + times.system


@dataclass(frozen=True)
class Step:
    servers: int
    customers: int
    result: LoadResult
    cpu_per_turn: dict[str, float]  # CPU seconds per answered turn, by process

    @property
    def p95(self) -> float | None:
        return self.result.p(0.95)

    @property
    def failed_share(self) -> float:
        total = len(self.result.turns) + self.result.connect_errors
        return (len(self.result.errors) + self.result.connect_errors) / total if total else 1.0

    @property
    def within_target(self) -> bool:
        return self.p95 is not None and self.p95 <= P95_LIMIT_MS and self.failed_share <= MAX_ERROR_SHARE


async def measure_step(topology: Topology, servers: int, customers: int, think_s: float,
                       step_s: float) -> Step:
    pids = session_members({name: pid for name, pid in topology.status().items() if pid is not None})
    before, driver_before = cpu_of(pids), own_cpu()
    turns = int(step_s / max(think_s, 0.05)) + 10  # more than fit in the step: it ends by its deadline
    result = await run_load(topology.url, scripted_customers(customers, turns, turns_per_session=TURNS_PER_SESSION),
                            think_s=think_s, run_timeout_s=step_s)
    after, driver_after = cpu_of(pids), own_cpu()
    answered = max(1, len(result.answered))
    per_turn = {name: (after[name] - before[name]) / answered for name in after if name in before}
    per_turn["load driver"] = (driver_after - driver_before) / answered
    return Step(servers, customers, result, per_turn)


async def curve(topology: Topology, servers: int, steps: Sequence[int], think_s: float, step_s: float,
                deadline: float) -> list[Step]:
    await run_load(topology.url, scripted_customers(4, 5), run_timeout_s=20)  # warm up: first turns load things
    measured: list[Step] = []
    for customers in steps:
        if time.monotonic() + step_s + 15 > deadline:
            print(f"  ({servers} server(s): stopped before {customers} customers, time budget)", flush=True)
            break
        step = await measure_step(topology, servers, customers, think_s, step_s)
        measured.append(step)
        summary = step.result.summary()
        print(f"  {servers} server(s), {customers:3d} customers: {summary['turns_per_s']:6.1f} turns/s, "
              f"p50 {summary['p50_ms']} ms, p95 {summary['p95_ms']} ms, errors {summary['errors']}", flush=True)
        if not step.within_target:
            break
    return measured


def table(steps: Sequence[Step]) -> str:
    names = [n for n in (*PROCESSES, "load driver") if any(n in s.cpu_per_turn for s in steps)]
    head = ["servers", "customers", "turns/s", "p50 ms", "p95 ms", "errors", *[f"{n} ms-cpu/turn" for n in names]]
    rows = [head]
    for s in steps:
        summary = s.result.summary()
        rows.append([str(s.servers), str(s.customers), f"{summary['turns_per_s']:.1f}", str(summary["p50_ms"]),
                     str(summary["p95_ms"]), str(summary["errors"]),
                     *[f"{s.cpu_per_turn[n] * 1000:.1f}" if n in s.cpu_per_turn else "-" for n in names]])
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return "\n".join("  ".join(cell.rjust(w) for cell, w in zip(r, widths, strict=True)) for r in rows)


def sustained(steps: Sequence[Step], servers: int) -> dict[str, Any]:
    """The best step within p95 ≤ 300 ms (and ≤ 1% errors) for that many servers."""
    good = [s for s in steps if s.servers == servers and s.within_target]
    if not good:
        return {"servers": servers, "turns_per_s": None}
    best = max(good, key=lambda s: s.result.turns_per_s)
    total_cpu = sum(v for k, v in best.cpu_per_turn.items())
    return {"servers": servers, "customers": best.customers, "turns_per_s": round(best.result.turns_per_s, 1),
            "p95_ms": round(best.p95 or 0, 1), "errors": len(best.result.errors) + best.result.connect_errors,
            "cpu_s_per_turn": {k: round(v, 4) for k, v in best.cpu_per_turn.items()},
            "cpu_s_per_turn_total": round(total_cpu, 4),
            "cores_busy_at_that_rate": round(total_cpu * best.result.turns_per_s, 2)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--think-ms", type=float, default=1000)
    parser.add_argument("--step-s", type=float, default=12)
    parser.add_argument("--steps", default="4,8,16,24,32,48,64")
    parser.add_argument("--budget-s", type=float, default=330)
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.budget_s
    steps = [int(n) for n in args.steps.split(",") if n.strip()]
    think_s = args.think_ms / 1000
    measured: list[Step] = []
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        tag = f"{os.getpid()}{int(time.time()) % 100000}"
        topology = Topology(work=Path(tmp), ports=Ports.free(), database=f"xiaozhi_bench_{tag}", prefix=f"benchload{tag}",
                            queue=f"xiaozhi_bench_{tag}", drop_on_down=True)
        try:
            topology.up(timeout_s=min(240, max(60, deadline - time.monotonic() - 60)))
            print(f"topology up in {args.budget_s - (deadline - time.monotonic()):.0f} s; nginx at {topology.url}",
                  flush=True)
            measured += asyncio.run(curve(topology, 2, steps, think_s, args.step_s, deadline))
            topology.kill("rasa2")  # one server left behind nginx
            measured += asyncio.run(curve(topology, 1, steps, think_s, args.step_s, deadline))
        finally:
            topology.down()
    print()
    print(table(measured))
    print()
    figures = {"think_ms": args.think_ms, "step_s": args.step_s, "turns_per_session": TURNS_PER_SESSION,
               "cores": os.cpu_count(), "sustained": [sustained(measured, 2), sustained(measured, 1)],
               "steps": [{"servers": s.servers, **s.result.summary(),
                          "cpu_ms_per_turn": {k: round(v * 1000, 2) for k, v in s.cpu_per_turn.items()}}
                         for s in measured]}
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
