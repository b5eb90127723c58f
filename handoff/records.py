"""Handoff records in SQL: sessions, messages, assignments and their timings, for reports."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Engine, Row

from handoff import schema
from service.clock import Clock
from service.errors import NotFound

S = schema.sessions
QUEUED, ASSIGNED, ENDED, ABANDONED, TIMED_OUT = "queued", "assigned", "ended", "abandoned", "timed_out"
OPEN_STATES = (QUEUED, ASSIGNED)
NO_SUMMARY = func.coalesce(S.c.closing_summary, "") == ""


@dataclass(frozen=True)
class Session:
    id: str
    sender_id: str
    channel: str
    customer_id: str | None
    reason: str
    skill_group: str
    priority: int
    status: str
    agent: str | None
    summary: str
    context: dict[str, Any]
    queued_at: datetime
    assigned_at: datetime | None
    first_agent_reply_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    ticket_number: str | None
    rating: int | None
    closing_summary: str | None = None  # 服务小结: the agent's one line when the chat ended

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATES


@dataclass(frozen=True)
class Message:
    at: datetime
    direction: str
    author: str
    text: str
    intent: str | None
    entities: list[Any]
    channel: str = ""


def _session(row: Row) -> Session:
    values = dict(row._mapping)
    values["context"] = json.loads(values.pop("context_json") or "{}")
    values.pop("rating_comment", None)
    return Session(**values)


class HandoffRecords:
    """Synchronous and thread-safe; async callers run it in a worker thread."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def open_session(self, *, sender_id: str, channel: str, customer_id: str | None, reason: str,
                     skill_group: str, priority: int, summary: str, context: dict[str, Any]) -> Session:
        session_id = uuid.uuid4().hex
        with self._engine.begin() as conn:
            conn.execute(insert(S).values(
                id=session_id, sender_id=sender_id, channel=channel, customer_id=customer_id, reason=reason,
                skill_group=skill_group, priority=priority, status=QUEUED, summary=summary,
                context_json=json.dumps(context, ensure_ascii=False, default=str), queued_at=self._clock.now()))
            conn.execute(insert(schema.assignments).values(session_id=session_id, at=self._clock.now(), agent=None,
                                                           skill_group=skill_group, kind="queued", by="bot"))
        return self.get(session_id)

    def get(self, session_id: str) -> Session:
        with self._engine.connect() as conn:
            row = conn.execute(select(S).where(S.c.id == session_id)).first()
        if row is None:
            raise NotFound("handoff", session_id)
        return _session(row)

    def open_for(self, sender_id: str) -> Session | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(S).where(S.c.sender_id == sender_id, S.c.status.in_(OPEN_STATES))
                               .order_by(S.c.queued_at.desc())).first()
        return _session(row) if row else None

    def open_sessions(self) -> list[Session]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(S).where(S.c.status.in_(OPEN_STATES)).order_by(S.c.queued_at))
            return [_session(r) for r in rows]

    def assign(self, session_id: str, agent: str, kind: str, by: str, skill_group: str | None = None) -> Session:
        now = self._clock.now()
        with self._engine.begin() as conn:
            current = conn.execute(select(S.c.assigned_at, S.c.skill_group).where(S.c.id == session_id)).first()
            if current is None:
                raise NotFound("handoff", session_id)
            values: dict[str, Any] = {"status": ASSIGNED, "agent": agent}
            if current.assigned_at is None:
                values["assigned_at"] = now
            if skill_group:
                values["skill_group"] = skill_group
            conn.execute(update(S).where(S.c.id == session_id).values(**values))
            conn.execute(insert(schema.assignments).values(session_id=session_id, at=now, agent=agent,
                                                           skill_group=skill_group or current.skill_group,
                                                           kind=kind, by=by))
        return self.get(session_id)

    def requeue(self, session_id: str, skill_group: str, by: str) -> Session:
        """A transfer to a group: back in the queue (keeping its place in time), with the context."""
        with self._engine.begin() as conn:
            conn.execute(update(S).where(S.c.id == session_id).values(status=QUEUED, agent=None, skill_group=skill_group))
            conn.execute(insert(schema.assignments).values(session_id=session_id, at=self._clock.now(), agent=None,
                                                           skill_group=skill_group, kind="transfer", by=by))
        return self.get(session_id)

    def add_message(self, session_id: str, direction: str, author: str, text: str,
                    intent: str | None = None, entities: list[Any] | None = None, channel: str = "") -> datetime:
        now = self._clock.now()
        with self._engine.begin() as conn:
            conn.execute(insert(schema.messages).values(
                session_id=session_id, at=now, direction=direction, author=author, text=text, intent=intent,
                entities_json=json.dumps(entities or [], ensure_ascii=False), channel=channel[:16] or None))
            if direction == "agent":
                conn.execute(update(S).where(S.c.id == session_id, S.c.first_agent_reply_at.is_(None))
                             .values(first_agent_reply_at=now))
        return now

    def messages(self, session_id: str) -> list[Message]:
        M = schema.messages
        with self._engine.connect() as conn:
            rows = conn.execute(select(M).where(M.c.session_id == session_id).order_by(M.c.at, M.c.id))
            return [Message(r.at, r.direction, r.author, r.text, r.intent, json.loads(r.entities_json or "[]"),
                            r.channel or "") for r in rows]

    def close(self, session_id: str, status: str, end_reason: str, ticket_number: str | None = None) -> Session:
        values: dict[str, Any] = {"status": status, "ended_at": self._clock.now(), "end_reason": end_reason}
        if ticket_number:
            values["ticket_number"] = ticket_number
        with self._engine.begin() as conn:
            conn.execute(update(S).where(S.c.id == session_id).values(**values))
        return self.get(session_id)

    def set_closing_summary(self, session_id: str, summary: str) -> None:
        """The 服务小结 the agent wrote when the chat ended (handoff/summary.py checks it)."""
        with self._engine.begin() as conn:
            conn.execute(update(S).where(S.c.id == session_id).values(closing_summary=summary))

    def add_late_summary(self, session_id: str, summary: str) -> bool:
        """A 服务小结 added after the chat ended without one; False when the chat is open or has one already."""
        with self._engine.begin() as conn:
            changed = conn.execute(update(S).where(S.c.id == session_id, S.c.status.not_in(OPEN_STATES),
                                                   NO_SUMMARY).values(closing_summary=summary))
        return bool(changed.rowcount)

    def summaries_due(self, agent: str, since: datetime, limit: int) -> list[Session]:
        """The agent's chats that ended since `since` without a 服务小结, newest first."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(S).where(S.c.agent == agent, S.c.status.not_in(OPEN_STATES),
                                                S.c.assigned_at.is_not(None), S.c.ended_at >= since,
                                                NO_SUMMARY)
                                .order_by(S.c.ended_at.desc()).limit(limit))
            return [_session(r) for r in rows]

    def rate(self, session_id: str, score: int, comment: str = "") -> None:
        with self._engine.begin() as conn:
            conn.execute(update(S).where(S.c.id == session_id).values(rating=score, rating_comment=comment[:500]))

    def last_agent(self, customer_id: str | None, sender_id: str) -> str | None:
        """The agent who last served this customer (历史坐席): by customer id when known, else by conversation."""
        match = S.c.customer_id == customer_id if customer_id else S.c.sender_id == sender_id
        with self._engine.connect() as conn:
            return conn.execute(select(S.c.agent).where(match, S.c.agent.is_not(None))
                                .order_by(S.c.queued_at.desc()).limit(1)).scalar()
