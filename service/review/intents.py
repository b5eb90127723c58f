"""The intents a designer may choose in the inbox, and the examples the project's training data already has.

Known intents are those of domain.yml (less the desk's EXTERNAL_ triggers) and the retrieval topics of data/nlu
(faq/<topic>, chitchat/<topic>). A name that is none of them is allowed as a new intent if it is well-formed: the
export says it still needs domain.yml and stories.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from service.errors import InvalidInput
from service.settings import PROJECT_ROOT

INTENT_NAME = re.compile(r"[a-z_][a-z0-9_/]*")
MAX_INTENT = 80
NOT_CHOOSABLE = frozenset({"nlu_fallback"})
EXTERNAL_PREFIX = "EXTERNAL_"
_ANNOTATION = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")  # [E202611010001](order_id) → E202611010001


def check_intent_name(name: object) -> str:
    """A well-formed intent name (a-z, 0-9, _ and / for a retrieval topic), trimmed; InvalidInput otherwise."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("intent", "give an intent name")
    name = name.strip()
    if len(name) > MAX_INTENT or not INTENT_NAME.fullmatch(name) or name.endswith("/") or "//" in name \
            or name.count("/") > 1:
        raise InvalidInput("intent", f"an intent name is [a-z_][a-z0-9_]* (faq/<topic> for a retrieval intent), "
                                     f"at most {MAX_INTENT} characters")
    if name in NOT_CHOOSABLE:
        raise InvalidInput("intent", "nlu_fallback is not an intent to train: choose what the customer meant")
    return name


def plain_example(example: str) -> str:
    """An example as the customer would type it: entity annotations removed, whitespace collapsed."""
    return " ".join(_ANNOTATION.sub(r"\1", example).split())


@dataclass(frozen=True)
class TrainingData:
    """What the project has: its intents and, per example text, the intent it is an example of."""

    intents: tuple[str, ...]
    examples: dict[str, str]

    def is_known(self, intent: str) -> bool:
        return intent in self.intents


def _intents_of_domain(domain: Path) -> list[str]:
    content = yaml.safe_load(domain.read_text(encoding="utf-8")) or {}
    found: list[str] = []
    for entry in content.get("intents") or ():
        name = next(iter(entry)) if isinstance(entry, dict) and entry else entry
        if isinstance(name, str) and not name.startswith(EXTERNAL_PREFIX):
            found.append(name)
    return found


def _nlu_blocks(nlu_dir: Path) -> list[dict[str, object]]:
    blocks: list[dict[str, object]] = []
    for path in sorted(nlu_dir.glob("*.yml")):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        blocks.extend(b for b in content.get("nlu") or () if isinstance(b, dict) and "intent" in b)
    return blocks


def load_training_data(root: Path = PROJECT_ROOT) -> TrainingData:
    """domain.yml and data/nlu/*.yml under `root`."""
    intents = _intents_of_domain(root / "domain.yml")
    examples: dict[str, str] = {}
    topics: list[str] = []
    for block in _nlu_blocks(root / "data" / "nlu"):
        intent = str(block["intent"])
        if "/" in intent and intent not in topics:
            topics.append(intent)
        for line in str(block.get("examples") or "").splitlines():
            line = line.strip()
            if line.startswith("- "):
                examples.setdefault(plain_example(line[2:]), intent)
    retrieval = {t.split("/")[0] for t in topics}
    return TrainingData(tuple(sorted(i for i in intents if i not in retrieval) + sorted(topics)), examples)
