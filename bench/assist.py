"""Agent assist's retrieval on tests/data/assist_questions.yml: top-1 and top-3 hit rate, MRR (over the first 20)
and p50/p95 search latency, for BM25 alone and for BM25 + the sentence encoder's re-rank, on the FAQ answers and
docs/kb/ (the knowledge units a fresh desk has; past replies come from a live database).

`--grid` also tries blend weights and candidate counts (how service/kb/index.py's DEFAULT_BLEND was chosen) and
prints each, with the split halves (odd/even questions) to show how much the choice depends on the questions.

Prints JSON; asserts nothing.

    python bench/assist.py [--grid] [--misses]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.kb.assist import Assist, KnowledgeSources, shared_tokenizer  # noqa: E402
from service.kb.index import DEFAULT_BLEND, KnowledgeIndex  # noqa: E402
from understanding.encoder import shared_encoder  # noqa: E402

QUESTIONS = Path(__file__).resolve().parent.parent / "tests" / "data" / "assist_questions.yml"
DEPTH = 20


def load_questions(path: Path = QUESTIONS) -> list[tuple[str, set[str]]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [(str(item["q"]), set(item["answers"])) for item in data["questions"]]


def measure(index: KnowledgeIndex, questions: list[tuple[str, set[str]]], rerank: bool,
            misses: bool = False) -> dict[str, Any]:
    top1 = top3 = 0
    reciprocal: list[float] = []
    timings: list[float] = []
    missed = []
    for text, answers in questions:
        started = time.perf_counter()
        found = index.search(text, DEPTH, rerank=rerank)
        timings.append((time.perf_counter() - started) * 1000)
        ids = [s.unit.id for s in found]
        rank = next((i + 1 for i, unit in enumerate(ids) if unit in answers), None)
        top1 += rank == 1
        top3 += rank is not None and rank <= 3
        reciprocal.append(1 / rank if rank else 0.0)
        if misses and (rank is None or rank > 3):
            missed.append({"q": text, "want": sorted(answers), "got": ids[:3], "rank": rank})
    count = len(questions)
    result: dict[str, Any] = {
        "top1": round(top1 / count, 3), "top3": round(top3 / count, 3),
        "mrr": round(statistics.fmean(reciprocal), 3),
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(sorted(timings)[max(0, int(len(timings) * 0.95) - 1)], 1)}
    if misses:
        result["misses"] = missed
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", action="store_true", help="also try blend weights and candidate counts")
    parser.add_argument("--misses", action="store_true", help="list the questions missed at top-3")
    args = parser.parse_args()
    questions = load_questions()
    started = time.perf_counter()
    assist = Assist(KnowledgeSources(), shared_tokenizer(), shared_encoder())
    assist.build()
    build_s = time.perf_counter() - started
    index = assist.index
    assert index is not None
    report: dict[str, Any] = {
        "questions": len(questions), "units": len(index.units), "passages": len(index.passages),
        "build_s_with_encoder_load": round(build_s, 1),
        "blend": asdict(DEFAULT_BLEND),
        "bm25": measure(index, questions, rerank=False, misses=args.misses),
        "bm25+encoder": measure(index, questions, rerank=True, misses=args.misses),
    }
    if args.grid:
        odd, even = questions[0::2], questions[1::2]
        grid = []
        for b in (0.3, 0.5, 0.75):
            for candidates in (10, 20, 40):
                for weight in (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0):
                    blend = replace(DEFAULT_BLEND, bm25=weight, cosine=round(1 - weight, 2), candidates=candidates, b=b)
                    tried = KnowledgeIndex(index.units, shared_tokenizer(), shared_encoder(), index.vectors, blend)
                    row: dict[str, Any] = {"b": b, "candidates": candidates, "bm25": weight, "cosine": blend.cosine}
                    for name, part in (("all", questions), ("odd", odd), ("even", even)):
                        measured = measure(tried, part, rerank=True)
                        row[name] = [measured[k] for k in ("top1", "top3", "mrr")]
                    grid.append(row)
        report["grid"] = grid
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
