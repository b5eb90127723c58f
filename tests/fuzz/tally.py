"""Requests counted on the desk's side, per OpenAPI operation and per identity, and the verdict (pure functions)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

OTHER_METHOD = "(method not in the document)"
NO_ROUTE = "(path not in the document)"


@dataclass(frozen=True)
class Hit:
    """One answered request: who sent it (the run's label), method, raw path, status."""

    run: str
    method: str
    path: str
    status: int


@dataclass(frozen=True)
class Operation:
    method: str
    template: str

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.template}"


def operations(spec: Mapping[str, Any]) -> list[Operation]:
    return [Operation(method, template) for template, methods in spec["paths"].items() for method in methods
            if method in ("get", "put", "post", "delete", "patch")]


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts) + "/?")


@dataclass
class Tally:
    """Hits grouped by the operation they reached (by path template and method, as the document names them)."""

    ops: list[Operation]
    by_op: dict[str, Counter[tuple[str, int]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # literal paths first, so /api/handoff/queue is not taken for /api/handoff/sessions/{session_id}-like ones
        self._templates = sorted({op.template for op in self.ops}, key=lambda t: (t.count("{"), -len(t)))
        self._patterns = {t: _pattern(t) for t in self._templates}
        self._methods = {t: {op.method for op in self.ops if op.template == t} for t in self._templates}

    def key(self, method: str, path: str) -> str:
        for template in self._templates:
            if self._patterns[template].fullmatch(path):
                if method.lower() in self._methods[template]:
                    return str(Operation(method.lower(), template))
                return OTHER_METHOD
        return NO_ROUTE

    def add(self, hits: Iterable[Hit]) -> None:
        for hit in hits:
            self.by_op.setdefault(self.key(hit.method, hit.path), Counter())[(hit.run, hit.status)] += 1

    def add_dropped(self, run: str, dropped: Mapping[str, int]) -> None:
        """Requests a driver sent that got no answer (status 0): the desk closed the connection."""
        for key, n in dropped.items():
            self.by_op.setdefault(key, Counter())[(run, 0)] += n

    def runs(self) -> set[str]:
        return {run for counts in self.by_op.values() for run, _status in counts}

    def total(self, key: str) -> int:
        return sum(self.by_op.get(key, Counter()).values())

    def server_errors(self) -> dict[str, int]:
        return {key: n for key, counts in self.by_op.items()
                if (n := sum(v for (_run, status), v in counts.items() if status >= 500))}

    def short(self, quota: int) -> dict[str, int]:
        """Operations with fewer than `quota` requests."""
        return {str(op): self.total(str(op)) for op in self.ops if self.total(str(op)) < quota}

    def table(self, runs: list[str]) -> str:
        keys = [str(op) for op in self.ops] + [k for k in (OTHER_METHOD, NO_ROUTE) if k in self.by_op]
        width = max(len(k) for k in keys)
        head = f"{'operation':<{width}}  " + "  ".join(f"{r:>10}" for r in runs) + f"  {'total':>7}  {'2xx':>6}" \
               f"  {'4xx':>6}  {'5xx':>4}  {'no answer':>9}"
        lines = [head, "-" * len(head)]
        for key in keys:
            counts = self.by_op.get(key, Counter())
            per_run = Counter[str]()
            for (run, _status), n in counts.items():
                per_run[run] += n
            by_class = Counter[int]()
            for (_run, status), n in counts.items():
                by_class[status // 100] += n
            lines.append(f"{key:<{width}}  " + "  ".join(f"{per_run[r]:>10}" for r in runs)
                         + f"  {sum(counts.values()):>7}  {by_class[2]:>6}  {by_class[4]:>6}  {by_class[5]:>4}"
                         f"  {by_class[0]:>9}")
        total = sum(sum(c.values()) for c in self.by_op.values())
        lines.append("-" * len(head))
        lines.append(f"{'all requests':<{width}}  " + "  ".join(
            f"{sum(n for c in self.by_op.values() for (run, _s), n in c.items() if run == r):>10}" for r in runs)
            + f"  {total:>7}")
        return "\n".join(lines)
