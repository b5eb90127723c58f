"""Scaled mode's queue state: the QueueState protocol kept in Redis, shared by every desk process.

Keys, all under the prefix:
    {prefix}:waiting        hash   session → Waiting as JSON
    {prefix}:waiting:order  zset   session → insertion number, so waiting() keeps first-insertion order
    {prefix}:agents         hash   username → AgentState as JSON, without `active`
    {prefix}:agents:order   zset   username → insertion number
    {prefix}:load           hash   username → active chats (changed only by Lua, never below 0)
    {prefix}:owners         hash   session → username
    {prefix}:told           hash   session → what the customer was last told about their wait
    {prefix}:seq            string counter behind the insertion numbers
    {prefix}:lock           string token of the caller inside critical()
    {prefix}:events         pub/sub channel of {"origin": <process token>, "event": {...}}

Every read-modify-write is one Lua script, so it is atomic across processes. Events reach this
process's listeners directly from publish() (as in memory) and other processes' listeners through
the channel; each process drops the echo of its own messages, so nobody gets an event twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from contextlib import AbstractAsyncContextManager
from dataclasses import asdict, dataclass
from typing import Any

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from handoff.queueing import AgentState, Waiting
from handoff.redis_lock import RedisLock
from handoff.state import Event, Listener
from service.errors import BackendUnavailable
from service.logs import log_event

logger = logging.getLogger(__name__)

_POLL_S = 1.0  # the event pump wakes at least this often to notice close()
_RETRY_S, _MAX_RETRY_S = 0.5, 8.0  # its pause after losing Redis, doubling while Redis stays away

# KEYS: data, order, seq[, load]   ARGV: field, json[, active]
_PUT = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
end
if KEYS[4] then redis.call('HSET', KEYS[4], ARGV[1], ARGV[3]) end
"""

# KEYS: data, order[, load]   ARGV: field   → the removed JSON, or nil
_POP = """
local value = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if KEYS[3] then redis.call('HDEL', KEYS[3], ARGV[1]) end
return value
"""

# KEYS: agents, load   ARGV: username, delta   (unknown agents are left alone)
_ADD_LOAD = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return nil end
local active = redis.call('HINCRBY', KEYS[2], ARGV[1], ARGV[2])
if active < 0 then
  redis.call('HSET', KEYS[2], ARGV[1], 0)
  active = 0
end
return active
"""

# KEYS: told   ARGV: session[, value]   → the previous value, or nil
_SWAP = """
local previous = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return previous
"""


@dataclass(frozen=True)
class _Keys:
    waiting: str
    waiting_order: str
    agents: str
    agents_order: str
    load: str
    seq: str
    owners: str
    told: str
    lock: str
    events: str

    @classmethod
    def under(cls, prefix: str) -> _Keys:
        return cls(f"{prefix}:waiting", f"{prefix}:waiting:order", f"{prefix}:agents", f"{prefix}:agents:order",
                   f"{prefix}:load", f"{prefix}:seq", f"{prefix}:owners", f"{prefix}:told", f"{prefix}:lock",
                   f"{prefix}:events")


def _waiting_json(entry: Waiting) -> str:
    return json.dumps(asdict(entry), ensure_ascii=False)


def _waiting_from(raw: str) -> Waiting:
    return Waiting(**json.loads(raw))


def _agent_json(agent: AgentState) -> str:
    fields = {"username": agent.username, "name": agent.name, "groups": sorted(agent.groups),
              "status": agent.status, "capacity": agent.capacity}
    return json.dumps(fields, ensure_ascii=False)


def _agent_from(raw: str, active: str | None) -> AgentState:
    fields = json.loads(raw)
    return AgentState(fields["username"], fields["name"], frozenset(fields["groups"]), fields["status"],
                      int(fields["capacity"]), int(active or 0))


class RedisQueueState:
    """The scaled mode's queue: state in Redis, events fanned out over pub/sub to every desk process."""

    def __init__(self, url: str, prefix: str, *, timeout_s: float = 5.0, lock_ttl_s: float = 10.0,
                 lock_wait_s: float = 5.0) -> None:
        if not prefix:
            raise ValueError("RedisQueueState needs a non-empty key prefix")
        self._origin = uuid.uuid4().hex  # tells this process's own messages apart on the channel
        self.client_name = f"{prefix}:desk:{self._origin[:12]}"  # as CLIENT LIST shows this process
        self._redis = aioredis.from_url(url, decode_responses=True, socket_timeout=timeout_s,
                                        socket_connect_timeout=timeout_s, health_check_interval=30,
                                        client_name=self.client_name)
        self._pubsub = self._redis.pubsub()
        self._timeout_s = timeout_s
        self._listeners: list[Listener] = []
        self._pump: asyncio.Task[None] | None = None
        self._closing = False
        self.prefix = prefix
        self._k = _Keys.under(prefix)
        self._put = self._redis.register_script(_PUT)
        self._pop = self._redis.register_script(_POP)
        self._add_load = self._redis.register_script(_ADD_LOAD)
        self._swap = self._redis.register_script(_SWAP)
        self._lock = RedisLock(self._redis, self._k.lock, ttl_s=lock_ttl_s, wait_s=lock_wait_s)

    # --- lifecycle --------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect, subscribe to the events channel and start delivering other processes' events."""
        try:
            await self._redis.ping()
            await self._pubsub.subscribe(self._k.events)
            await self._confirm_subscribed()
        except BaseException:
            await self.close()
            raise
        self._pump = asyncio.create_task(self._pump_events(), name=f"queue-events:{self.prefix}")
        log_event(logger, "queue_state_opened", prefix=self.prefix)

    async def _confirm_subscribed(self) -> None:
        """Wait for Redis to confirm the subscription, so no event published after open() is missed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout_s
        while (left := deadline - loop.time()) > 0:
            message = await self._pubsub.get_message(timeout=left)
            if message is not None and message["type"] == "subscribe":
                return
        raise BackendUnavailable("queue_events", "no subscription confirmation from Redis")

    async def close(self) -> None:
        self._listeners.clear()
        await self._stop_pump()
        await self._pubsub.reset()
        await self._redis.close(close_connection_pool=True)

    async def _stop_pump(self) -> None:
        """Cancel the event pump and wait for it, boundedly.

        A cancel that lands as get_message's own read timeout fires is turned into that timeout by
        redis-py (async_timeout on Python 3.10) and lost; the `_closing` flag ends the loop anyway.
        """
        self._closing = True
        pump, self._pump = self._pump, None
        if pump is None:
            return
        pump.cancel()
        done, _ = await asyncio.wait({pump}, timeout=_POLL_S + self._timeout_s)
        if not done:
            log_event(logger, "queue_events_stop_timeout", logging.WARNING, prefix=self.prefix)

    # --- waiting customers ------------------------------------------------------------------

    async def add_waiting(self, entry: Waiting) -> None:
        await self._put(keys=[self._k.waiting, self._k.waiting_order, self._k.seq],
                        args=[entry.session_id, _waiting_json(entry)])

    async def remove_waiting(self, session_id: str) -> Waiting | None:
        raw = await self._pop(keys=[self._k.waiting, self._k.waiting_order], args=[session_id])
        return _waiting_from(raw) if raw is not None else None

    async def waiting(self) -> list[Waiting]:
        order, values = await self._snapshot(self._k.waiting_order, self._k.waiting)
        return [_waiting_from(values[s]) for s in order if s in values]

    # --- agents -----------------------------------------------------------------------------

    async def put_agent(self, agent: AgentState) -> None:
        await self._put(keys=[self._k.agents, self._k.agents_order, self._k.seq, self._k.load],
                        args=[agent.username, _agent_json(agent), agent.active])

    async def remove_agent(self, username: str) -> None:
        await self._pop(keys=[self._k.agents, self._k.agents_order, self._k.load], args=[username])

    async def agents(self) -> list[AgentState]:
        order, values, load = await self._snapshot(self._k.agents_order, self._k.agents, self._k.load)
        return [_agent_from(values[u], load.get(u)) for u in order if u in values]

    async def add_load(self, username: str, delta: int) -> None:
        await self._add_load(keys=[self._k.agents, self._k.load], args=[username, delta])

    async def _snapshot(self, order_key: str, *hash_keys: str) -> list[Any]:
        """An ordering zset and its hashes, read in one MULTI so they agree with each other."""
        pipe = self._redis.pipeline(transaction=True)
        pipe.zrange(order_key, 0, -1)
        for key in hash_keys:
            pipe.hgetall(key)
        return list(await pipe.execute())

    # --- owners and what waiting customers were told ----------------------------------------

    async def owner(self, session_id: str) -> str | None:
        owner: str | None = await self._redis.hget(self._k.owners, session_id)
        return owner

    async def set_owner(self, session_id: str, username: str | None) -> None:
        if username is None:
            await self._redis.hdel(self._k.owners, session_id)
        else:
            await self._redis.hset(self._k.owners, session_id, username)

    async def swap_told(self, session_id: str, value: str | None) -> str | None:
        """Remember what the customer was last told about their wait; return the previous value."""
        args = [session_id] if value is None else [session_id, value]
        previous: str | None = await self._swap(keys=[self._k.told], args=args)
        return previous

    # --- events -----------------------------------------------------------------------------

    async def publish(self, event: Event) -> None:
        """Deliver `event` to the listeners of every desk process (this one included)."""
        message = json.dumps({"origin": self._origin, "event": event}, ensure_ascii=False)
        await self._redis.publish(self._k.events, message)
        await self._deliver(json.loads(message)["event"])  # the same decoded copy other processes get

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def _pump_events(self) -> None:
        """Hand other processes' events to this process's listeners until close()."""
        backoff_s = _RETRY_S
        while not self._closing:
            try:
                message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=_POLL_S)
            except (RedisError, OSError) as error:  # redis-py reconnects and resubscribes on the next read
                log_event(logger, "queue_events_disconnected", logging.WARNING, error=type(error).__name__,
                          retry_s=backoff_s)
                await asyncio.sleep(backoff_s)
                backoff_s = min(backoff_s * 2, _MAX_RETRY_S)
                continue
            backoff_s = _RETRY_S
            if message is not None and message.get("type") == "message":
                await self._receive(message["data"])

    async def _receive(self, data: str) -> None:
        try:
            envelope = json.loads(data)
            origin, event = envelope["origin"], envelope["event"]
        except (ValueError, TypeError, KeyError):
            log_event(logger, "queue_event_malformed", logging.WARNING, channel=self._k.events)
            return
        if origin != self._origin and isinstance(event, dict):
            await self._deliver(event)

    async def _deliver(self, event: Event) -> None:
        """Await every listener in turn; one that fails is logged and the others still run."""
        for listener in list(self._listeners):
            try:
                await listener(event)
            except Exception as error:
                log_event(logger, "queue_listener_failed", logging.WARNING, type=event.get("type"),
                          error=type(error).__name__)
                logger.debug("queue_listener_failed", exc_info=True)

    # --- one queue decision at a time, across processes -------------------------------------

    def critical(self) -> AbstractAsyncContextManager[None]:
        """An async context manager: one queue decision at a time, across processes."""
        return self._lock.held()
