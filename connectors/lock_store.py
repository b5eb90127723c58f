"""Rasa's conversation lock stores, with a waiting turn served within milliseconds of the lock's release.

Rasa 3.6 (rasa/core/lock_store.py) serves the turns of one conversation in the order of their tickets, and a
turn that finds the lock held sleeps `wait_time_in_seconds` (1 s, which no caller changes) before it looks
again. Two waits are common here: the desk's trigger_intent (queue place, agent joined, agent reply) arrives
while the customer's own turn, which called the desk from action_request_human, still holds the lock; and a
customer's next message comes right after the bot's answer, before that turn has saved its tracker. Each
waited a whole second.

Here a waiting turn looks again after 5 ms, then 10, 20, ... up to 100 ms (less when the caller asks for
less, as connectors/routing.py does). The in-memory store also wakes its waiters as soon as a turn lets the
lock go. Tickets, their lifetime (TICKET_LOCK_LIFETIME) and the LockError of a ticket that expired while it
waited are Rasa's own. The Redis store changes a lock only in a WATCH/MULTI transaction, so Rasa servers
sharing it cannot lose each other's tickets, and it writes nothing while a turn merely waits.

    lock_store:
      type: connectors.lock_store.PromptInMemoryLockStore     # embedded mode (endpoints.yml)
      type: connectors.lock_store.PromptRedisLockStore        # scaled mode, with url, port, db, key_prefix, ...
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockError, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from service.logs import log_event

logger = logging.getLogger(__name__)
FIRST_LOOK_S = 0.005  # the first look again after finding the lock held
LONGEST_LOOK_S = 0.1  # the pause between looks doubles up to this
TRANSACTION_ATTEMPTS = 100  # WATCH conflicts on one lock before giving up (each is another server's change)
T = TypeVar("T")


def look_delays(wait_time_in_seconds: float, first_s: float = FIRST_LOOK_S, longest_s: float = LONGEST_LOOK_S
                ) -> Iterator[float]:
    """The pauses of a waiting turn: `first_s`, doubling, at most `longest_s` and the caller's own wait time."""
    cap = min(longest_s, wait_time_in_seconds) if wait_time_in_seconds > 0 else longest_s
    delay = min(first_s, cap)
    while True:
        yield delay
        delay = min(delay * 2, cap)


class PromptWaiting(LockStore):
    """Rasa's `_acquire_lock` (a lock gone while waiting: LockError), with short, growing pauses between looks."""

    async def _acquire_lock(self, conversation_id: str, ticket: int, wait_time_in_seconds: float) -> TicketLock:
        delays = look_delays(wait_time_in_seconds)
        started, looks = time.perf_counter(), 0
        while True:
            lock = self.get_lock(conversation_id)  # read again each time: the lock may be gone (expired)
            if not lock:
                break
            if not lock.is_locked(ticket):
                if looks:
                    log_event(logger, "conversation_lock_waited", logging.DEBUG, looks=looks,
                              waited_ms=round((time.perf_counter() - started) * 1000, 1))
                return lock
            looks += 1
            await self._wait_for_release(conversation_id, next(delays))
            self.update_lock(conversation_id)
        raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")

    async def _wait_for_release(self, conversation_id: str, timeout_s: float) -> None:
        """Pause before looking at the lock again."""
        await asyncio.sleep(timeout_s)


class PromptInMemoryLockStore(PromptWaiting, InMemoryLockStore):
    """Rasa's in-memory lock store (one Rasa process); a turn let go of a lock wakes whoever waits for it."""

    def __init__(self, endpoint_config: EndpointConfig | None = None) -> None:
        super().__init__()
        self._released: dict[str, asyncio.Event] = {}

    async def _wait_for_release(self, conversation_id: str, timeout_s: float) -> None:
        # No await between the caller's look at the lock and here, so a release cannot slip in unseen.
        released = self._released.get(conversation_id)
        if released is None:
            released = self._released[conversation_id] = asyncio.Event()
        try:
            await asyncio.wait_for(released.wait(), timeout_s)  # the timeout: a holder's ticket may expire instead
        except asyncio.TimeoutError:
            pass

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        super().cleanup(conversation_id, ticket_number)
        released = self._released.pop(conversation_id, None)
        if released is not None:
            released.set()


class PromptRedisLockStore(PromptWaiting, RedisLockStore):
    """Rasa's Redis lock store (shared by several Rasa servers), polled quickly, every change a transaction.

    Built by Rasa from endpoints.yml as `PromptRedisLockStore(endpoint_config=...)`: `url` is the host, the other
    keys (port, db, username, password, use_ssl, key_prefix, socket_timeout, ...) are RedisLockStore's arguments.
    """

    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs, **kwargs}
        super().__init__(**kwargs)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        try:
            return self._change(conversation_id, lambda lock: lock.issue_ticket(lock_lifetime))
        except Exception as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: str) -> None:
        """Drop expired tickets; nothing is written when none expired (the common case while waiting)."""
        self._change(conversation_id, lambda lock: lock.remove_expired_tickets(), create=False)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Finish the ticket and delete the lock when nobody else holds one, in one transaction."""
        self._change(conversation_id, lambda lock: lock.remove_ticket_for(ticket_number), create=False,
                     delete_when_empty=True)

    def _change(self, conversation_id: str, edit: Callable[[TicketLock], T], create: bool = True,
                delete_when_empty: bool = False) -> T:
        """Run `edit` on the stored lock (a new one if none, when `create`) and store the outcome, unless another
        client changed the lock meanwhile: then it runs again on what that client stored."""
        from redis.exceptions import WatchError

        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            for _attempt in range(TRANSACTION_ATTEMPTS):
                try:
                    pipe.watch(key)
                    stored = pipe.get(key)
                    if not stored and not create:
                        return edit(self.create_lock(conversation_id))  # an empty lock: nothing to store
                    lock = TicketLock.from_dict(json.loads(stored)) if stored else self.create_lock(conversation_id)
                    before = lock.dumps()
                    result = edit(lock)
                    pipe.multi()
                    if delete_when_empty and not lock.tickets:
                        pipe.delete(key)
                    elif lock.dumps() != before:
                        pipe.set(key, lock.dumps())
                    else:
                        return result  # unchanged: leaving the pipeline unwatches the key
                    pipe.execute()
                    return result
                except WatchError:
                    continue
        raise LockError(f"Lock for conversation_id '{conversation_id}' changed {TRANSACTION_ATTEMPTS} times in a row.")
