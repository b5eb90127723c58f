"""FAQ units: each `utter_faq/<topic>` response of data/nlu/*.yml with the examples of `faq/<topic>` as questions."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from service.kb.units import KnowledgeUnit, Source

RESPONSE_PREFIX = "utter_faq/"
INTENT_PREFIX = "faq/"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")  # [新疆](city) / [新疆]{"entity": ...} → 新疆


def example_text(line: str) -> str:
    """An NLU example without its entity annotations."""
    return _ANNOTATION.sub(r"\1", line).strip()


def _examples(block: Any) -> list[str]:
    if not isinstance(block, str):
        return []
    lines = (line.strip() for line in block.splitlines())
    return [example_text(line[2:]) for line in lines if line.startswith("- ")]


def faq_units(documents: Iterable[dict[str, Any]]) -> list[KnowledgeUnit]:
    """Units from parsed Rasa data files: answers from `responses`, questions from `nlu` (pure)."""
    answers: dict[str, str] = {}
    questions: dict[str, list[str]] = {}
    for document in documents:
        for name, variants in (document.get("responses") or {}).items():
            if str(name).startswith(RESPONSE_PREFIX) and variants and isinstance(variants[0], dict):
                answers.setdefault(str(name)[len(RESPONSE_PREFIX):], str(variants[0].get("text") or ""))
        for item in document.get("nlu") or []:
            intent = str(item.get("intent") or "") if isinstance(item, dict) else ""
            if intent.startswith(INTENT_PREFIX):
                questions.setdefault(intent[len(INTENT_PREFIX):], []).extend(_examples(item.get("examples")))
    units = []
    for topic, answer in answers.items():
        if not answer.strip():
            continue
        asked = list(dict.fromkeys(q for q in questions.get(topic, []) if q))
        title = asked[0] if asked else topic
        units.append(KnowledgeUnit(f"faq/{topic}", Source.FAQ, title, answer.strip(), tuple(asked)))
    return units


def load_faq(nlu_dir: Path) -> list[KnowledgeUnit]:
    """The FAQ units of every data file in `nlu_dir` (data/nlu)."""
    documents = []
    for path in sorted(nlu_dir.glob("*.yml")):
        text = path.read_text(encoding="utf-8")
        if INTENT_PREFIX not in text and RESPONSE_PREFIX not in text:
            continue  # no FAQ in it: not parsed (PyYAML is slow on the big NLU files)
        loaded = yaml.load(text, Loader=_LOADER)
        if isinstance(loaded, dict):
            documents.append(loaded)
    return faq_units(documents)
