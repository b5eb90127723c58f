"""Past conversations as the desk reads them: the `events` table of Rasa's SQL tracker store, decrypted.

Reports (service/reports) and conversation review (service/review) read customers' turns, the NLU's
reading of each (intent, confidence, entities), the bot's actions and replies and the agents' part from
here; nothing here writes. Rows are read in id order, so a conversation's events come in the order Rasa
stored them. What the customer wrote is returned as stored: callers that show or export it mask it
(service/privacy). The table may not exist yet (no conversation so far): every read is then empty.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from service.clock import CST
from service.event_cipher import EventCipher

EVENTS = sa.table("events", sa.column("id"), sa.column("sender_id"), sa.column("type_name"),
                  sa.column("timestamp"), sa.column("intent_name"), sa.column("action_name"), sa.column("data"))
READ_TYPES = ("user", "bot", "action", "slot", "session_started")
MAX_EVENTS = 200_000  # one read never holds more rows than this in memory
CHUNK = 500  # sender ids per IN (...)
CUSTOMER, BOT, AGENT = "customer", "bot", "agent"
EXTERNAL_PREFIX = "EXTERNAL_"  # the desk's triggers (agent messages, queue updates): not the customer's words


@dataclass(frozen=True)
class LoggedEvent:
    """One stored event, read for people: who spoke, what, and how the bot understood it."""

    id: int
    sender_id: str
    kind: str  # user, bot, action, slot, session_started
    at: datetime  # China Standard Time
    author: str | None = None  # customer, bot or agent for messages; None for actions and slots
    text: str | None = None
    intent: str | None = None
    confidence: float | None = None
    entities: tuple[dict[str, Any], ...] = ()
    action: str | None = None  # an action's name; a slot's name for slot events
    value: Any = None  # a slot's value
    channel: str | None = None
    policy: str | None = None
    data: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_customer_message(self) -> bool:
        """A message the customer typed or tapped (not a trigger the desk sent in their name)."""
        return self.kind == "user" and self.author == CUSTOMER


def read_event(row: Any, cipher: EventCipher | None) -> LoggedEvent:
    """One row of the events table as a LoggedEvent (pure: no database)."""
    raw = row.data or "{}"
    data = json.loads(cipher.decrypt(raw) if cipher is not None else raw)
    kind = row.type_name
    at = datetime.fromtimestamp(float(row.timestamp or data.get("timestamp") or 0.0), CST)
    common = {"id": int(row.id), "sender_id": row.sender_id, "kind": kind, "at": at, "data": data}
    if kind == "user":
        parse = data.get("parse_data") or {}
        intent = (parse.get("intent") or {}).get("name") or row.intent_name
        author = CUSTOMER if not str(intent or "").startswith(EXTERNAL_PREFIX) else None
        return LoggedEvent(**common, author=author, text=data.get("text"), intent=intent,
                           confidence=_float((parse.get("intent") or {}).get("confidence")),
                           entities=tuple(e for e in parse.get("entities") or () if isinstance(e, dict)),
                           channel=data.get("input_channel"))
    if kind == "bot":
        from_agent = bool((data.get("metadata") or {}).get("from_agent"))
        return LoggedEvent(**common, author=AGENT if from_agent else BOT, text=data.get("text"))
    if kind == "action":
        return LoggedEvent(**common, action=data.get("name") or row.action_name, policy=data.get("policy"),
                           confidence=_float(data.get("confidence")))
    if kind == "slot":
        return LoggedEvent(**common, action=data.get("name"), value=data.get("value"))
    return LoggedEvent(**common)


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


class ConversationLog:
    """Reads Rasa's tracker store. `cipher` opens encrypted rows (None: the rows are plain JSON)."""

    def __init__(self, engine: Engine, cipher: EventCipher | None = None) -> None:
        self._engine = engine
        self._cipher = cipher

    def _exists(self) -> bool:
        return sa.inspect(self._engine).has_table("events")

    def close(self) -> None:
        """Release the database connections (the desk's server-stop listener)."""
        self._engine.dispose()

    def events(self, *, since: datetime | None = None, until: datetime | None = None,
               sender_ids: Sequence[str] | None = None, kinds: Iterable[str] = READ_TYPES,
               limit: int = MAX_EVENTS, after_id: int | None = None) -> list[LoggedEvent]:
        """Events in [since, until) of these conversations (all when None), oldest first, at most `limit`;
        with `after_id`, only rows stored after that one (how a scan goes on where the last one stopped)."""
        if not self._exists() or sender_ids is not None and not sender_ids:
            return []
        where = [EVENTS.c.type_name.in_(list(kinds))]
        if since is not None:
            where.append(EVENTS.c.timestamp >= since.timestamp())
        if until is not None:
            where.append(EVENTS.c.timestamp < until.timestamp())
        if after_id is not None:
            where.append(EVENTS.c.id > after_id)
        limit = max(0, min(limit, MAX_EVENTS))
        chunks = [list(sender_ids[i:i + CHUNK]) for i in range(0, len(sender_ids), CHUNK)] if sender_ids else [None]
        found: list[LoggedEvent] = []
        with self._engine.connect() as conn:
            for chunk in chunks:
                query = sa.select(EVENTS).where(*where)
                if chunk is not None:
                    query = query.where(EVENTS.c.sender_id.in_(chunk))
                query = query.order_by(EVENTS.c.id).limit(limit - len(found))
                found.extend(read_event(row, self._cipher) for row in conn.execute(query))
                if len(found) >= limit:
                    break
        if len(chunks) > 1:
            found.sort(key=lambda e: e.id)
        return found

    def transcript(self, sender_id: str, *, limit: int = 5_000) -> list[LoggedEvent]:
        """One conversation, every session, oldest first."""
        return self.events(sender_ids=[sender_id], limit=limit)

    def senders(self, *, since: datetime | None = None, until: datetime | None = None,
                limit: int = 10_000) -> list[str]:
        """The conversations with a customer message in [since, until), most recent first."""
        if not self._exists():
            return []
        query = sa.select(EVENTS.c.sender_id, sa.func.max(EVENTS.c.timestamp).label("last")).where(
            EVENTS.c.type_name == "user")
        if since is not None:
            query = query.where(EVENTS.c.timestamp >= since.timestamp())
        if until is not None:
            query = query.where(EVENTS.c.timestamp < until.timestamp())
        query = query.group_by(EVENTS.c.sender_id).order_by(sa.desc("last")).limit(max(0, limit))
        with self._engine.connect() as conn:
            return [row.sender_id for row in conn.execute(query)]


def open_conversation_log(settings: Any) -> ConversationLog:
    """The log of the running installation: TRACKER_DB_URL (embedded: var/tracker.db) and the tracker key.

    Before Rasa's first conversation there is no events table: reads are empty."""
    from service.secrets import stored_secret

    url = sa.engine.make_url(settings.tracker_db_url)
    engine = sa.create_engine(url) if url.get_backend_name() == "sqlite" else sa.create_engine(url, pool_pre_ping=True)
    return ConversationLog(engine, EventCipher.from_setting(stored_secret(settings, "TRACKER_ENCRYPTION_KEY")))
