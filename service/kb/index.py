"""KnowledgeIndex: BM25 (rank-bm25's Okapi BM25 over jieba tokens) finds candidates, the sentence encoder re-ranks.

Each unit is searched as several passages (its title with its answer, and each of its questions); a unit scores
its best passage, for BM25 and for the encoder's cosine alike. Search: the BM25 top `candidates` units (20) with
a score above zero, then, per candidate, `bm25 * (score / best BM25 score among the candidates) + cosine *
(best cosine of the query with the unit's passages)`, best first. The weights are the ones bench/assist.py
measured best on tests/data/assist_questions.yml (see DEFAULT_BLEND)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from rank_bm25 import BM25Okapi

from service.kb.tokens import Tokenizer
from service.kb.units import KnowledgeUnit, Suggestion
from understanding.encoder import DIMENSIONS, SentenceEncoder

ENCODE_BATCH = 32
MAX_CACHED = 50_000  # passage vectors kept (~100 MB at most)


@dataclass(frozen=True)
class Blend:
    """How candidates are found and re-ranked."""

    bm25: float = 0.4  # weight of the BM25 score over the best candidate's (0..1)
    cosine: float = 0.6  # weight of the encoder's cosine (-1..1, in practice 0.1..0.9)
    candidates: int = 20  # BM25's top units that the encoder re-ranks
    k1: float = 1.5  # BM25's term frequency saturation (rank-bm25's default)
    b: float = 0.3  # BM25's length normalisation: below the usual 0.75, as passages range from 4 to 200 characters


DEFAULT_BLEND = Blend()


class BuildTimeout(Exception):
    """The passages could not be encoded within the build's time (or the build was asked to stop)."""


class VectorCache:
    """Passage text -> its encoder vector, kept across rebuilds so a refresh encodes only new passages."""

    def __init__(self, max_entries: int = MAX_CACHED) -> None:
        self._vectors: dict[str, np.ndarray] = {}
        self._max = max_entries
        self._lock = threading.Lock()

    def vectors(self, encoder: SentenceEncoder, texts: Sequence[str],
                keep_going: Callable[[], bool] = lambda: True) -> np.ndarray:
        """The vectors of `texts` in order (n, 512); BuildTimeout when `keep_going()` turns false between batches."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        for start in range(0, len(missing), ENCODE_BATCH):
            if not keep_going():
                raise BuildTimeout(f"encoded {start} of {len(missing)} passages in time")
            batch = missing[start:start + ENCODE_BATCH]
            encoded = encoder.encode(batch)
            with self._lock:
                self._vectors.update(zip(batch, encoded, strict=True))
        with self._lock:
            found = [self._vectors[t] for t in texts]
            if len(self._vectors) > self._max:  # past replies come and go: keep what is indexed now
                wanted = set(texts)
                self._vectors = {t: v for t, v in self._vectors.items() if t in wanted}
        return np.stack(found) if found else np.zeros((0, DIMENSIONS), dtype=np.float32)


class KnowledgeIndex:
    """Immutable once built; search() is safe from several threads."""

    def __init__(self, units: Sequence[KnowledgeUnit], tokenizer: Tokenizer, encoder: SentenceEncoder | None = None,
                 vectors: np.ndarray | None = None, blend: Blend = DEFAULT_BLEND) -> None:
        self.units = list(units)
        self._tokenizer = tokenizer
        self._encoder = encoder if vectors is not None else None
        self._blend = blend
        passages: list[str] = []
        starts: list[int] = []
        for unit in self.units:
            starts.append(len(passages))
            passages.extend(unit.passages())
        self.passages = passages
        self._starts = np.asarray(starts, dtype=np.int64)
        tokenized = [tokenizer.passage_tokens(p) or ["\u2205"] for p in passages]  # BM25Okapi divides by every length
        self._bm25 = BM25Okapi(tokenized, k1=blend.k1, b=blend.b) if passages else None
        self._vectors = vectors

    @classmethod
    def build(cls, units: Sequence[KnowledgeUnit], tokenizer: Tokenizer, encoder: SentenceEncoder | None = None,
              cache: VectorCache | None = None, blend: Blend = DEFAULT_BLEND,
              keep_going: Callable[[], bool] = lambda: True) -> KnowledgeIndex:
        """The index; with an encoder, every passage encoded (BuildTimeout once `keep_going()` is false)."""
        if encoder is None:
            return cls(units, tokenizer, blend=blend)
        texts = [p for unit in units for p in unit.passages()]
        vectors = (cache or VectorCache()).vectors(encoder, texts, keep_going)
        return cls(units, tokenizer, encoder, vectors, blend)

    @property
    def vectors(self) -> np.ndarray | None:
        """The passages' encoder vectors (None without the encoder)."""
        return self._vectors

    @property
    def reranks(self) -> bool:
        return self._encoder is not None

    def search(self, query: str, k: int = 3, rerank: bool = True) -> list[Suggestion]:
        """The best `k` units for `query`; BM25 alone when `rerank` is False or there is no encoder."""
        tokens = self._tokenizer.tokens(query)
        if not tokens or self._bm25 is None:
            return []
        by_unit = np.maximum.reduceat(self._bm25.get_scores(tokens), self._starts)
        order = np.argsort(-by_unit, kind="stable")[:self._blend.candidates]
        candidates = [int(i) for i in order if by_unit[i] > 0]
        if not candidates:
            return []
        best = float(by_unit[candidates[0]])
        lexical = {i: float(by_unit[i]) / best for i in candidates}
        if not rerank or self._encoder is None or self._vectors is None:
            return [Suggestion(self.units[i], round(lexical[i], 4)) for i in candidates[:k]]
        query_vector = self._encoder.encode([query])[0]
        cosines = np.maximum.reduceat(self._vectors @ query_vector, self._starts)
        blended = {i: self._blend.bm25 * lexical[i] + self._blend.cosine * float(cosines[i]) for i in candidates}
        ranked = sorted(candidates, key=lambda i: -blended[i])
        return [Suggestion(self.units[i], round(blended[i], 4)) for i in ranked[:k]]
