"""The 质检 rules file (qa_rules.yml) as a typed, validated object; read once when the desk starts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from service.settings import PROJECT_ROOT

DEFAULT_PATH = PROJECT_ROOT / "qa_rules.yml"
MAX_SECONDS = 86_400
END_REASONS = ("agent_ended", "customer_left")


class QaRulesError(ValueError):
    """qa_rules.yml is malformed; the message names the file and the key."""


@dataclass(frozen=True)
class QaRules:
    first_reply_seconds: int
    forbidden_phrases: tuple[str, ...]
    anger_intents: frozenset[str]
    anger_marks: tuple[str, ...]
    anger_words: tuple[str, ...]
    summary_required: bool
    summary_except_end_reasons: frozenset[str]


def _words(value: Any, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise QaRulesError(f"{key} must be a list of non-empty words")
    return tuple(v.strip() for v in value)


def _mapping(value: Any, key: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise QaRulesError(f"{key} must be a mapping")
    return value


def parse_rules(document: Any) -> QaRules:
    if not isinstance(document, dict):
        raise QaRulesError("qa_rules.yml must be a mapping")
    known = {"first_reply_seconds", "forbidden_phrases", "anger", "ended_without_summary"}
    unknown = sorted(set(document) - known)
    if unknown:
        raise QaRulesError(f"unknown key {unknown[0]!r}; known: {', '.join(sorted(known))}")
    seconds = document.get("first_reply_seconds", 30)
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 1 <= seconds <= MAX_SECONDS:
        raise QaRulesError(f"first_reply_seconds must be a whole number of seconds, 1 to {MAX_SECONDS}")
    anger = _mapping(document.get("anger"), "anger")
    for key in sorted(set(anger) - {"intents", "marks", "words"}):
        raise QaRulesError(f"anger.{key} is not a key; known: intents, marks, words")
    summary = _mapping(document.get("ended_without_summary"), "ended_without_summary")
    for key in sorted(set(summary) - {"enabled", "except_end_reasons"}):
        raise QaRulesError(f"ended_without_summary.{key} is not a key; known: enabled, except_end_reasons")
    enabled = summary.get("enabled", True)
    if not isinstance(enabled, bool):
        raise QaRulesError("ended_without_summary.enabled must be true or false")
    excepted = _words(summary.get("except_end_reasons"), "ended_without_summary.except_end_reasons")
    for reason in excepted:
        if reason not in END_REASONS:
            raise QaRulesError(f"ended_without_summary.except_end_reasons: {reason!r} is not one of "
                               f"{', '.join(END_REASONS)}")
    return QaRules(
        first_reply_seconds=seconds,
        forbidden_phrases=_words(document.get("forbidden_phrases"), "forbidden_phrases"),
        anger_intents=frozenset(_words(anger.get("intents"), "anger.intents")),
        anger_marks=tuple(m.replace("！", "!").replace("？", "?") for m in _words(anger.get("marks"), "anger.marks")),
        anger_words=_words(anger.get("words"), "anger.words"),
        summary_required=enabled,
        summary_except_end_reasons=frozenset(excepted),
    )


def load_rules(path: Path | None = None) -> QaRules:
    path = path or DEFAULT_PATH
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise QaRulesError(f"cannot read {path}: {exc}") from exc
    try:
        return parse_rules(document)
    except QaRulesError as exc:
        raise QaRulesError(f"{path.name}: {exc}") from exc
