"""handoff.yml as a typed, validated object."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml

from handoff.queueing import Overflow
from handoff.timetable import ALL_DAYS, DayRule, Hours, Timetable
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
    group_hours: dict[str, Hours] = field(default_factory=dict)  # groups that name none keep working_hours
    holidays: tuple[DayRule, ...] = ()
    overflow: dict[str, Overflow] = field(default_factory=dict)

    @property
    def hours(self) -> Hours:
        """working_hours: every day, the default of groups that name none."""
        return Hours(self.start, self.end)

    def timetable(self) -> Timetable:
        """handoff.yml's own timetable (no desk overrides, no shifts)."""
        return Timetable(self.hours, dict(self.group_hours), self.holidays)

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
        group_hours=_group_hours(document.get("group_hours"), groups),
        holidays=_holidays(document.get("holidays"), groups),
        overflow=_overflow(document.get("overflow"), groups),
    )


def _days(raw: Any, key: str) -> frozenset[int]:
    if raw is None:
        return ALL_DAYS
    if not isinstance(raw, list) or not raw or not all(isinstance(d, int) and 1 <= d <= 7 for d in raw):
        raise HandoffConfigError(f"{key} must be a list of weekdays 1 (周一) to 7 (周日)")
    return frozenset(raw)


def _hours(raw: Any, key: str) -> Hours:
    if not isinstance(raw, dict):
        raise HandoffConfigError(f"{key} must be a mapping with start and end")
    start, end = _time(raw.get("start"), f"{key}.start"), _time(raw.get("end"), f"{key}.end")
    # an end at or before the start runs past midnight: the same time is 24 hours
    return Hours(start, end, _days(raw.get("days"), f"{key}.days"))


def _group_hours(raw: Any, groups: dict[str, frozenset[str]]) -> dict[str, Hours]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise HandoffConfigError("group_hours must map skill groups to hours")
    unknown = [str(g) for g in raw if g not in groups]
    if unknown:
        raise HandoffConfigError(f"group_hours names unknown skill groups: {', '.join(unknown)}")
    return {str(g): _hours(h, f"group_hours.{g}") for g, h in raw.items()}


def _holidays(raw: Any, groups: dict[str, frozenset[str]]) -> tuple[DayRule, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise HandoffConfigError("holidays must be a list of {date, closed | start and end, group?, note?}")
    rules = []
    for n, item in enumerate(raw):
        key = f"holidays[{n}]"
        if not isinstance(item, dict):
            raise HandoffConfigError(f"{key} must be a mapping")
        try:
            day = item["date"] if isinstance(item.get("date"), date) else date.fromisoformat(str(item.get("date")))
        except ValueError as exc:
            raise HandoffConfigError(f"{key}.date must look like 2027-01-01") from exc
        group = item.get("group")
        if group is not None and group not in groups:
            raise HandoffConfigError(f"{key}.group must be one of groups")
        if "start" in item or "end" in item:
            hours = _hours(item, key)
            rules.append(DayRule(day, group, False, hours.start, hours.end, str(item.get("note") or "")))
        else:
            rules.append(DayRule(day, group, True, note=str(item.get("note") or "")))
    return tuple(rules)


def _overflow(raw: Any, groups: dict[str, frozenset[str]]) -> dict[str, Overflow]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise HandoffConfigError("overflow must map skill groups to {to, after_seconds}")
    result = {}
    for group, rule in raw.items():
        key = f"overflow.{group}"
        if group not in groups or not isinstance(rule, dict):
            raise HandoffConfigError(f"{key}: a skill group mapped to {{to, after_seconds}}")
        target, after = rule.get("to"), rule.get("after_seconds")
        if target not in groups or target == group:
            raise HandoffConfigError(f"{key}.to must be another skill group")
        if isinstance(after, bool) or not isinstance(after, (int, float)) or after < 0:
            raise HandoffConfigError(f"{key}.after_seconds must be a number of seconds")
        result[str(group)] = Overflow(str(target), float(after))
    return result


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
