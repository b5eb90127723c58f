"""An export batch: the reviewed inbox items as a Rasa NLU training file (version "3.1"), ready for data/nlu/.

Examples are deduplicated (the same text twice is one example; the same text under two intents keeps the latest
verdict), texts already in the project's data/nlu are left out (Rasa refuses an example listed twice), and an intent
the project does not know yet is said to need domain.yml and stories, in a YAML comment. The texts were masked when
they were collected; here they are also made safe for Rasa's example syntax (no [entity](annotation), one line).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import yaml

from service.review.inbox import InboxItem
from service.review.intents import TrainingData, plain_example

FILENAME_PREFIX = "review_"


@dataclass(frozen=True)
class Export:
    batch: str
    text: str  # the YAML file
    item_ids: tuple[int, ...]  # every item the batch covers (also those left out as duplicates)
    examples: int
    intents: tuple[str, ...]
    new_intents: tuple[str, ...]
    skipped_known: int  # already in data/nlu
    conflicts: int  # the same text reviewed as two intents: the latest verdict kept

    @property
    def filename(self) -> str:
        return f"{FILENAME_PREFIX}{self.batch}.yml"


def batch_name(moment: datetime) -> str:
    return moment.strftime("%Y%m%d-%H%M%S")


def example_text(text: str) -> str:
    """One line, no control characters, brackets that Rasa would read as an entity annotation made full-width."""
    cleaned = "".join(" " if unicodedata.category(c)[0] in "CZ" and c != " " else c for c in text)
    cleaned = cleaned.replace("[", "［").replace("]", "］").replace("{", "｛").replace("}", "｝")
    return " ".join(cleaned.split())


def render_export(items: Sequence[InboxItem], training: TrainingData, batch: str, at: datetime) -> Export:
    """The file for `items` (oldest verdict first: a later one for the same text wins)."""
    chosen: dict[str, str] = {}
    conflicts = skipped = 0
    for item in items:
        intent = item.training_intent
        text = example_text(item.text)
        if not intent or not text:
            continue
        if plain_example(text) in training.examples:
            skipped += 1
            continue
        if text in chosen and chosen[text] != intent:
            conflicts += 1
            del chosen[text]  # re-inserted below, so the order says which verdict was last
        chosen[text] = intent
    by_intent: dict[str, list[str]] = {}
    for text, intent in chosen.items():
        by_intent.setdefault(intent, []).append(text)
    intents = tuple(sorted(by_intent))
    new = tuple(i for i in intents if not training.is_known(i))
    lines = [f"# 会话审阅导出的训练数据 · 批次 {batch} · {at:%Y-%m-%d %H:%M} (CST)",
             f"# {len(chosen)} 条示例，{len(intents)} 个意图；文本已脱敏（手机号、证件号、地址、姓名）。",
             "# 放入 data/nlu/ 后运行 make validate 再训练。"]
    if skipped:
        lines.append(f"# 另有 {skipped} 条已在 data/nlu/ 中，未重复导出。")
    if conflicts:
        lines.append(f"# {conflicts} 条文本被标注为不同意图，保留了最后一次的结论。")
    for intent in new:
        lines.append(f"# 新意图 {intent}：需要先在 domain.yml 中登记（并补充回复），再写 stories/rules，否则无法通过校验。")
    lines += ['version: "3.1"', "nlu:" if intents else "nlu: []"]
    for intent in intents:
        if intent in new:
            lines.append(f"# 新意图：{intent}（需要 domain.yml 和 stories）")
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {text}" for text in by_intent[intent]]
    content = "\n".join(lines) + "\n"
    yaml.safe_load(content)  # a file Rasa cannot read must never go out
    return Export(batch, content, tuple(item.id for item in items), len(chosen), intents, new, skipped, conflicts)
