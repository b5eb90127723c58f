"""质检 flags in SQL: replaced when a chat is checked again, listed and reviewed by supervisors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, func, insert, select, true, update
from sqlalchemy.engine import Engine, Row

from handoff import schema
from handoff.quality import Flag
from handoff.quality_schema import quality_flags as Q
from service.clock import Clock
from service.errors import NotFound

OPEN, REVIEWED = "open", "reviewed"
STATUSES = (OPEN, REVIEWED)
MAX_NOTE = 500
MAX_PAGE = 100_000
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class QualityFlag:
    id: int
    session_id: str
    rule: str
    detail: str
    at: datetime
    agent: str | None
    status: str
    flagged_at: datetime
    reviewer: str | None
    note: str | None
    reviewed_at: datetime | None


@dataclass(frozen=True)
class FlagQuery:
    status: str | None = None
    rule: str | None = None
    since: datetime | None = None  # flags whose `at` is in [since, until)
    until: datetime | None = None
    page: int = 1
    page_size: int = 50


@dataclass(frozen=True)
class FlagPage:
    items: list[QualityFlag]
    total: int
    page: int
    page_size: int


def _flag(row: Row) -> QualityFlag:
    return QualityFlag(**dict(row._mapping))


class QualityStore:
    """Synchronous and thread-safe; async callers run it in a worker thread."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def replace(self, session_id: str, agent: str | None, flags: Sequence[Flag]) -> int:
        """The session's open flags become `flags`, less those a supervisor already reviewed (same rule and time)."""
        now = self._clock.now()
        with self._engine.begin() as conn:
            reviewed = {(r.rule, r.at) for r in conn.execute(
                select(Q.c.rule, Q.c.at).where(Q.c.session_id == session_id, Q.c.status == REVIEWED))}
            conn.execute(delete(Q).where(Q.c.session_id == session_id, Q.c.status == OPEN))
            fresh = [f for f in flags if (f.rule, f.at) not in reviewed]
            if fresh:
                conn.execute(insert(Q), [{"session_id": session_id, "rule": f.rule, "detail": f.detail, "at": f.at,
                                          "agent": agent, "status": OPEN, "flagged_at": now} for f in fresh])
        return len(fresh)

    def ended_between(self, start: datetime, end: datetime) -> list[str]:
        S = schema.sessions
        with self._engine.connect() as conn:
            return [r.id for r in conn.execute(select(S.c.id).where(S.c.ended_at >= start, S.c.ended_at < end)
                                               .order_by(S.c.ended_at))]

    def of_session(self, session_id: str) -> list[QualityFlag]:
        with self._engine.connect() as conn:
            return [_flag(r) for r in conn.execute(select(Q).where(Q.c.session_id == session_id)
                                                   .order_by(Q.c.at, Q.c.id))]

    def search(self, query: FlagQuery) -> FlagPage:
        conditions = []
        if query.status:
            conditions.append(Q.c.status == query.status)
        if query.rule:
            conditions.append(Q.c.rule == query.rule)
        if query.since:
            conditions.append(Q.c.at >= query.since)
        if query.until:
            conditions.append(Q.c.at < query.until)
        where = and_(true(), *conditions)
        with self._engine.connect() as conn:
            total = int(conn.execute(select(func.count()).select_from(Q).where(where)).scalar_one())
            rows = conn.execute(select(Q).where(where).order_by(Q.c.at.desc(), Q.c.id.desc())
                                .limit(query.page_size).offset((query.page - 1) * query.page_size))
            return FlagPage([_flag(r) for r in rows], total, query.page, query.page_size)

    def review(self, flag_id: int, reviewer: str, note: str) -> QualityFlag:
        """A supervisor looked at the flag (again: the note and reviewer are replaced)."""
        with self._engine.begin() as conn:
            done = conn.execute(update(Q).where(Q.c.id == flag_id).values(
                status=REVIEWED, reviewer=reviewer, note=note[:MAX_NOTE], reviewed_at=self._clock.now()))
            if not done.rowcount:
                raise NotFound("quality flag", str(flag_id))
            return _flag(conn.execute(select(Q).where(Q.c.id == flag_id)).one())
