"""Fail when the intent macro-F1 of a `rasa test nlu` report is below a threshold.

    python scripts/nlu_gate.py results/nlu/intent_report.json --min-macro-f1 0.93
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--min-macro-f1", type=float, required=True)
    args = parser.parse_args(argv)
    report = json.loads(args.report.read_text(encoding="utf-8"))
    macro = float(report["macro avg"]["f1-score"])
    weak = sorted(
        (name, values["f1-score"], values["support"])
        for name, values in report.items()
        if isinstance(values, dict) and "support" in values and name not in ("macro avg", "weighted avg", "micro avg")
        and values["f1-score"] < args.min_macro_f1
    )
    for name, f1, support in weak:
        print(f"  below the bar: {name:22s} F1 {f1:.3f} (n={support})")
    verdict = "ok" if macro >= args.min_macro_f1 else "FAILED"
    print(f"intent macro-F1 {macro:.4f} (required ≥ {args.min_macro_f1}): {verdict}")
    return 0 if macro >= args.min_macro_f1 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
