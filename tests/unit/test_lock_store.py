"""Conversation lock stores (connectors/lock_store.py): a waiting turn is served within milliseconds of the
release, in ticket order; a ticket that expired while waiting still raises LockError; Rasa builds them from
the endpoints files. The Redis ones run against the machine's Redis under a key prefix of their own."""

from __future__ import annotations

import asyncio
import re
import threading
import time
import uuid
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from urllib.parse import urlparse

import pytest
import redis
from rasa.core.lock_store import LockError, LockStore
from rasa.utils.endpoints import EndpointConfig, read_endpoint_config

from connectors.lock_store import PromptInMemoryLockStore, PromptRedisLockStore, look_delays
from tests.unit.redis_test_env import NO_REDIS, REDIS_URL

ROOT = Path(__file__).resolve().parents[2]
PROMPT_S = 0.05  # a waiting turn gets the lock this soon after the release (Rasa's own store: up to 1 s)
HOLD_S = 0.3


def test_looks_start_at_5_ms_and_double_up_to_100_ms() -> None:
    assert [round(d, 3) for d in islice(look_delays(1.0), 8)] == [0.005, 0.01, 0.02, 0.04, 0.08, 0.1, 0.1, 0.1]


def test_a_caller_asking_for_shorter_waits_gets_them() -> None:
    assert [round(d, 3) for d in islice(look_delays(0.05), 6)] == [0.005, 0.01, 0.02, 0.04, 0.05, 0.05]
    assert [round(d, 3) for d in islice(look_delays(0.002), 3)] == [0.002, 0.002, 0.002]
    assert next(look_delays(0)) == 0.005


async def hold(store: LockStore, conversation: str, seconds: float, held: asyncio.Event, released: list[float],
               lifetime: float = 60) -> None:
    async with store.lock(conversation, lock_lifetime=lifetime):
        held.set()
        await asyncio.sleep(seconds)
        released.append(time.perf_counter())


async def acquired_after_release(holder: LockStore, waiter: LockStore) -> float:
    """Seconds between the holder letting go and the waiter (Rasa's default wait_time_in_seconds) getting the lock."""
    conversation, held, released = f"c-{uuid.uuid4().hex}", asyncio.Event(), []
    holding = asyncio.create_task(hold(holder, conversation, HOLD_S, held, released))
    await held.wait()
    async with waiter.lock(conversation):
        got = time.perf_counter()
    await holding
    return got - released[0]


async def served_order(stores: list[LockStore], count: int) -> list[int]:
    """`count` turns of one conversation queued at once (round robin over `stores`): the order they were served."""
    conversation, served = f"c-{uuid.uuid4().hex}", []

    async def turn(number: int) -> None:
        async with stores[number % len(stores)].lock(conversation):
            served.append(number)
            await asyncio.sleep(0.01)

    await asyncio.gather(*(turn(n) for n in range(count)))
    return served


async def expired_waiter_raises(holder: LockStore, waiter: LockStore) -> None:
    conversation, held, released = f"c-{uuid.uuid4().hex}", asyncio.Event(), []
    holding = asyncio.create_task(hold(holder, conversation, HOLD_S, held, released))
    await held.wait()
    with pytest.raises(LockError):
        async with waiter.lock(conversation, lock_lifetime=0.05):  # expires while the holder still holds
            pass
    await holding


async def expired_holder_is_passed(holder: LockStore, waiter: LockStore) -> float:
    """A holder past its lifetime no longer keeps the others out: seconds the waiter waited."""
    conversation, held, released = f"c-{uuid.uuid4().hex}", asyncio.Event(), []
    holding = asyncio.create_task(hold(holder, conversation, 1.0, held, released, lifetime=0.1))
    await held.wait()
    started = time.perf_counter()
    async with waiter.lock(conversation):
        waited = time.perf_counter() - started
    await holding
    return waited


# --- in memory ------------------------------------------------------------------------------------


async def test_a_waiting_turn_gets_the_lock_at_once_when_it_is_released() -> None:
    store = PromptInMemoryLockStore()
    assert await acquired_after_release(store, store) < PROMPT_S


async def test_turns_are_served_in_the_order_of_their_tickets() -> None:
    assert await served_order([PromptInMemoryLockStore()], 6) == list(range(6))


async def test_a_ticket_that_expired_while_waiting_raises_lock_error() -> None:
    store = PromptInMemoryLockStore()
    await expired_waiter_raises(store, store)
    assert store.conversation_locks == {}


async def test_an_expired_holder_lets_the_next_turn_in() -> None:
    store = PromptInMemoryLockStore()
    assert await expired_holder_is_passed(store, store) < 0.1 + 0.15


async def test_released_locks_leave_nothing_behind() -> None:
    store = PromptInMemoryLockStore()
    await served_order([store], 4)
    assert store.conversation_locks == {} and store._released == {}


def lock_store_of(path: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> LockStore:
    """The lock store Rasa builds from an endpoints file (which needs every ${VAR} in it set)."""
    for name in set(re.findall(r"\$\{(\w+)\}", path.read_text(encoding="utf-8"))):
        monkeypatch.setenv(name, env.get(name, "x"))
    return LockStore.create(read_endpoint_config(str(path), "lock_store"))


def test_rasa_builds_it_from_endpoints_yml(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(lock_store_of(ROOT / "endpoints.yml", monkeypatch), PromptInMemoryLockStore)


def test_the_stacks_endpoints_use_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from scripts.launch import endpoints_file

    assert isinstance(lock_store_of(endpoints_file(tmp_path, 5055), monkeypatch), PromptInMemoryLockStore)


# --- Redis ----------------------------------------------------------------------------------------


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own (letters and digits, as Rasa wants); its keys are deleted afterwards."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=3, socket_connect_timeout=3)
    try:
        client.ping()
    except (redis.ConnectionError, OSError):
        pytest.fail(NO_REDIS.format(url=REDIS_URL))
    prefix = f"xiaozhitest{uuid.uuid4().hex}"
    yield prefix
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def redis_store(prefix: str) -> PromptRedisLockStore:
    """A store as Rasa builds it from an endpoints file: host in `url`, the rest as strings from ${VARS}."""
    url = urlparse(REDIS_URL)
    config = EndpointConfig(url=url.hostname, type="connectors.lock_store.PromptRedisLockStore",
                            port=str(url.port or 6379), db=url.path.strip("/") or "0", key_prefix=prefix)
    store = LockStore.create(config)
    assert isinstance(store, PromptRedisLockStore)
    return store


def stored_keys(prefix: str) -> list[bytes]:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=3)
    try:
        return list(client.scan_iter(f"{prefix}:*"))
    finally:
        client.close()


@pytest.mark.redis
async def test_redis_a_turn_on_another_server_gets_the_lock_soon_after_the_release(redis_prefix: str) -> None:
    assert await acquired_after_release(redis_store(redis_prefix), redis_store(redis_prefix)) < 0.15


@pytest.mark.redis
async def test_redis_turns_on_two_servers_are_served_in_ticket_order(redis_prefix: str) -> None:
    assert await served_order([redis_store(redis_prefix), redis_store(redis_prefix)], 6) == list(range(6))
    assert stored_keys(redis_prefix) == []


@pytest.mark.redis
async def test_redis_a_ticket_that_expired_while_waiting_raises_lock_error(redis_prefix: str) -> None:
    await expired_waiter_raises(redis_store(redis_prefix), redis_store(redis_prefix))
    assert stored_keys(redis_prefix) == []


@pytest.mark.redis
async def test_redis_an_expired_holder_lets_the_next_turn_in(redis_prefix: str) -> None:
    assert await expired_holder_is_passed(redis_store(redis_prefix), redis_store(redis_prefix)) < 0.1 + 0.25


@pytest.mark.redis
def test_redis_servers_issuing_tickets_at_once_lose_none(redis_prefix: str) -> None:
    conversation, per_thread = f"c-{uuid.uuid4().hex}", 40
    issued: list[int] = []

    def issue() -> None:
        store = redis_store(redis_prefix)
        issued.extend(store.issue_ticket(conversation) for _ in range(per_thread))

    threads = [threading.Thread(target=issue) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lock = redis_store(redis_prefix).get_lock(conversation)
    assert lock is not None
    assert sorted(t.number for t in lock.tickets) == sorted(issued) == list(range(3 * per_thread))


@pytest.mark.redis
def test_redis_store_from_the_scaled_endpoints(redis_prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    url = urlparse(REDIS_URL)
    store = lock_store_of(ROOT / "deploy" / "endpoints.scaled.yml", monkeypatch, REDIS_HOST=url.hostname or "127.0.0.1",
                          REDIS_PORT=str(url.port or 6379), REDIS_LOCK_DB=url.path.strip("/") or "0",
                          QUEUE_PREFIX=redis_prefix)
    assert isinstance(store, PromptRedisLockStore)
    assert store.key_prefix == f"{redis_prefix}:lock:"
    store.issue_ticket("c-1")
    assert stored_keys(redis_prefix) == [f"{redis_prefix}:lock:c-1".encode()]
