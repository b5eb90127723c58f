"""handoff.yml as a typed, validated object."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml

from service.settings import PROJECT_ROOT

PRIORITY_URGENT = 0  # 特急 tickets, complaints and VIP customers go first
PRIORITY_NORMAL = 1


class HandoffConfigError(ValueError):
    """handoff.yml is malformed; the message names the key."""


@dataclass(frozen=True)
class HandoffConfig:
    start: time
    end: time
    groups: dict[str, frozenset[str]]
    default_group: str
    department_groups: dict[str, frozenset[str]]
    always_human_intents: frozenset[str]
    avg_handle_minutes: float
    max_wait_minutes: float
    default_capacity: int

    def group_for(self, intent: str) -> str:
        for group, intents in self.groups.items():
            if intent in intents:
                return group
        return self.default_group

    def groups_of(self, skill_groups: str, department: str) -> frozenset[str]:
        """An agent's skill groups: their account's list, else their department's default."""
        listed = frozenset(g.strip() for g in skill_groups.split(",") if g.strip() in self.groups)
        return listed or self.department_groups.get(department, frozenset({self.default_group}))

    def is_working_time(self, moment: datetime) -> bool:
        return self.start <= moment.time() < self.end

    def next_opening(self, moment: datetime) -> datetime:
        """When agents are next at work (now, if they are)."""
        if self.is_working_time(moment):
            return moment
        opening = datetime.combine(moment.date(), self.start)
        return opening if moment < opening else opening + timedelta(days=1)


def _time(value: Any, key: str) -> time:
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except ValueError as exc:
        raise HandoffConfigError(f"{key} must look like 09:00") from exc


def parse_config(document: Any) -> HandoffConfig:
    if not isinstance(document, dict):
        raise HandoffConfigError("handoff.yml must be a mapping")
    hours = document.get("working_hours") or {}
    groups_raw = document.get("groups") or {}
    if not isinstance(groups_raw, dict) or not groups_raw:
        raise HandoffConfigError("groups must name at least one skill group")
    groups = {str(g): frozenset(map(str, intents or [])) for g, intents in groups_raw.items()}
    default = document.get("default_group")
    if default not in groups:
        raise HandoffConfigError("default_group must be one of groups")
    numbers = {}
    for key, fallback in (("avg_handle_minutes", 3), ("max_wait_minutes", 10), ("default_capacity", 3)):
        try:
            numbers[key] = float(document.get(key, fallback))
        except (TypeError, ValueError) as exc:
            raise HandoffConfigError(f"{key} must be a number") from exc
        if numbers[key] <= 0:
            raise HandoffConfigError(f"{key} must be positive")
    return HandoffConfig(
        start=_time(hours.get("start", "09:00"), "working_hours.start"),
        end=_time(hours.get("end", "22:00"), "working_hours.end"),
        groups=groups,
        default_group=default,
        department_groups={str(d): frozenset(map(str, g or [])) for d, g in (document.get("department_groups") or {}).items()},
        always_human_intents=_intents(document.get("always_human_intents"), "always_human_intents"),
        avg_handle_minutes=numbers["avg_handle_minutes"],
        max_wait_minutes=numbers["max_wait_minutes"],
        default_capacity=int(numbers["default_capacity"]),
    )


def _intents(raw: Any, key: str) -> frozenset[str]:
    if raw is None:
        return frozenset()
    if not isinstance(raw, list) or not all(isinstance(i, str) and i for i in raw):
        raise HandoffConfigError(f"{key} must be a list of intent names")
    if any(i.startswith("EXTERNAL_") for i in raw):
        raise HandoffConfigError(f"{key} cannot hold EXTERNAL_ intents: the desk sends those")
    return frozenset(raw)


def load_config(path: Path | None = None) -> HandoffConfig:
    path = path or PROJECT_ROOT / "handoff.yml"
    try:
        return parse_config(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise HandoffConfigError(f"cannot read {path}: {exc}") from exc
