"""One customer, every channel: which conversation a channel user's message goes to, and where replies go.

The message gate (connectors/gate.py) asks `route()` before Rasa sees a message and sets the message's
sender id to the answer. A channel user with no proof has a conversation of its own. Proof joins it to the
customer's one conversation (service/channel_users.py):

- a proof the channel carries (the app's signed token, a page's signed claim) joins before the message is
  handled, so the message is answered in the customer's conversation;
- a proof given in the conversation (the SMS code, or a signed claim the action server resolved) is seen
  after the turn, in the conversation's slots, and joins it then.

Joining appends what the anonymous conversation held (messages, slots, an open form) to the customer's
conversation, so nothing said before the proof is lost, and from then on every channel user of the
anonymous conversation writes to the customer's. A plain claim (embedded demo without IDENTITY_SECRET)
joins nothing: it proves nothing.

Out-of-band messages (agent replies, queue updates, notices) reach Rasa as trigger_intent with
output_channel=latest: Rasa picks the channel of the conversation's latest customer message, and that
channel's output asks `user_of()` for the user to send to.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Iterable
from typing import Any

from rasa.shared.core.constants import ACTION_SESSION_START_NAME
from rasa.shared.core.events import ActionExecuted, Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker

from actions.names import Slot
from service.channel_users import ChannelUser, ChannelUsers
from service.identity import Proof
from service.logs import log_event
from service.settings import Settings, get_settings

logger = logging.getLogger(__name__)
JOINING_PROOFS = frozenset({Proof.SIGNED.value, Proof.OTP.value})
LOCK_WAIT_S = 0.05


async def stored_tracker(app: Any, conversation: str) -> DialogueStateTracker | None:
    """The conversation's tracker from the running Rasa server's tracker store (None without one or a store)."""
    store = getattr(getattr(getattr(app, "ctx", None), "agent", None), "tracker_store", None)
    return await store.retrieve(conversation) if store is not None else None


def carried_events(events: Iterable[Event], now: float | None = None) -> list[Event]:
    """The events of an anonymous conversation to append to the customer's: all but its session starts,
    stamped now (in order), so the customer's conversation reads them as its latest."""
    stamp = time.time() if now is None else now
    carried: list[Event] = []
    for event in events:
        if isinstance(event, SessionStarted):
            continue
        if isinstance(event, ActionExecuted) and event.action_name == ACTION_SESSION_START_NAME:
            continue
        copy = Event.from_parameters(event.as_dict())
        if copy is None:
            continue
        stamp += 1e-6
        copy.timestamp = stamp
        carried.append(copy)
    return carried


def proven_customer(slots: dict[str, Any]) -> str | None:
    """The customer a conversation's slots say was proven by a joining proof (SMS code or shop signature)."""
    customer, proof = slots.get(Slot.CUSTOMER_ID), slots.get(Slot.IDENTITY_PROOF)
    if isinstance(customer, str) and customer and proof in JOINING_PROOFS:
        return customer
    return None


class ConversationRouter:
    """Routing over the channel_users tables; `bind(app)` gives it Rasa's tracker and lock stores."""

    def __init__(self, users: ChannelUsers | None = None, settings: Settings | None = None) -> None:
        self._users = users
        self._settings = settings
        self._app: Any = None

    @property
    def users(self) -> ChannelUsers:
        if self._users is None:
            from service.clock import Clock
            from service.db import make_engine
            from service.migrate import upgrade

            settings = self._settings or get_settings()
            engine = make_engine(settings.database_url)
            upgrade(engine)
            self._users = ChannelUsers(engine, Clock(settings.business_date))
        return self._users

    def bind(self, app: Any) -> None:
        self._app = app

    def _agent(self) -> Any:
        return getattr(getattr(self._app, "ctx", None), "agent", None)

    async def conversation_of(self, channel: str, user_key: str) -> str | None:
        found = await asyncio.to_thread(self.users.get, channel, user_key)
        return found.conversation if found is not None else None

    async def user_of(self, conversation: str, channel: str) -> str | None:
        return await asyncio.to_thread(self.users.user_of, conversation, channel)

    async def route(self, channel: str, user_key: str, customer_id: str | None = None) -> str:
        """The conversation for a message of this channel user; `customer_id` a customer the channel has proof of.

        A channel user not yet known as a customer may have proven one in its conversation since its last
        message (an SMS code): it is joined now, before this message is handled."""
        user = await asyncio.to_thread(self.users.get, channel, user_key)
        if user is None:
            user = await asyncio.to_thread(self.users.add, channel, user_key)
        if not customer_id and user.customer_id is None:
            recorded: list[str] = await asyncio.to_thread(self.users.proven_here, user.conversation)
            if recorded:
                customer_id = await self._proven_in(user.conversation)  # the slots say by which proof
        if customer_id and user.customer_id != customer_id:
            return await self.join(user, customer_id)
        return user.conversation

    async def _slots(self, conversation: str) -> dict[str, Any]:
        tracker = await stored_tracker(self._app, conversation)
        return tracker.current_slot_values() if tracker is not None else {}

    async def _proven_in(self, conversation: str) -> str | None:
        return proven_customer(await self._slots(conversation))

    async def _home(self, customer_id: str, here: str) -> str:
        """The customer's conversation: its home; else the latest where it proved itself with a joining proof; else here."""
        home = await asyncio.to_thread(self.users.home_of, customer_id)
        if home is None:
            for candidate in await asyncio.to_thread(self.users.proven_in, customer_id):
                if candidate != here and await self._proven_in(candidate) == customer_id:
                    home = candidate
                    break
        return await asyncio.to_thread(self.users.claim_home, customer_id, home or here)

    async def join(self, user: ChannelUser, customer_id: str) -> str:
        """Make `user`'s conversation the customer's: its own when the customer has none yet, else carried into it.

        A channel user that already belongs to another customer (a shared tablet, an app logged in as someone
        else) takes nothing along: it moves alone to the new customer's conversation, or to a new one."""
        if user.customer_id is not None:
            home = await asyncio.to_thread(self.users.home_of, customer_id)
            home = await asyncio.to_thread(self.users.claim_home, customer_id,
                                           home or f"{user.channel}-{uuid.uuid4().hex}")
            await asyncio.to_thread(self.users.move, user.channel, user.user_key, home, customer_id)
            log_event(logger, "channel_user_switched_customer", channel=user.channel)
            return home
        here = user.conversation
        home = await self._home(customer_id, here)
        if home != here:
            await self._carry(here, home)
        moved = await asyncio.to_thread(self.users.join, here, home, customer_id)
        log_event(logger, "conversation_joined", channel=user.channel, carried=home != here, channel_users=moved)
        return home

    async def _carry(self, source: str, home: str) -> None:
        agent = self._agent()
        store = getattr(agent, "tracker_store", None)
        if store is None:
            return
        locks = getattr(agent, "lock_store", None)
        if locks is None:
            await self._append(store, source, home)
            return
        async with locks.lock(home, wait_time_in_seconds=LOCK_WAIT_S):
            await self._append(store, source, home)

    async def _append(self, store: Any, source: str, home: str) -> None:
        anonymous = await store.retrieve(source)
        if anonymous is None or not anonymous.events:
            return
        tracker = await store.get_or_create_tracker(home)
        for event in carried_events(anonymous.events):
            tracker.update(event)
        await store.save(tracker)

