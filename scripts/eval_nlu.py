"""Measure intent accuracy on ../shared/eval/real_utterances.yml (real customer text).

For measuring only: the set is never used for training. Its masks ([订单x], [电话x], ...)
stand for real values and are replaced by plausible ones before parsing; its label
"other" (things this bot does not do) counts as out_of_scope, and any faq/<topic> as faq.

It also counts who reaches a person on a single message: the gold complaints that do (top intent
complaint, or HandoffPolicy's single-message signal: complaint confidence at the threshold, or !!!),
and the other messages (not complaint, not request_human) that are sent to one by a top intent
complaint or the confidence signal; at config.yml's complaint_confidence and at a few others.

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
from typing import Any

import yaml

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the model names project components (handoff.policy.HandoffPolicy)
DEFAULT_EVAL = ROOT.parent / "shared" / "eval" / "real_utterances.yml"
POLICY_NAME = "handoff.policy.HandoffPolicy"
THRESHOLDS = (0.25, 0.3, 0.35, 0.4, 0.5)
MASK_VALUES = {
    "订单": "E202611010001", "数字": "2", "地址": "杭州市西湖区文三路100号", "电话": "13912345678",
    "姓名": "王芳", "链接": "https://item.example.com/100", "金额": "299", "日期": "11月20日",
    "时间": "10:30", "站点": "小智优选",
}
LABEL_MAP = {"other": "out_of_scope"}
MASK = re.compile(r"\[(?P<kind>[^\[\]x]+)x\]")


def unmask(text: str) -> str:
    return MASK.sub(lambda m: MASK_VALUES.get(m.group("kind"), m.group("kind")), text)


async def parse(model: Path, texts: list[str]) -> list[dict[str, Any]]:
    """The model's NLU result for each text (intent, intent_ranking, text, ...)."""
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # no debug line per parsed message
    agent = Agent.load(str(model))
    return [await agent.parse_message(text) for text in texts]


def intent_of(parsed: dict[str, Any]) -> str:
    return str(parsed["intent"]["name"]).split("/")[0]


def policy_config(config_file: Path) -> dict[str, Any]:
    """HandoffPolicy's config as the model gets it: its defaults under config.yml's entry."""
    from handoff.policy import HandoffPolicy

    policies = yaml.safe_load(config_file.read_text(encoding="utf-8")).get("policies") or []
    entry = next((p for p in policies if p.get("name") == POLICY_NAME), None)
    if entry is None:
        raise SystemExit(f"no {POLICY_NAME} under policies in {config_file}")
    return {**HandoffPolicy.get_default_config(), **entry}


def reaching_a_person(gold: list[str], parsed: list[dict[str, Any]], complaint_confidence: float) -> dict[str, Any]:
    """Who reaches a person on a single message, by route (each message counted once, under its first route).

    Gold complaints reach one by a top intent complaint or HandoffPolicy's single-message signal
    (`reads_unhappy`: complaint confidence at the threshold, or !!!); a complaint read as request_human
    reaches one through that flow and is counted beside them. Other gold (not complaint, not
    request_human) is sent to one by a top intent complaint or the confidence signal
    (`reads_as_complaint`); !!! is counted beside them.
    """
    from handoff.policy import COMPLAINT, EscalationSettings, reads_as_complaint, reads_unhappy, top_intent

    settings = EscalationSettings(complaint_confidence=complaint_confidence)

    def route(p: dict[str, Any]) -> str:
        if top_intent(p) in (COMPLAINT, "request_human"):
            return top_intent(p)
        if reads_as_complaint(p, settings):
            return "confidence"
        return "exclamations" if reads_unhappy(p, settings) else "none"

    complaints: Counter[str] = Counter()
    others: Counter[str] = Counter()
    others_by_gold: Counter[str] = Counter()
    for g, p in zip(gold, parsed, strict=True):
        if g == COMPLAINT:
            complaints[route(p)] += 1
        elif g != "request_human":
            how = route(p)
            others[how] += 1
            if how in (COMPLAINT, "confidence"):
                others_by_gold[g] += 1
    return {
        "complaint_confidence": complaint_confidence,
        "complaints": {"n": sum(complaints.values()),
                       "reach": complaints[COMPLAINT] + complaints["confidence"] + complaints["exclamations"],
                       "by_top_intent": complaints[COMPLAINT], "by_confidence": complaints["confidence"],
                       "by_exclamations": complaints["exclamations"],
                       "read_as_request_human_too": complaints["request_human"]},
        "others": {"n": sum(others.values()), "sent": others[COMPLAINT] + others["confidence"],
                   "by_top_intent": others[COMPLAINT], "by_confidence": others["confidence"],
                   "by_exclamations_too": others["exclamations"], "sent_by_gold": dict(others_by_gold.most_common())},
    }


def print_handoff(configured: dict[str, Any], table: list[dict[str, Any]]) -> None:
    c, o = configured["complaints"], configured["others"]
    print(f"who reaches a person on one message (complaint_confidence {configured['complaint_confidence']} "
          f"from config.yml):")
    print(f"  complaints: {c['reach']}/{c['n']} (top intent {c['by_top_intent']}, confidence {c['by_confidence']}, "
          f"!!! {c['by_exclamations']}); read as request_human besides: {c['read_as_request_human_too']}")
    print(f"  others (not complaint, not request_human): {o['sent']}/{o['n']} sent to a person (top intent complaint "
          f"{o['by_top_intent']}, confidence {o['by_confidence']}); by !!! besides: {o['by_exclamations_too']}")
    if o["sent_by_gold"]:
        print("    from gold: " + ", ".join(f"{g} {n}" for g, n in o["sent_by_gold"].items()))
    print(f"  {'threshold':>9s}  {'complaints (by confidence)':>26s}  {'others sent (by confidence)':>27s}")
    for row in table:
        c, o = row["complaints"], row["others"]
        reached, sent = f"{c['reach']}/{c['n']} ({c['by_confidence']})", f"{o['sent']}/{o['n']} ({o['by_confidence']})"
        print(f"  {row['complaint_confidence']:9.2f}  {reached:>26s}  {sent:>27s}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "xiaozhi.tar.gz")
    parser.add_argument("--eval", type=Path, default=DEFAULT_EVAL)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "eval.json")
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml", help="where HandoffPolicy's threshold is")
    args = parser.parse_args(argv)
    if not args.eval.exists():
        print(f"no evaluation set at {args.eval}", file=sys.stderr)
        return 1
    logging.disable(logging.WARNING)
    examples = yaml.safe_load(args.eval.read_text(encoding="utf-8"))["examples"]
    gold = [LABEL_MAP.get(e["intent"], e["intent"]) for e in examples]
    threshold = float(policy_config(args.config)["complaint_confidence"])
    parsed = asyncio.run(parse(args.model, [unmask(e["text"]) for e in examples]))
    predicted = [intent_of(p) for p in parsed]

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
    handoff = reaching_a_person(gold, parsed, threshold)
    by_threshold = [reaching_a_person(gold, parsed, t) for t in THRESHOLDS]
    print_handoff(handoff, by_threshold)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "accuracy": correct / len(gold), "mean_per_intent_accuracy": macro,
        "fallback_rate": fallbacks / len(gold), "wrong_rate": wrong / len(gold),
        "per_intent": {k: {"correct": v[0], "n": v[1]} for k, v in sorted(per_intent.items())},
        "confusions": [{"gold": g, "predicted": p, "count": c} for (g, p), c in confusions.most_common()],
        "reach_a_person": {**handoff, "by_threshold": [
            {"complaint_confidence": r["complaint_confidence"], "complaints": r["complaints"]["reach"],
             "complaints_by_confidence": r["complaints"]["by_confidence"], "others_sent": r["others"]["sent"],
             "others_by_confidence": r["others"]["by_confidence"]} for r in by_threshold]},
    }, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
