"""NLU parse time of one or more trained models, in the same run, on the held-out texts (tests/nlu).

Each model is loaded in turn and parses every text once to warm up, then --rounds times one by one
(as the Rasa server parses: one message at a time on its event loop). Prints JSON per model:
parse p50/p95/mean in ms and the ratio of each model's p50 to the first model's.

    python bench/nlu.py models/xiaozhi.tar.gz [other.tar.gz ...] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the models name project components


def texts() -> list[str]:
    from rasa.shared.nlu.training_data.loading import load_data

    return [str(m.get("text")) for m in load_data(str(ROOT / "tests" / "nlu")).intent_examples]


async def timings(model: Path, sample: list[str], rounds: int) -> list[float]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    for text in sample:
        await agent.parse_message(text)
    spent = []
    for _ in range(rounds):
        for text in sample:
            start = time.perf_counter()
            await agent.parse_message(text)
            spent.append((time.perf_counter() - start) * 1000)
    return spent


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    sample = texts()
    results: list[dict[str, float | str]] = []
    first_p50 = 0.0
    for model in args.models:
        spent = sorted(asyncio.run(timings(model, sample, args.rounds)))
        p50 = statistics.median(spent)
        first_p50 = first_p50 or p50
        results.append({"model": str(model), "parses": len(spent), "p50_ms": round(p50, 2),
                        "p95_ms": round(spent[int(len(spent) * 0.95)], 2), "mean_ms": round(statistics.fmean(spent), 2),
                        "p50_vs_first": round(p50 / first_p50, 2)})
    print(json.dumps(results, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
