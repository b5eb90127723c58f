"""Measure intent accuracy on ../shared/eval/real_utterances.yml (real customer text).

For measuring only: the set is never used for training. Its masks ([订单x], [电话x], ...)
stand for real values and are replaced by plausible ones before parsing; its label
"other" (things this bot does not do) counts as out_of_scope, and any faq/<topic> as faq.

    python scripts/eval_nlu.py --model models/xiaozhi.tar.gz [--eval ../shared/eval/real_utterances.yml]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import yaml

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the model names project components (handoff.policy.HandoffPolicy)
DEFAULT_EVAL = ROOT.parent / "shared" / "eval" / "real_utterances.yml"
MASK_VALUES = {
    "订单": "E202611010001", "数字": "2", "地址": "杭州市西湖区文三路100号", "电话": "13912345678",
    "姓名": "王芳", "链接": "https://item.example.com/100", "金额": "299", "日期": "11月20日",
    "时间": "10:30", "站点": "小智优选",
}
LABEL_MAP = {"other": "out_of_scope"}
MASK = re.compile(r"\[(?P<kind>[^\[\]x]+)x\]")


def unmask(text: str) -> str:
    return MASK.sub(lambda m: MASK_VALUES.get(m.group("kind"), m.group("kind")), text)


async def predict(model: Path, texts: list[str]) -> list[str]:
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # no debug line per parsed message
    agent = Agent.load(str(model))
    predictions = []
    for text in texts:
        parsed = await agent.parse_message(text)
        predictions.append(str(parsed["intent"]["name"]).split("/")[0])
    return predictions


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "xiaozhi.tar.gz")
    parser.add_argument("--eval", type=Path, default=DEFAULT_EVAL)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "eval.json")
    args = parser.parse_args(argv)
    if not args.eval.exists():
        print(f"no evaluation set at {args.eval}", file=sys.stderr)
        return 1
    logging.disable(logging.WARNING)
    examples = yaml.safe_load(args.eval.read_text(encoding="utf-8"))["examples"]
    gold = [LABEL_MAP.get(e["intent"], e["intent"]) for e in examples]
    predicted = asyncio.run(predict(args.model, [unmask(e["text"]) for e in examples]))

    per_intent: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    confusions: Counter[tuple[str, str]] = Counter()
    for g, p in zip(gold, predicted, strict=True):
        per_intent[g][1] += 1
        if g == p:
            per_intent[g][0] += 1
        else:
            confusions[(g, p)] += 1
    correct = sum(c for c, _ in per_intent.values())
    print(f"{'intent':22s} {'acc':>6s}  n")
    for intent in sorted(per_intent):
        ok, n = per_intent[intent]
        print(f"{intent:22s} {ok / n:6.1%}  {n}")
    macro = sum(ok / n for ok, n in per_intent.values()) / len(per_intent)
    print(f"{'overall':22s} {correct / len(gold):6.1%}  {len(gold)}   (mean of per-intent accuracy {macro:.1%})")
    fallbacks = sum(1 for g, p in zip(gold, predicted, strict=True) if g != p and p == "nlu_fallback")
    wrong = len(gold) - correct - fallbacks
    print(f"not understood (the bot asks again, with topic buttons): {fallbacks / len(gold):.1%}; "
          f"understood as something else: {wrong / len(gold):.1%}")
    print("most frequent confusions (gold → predicted):")
    for (g, p), count in confusions.most_common(10):
        print(f"  {g} → {p}: {count}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "accuracy": correct / len(gold), "mean_per_intent_accuracy": macro,
        "fallback_rate": fallbacks / len(gold), "wrong_rate": wrong / len(gold),
        "per_intent": {k: {"correct": v[0], "n": v[1]} for k, v in sorted(per_intent.items())},
        "confusions": [{"gold": g, "predicted": p, "count": c} for (g, p), c in confusions.most_common()],
    }, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
