"""Build the project's small Chinese spaCy pipeline from its own lookup data.

blank `zh` with the jieba segmenter (and the project's jieba user dictionary), plus an
`entity_ruler` whose patterns come from data/lookups/*.yml: one entity label per lookup
table (product, brand, color, size, carrier, city). Nothing is downloaded.

The patterns are token patterns, segmented here with the user dictionary loaded. Phrase
patterns would be re-segmented when the model loads, which inside Rasa happens before the
JiebaTokenizer has loaded the dictionary, so "蓝牙耳机X1" would no longer match.

    python scripts/build_spacy_model.py [--out models/spacy_zh]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
LOOKUPS = ROOT / "data" / "lookups"
USERDICT_DIR = ROOT / "data" / "jieba"


def read_lookups(folder: Path = LOOKUPS) -> dict[str, list[str]]:
    """{table name: entries} from Rasa NLU lookup files."""
    tables: dict[str, list[str]] = {}
    for path in sorted(folder.glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in document.get("nlu", []):
            name = block.get("lookup")
            if not name:
                continue
            entries = [line[2:].strip() for line in str(block.get("examples", "")).splitlines()
                       if line.strip().startswith("- ")]
            tables.setdefault(name, []).extend(e for e in entries if e)
    return tables


def load_userdict() -> None:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    for path in sorted(USERDICT_DIR.glob("*")):
        jieba.load_userdict(str(path))


def build(out: Path) -> int:
    import spacy

    load_userdict()
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    ruler = nlp.add_pipe("entity_ruler", config={"overwrite_ents": True})
    patterns = []
    seen = set()
    for label, entries in read_lookups().items():
        for entry in dict.fromkeys(entries):
            tokens = tuple(t.lower_ for t in nlp.make_doc(entry) if not t.is_space)
            if tokens and (label, tokens) not in seen:
                seen.add((label, tokens))
                patterns.append({"label": label, "pattern": [{"LOWER": t} for t in tokens]})
    ruler.add_patterns(patterns)  # type: ignore[attr-defined]
    out.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(out)
    return len(patterns)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "models" / "spacy_zh")
    args = parser.parse_args(argv)
    count = build(args.out)
    print(f"spaCy pipeline with {count} entity patterns written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
