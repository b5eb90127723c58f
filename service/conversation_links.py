"""Which conversations (sender ids) belong to which proven customer: written when a proof succeeds.

The tracker store keeps conversations by sender id only, and encrypted; this is how the right to
deletion (`python -m desk.privacy forget`) finds every conversation of a customer.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from service.clock import Clock
from service.identity_schema import customer_conversations as L


class ConversationLinks:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def record(self, customer_id: str, sender_id: str, channel: str = "") -> None:
        """Remember that `sender_id` is a conversation of `customer_id` (idempotent)."""
        now = self._clock.now()
        key = (L.c.customer_id == customer_id) & (L.c.sender_id == sender_id)
        with self._engine.begin() as conn:
            if conn.execute(update(L).where(key).values(last_seen=now)).rowcount:
                return
        try:
            with self._engine.begin() as conn:
                conn.execute(L.insert().values(customer_id=customer_id, sender_id=sender_id, channel=channel[:32],
                                               first_seen=now, last_seen=now))
        except IntegrityError:  # recorded meanwhile by another process
            pass

    def senders_of(self, customer_id: str) -> list[str]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(L.c.sender_id).where(L.c.customer_id == customer_id).order_by(L.c.first_seen))
            return [row.sender_id for row in rows]

    def forget(self, customer_id: str) -> int:
        with self._engine.begin() as conn:
            return int(conn.execute(L.delete().where(L.c.customer_id == customer_id)).rowcount or 0)
