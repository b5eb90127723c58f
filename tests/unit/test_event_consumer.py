"""The queue's consumer (connectors/event_consumer.py): a message is acknowledged only once its row is committed, a
redelivered one is not counted twice, a broken database or RabbitMQ is waited out, and a real queue ends up in
the reporting table with the report's figures."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DataError, OperationalError

from connectors.event_consumer import Backoff, ConsumerConfig, EventConsumer, StoreUnavailable, config_from
from service.db import make_engine
from service.event_feed import FeedRow
from service.migrate import upgrade
from service.reports.event_store import ConversationEventStore
from service.reports.schema import conversation_events
from service.settings import SettingsError, load_settings
from tests.unit.test_event_feed import conversations, published, report, tracker_store


class FakeMessage:
    """A delivered message: remembers whether it was acknowledged or rejected."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.settled: str | None = None

    async def ack(self, multiple: bool = False) -> None:
        self.settled = "ack"

    async def reject(self, requeue: bool = False) -> None:
        self.settled = "requeue" if requeue else "rejected"


class FailingStore:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def add(self, rows: Sequence[FeedRow]) -> int:
        raise self.error


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ConversationEventStore]:
    engine = make_engine(f"sqlite:///{tmp_path / 'xiaozhi.db'}")
    upgrade(engine)
    yield ConversationEventStore(engine)
    engine.dispose()


def rows_in(store: ConversationEventStore) -> int:
    with store._engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(conversation_events)).scalar_one())


async def test_messages_are_acknowledged_after_their_rows_are_stored(store: ConversationEventStore) -> None:
    events = conversations()
    messages = [FakeMessage(published(s, e)) for s, e in events]
    consumer = EventConsumer(store, ConsumerConfig())
    assert await consumer.handle(messages) == 21
    assert {m.settled for m in messages} == {"ack"} and rows_in(store) == 21

    again = [FakeMessage(published(s, e)) for s, e in events[-4:]]  # RabbitMQ delivers them again
    assert await consumer.handle(again) == 0
    assert {m.settled for m in again} == {"ack"} and rows_in(store) == 21


async def test_a_message_that_is_no_event_is_dropped_and_the_others_are_kept(store: ConversationEventStore) -> None:
    sender, event = conversations()[0]
    good, bad = FakeMessage(published(sender, event)), FakeMessage(b"\xff not json")
    assert await EventConsumer(store, ConsumerConfig()).handle([bad, good]) == 1
    assert (bad.settled, good.settled) == ("rejected", "ack")


async def test_nothing_is_acknowledged_while_the_database_is_away() -> None:
    down = FailingStore(OperationalError("INSERT", {}, Exception("connection refused")))
    messages = [FakeMessage(published(s, e)) for s, e in conversations()[:3]]
    with pytest.raises(StoreUnavailable):
        await EventConsumer(down, ConsumerConfig()).handle(messages)
    assert [m.settled for m in messages] == [None, None, None]  # they stay with RabbitMQ


async def test_a_row_the_database_refuses_is_dropped_alone(store: ConversationEventStore) -> None:
    class RefusesOne:
        def add(self, rows: Sequence[FeedRow]) -> int:
            if any(r.intent == "greet" for r in rows):
                raise DataError("INSERT", {}, Exception("value too long"))
            return store.add(rows)

    events = [e for e in conversations() if e[1]["event"] == "user"][:4]  # greet, repair_request, rate_service, …
    messages = [FakeMessage(published(s, e)) for s, e in events]
    assert await EventConsumer(RefusesOne(), ConsumerConfig()).handle(messages) == 3
    assert [m.settled for m in messages] == ["rejected", "ack", "ack", "ack"]


def test_the_backoff_doubles_up_to_its_bound_and_starts_again_after_a_connection() -> None:
    backoff = Backoff(0.5, 30.0)
    assert [backoff.next_delay() for _ in range(9)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    backoff.reset()
    assert backoff.next_delay() == 0.5


async def test_an_unreachable_rabbitmq_is_retried_then_given_up_or_stopped(store: ConversationEventStore) -> None:
    attempts: list[str] = []

    async def refused(config: ConsumerConfig) -> Any:
        attempts.append(config.queue)
        raise ConnectionRefusedError("no broker")

    config = ConsumerConfig(queue="q", backoff_initial_s=0.01, backoff_max_s=0.02)
    assert await asyncio.wait_for(EventConsumer(store, config, refused).run(max_failures=3), 30) == 0
    assert attempts == ["q", "q", "q"]

    waiting = EventConsumer(store, ConsumerConfig(backoff_initial_s=60, backoff_max_s=60), refused)
    task = asyncio.create_task(waiting.run())
    while len(attempts) < 4:
        await asyncio.sleep(0.01)
    waiting.stop()  # SIGTERM during the pause: it ends without waiting the minute out
    assert await asyncio.wait_for(task, 30) == 0


def test_the_settings_it_reads() -> None:
    settings = load_settings({"RABBITMQ_HOST": "rabbitmq", "RABBITMQ_USER": "xiaozhi", "RABBITMQ_PASSWORD": "s3cret",
                              "RABBITMQ_QUEUE": "xiaozhi_events", "EVENT_CONSUMER_PREFETCH": "50",
                              "REPORTS_FROM_EVENTS": "1"})
    config = config_from(settings)
    assert (config.host, config.login, config.queue, config.prefetch) == ("rabbitmq", "xiaozhi", "xiaozhi_events", 50)
    assert settings.reports_from_events and "s3cret" not in repr(settings) and "s3cret" not in repr(config)
    assert not load_settings({}).reports_from_events
    with pytest.raises(SettingsError, match="REPORTS_FROM_EVENTS"):
        load_settings({"REPORTS_FROM_EVENTS": "maybe"})
    with pytest.raises(SettingsError, match="EVENT_CONSUMER_PREFETCH"):
        load_settings({"EVENT_CONSUMER_PREFETCH": "0"})


# --- against the machine's RabbitMQ and PostgreSQL ------------------------------------------------------------


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database of this test's own, dropped afterwards."""
    base = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/")
    name = f"xiaozhi_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base + "postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield base + name
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


class OnceDown:
    """The database goes away for the first batch, then comes back."""

    def __init__(self, store: ConversationEventStore) -> None:
        self.store, self.failed = store, False

    def add(self, rows: Sequence[FeedRow]) -> int:
        if not self.failed:
            self.failed = True
            raise OperationalError("INSERT", {}, Exception("server closed the connection unexpectedly"))
        return self.store.add(rows)


@pytest.mark.postgres
@pytest.mark.rabbitmq
@pytest.mark.skipif(not (_answers(5672) and _answers(5432)), reason="no RabbitMQ at :5672 or PostgreSQL at :5432")
async def test_a_real_queue_feeds_the_table_and_the_report_is_the_same(postgres_url: str, tmp_path: Path) -> None:
    import aio_pika

    from connectors.event_broker import ScrubbingPikaEventBroker

    queue_name = f"xiaozhi_test_{uuid.uuid4().hex[:8]}"
    exchange_name = f"{queue_name}_exchange"
    engine = make_engine(postgres_url, pool_size=2, max_overflow=2)
    upgrade(engine)
    store = ConversationEventStore(engine)
    events = conversations()
    broker = ScrubbingPikaEventBroker("127.0.0.1", "guest", "guest", queues=[queue_name], exchange_name=exchange_name,
                                      connection_attempts=1, event_loop=asyncio.get_running_loop())
    await broker.connect()
    connection = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/", timeout=5)
    try:
        for sender, event in events:  # what Rasa's tracker store streams: {"sender_id": ..., **event}
            broker.publish({"sender_id": sender, **event})
        await asyncio.gather(*broker._background_tasks)
        channel = await connection.channel()
        for sender, event in events[-3:]:  # and a redelivery's copies, straight to the queue
            await channel.default_exchange.publish(aio_pika.Message(published(sender, event)), routing_key=queue_name)

        config = ConsumerConfig(queue=queue_name, prefetch=8, backoff_initial_s=0.1, backoff_max_s=0.5)
        consumer = EventConsumer(OnceDown(store), config)
        settled = await asyncio.wait_for(consumer.run(idle_exit_s=3.0), 120)

        assert settled == len(events) + 3
        assert rows_in(store) == 21  # every row once, although the first batch failed and came back
        queue = await channel.declare_queue(queue_name, durable=True, passive=True)
        assert queue.declaration_result.message_count == 0  # all acknowledged
        log = tracker_store(tmp_path, events)
        for period in ("today", "7d"):
            assert report(log, store, period) == report(log, None, period)
    finally:
        cleanup = await connection.channel()
        await cleanup.queue_delete(queue_name)
        await cleanup.exchange_delete(exchange_name)
        await connection.close()
        await broker.close()
        engine.dispose()
