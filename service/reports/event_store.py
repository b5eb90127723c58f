"""The reporting table `conversation_events` (schema.py): written by the event consumer, read by the reports.

`add(rows)` stores the consumer's rows (service/event_feed.py) in one transaction, in the order the broker
delivered them (a conversation's order: one Rasa server at a time holds its lock), each once by its key. As
it goes it notes which customer message the bot answered with action_default_fallback and drops the masked
text of the messages that turned out understood.

`events(...)` gives the rows back as the tracker store's events (service/conversation_log.LoggedEvent, the
conversation's pseudonym as sender_id), so the same `read_conversations` computes the same figures;
`with_conversation_refs(records)` puts the same pseudonyms on the handoff and ticket records they are matched with.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from service.clock import CST
from service.conversation_log import CUSTOMER, MAX_EVENTS, LoggedEvent
from service.event_feed import ACTION, SLOT, USER, FeedRow
from service.privacy import conversation_ref
from service.reports.conversations import RETRIEVAL_INTENTS
from service.reports.records import PeriodRecords
from service.reports.schema import conversation_events as CE

KINDS = (USER, ACTION, SLOT)


def _insert(conn: Connection, row: FeedRow) -> bool:
    """Insert the row unless its key is stored already; whether it was inserted."""
    values = {"event_key": row.key, "conversation": row.conversation, "kind": row.kind, "at": row.at,
              "author": row.author, "intent": row.intent, "topic": row.topic, "action": row.action,
              "value": row.value, "score": row.score, "text": row.text, "fallback": row.fallback}
    dialect = conn.dialect.name
    if dialect == "postgresql":
        statement: Any = postgresql.insert(CE).values(**values).on_conflict_do_nothing(index_elements=["event_key"])
    elif dialect == "sqlite":
        statement = sqlite.insert(CE).values(**values).on_conflict_do_nothing(index_elements=["event_key"])
    else:  # another database: look first (one writer, the consumer)
        if conn.execute(sa.select(CE.c.id).where(CE.c.event_key == row.key)).first() is not None:
            return False
        statement = sa.insert(CE).values(**values)
    return bool(conn.execute(statement).rowcount)


def _after_insert(conn: Connection, row: FeedRow) -> None:
    if row.kind == USER:  # a new message: the ones before it were understood unless marked
        conn.execute(sa.update(CE).where(CE.c.conversation == row.conversation, CE.c.kind == USER,
                                         CE.c.text.is_not(None), CE.c.fallback.is_(False),
                                         CE.c.event_key != row.key).values(text=None))
    elif row.kind == ACTION:  # action_default_fallback answers the conversation's last message, if the customer's
        last = conn.execute(sa.select(CE.c.id, CE.c.author).where(
            CE.c.conversation == row.conversation, CE.c.kind == USER).order_by(CE.c.id.desc()).limit(1)).first()
        if last is not None and last.author == CUSTOMER:
            conn.execute(sa.update(CE).where(CE.c.id == last.id).values(fallback=True))


def logged_event(row: Any) -> LoggedEvent:
    """A stored row as the tracker store's event, as far as the conversation figures read it."""
    at = datetime.fromtimestamp(float(row.at), CST)
    common = {"id": int(row.id), "sender_id": row.conversation, "kind": row.kind, "at": at}
    if row.kind == USER:
        data: dict[str, Any] = {}
        if row.intent in RETRIEVAL_INTENTS and row.topic and row.topic != row.intent:
            data = {"parse_data": {"response_selector": {row.intent: {"response": {"intent_response_key": row.topic}}}}}
        entities = ({"entity": "rating", "value": str(row.score)},) if row.score is not None else ()
        return LoggedEvent(**common, author=row.author, text=row.text, intent=row.intent, entities=entities, data=data)
    if row.kind == SLOT:
        return LoggedEvent(**common, action=row.action, value=row.value)
    return LoggedEvent(**common, action=row.action)


def with_conversation_refs(records: PeriodRecords) -> PeriodRecords:
    """The records with each sender id as its pseudonym, to be matched with the table's conversations."""
    return dataclasses.replace(
        records,
        handoffs=[dataclasses.replace(h, sender_id=conversation_ref(h.sender_id)) for h in records.handoffs],
        tickets=[dataclasses.replace(t, sender_id=conversation_ref(t.sender_id)) for t in records.tickets])


class ConversationEventStore:
    """Synchronous (SQLAlchemy); the consumer and the desk call it from a worker thread."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, rows: Iterable[FeedRow]) -> int:
        """Store the rows in one transaction, in order; how many were new (a redelivered one is not)."""
        added = 0
        with self._engine.begin() as conn:
            for row in rows:
                if _insert(conn, row):
                    _after_insert(conn, row)
                    added += 1
        return added

    def events(self, *, since: datetime | None = None, until: datetime | None = None,
               kinds: Sequence[str] = KINDS, limit: int = MAX_EVENTS) -> list[LoggedEvent]:
        """Rows in [since, until), in the order they arrived, at most `limit` (the ConversationLog.events contract)."""
        query = sa.select(CE).where(CE.c.kind.in_([k for k in kinds if k in KINDS]))
        if since is not None:
            query = query.where(CE.c.at >= since.timestamp())
        if until is not None:
            query = query.where(CE.c.at < until.timestamp())
        query = query.order_by(CE.c.id).limit(max(0, min(limit, MAX_EVENTS)))
        with self._engine.connect() as conn:
            return [logged_event(row) for row in conn.execute(query)]

    def close(self) -> None:
        self._engine.dispose()
