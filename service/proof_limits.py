"""How often a proof may be tried: rows of attempts counted in sliding windows, shared by every process.

Subjects (a phone, an order, a conversation) are stored as keyed hashes, never in the clear.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine

from service.clock import Clock
from service.identity_schema import proof_attempts as A

KEEP = timedelta(days=2)  # older attempts matter to no window


@dataclass(frozen=True)
class Window:
    span: timedelta
    limit: int


def subject_key(key: bytes, kind: str, subject: str) -> str:
    return hmac.new(key, f"{kind}\x1f{subject}".encode(), hashlib.sha256).hexdigest()


class ProofLimits:
    def __init__(self, engine: Engine, clock: Clock, key: bytes) -> None:
        self._engine = engine
        self._clock = clock
        self._key = key

    def retry_after_s(self, kind: str, subject: str, windows: Sequence[Window]) -> int:
        """0 when one more attempt is allowed, else the seconds until the fullest window has room."""
        now = self._clock.now()
        hashed = subject_key(self._key, kind, subject)
        longest = max(w.span for w in windows)
        with self._engine.connect() as conn:
            times = [row.at for row in conn.execute(
                select(A.c.at).where(A.c.kind == kind, A.c.subject == hashed, A.c.at > now - longest)
                .order_by(A.c.at.desc()))]
        wait = 0.0
        for window in windows:
            inside = [t for t in times if t > now - window.span]
            if len(inside) >= window.limit:
                oldest_counted = inside[window.limit - 1]
                wait = max(wait, (oldest_counted + window.span - now).total_seconds())
        return int(wait) + (1 if wait > int(wait) else 0)

    def record(self, kind: str, subject: str) -> None:
        now = self._clock.now()
        hashed = subject_key(self._key, kind, subject)
        with self._engine.begin() as conn:
            conn.execute(A.insert().values(kind=kind, subject=hashed, at=now))
            conn.execute(delete(A).where(A.c.kind == kind, A.c.subject == hashed, A.c.at < now - KEEP))

    def count(self, kind: str, subject: str, span: timedelta) -> int:
        now = self._clock.now()
        hashed = subject_key(self._key, kind, subject)
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(A).where(
                A.c.kind == kind, A.c.subject == hashed, A.c.at > now - span)).scalar_one())

    def clear(self, kind: str, subject: str) -> None:
        hashed = subject_key(self._key, kind, subject)
        with self._engine.begin() as conn:
            conn.execute(delete(A).where(A.c.kind == kind, A.c.subject == hashed))
