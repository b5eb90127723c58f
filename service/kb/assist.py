"""Assist: the knowledge index of a running desk. Built once in a thread at start (the desk serves meanwhile and
suggest() raises NotReady with a reason until it is done); past replies refreshed from the database every few
minutes (refresh(), run by the desk), re-encoding only new passages."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from service.kb.faq import load_faq
from service.kb.index import DEFAULT_BLEND, Blend, BuildTimeout, KnowledgeIndex, VectorCache
from service.kb.policy_docs import load_policy_docs
from service.kb.tokens import Tokenizer
from service.kb.units import KnowledgeUnit, Suggestion
from service.logs import log_event
from service.settings import PROJECT_ROOT
from understanding.encoder import SentenceEncoder, shared_encoder

logger = logging.getLogger(__name__)
BUILD_TIMEOUT_S = 180.0  # past this the index serves BM25 alone (logged) instead of waiting for the encoder
REFRESH_EVERY_S = 600.0  # past replies are read again every 10 minutes
MAX_QUERY_CHARS = 500  # a long story is cut to its first 500 characters for the search
BUILDING, READY, FAILED = "building", "ready", "failed"


class Stopped(Exception):
    """The desk stopped while the index was being built."""


class NotReady(Exception):
    """No index yet (being built) or none at all (the build failed); str() says which, in Chinese."""


@dataclass(frozen=True)
class KnowledgeSources:
    """Where units come from: the FAQ and policy documents on disk, past replies from a callable (the database)."""

    nlu_dir: Path = PROJECT_ROOT / "data" / "nlu"
    kb_dir: Path = PROJECT_ROOT / "docs" / "kb"
    past_replies: Callable[[], list[KnowledgeUnit]] = field(default=lambda: [])

    def documents(self) -> list[KnowledgeUnit]:
        """The FAQ and policy units, read again only when a file changed (several desks in one process share)."""
        files = sorted([*self.nlu_dir.glob("*.yml"), *self.kb_dir.glob("*.md")])
        signature = (str(self.nlu_dir), str(self.kb_dir),
                     *((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files))
        with _shared_lock:
            cached = _documents.get(signature)
        if cached is None:
            cached = [*load_faq(self.nlu_dir), *load_policy_docs(self.kb_dir)]
            with _shared_lock:
                _documents.clear()
                _documents[signature] = cached
        return list(cached)


_documents: dict[tuple[object, ...], list[KnowledgeUnit]] = {}
_shared_tokenizer: Tokenizer | None = None
_shared_vectors = VectorCache()
_shared_lock = threading.Lock()


def shared_tokenizer() -> Tokenizer:
    """One jieba tokenizer with the shop's words per process (its dictionary is ~50 MB)."""
    global _shared_tokenizer
    with _shared_lock:
        if _shared_tokenizer is None:
            _shared_tokenizer = Tokenizer(PROJECT_ROOT / "data" / "jieba" / "userdict.txt")
        return _shared_tokenizer


def _lower_priority() -> None:
    """The build thread yields the CPU to the desk's requests (Linux: a thread's nice value is its own)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


class Assist:
    """Thread-safe. `encoder=None` with `rerank=False` gives BM25 alone (the bench's baseline)."""

    def __init__(self, sources: KnowledgeSources | None = None, tokenizer: Tokenizer | None = None,
                 encoder: SentenceEncoder | None = None, *, rerank: bool = True, blend: Blend = DEFAULT_BLEND,
                 build_timeout_s: float = BUILD_TIMEOUT_S, vectors: VectorCache | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._sources = sources or KnowledgeSources()
        self._tokenizer = tokenizer
        self._encoder = encoder
        self._rerank = rerank
        self._blend = blend
        self._timeout_s = build_timeout_s
        self._vectors = vectors or _shared_vectors
        self._clock = clock
        self._lock = threading.Lock()
        self._rebuild = threading.Lock()  # one build or refresh at a time
        self._stopped = threading.Event()
        self._first_build = threading.Event()
        self._index: KnowledgeIndex | None = None
        self._documents: list[KnowledgeUnit] | None = None
        self._reply_ids: tuple[str, ...] | None = None
        self._thread: threading.Thread | None = None
        self.state = BUILDING
        self.reason = "知识库索引正在建立，请稍后再试"

    # --- building -------------------------------------------------------------------------------
    def start(self) -> None:
        """Build in a daemon thread (returns at once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._build_in_background, name="assist-index", daemon=True)
            self._thread.start()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Until the first build is over, also when it has not started yet (tests, the fuzz): whether it is."""
        self._first_build.wait(timeout_s)
        return self.state != BUILDING

    def stop(self) -> None:
        """Ask a build under way to stop at its next step."""
        self._stopped.set()

    def _build_in_background(self) -> None:
        _lower_priority()
        try:
            self.build()
        except Stopped:
            return
        except Exception as exc:  # the desk goes on; assist says why it has nothing
            with self._lock:
                self.state, self.reason = FAILED, "知识库索引建立失败，请联系管理员查看坐席服务日志"
            log_event(logger, "assist_index_failed", level=logging.ERROR, error=type(exc).__name__)
        finally:
            self._first_build.set()

    def build(self) -> None:
        """Load every source and build the index now (in the caller's thread)."""
        started = self._clock()
        with self._rebuild:
            self._documents = self._sources.documents()
            replies = self._sources.past_replies()
            self._swap(self._make(self._documents, replies, started + self._timeout_s), replies)
        self._first_build.set()
        log_event(logger, "assist_index_built", units=len(self._index.units) if self._index else 0,
                  replies=len(replies), reranks=bool(self._index and self._index.reranks),
                  seconds=round(self._clock() - started, 1))

    def refresh(self) -> bool:
        """Read past replies again; rebuild when they changed, or to encode what a build past its time left out
        (whether it did). Before the first build: nothing."""
        if self._documents is None or self._stopped.is_set():
            return False
        with self._rebuild:
            replies = self._sources.past_replies()
            complete = self._index is not None and (self._index.reranks or not self._rerank)
            if complete and tuple(u.id for u in replies) == self._reply_ids:
                return False
            self._swap(self._make(self._documents, replies, self._clock() + self._timeout_s), replies)
        log_event(logger, "assist_replies_refreshed", replies=len(replies))
        return True

    def _make(self, documents: list[KnowledgeUnit], replies: list[KnowledgeUnit], deadline: float) -> KnowledgeIndex:
        units = [*documents, *replies]
        tokenizer = self._tokenizer or shared_tokenizer()
        if not self._rerank:
            return KnowledgeIndex.build(units, tokenizer, blend=self._blend)
        encoder = self._encoder or shared_encoder()
        try:
            return KnowledgeIndex.build(units, tokenizer, encoder, self._vectors, self._blend,
                                        keep_going=lambda: not self._stopped.is_set() and self._clock() < deadline)
        except BuildTimeout as exc:
            if self._stopped.is_set():
                raise Stopped() from exc
            log_event(logger, "assist_rerank_off", level=logging.WARNING, why=str(exc))
            return KnowledgeIndex.build(units, tokenizer, blend=self._blend)

    def _swap(self, index: KnowledgeIndex, replies: list[KnowledgeUnit]) -> None:
        with self._lock:
            self._index = index
            self._reply_ids = tuple(u.id for u in replies)
            self.state, self.reason = READY, ""

    # --- answering ------------------------------------------------------------------------------
    @property
    def index(self) -> KnowledgeIndex | None:
        with self._lock:
            return self._index

    def suggest(self, text: str, k: int = 3) -> list[Suggestion]:
        """The best `k` units for a customer's message; NotReady while there is no index."""
        index = self.index
        if index is None:
            raise NotReady(self.reason)
        return index.search(text[:MAX_QUERY_CHARS], k, rerank=self._rerank)
