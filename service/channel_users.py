"""Who writes from where: each (channel, channel user) and the conversation its messages go to.

A channel user is what a channel knows of the person writing: the web widget's session id, a WeChat openid,
the app's user id, a REST sender. The first message of a channel user starts a conversation named after it
(or a fresh random name when another channel user already has that name: a REST sender cannot walk into a
WeChat conversation by naming it). Once the channel user proves a customer, the customer's one conversation
(its *home*) takes it in: every channel of that customer writes to the same conversation.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from service.channel_schema import channel_users as U
from service.channel_schema import customer_homes as H
from service.clock import Clock
from service.identity_schema import customer_conversations as L

TOUCH_EVERY = timedelta(seconds=30)  # last_seen is refreshed at most this often per channel user


@dataclass(frozen=True)
class ChannelUser:
    channel: str
    user_key: str
    conversation: str
    customer_id: str | None = None


class ChannelUsers:
    """The channel_users and customer_homes tables (service/channel_schema.py)."""

    def __init__(self, engine: Engine, clock: Clock | None = None) -> None:
        self._engine = engine
        self._clock = clock or Clock()

    def get(self, channel: str, user_key: str) -> ChannelUser | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(U.c.conversation, U.c.customer_id, U.c.last_seen)
                               .where((U.c.channel == channel) & (U.c.user_key == user_key))).first()
        if row is None:
            return None
        if row.last_seen < self._clock.now() - TOUCH_EVERY:
            self.touch(channel, user_key)
        return ChannelUser(channel, user_key, row.conversation, row.customer_id)

    def touch(self, channel: str, user_key: str) -> None:
        """The channel user wrote just now (replies on this channel go to the user who wrote last)."""
        with self._engine.begin() as conn:
            conn.execute(update(U).where((U.c.channel == channel) & (U.c.user_key == user_key))
                         .values(last_seen=self._clock.now()))

    def add(self, channel: str, user_key: str) -> ChannelUser:
        """A channel user's first message: its own new conversation (or the row another process added meanwhile)."""
        with self._engine.connect() as conn:
            taken = conn.execute(select(U.c.channel).where(U.c.conversation == user_key).limit(1)).first()
        conversation = f"{channel}-{uuid.uuid4().hex}" if taken is not None else user_key
        now = self._clock.now()
        try:
            with self._engine.begin() as conn:
                conn.execute(U.insert().values(channel=channel, user_key=user_key, conversation=conversation,
                                               customer_id=None, first_seen=now, last_seen=now))
        except IntegrityError:
            found = self.get(channel, user_key)
            if found is not None:
                return found
            raise
        return ChannelUser(channel, user_key, conversation)

    def user_of(self, conversation: str, channel: str) -> str | None:
        """The user of `channel` who wrote to `conversation` last."""
        with self._engine.connect() as conn:
            row = conn.execute(select(U.c.user_key)
                               .where((U.c.conversation == conversation) & (U.c.channel == channel))
                               .order_by(U.c.last_seen.desc()).limit(1)).first()
        return row.user_key if row is not None else None

    def users_of(self, conversation: str) -> list[ChannelUser]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(U).where(U.c.conversation == conversation).order_by(U.c.last_seen.desc()))
            return [ChannelUser(r.channel, r.user_key, r.conversation, r.customer_id) for r in rows]

    def home_of(self, customer_id: str) -> str | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(H.c.conversation).where(H.c.customer_id == customer_id)).first()
        return row.conversation if row is not None else None

    def proven_in(self, customer_id: str, limit: int = 5) -> list[str]:
        """The conversations where the customer proved who they are, latest first (recorded by the action server)."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(L.c.sender_id).where(L.c.customer_id == customer_id)
                                .order_by(L.c.last_seen.desc()).limit(limit))
            return [row.sender_id for row in rows]

    def proven_here(self, conversation: str) -> list[str]:
        """The customers who proved who they are in `conversation` (recorded by the action server), latest first."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(L.c.customer_id).where(L.c.sender_id == conversation)
                                .order_by(L.c.last_seen.desc()))
            return [row.customer_id for row in rows]

    def claim_home(self, customer_id: str, conversation: str) -> str:
        """The customer's home conversation: `conversation` when it has none yet, else the one it has."""
        try:
            with self._engine.begin() as conn:
                conn.execute(H.insert().values(customer_id=customer_id, conversation=conversation,
                                               since=self._clock.now()))
            return conversation
        except IntegrityError:
            home = self.home_of(customer_id)
            if home is None:  # forgotten meanwhile
                return self.claim_home(customer_id, conversation)
            return home

    def join(self, conversation: str, home: str, customer_id: str) -> int:
        """Every channel user of `conversation` now writes to `home`, as `customer_id`; how many were moved."""
        with self._engine.begin() as conn:
            moved = conn.execute(update(U).where(U.c.conversation == conversation)
                                 .values(conversation=home, customer_id=customer_id)).rowcount
        return int(moved or 0)

    def move(self, channel: str, user_key: str, conversation: str, customer_id: str) -> None:
        """One channel user (not the others of its conversation) now writes to `conversation`, as `customer_id`."""
        with self._engine.begin() as conn:
            conn.execute(update(U).where((U.c.channel == channel) & (U.c.user_key == user_key))
                         .values(conversation=conversation, customer_id=customer_id, last_seen=self._clock.now()))

    def prove(self, channel: str, user_key: str, customer_id: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(update(U).where((U.c.channel == channel) & (U.c.user_key == user_key))
                         .values(customer_id=customer_id))

    def forget(self, customer_id: str) -> int:
        """Drop what ties channel users to the customer (the right to deletion); their conversations go with them."""
        with self._engine.begin() as conn:
            gone = conn.execute(U.delete().where(U.c.customer_id == customer_id)).rowcount
            conn.execute(H.delete().where(H.c.customer_id == customer_id))
        return int(gone or 0)
