"""What the bot's database knows of a conversation (a Rasa sender id) besides its events: whose it is, who handled
its handoffs, how it was rated, the customer's name (for masking). Reads only; each question for many
conversations at once, in chunks.

A rating points at a conversation two ways: a handoff session's `rating` (handoff_sessions.sender_id) and a
ticket's ratings (ticket_ratings.ticket_id → tickets.sender_id).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.engine import Engine

from handoff.schema import assignments as A
from handoff.schema import sessions as HS
from service.channel_schema import channel_users as U
from service.channel_schema import customer_homes as H
from service.identity_schema import customer_conversations as L
from service.tickets.schema import ratings as R
from service.tickets.schema import tickets as T

CHUNK = 500
MAX_SENDERS = 5_000  # one answer never names more conversations than this


@dataclass(frozen=True)
class Rating:
    score: int
    source: str  # handoff | ticket
    reference: str  # the handoff session id or the ticket number
    at: datetime | None = None


@dataclass(frozen=True)
class HandoffSummary:
    session_id: str
    agent: str | None
    status: str
    skill_group: str
    queued_at: datetime
    rating: int | None


def _chunks(values: Collection[str]) -> Iterator[list[str]]:
    items = list(dict.fromkeys(values))
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


class ConversationFacts:
    """Synchronous; async callers run it in a worker thread."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def customers_of(self, senders: Collection[str]) -> dict[str, str]:
        """The proven customer of each conversation that has one (the latest proof wins)."""
        found: dict[str, str] = {}
        with self._engine.connect() as conn:
            for chunk in _chunks(senders):
                queries = (  # the weakest first: later ones overwrite
                    select(T.c.sender_id, T.c.customer_id).where(T.c.sender_id.in_(chunk), T.c.customer_id.is_not(None))
                    .order_by(T.c.created_at),
                    select(HS.c.sender_id, HS.c.customer_id).where(HS.c.sender_id.in_(chunk),
                                                                   HS.c.customer_id.is_not(None)).order_by(HS.c.queued_at),
                    select(H.c.conversation, H.c.customer_id).where(H.c.conversation.in_(chunk)),
                    select(U.c.conversation, U.c.customer_id).where(U.c.conversation.in_(chunk),
                                                                    U.c.customer_id.is_not(None)).order_by(U.c.last_seen),
                    select(L.c.sender_id, L.c.customer_id).where(L.c.sender_id.in_(chunk)).order_by(L.c.last_seen),
                )
                for query in queries:
                    for sender, customer in conn.execute(query):
                        if customer:
                            found[sender] = customer
        return found

    def senders_of_customer(self, customer_id: str) -> set[str]:
        """Every conversation known to be the customer's."""
        with self._engine.connect() as conn:
            found: set[str] = set()
            for query in (select(L.c.sender_id).where(L.c.customer_id == customer_id),
                          select(U.c.conversation).where(U.c.customer_id == customer_id),
                          select(H.c.conversation).where(H.c.customer_id == customer_id),
                          select(HS.c.sender_id).where(HS.c.customer_id == customer_id),
                          select(T.c.sender_id).where(T.c.customer_id == customer_id, T.c.sender_id != "")):
                found.update(row[0] for row in conn.execute(query.limit(MAX_SENDERS)))
        return found

    def handled_by(self, agent: str) -> set[str]:
        """The conversations with a handoff this agent was assigned (picked, given or transferred to)."""
        assigned = select(A.c.session_id).where(A.c.agent == agent)
        query = select(HS.c.sender_id).where(or_(HS.c.agent == agent, HS.c.id.in_(assigned))).distinct()
        with self._engine.connect() as conn:
            return {row.sender_id for row in conn.execute(query.limit(MAX_SENDERS))}

    def ratings_of(self, senders: Collection[str]) -> dict[str, list[Rating]]:
        found: dict[str, list[Rating]] = {}
        with self._engine.connect() as conn:
            for chunk in _chunks(senders):
                for row in conn.execute(select(HS.c.sender_id, HS.c.id, HS.c.rating, HS.c.ended_at)
                                        .where(HS.c.sender_id.in_(chunk), HS.c.rating.is_not(None))):
                    found.setdefault(row.sender_id, []).append(Rating(int(row.rating), "handoff", row.id, row.ended_at))
                for row in conn.execute(select(T.c.sender_id, T.c.number, R.c.score, R.c.at)
                                        .select_from(R.join(T, T.c.id == R.c.ticket_id))
                                        .where(T.c.sender_id.in_(chunk))):
                    found.setdefault(row.sender_id, []).append(Rating(int(row.score), "ticket", row.number or "", row.at))
        return found

    def rated(self, score: int) -> set[str]:
        """The conversations with a handoff or ticket rated `score`."""
        with self._engine.connect() as conn:
            handoffs = conn.execute(select(HS.c.sender_id).where(HS.c.rating == score).limit(MAX_SENDERS))
            tickets = conn.execute(select(T.c.sender_id).select_from(R.join(T, T.c.id == R.c.ticket_id))
                                   .where(R.c.score == score, T.c.sender_id != "").limit(MAX_SENDERS))
            return {row[0] for row in handoffs} | {row[0] for row in tickets}

    def handoffs_of(self, sender: str) -> list[HandoffSummary]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(HS.c.id, HS.c.agent, HS.c.status, HS.c.skill_group, HS.c.queued_at, HS.c.rating)
                                .where(HS.c.sender_id == sender).order_by(HS.c.queued_at).limit(200))
            return [HandoffSummary(r.id, r.agent, r.status, r.skill_group, r.queued_at, r.rating) for r in rows]

    def names_of(self, sender: str, customer_ids: Collection[str] = ()) -> set[str]:
        """Names the customer of `sender` is known by here: on tickets and in handoffs' context packages."""
        ids = [c for c in customer_ids if c]
        names: set[str] = set()
        ticket_owner = T.c.sender_id == sender
        handoff_owner = HS.c.sender_id == sender
        if ids:
            ticket_owner = or_(ticket_owner, T.c.customer_id.in_(ids))
            handoff_owner = or_(handoff_owner, HS.c.customer_id.in_(ids))
        with self._engine.connect() as conn:
            names.update(row[0] for row in conn.execute(select(T.c.customer_name).where(ticket_owner).distinct()
                                                        .limit(50)))
            for (context,) in conn.execute(select(HS.c.context_json).where(handoff_owner).limit(50)):
                names.add(_context_name(context))
        return {name.strip() for name in names if name and name.strip()}


def _context_name(raw: str | None) -> str:
    try:
        context: Any = json.loads(raw or "{}")
    except ValueError:
        return ""
    customer = context.get("customer") if isinstance(context, dict) else None
    name = customer.get("name") if isinstance(customer, dict) else None
    return name if isinstance(name, str) else ""
