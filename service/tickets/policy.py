"""The ticket policy file (ticketing.yml) as a typed, validated object."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from service.settings import PROJECT_ROOT

PRIORITIES = ("一般", "紧急", "特急")


class PolicyError(ValueError):
    """ticketing.yml is malformed; the message names the key."""


@dataclass(frozen=True)
class RoutingRule:
    department: str
    categories: frozenset[str]
    intents: frozenset[str]
    keywords: tuple[str, ...]

    def matches(self, category: str, intent: str, text: str) -> bool:
        return (
            category in self.categories
            or (bool(intent) and intent in self.intents)
            or any(word in text for word in self.keywords)
        )


@dataclass(frozen=True)
class Sla:
    first_response_hours: float
    resolution_hours: float


@dataclass(frozen=True)
class TicketPolicy:
    supervisors: dict[str, str]
    default_department: str
    routing: tuple[RoutingRule, ...]
    sla: dict[str, Sla]
    safety_words: tuple[str, ...]
    repeat_complaint_days: int
    escalation_interval_s: float
    improvement_department: str = ""  # where 改进 tasks (low ratings) go: the supervisors', whatever their text says


def _strings(value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise PolicyError(f"{key} must be a list of words")
    return value


def parse_policy(document: Any) -> TicketPolicy:
    if not isinstance(document, dict):
        raise PolicyError("ticketing.yml must be a mapping")
    departments = document.get("departments") or {}
    if not isinstance(departments, dict) or not departments:
        raise PolicyError("departments must name at least one department")
    supervisors = {str(name): str((info or {}).get("supervisor", "")) for name, info in departments.items()}
    default = document.get("default_department")
    if default not in supervisors:
        raise PolicyError("default_department must be one of departments")
    rules = []
    for index, raw in enumerate(document.get("routing") or []):
        key = f"routing[{index}]"
        if not isinstance(raw, dict) or raw.get("department") not in supervisors:
            raise PolicyError(f"{key}.department must be one of departments")
        rule = RoutingRule(raw["department"], frozenset(_strings(raw.get("categories"), f"{key}.categories")),
                           frozenset(_strings(raw.get("intents"), f"{key}.intents")),
                           tuple(_strings(raw.get("keywords"), f"{key}.keywords")))
        if not (rule.categories or rule.intents or rule.keywords):
            raise PolicyError(f"{key} needs categories, intents or keywords")
        rules.append(rule)
    sla = {}
    for priority in PRIORITIES:
        sla_raw: Any = (document.get("sla") or {}).get(priority)
        try:
            sla[priority] = Sla(float(sla_raw["first_response_hours"]), float(sla_raw["resolution_hours"]))
        except (TypeError, KeyError, ValueError) as exc:
            raise PolicyError(f"sla.{priority} needs first_response_hours and resolution_hours") from exc
        if sla[priority].first_response_hours <= 0 or sla[priority].resolution_hours <= 0:
            raise PolicyError(f"sla.{priority} hours must be positive")
    return TicketPolicy(
        supervisors=supervisors,
        default_department=default,
        routing=tuple(rules),
        sla=sla,
        safety_words=tuple(_strings(document.get("safety_words"), "safety_words")),
        repeat_complaint_days=int(document.get("repeat_complaint_days", 30)),
        escalation_interval_s=float(document.get("escalation_interval_s", 60)),
        improvement_department=_improvement_department(document, supervisors, default),
    )


def _improvement_department(document: dict[str, Any], supervisors: dict[str, str], default: str) -> str:
    department = document.get("improvement_department", default)
    if department not in supervisors:
        raise PolicyError("improvement_department must be one of departments")
    return str(department)


def load_policy(path: Path | None = None) -> TicketPolicy:
    path = path or PROJECT_ROOT / "ticketing.yml"
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(f"cannot read {path}: {exc}") from exc
    return parse_policy(document)
