"""Training examples as real customers dress them: a greeting in front, a particle or thanks behind.

Customers rarely write 「查物流」; they write 「你好 查下物流」, 「在吗，我的快递到哪了啊」, 「退货谢谢」. The
examples of `data/nlu` are mostly bare, so the classifier learns the greeting as a hint of greet and the
thanks as a hint of thank. Each example gets `copies` dressed variants, drawn from a seeded generator so
the same data gives the same model. Greetings, thanks and goodbyes are left bare: dressing them would
blur exactly the words that define them.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

OPENINGS = ("你好", "您好，", "请问", "在吗 ", "亲，", "你好 请问", "hi ", "客服 ")
CLOSINGS = ("？", "谢谢", " 谢谢", "啊", "呢", "哈")
UNDRESSED = frozenset({"greet", "goodbye", "thank"})
TRAILING_MARKS = "？?。.!！~"


def dressed(texts: Sequence[str], labels: Sequence[str], copies: int = 1,
            seed: int = 42) -> tuple[list[str], list[str]]:
    """`texts` and `labels` followed by up to `copies` dressed variants of each example (none twice)."""
    rng = random.Random(seed)
    out_texts, out_labels = list(texts), list(labels)
    seen = set(texts)
    for text, label in zip(texts, labels, strict=True):
        if label in UNDRESSED:
            continue
        for _ in range(copies):
            variant = text
            if rng.random() < 0.6:
                variant = rng.choice(OPENINGS) + variant
            if rng.random() < 0.4:
                variant = variant.rstrip(TRAILING_MARKS) + rng.choice(CLOSINGS)
            if variant not in seen:
                seen.add(variant)
                out_texts.append(variant)
                out_labels.append(label)
    return out_texts, out_labels
