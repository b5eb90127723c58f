"""How a push for an app user reaches the sockets every Rasa server holds for that user (connectors/app_sockets.py).

- InProcessFanout (embedded mode, one Rasa server): every socket is on this server; the registry delivers the push
  itself and there is nothing to carry.
- RedisFanout (scaled mode): the push is published on the pub/sub channel `{QUEUE_PREFIX}:app` as
  {"id": <unique>, "user": <app user id>, "payload": <the frame's JSON text>}; every server, this one included,
  subscribes to it and delivers the push to the sockets it holds for the user. Going through Redis on this server
  too gives every socket the pushes in the one order Redis took them, whichever servers made them. While this
  server is not subscribed, or the publish fails, the registry delivers the push here itself, and its id is kept so
  that an echo arriving after all is dropped: a socket gets each push once.

Redis pub/sub keeps nothing: a push published while a server is cut off from Redis does not reach its sockets.
The message is still in the conversation's tracker, which the app reads again through /webhooks/app/history
after every reconnect. Logs name the channel and the error's type, never a user or a frame.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from service.logs import log_event
from service.settings import Settings

logger = logging.getLogger(__name__)
POLL_S = 1.0  # the subscriber wakes at least this often to notice stop()
RETRY_S, MAX_RETRY_S = 0.5, 8.0  # its pause after losing Redis, doubling while Redis stays away
TIMEOUT_S = 5.0  # connecting to Redis, a publish, waiting for the subscription at start
KEPT_IDS = 1024  # ids of the pushes this server delivered itself, whose late echo it drops

Deliver = Callable[[str, str], Awaitable[int]]  # (app user, frame JSON) -> sockets reached on this server


def fanout_channel(prefix: str) -> str:
    """The pub/sub channel of app pushes under a queue prefix."""
    return f"{prefix}:app"


@dataclass(frozen=True)
class Handed:
    """What became of a push given to the fanout."""

    servers: int = 0  # other servers that received it
    here: bool = False  # whether this server's own sockets get it through the fanout (else the registry sends it)


class AppFanout(Protocol):
    """Carries pushes between the Rasa servers; each hands them to its own sockets."""

    async def start(self, deliver: Deliver) -> bool:
        """Begin handing pushes to `deliver`; whether they arrive already (else: soon, by retry)."""

    async def publish(self, user: str, payload: str) -> Handed:
        """Give a push to every server."""

    async def stop(self) -> None:
        """Stop receiving and let go of every connection."""


class InProcessFanout:
    """One Rasa server: every socket is on it, so a push has nowhere else to go."""

    async def start(self, deliver: Deliver) -> bool:
        return True

    async def publish(self, user: str, payload: str) -> Handed:
        return Handed()

    async def stop(self) -> None:
        return None


def envelope(push_id: str, user: str, payload: str) -> str:
    """What goes on the channel for one push."""
    return json.dumps({"id": push_id, "user": user, "payload": payload}, ensure_ascii=False)


def opened(data: Any) -> tuple[str, str, str] | None:
    """(id, user, payload) of a push from the channel; None for anything malformed."""
    try:
        message = json.loads(data)
        fields = message["id"], message["user"], message["payload"]
    except (TypeError, ValueError, KeyError):
        fields = None
    if fields is None or not all(isinstance(value, str) for value in fields):
        log_event(logger, "app_fanout_malformed", logging.WARNING)
        return None
    return fields


class RedisFanout:
    """Scaled mode: pushes go over a Redis pub/sub channel to every Rasa server."""

    def __init__(self, url: str, channel: str, *, timeout_s: float = TIMEOUT_S, poll_s: float = POLL_S,
                 retry_s: float = RETRY_S, max_retry_s: float = MAX_RETRY_S) -> None:
        if not channel:
            raise ValueError("RedisFanout needs a channel name")
        self.channel = channel
        self.client_name = f"{channel}:rasa:{uuid.uuid4().hex[:12]}"  # as CLIENT LIST shows this server
        self._redis = aioredis.from_url(url, decode_responses=True, socket_timeout=timeout_s,
                                        socket_connect_timeout=timeout_s, health_check_interval=30,
                                        client_name=self.client_name)
        self._pubsub = self._redis.pubsub()
        self._timeout_s, self._poll_s = timeout_s, poll_s
        self._retry_s, self._max_retry_s = retry_s, max_retry_s
        self._deliver: Deliver | None = None
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._closing = False
        self._sent_here: dict[str, None] = {}  # insertion-ordered, at most KEPT_IDS

    @property
    def subscribed(self) -> bool:
        """Whether pushes (this server's own included) arrive here through Redis right now."""
        return self._subscribed.is_set()

    async def start(self, deliver: Deliver) -> bool:
        """Start the subscriber; wait (boundedly) for Redis to confirm the subscription. Redis being away does not
        stop the server: the subscriber keeps trying, and pushes made here still reach this server's sockets."""
        if self._task is not None:
            return self.subscribed
        self._deliver, self._closing = deliver, False
        self._task = asyncio.create_task(self._receive_loop(), name=f"app-fanout:{self.channel}")
        try:
            await asyncio.wait_for(self._subscribed.wait(), timeout=self._timeout_s)
        except asyncio.TimeoutError:
            log_event(logger, "app_fanout_not_yet_subscribed", logging.WARNING, channel=self.channel)
        else:
            log_event(logger, "app_fanout_started", channel=self.channel)
        return self.subscribed

    async def publish(self, user: str, payload: str) -> Handed:
        push_id, subscribed = uuid.uuid4().hex, self.subscribed
        if not subscribed:  # no echo expected: the registry sends it here; a late one is dropped
            self._keep(push_id)
        try:
            received = int(await self._redis.publish(self.channel, envelope(push_id, user, payload)))
        except (RedisError, OSError) as error:  # it may have gone out all the same: drop its echo
            log_event(logger, "app_fanout_publish_failed", logging.WARNING, channel=self.channel,
                      error=type(error).__name__)
            self._keep(push_id)
            return Handed(servers=0, here=False)
        return Handed(servers=max(0, received - 1) if subscribed else received, here=subscribed)

    def _keep(self, push_id: str) -> None:
        self._sent_here[push_id] = None
        while len(self._sent_here) > KEPT_IDS:
            del self._sent_here[next(iter(self._sent_here))]

    async def stop(self) -> None:
        """Stop the subscriber and wait for it, boundedly; then close the connections.

        A cancel that lands as get_message's own read timeout fires can be turned into that timeout by redis-py
        (async_timeout on Python 3.10) and lost: the `_closing` flag ends the loop anyway.
        """
        self._closing = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=self._poll_s + self._timeout_s)
            if not done:
                log_event(logger, "app_fanout_stop_timeout", logging.WARNING, channel=self.channel)
        self._subscribed.clear()
        try:
            await self._pubsub.reset()
            await self._redis.close(close_connection_pool=True)
        except (RedisError, OSError) as error:
            log_event(logger, "app_fanout_close_failed", logging.DEBUG, error=type(error).__name__)
        log_event(logger, "app_fanout_stopped", channel=self.channel)

    async def _receive_loop(self) -> None:
        """Subscribe, then hand every push to this server's sockets until stop(). When Redis goes
        away: one warning, then quiet retries at a doubling pause (at most max_retry_s); redis-py reconnects and
        subscribes again on the next read."""
        backoff_s, failures = self._retry_s, 0
        while not self._closing:
            try:
                if not self._pubsub.subscribed:
                    await self._pubsub.subscribe(self.channel)
                message = await self._pubsub.get_message(timeout=self._poll_s)
            except (RedisError, OSError) as error:
                self._subscribed.clear()
                failures += 1
                log_event(logger, "app_fanout_disconnected", logging.WARNING if failures == 1 else logging.DEBUG,
                          channel=self.channel, error=type(error).__name__, attempt=failures, retry_s=backoff_s)
                await asyncio.sleep(backoff_s)
                backoff_s = min(backoff_s * 2, self._max_retry_s)
                continue
            if message is None:
                continue
            kind = message.get("type")
            if kind == "subscribe":
                self._subscribed.set()
                if failures:
                    log_event(logger, "app_fanout_reconnected", channel=self.channel, attempts=failures)
                backoff_s, failures = self._retry_s, 0
            elif kind == "message":
                await self._hand_on(message.get("data"))

    async def _hand_on(self, data: Any) -> None:
        push = opened(data)
        if push is None or self._deliver is None:
            return
        push_id, user, payload = push
        if push_id in self._sent_here:  # this server sent it to its sockets itself
            del self._sent_here[push_id]
            return
        try:
            await self._deliver(user, payload)
        except Exception as error:  # one bad delivery must not end the subscriber
            log_event(logger, "app_fanout_deliver_failed", logging.WARNING, channel=self.channel,
                      error=type(error).__name__)


def app_fanout(settings: Settings) -> AppFanout:
    """The fanout the settings call for, chosen once: Redis in scaled mode with REDIS_URL, else in-process."""
    if settings.redis_url:
        return RedisFanout(settings.redis_url, fanout_channel(settings.queue_prefix))
    if settings.scaled:
        log_event(logger, "app_fanout_local_only", logging.WARNING,
                  reason="scaled mode without REDIS_URL: pushes reach only the sockets on the server that makes them")
    return InProcessFanout()
