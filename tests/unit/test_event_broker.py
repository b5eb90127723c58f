"""Events leave for RabbitMQ with phone and ID numbers masked; the caller's event is left as it was."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import aio_pika
import pytest
from rasa.utils.endpoints import EndpointConfig

from connectors.event_broker import ScrubbingPikaEventBroker

PHONE, ID_NUMBER = "13800138000", "330106199001011234"
FULL = (PHONE, ID_NUMBER, "13900139000", "文三路")


@pytest.fixture(autouse=True)
def _restore_log_record_factory() -> Iterator[None]:
    """The broker installs log scrubbing for the whole process; the next test gets the factory it had."""
    factory = logging.getLogRecordFactory()
    yield
    logging.setLogRecordFactory(factory)


def user_event() -> dict[str, Any]:
    text = f"我叫张伟，电话{PHONE}，身份证{ID_NUMBER}，地址浙江省杭州市西湖区文三路100号"
    return {
        "sender_id": "web-c001", "event": "user", "timestamp": 1732150000.1, "text": text,
        "message_id": "5f13912345678a1b2c3d4e5f60718293",  # a uuid's hex (11 digits in a row) is kept as it is
        "parse_data": {"text": text, "intent": {"name": "inform", "confidence": 0.97},
                       "entities": [{"entity": "phone", "value": PHONE, "start": 7, "end": 18},
                                    {"entity": "id_number", "value": ID_NUMBER}]},
        "input_channel": "rest", "metadata": {"identity": {"phone": "+86 139 0013 9000"}, "tags": [PHONE]},
    }


def slot_event() -> dict[str, Any]:
    return {"sender_id": "web-c001", "event": "slot", "name": "contact_phone", "value": PHONE, "timestamp": 1.0}


class FakeExchange:
    """Stands in for RabbitMQ's exchange: keeps what would have been sent."""

    def __init__(self) -> None:
        self.messages: list[aio_pika.Message] = []

    async def publish(self, message: aio_pika.Message, routing_key: str) -> None:
        self.messages.append(message)


async def published(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    broker = ScrubbingPikaEventBroker("localhost", "guest", "guest", queues=["xiaozhi_events"],
                                      event_loop=asyncio.get_running_loop())
    exchange = FakeExchange()
    broker._exchange = exchange  # type: ignore[assignment]
    for event in events:
        broker.publish(event)
    await asyncio.gather(*broker._background_tasks)
    return [json.loads(message.body) for message in exchange.messages]


async def test_every_string_is_masked_and_the_callers_event_is_untouched() -> None:
    events = [user_event(), slot_event()]
    before = copy.deepcopy(events)
    user, slot = await published(events)

    assert events == before
    body = json.dumps([user, slot], ensure_ascii=False)
    for value in FULL:
        assert value not in body
    masked = "我叫张伟，电话138****8000，身份证330106********4，地址浙江省杭州市西湖区****"
    assert user["text"] == user["parse_data"]["text"] == masked
    assert [e["value"] for e in user["parse_data"]["entities"]] == ["138****8000", "330106********4"]
    assert user["metadata"] == {"identity": {"phone": "+86 139 **** 9000"}, "tags": ["138****8000"]}
    assert slot["value"] == "138****8000"
    assert user["message_id"] == before[0]["message_id"] and user["timestamp"] == before[0]["timestamp"]
    assert user["parse_data"]["intent"] == before[0]["parse_data"]["intent"]


async def test_rasa_builds_it_from_the_endpoint_config(monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa.core.brokers.broker import _load_from_module_name_in_endpoint_config

    async def no_connection(self: ScrubbingPikaEventBroker) -> None:
        return None

    monkeypatch.setattr(ScrubbingPikaEventBroker, "connect", no_connection)
    config = EndpointConfig(url="localhost", type="connectors.event_broker.ScrubbingPikaEventBroker",
                            username="guest", password="guest", queues=["xiaozhi_events"])
    broker = await _load_from_module_name_in_endpoint_config(config)
    assert isinstance(broker, ScrubbingPikaEventBroker) and broker.queues == ["xiaozhi_events"]


def _rabbitmq_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=0.5).close()
        return True
    except OSError:
        return False


@pytest.mark.rabbitmq
@pytest.mark.skipif(not _rabbitmq_up(), reason="no RabbitMQ at 127.0.0.1:5672")
async def test_what_reaches_a_real_rabbitmq_queue_is_masked() -> None:
    queue_name = f"xiaozhi_test_{uuid.uuid4().hex[:8]}"
    broker = ScrubbingPikaEventBroker("127.0.0.1", "guest", "guest", queues=[queue_name],
                                      exchange_name=f"{queue_name}_exchange", connection_attempts=1,
                                      event_loop=asyncio.get_running_loop())
    await broker.connect()
    connection = await aio_pika.connect_robust("amqp://guest:guest@127.0.0.1:5672/")
    try:
        broker.publish(user_event())
        await asyncio.gather(*broker._background_tasks)
        channel = await connection.channel()
        queue = await channel.get_queue(queue_name)
        message = await queue.get(timeout=5)
        await message.ack()
        body = message.body.decode()
        assert PHONE not in body and ID_NUMBER not in body and "138****8000" in body
        await queue.delete(if_unused=False, if_empty=False)
        await channel.exchange_delete(f"{queue_name}_exchange")
    finally:
        await connection.close()
        await broker.close()
