"""`python -m connectors.event_consumer`: the RabbitMQ queue of conversation events into the reporting table.

Rasa's event broker (connectors/event_broker.py) publishes every tracker event, masked, to RABBITMQ_QUEUE.
This consumer turns them into rows (service/event_feed.py) and stores them in `conversation_events` on
DATABASE_URL (service/reports/event_store.py), which the reports read with REPORTS_FROM_EVENTS=1.

- Nothing lost: a message is acknowledged only after the transaction holding its row committed. A crash,
  a lost connection or a database error leaves it unacknowledged, and RabbitMQ delivers it again; its key
  keeps it from being counted twice.
- Prefetch (EVENT_CONSUMER_PREFETCH) bounds what is in flight; what has arrived is stored as one batch.
- Reconnects with a bounded exponential backoff (0.5 s doubling up to 30 s) when RabbitMQ or the database
  goes away; a message that is not a conversation event is rejected (dropped) with a log line, not retried.
- SIGTERM or SIGINT: the batch in hand is stored and acknowledged, then the consumer stops (exit 0).
- Run one consumer per queue: a conversation's events are then stored in the order Rasa published them.

    python -m connectors.event_consumer [--idle-exit SECONDS] [--max-messages N]

`--idle-exit` stops after that long without a message and `--max-messages` after that many (backfills, tests).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import aio_pika
from aio_pika.abc import AbstractConnection
from aio_pika.exceptions import AMQPError
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from service.event_feed import FeedRow, MalformedEvent, feed_row, parse_message
from service.logs import install_log_scrubbing, log_event

logger = logging.getLogger(__name__)
POLL_S = 0.5  # how often a waiting consumer looks at the stop flag and its connection


class Message(Protocol):
    """What the consumer needs of a delivered message (aio_pika's IncomingMessage)."""

    body: bytes

    async def ack(self, multiple: bool = False) -> None: ...

    async def reject(self, requeue: bool = False) -> None: ...


class RowStore(Protocol):
    def add(self, rows: Sequence[FeedRow]) -> int: ...


@dataclass(frozen=True)
class ConsumerConfig:
    host: str = "127.0.0.1"  # a host name, or an amqp:// URL (then login and password are in it)
    login: str = "guest"
    password: str = "guest"
    queue: str = "xiaozhi_events"
    prefetch: int = 200
    connect_timeout_s: float = 5.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0

    def __repr__(self) -> str:
        return f"ConsumerConfig(host={self.host.split('@')[-1]!r}, queue={self.queue!r}, prefetch={self.prefetch})"


class Backoff:
    """Exponential delays, capped: 0.5, 1, 2, … 30, 30 s; `reset()` after a good connection."""

    def __init__(self, initial_s: float, max_s: float) -> None:
        self._initial, self._max, self._failures = initial_s, max_s, 0

    def next_delay(self) -> float:
        delay = min(self._max, self._initial * 2 ** min(self._failures, 30))
        self._failures += 1
        return delay

    def reset(self) -> None:
        self._failures = 0


class StoreUnavailable(Exception):
    """The database did not take the batch (down, restarting): nothing was acknowledged."""


def _retriable(exc: SQLAlchemyError) -> bool:
    """The database is away (connection refused, dropped, restarting), rather than refusing a row."""
    return isinstance(exc, DBAPIError) and (exc.connection_invalidated or type(exc).__name__ in (
        "OperationalError", "InterfaceError"))


class EventConsumer:
    """Consumes the queue into `store`. `connect` opens a RabbitMQ connection (aio_pika.connect by default)."""

    def __init__(self, store: RowStore, config: ConsumerConfig,
                 connect: Callable[[ConsumerConfig], Awaitable[AbstractConnection]] | None = None) -> None:
        self._store = store
        self._config = config
        self._connect = connect or _connect
        self._stopping = asyncio.Event()
        self.handled = 0  # messages settled (stored or dropped)

    def stop(self) -> None:
        """Finish the batch in hand, then stop (the SIGTERM handler)."""
        self._stopping.set()

    async def handle(self, messages: Sequence[Message]) -> int:
        """Store the rows of these messages in one transaction, then acknowledge them; how many rows were new.

        StoreUnavailable when the database is away: the messages stay unacknowledged."""
        parsed: list[tuple[Message, FeedRow | None]] = []
        for message in messages:
            try:
                parsed.append((message, feed_row(parse_message(message.body))))
            except MalformedEvent as exc:
                log_event(logger, "event_dropped", logging.WARNING, reason=str(exc), size=len(message.body))
                await message.reject(requeue=False)
        try:
            added = await asyncio.to_thread(self._store.add, [row for _, row in parsed if row is not None])
        except SQLAlchemyError as exc:
            if _retriable(exc):
                raise StoreUnavailable(type(exc).__name__) from exc
            return await self._one_by_one(parsed)  # a row the database refuses: find it, keep the others
        for message, _ in parsed:
            await message.ack()
        self.handled += len(messages)
        return added

    async def _one_by_one(self, parsed: list[tuple[Message, FeedRow | None]]) -> int:
        added = 0
        for message, row in parsed:
            if row is not None:
                try:
                    added += await asyncio.to_thread(self._store.add, [row])
                except SQLAlchemyError as exc:
                    if _retriable(exc):
                        raise StoreUnavailable(type(exc).__name__) from exc
                    log_event(logger, "event_refused", logging.WARNING, error=type(exc).__name__, kind=row.kind)
                    await message.reject(requeue=False)
                    continue
            await message.ack()
        self.handled += len(parsed)
        return added

    async def run(self, *, idle_exit_s: float | None = None, max_messages: int | None = None,
                  max_failures: int | None = None) -> int:
        """Consume until stopped (or idle that long, or that many messages, or that many failed connections in a row);
        how many messages were settled."""
        backoff = Backoff(self._config.backoff_initial_s, self._config.backoff_max_s)
        failures = 0
        while not self._stopping.is_set():
            try:
                connection = await self._connect(self._config)
            except (OSError, AMQPError, asyncio.TimeoutError) as exc:
                failures += 1
                if max_failures is not None and failures >= max_failures:
                    log_event(logger, "event_consumer_gave_up", logging.ERROR, failures=failures)
                    break
                delay = backoff.next_delay()
                log_event(logger, "event_consumer_unreachable", logging.WARNING, error=type(exc).__name__, retry_s=delay)
                await self._pause(delay)
                continue
            failures = 0
            try:
                if await self._consume(connection, backoff, idle_exit_s, max_messages):
                    break
                delay = 0.0
            except (OSError, AMQPError, asyncio.TimeoutError, StoreUnavailable) as exc:
                delay = backoff.next_delay()
                log_event(logger, "event_consumer_interrupted", logging.WARNING, error=type(exc).__name__, retry_s=delay)
            finally:
                await self._close(connection)  # what was not acknowledged goes back to the queue
            await self._pause(delay)
        log_event(logger, "event_consumer_stopped", handled=self.handled)
        return self.handled

    async def _consume(self, connection: AbstractConnection, backoff: Backoff, idle_exit_s: float | None,
                       max_messages: int | None) -> bool:
        """Consume on this connection; True when done (stopped, idle, enough), an exception when it broke."""
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=self._config.prefetch)
        queue = await channel.declare_queue(self._config.queue, durable=True)  # as Rasa's broker declares it
        arrived: asyncio.Queue[Any] = asyncio.Queue()
        tag = await queue.consume(arrived.put, no_ack=False)
        log_event(logger, "event_consumer_connected", queue=self._config.queue, prefetch=self._config.prefetch)
        backoff.reset()
        loop = asyncio.get_running_loop()
        last_message = loop.time()
        while not self._stopping.is_set():
            if max_messages is not None and self.handled >= max_messages:
                return True
            if idle_exit_s is not None and loop.time() - last_message >= idle_exit_s:
                log_event(logger, "event_consumer_idle", idle_s=idle_exit_s)
                return True
            if connection.is_closed:
                raise ConnectionError("connection closed")
            try:
                first = await asyncio.wait_for(arrived.get(), POLL_S)
            except asyncio.TimeoutError:
                continue
            batch = [first]
            while not arrived.empty() and len(batch) < self._config.prefetch:
                batch.append(arrived.get_nowait())
            if max_messages is not None:
                batch, rest = batch[:max(1, max_messages - self.handled)], batch[max(1, max_messages - self.handled):]
                for message in rest:  # beyond the bound: back to the queue
                    await message.reject(requeue=True)
            added = await self.handle(batch)
            last_message = loop.time()
            log_event(logger, "event_batch_stored", logging.DEBUG, messages=len(batch), added=added)
        await queue.cancel(tag)  # the messages not yet in hand go back to the queue with the channel
        return True

    async def _pause(self, delay: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), delay)
        except asyncio.TimeoutError:
            pass

    @staticmethod
    async def _close(connection: AbstractConnection) -> None:
        if not connection.is_closed:
            try:
                await connection.close()
            except (OSError, AMQPError, asyncio.TimeoutError, RuntimeError):
                pass


async def _connect(config: ConsumerConfig) -> AbstractConnection:
    if config.host.startswith(("amqp://", "amqps://")):
        return await aio_pika.connect(config.host, timeout=config.connect_timeout_s)
    return await aio_pika.connect(host=config.host, login=config.login, password=config.password,
                                  timeout=config.connect_timeout_s)


def config_from(settings: Any) -> ConsumerConfig:
    return ConsumerConfig(host=settings.rabbitmq_host, login=settings.rabbitmq_user, password=settings.rabbitmq_password,
                          queue=settings.rabbitmq_queue, prefetch=settings.event_consumer_prefetch)


async def serve(consumer: EventConsumer, idle_exit_s: float | None, max_messages: int | None) -> int:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, consumer.stop)
    return await consumer.run(idle_exit_s=idle_exit_s, max_messages=max_messages)


def main(argv: Sequence[str] | None = None) -> int:
    from service.db import make_engine
    from service.migrate import upgrade
    from service.reports.event_store import ConversationEventStore
    from service.settings import SettingsError, get_settings

    parser = argparse.ArgumentParser(prog="python -m connectors.event_consumer", description=__doc__.split("\n")[0])
    parser.add_argument("--idle-exit", type=float, default=None, metavar="SECONDS",
                        help="stop after this long without a message")
    parser.add_argument("--max-messages", type=int, default=None, metavar="N", help="stop after this many messages")
    args = parser.parse_args(argv)
    install_log_scrubbing()
    try:
        settings = get_settings()
    except SettingsError as exc:
        print(f"event_consumer: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    engine = make_engine(settings.database_url, pool_size=2, max_overflow=2)
    try:
        upgrade(engine)  # the table exists before the first row, whoever started first
        consumer = EventConsumer(ConversationEventStore(engine), config_from(settings))
        asyncio.run(serve(consumer, args.idle_exit, args.max_messages))
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
