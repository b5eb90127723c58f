"""What the reports read from the bot's database: handoff sessions, tickets and ticket ratings of a period.

Plain frozen records, so the figures (handoffs.py, tickets.py, csat.py) are pure functions that tests feed by
hand. Reads only; times are naive CST as stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Engine

from handoff.schema import sessions as HS
from service.tickets.schema import ratings as R
from service.tickets.schema import tickets as T

MAX_ROWS = 100_000  # one report never reads more rows of a table than this


@dataclass(frozen=True)
class HandoffFact:
    id: str
    sender_id: str
    reason: str
    group: str
    status: str  # queued | assigned | ended | abandoned | timed_out
    queued_at: datetime
    agent: str | None = None
    assigned_at: datetime | None = None
    first_agent_reply_at: datetime | None = None
    ended_at: datetime | None = None
    rating: int | None = None


@dataclass(frozen=True)
class TicketFact:
    number: str
    kind: str  # 问题 | 改进
    department: str
    status: str
    created_at: datetime
    resolution_due: datetime
    sender_id: str = ""
    resolved_at: datetime | None = None
    closed_at: datetime | None = None


@dataclass(frozen=True)
class TicketRatingFact:
    score: int
    at: datetime
    department: str


@dataclass(frozen=True)
class PeriodRecords:
    handoffs: list[HandoffFact]
    tickets: list[TicketFact]
    ticket_ratings: list[TicketRatingFact]
    truncated: bool = False


def _within(column: object, start: datetime, end: datetime) -> object:
    return and_(column >= start, column < end)  # type: ignore[operator]


class ReportRecords:
    """Synchronous; async callers run it in a worker thread."""

    def __init__(self, engine: Engine, max_rows: int = MAX_ROWS) -> None:
        self._engine = engine
        self._max_rows = max_rows

    def read(self, start: datetime, end: datetime) -> PeriodRecords:
        """Handoffs queued, assigned or ended in [start, end); tickets opened, resolved, closed or due then; the
        ticket ratings given then."""
        limit = self._max_rows + 1
        with self._engine.connect() as conn:
            handoff_rows = conn.execute(select(HS).where(or_(
                _within(HS.c.queued_at, start, end), _within(HS.c.assigned_at, start, end),
                _within(HS.c.ended_at, start, end))).order_by(HS.c.queued_at, HS.c.id).limit(limit)).all()
            ticket_rows = conn.execute(select(T).where(or_(
                _within(T.c.created_at, start, end), _within(T.c.resolved_at, start, end),
                _within(T.c.closed_at, start, end), _within(T.c.resolution_due, start, end)))
                .order_by(T.c.created_at, T.c.id).limit(limit)).all()
            rating_rows = conn.execute(select(R.c.score, R.c.at, T.c.department).select_from(
                R.join(T, T.c.id == R.c.ticket_id)).where(_within(R.c.at, start, end))
                .order_by(R.c.at, R.c.id).limit(limit)).all()
        truncated = any(len(rows) > self._max_rows for rows in (handoff_rows, ticket_rows, rating_rows))
        handoffs = [HandoffFact(r.id, r.sender_id, r.reason, r.skill_group, r.status, r.queued_at, r.agent,
                                r.assigned_at, r.first_agent_reply_at, r.ended_at, r.rating)
                    for r in handoff_rows[:self._max_rows]]
        tickets = [TicketFact(r.number or "", r.kind, r.department, r.status, r.created_at, r.resolution_due,
                              r.sender_id or "", r.resolved_at, r.closed_at) for r in ticket_rows[:self._max_rows]]
        ratings = [TicketRatingFact(int(r.score), r.at, r.department) for r in rating_rows[:self._max_rows]]
        return PeriodRecords(handoffs, tickets, ratings, truncated)
