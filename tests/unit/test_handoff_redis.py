"""The scaled queue in Redis: two RedisQueueStates stand for two desk processes sharing one prefix."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from redis import asyncio as aioredis

from handoff.bridge import AGENT_JOINED, AGENT_MESSAGE, QUEUE_UPDATE, Bridge, StartResult
from handoff.config import load_config
from handoff.queueing import AgentState, Waiting
from handoff.records import HandoffRecords
from handoff.redis_lock import LockTimeout
from handoff.redis_state import RedisQueueState
from handoff.state import Event, InMemoryQueueState, Listener, open_queue_state
from service.clock import fixed_clock
from service.db import make_engine
from service.settings import load_settings
from service.tickets import build_ticket_service
from tests.unit.redis_test_env import REDIS_URL, WAIT_S
from tests.unit.test_handoff_bridge import WORK_TIME, FakeRasa, request

pytestmark = pytest.mark.redis

Pair = tuple[RedisQueueState, RedisQueueState]


@pytest.fixture
async def prefix(raw: aioredis.Redis) -> AsyncIterator[str]:
    """A key prefix of this test's own; every key under it is deleted afterwards."""
    prefix = f"xiaozhi-test:{uuid.uuid4().hex}"
    yield prefix
    keys = [key async for key in raw.scan_iter(match=f"{prefix}*", count=500)]
    if keys:
        await raw.delete(*keys)


@pytest.fixture
async def pair(prefix: str) -> AsyncIterator[Pair]:
    a, b = RedisQueueState(REDIS_URL, prefix), RedisQueueState(REDIS_URL, prefix)
    await a.open()
    await b.open()
    yield a, b
    await a.close()
    await b.close()


async def eventually(check: Callable[[], bool], timeout: float = WAIT_S) -> None:
    """Wait, boundedly, until `check()` holds."""
    async def poll() -> None:
        while not check():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


def recorder() -> tuple[list[Event], Listener]:
    seen: list[Event] = []

    async def listener(event: dict[str, Any]) -> None:
        seen.append(event)

    return seen, listener


def kinds(events: list[Event]) -> list[str]:
    return [e["type"] for e in events]


def agent(username: str = "agent2", active: int = 0, capacity: int = 3) -> AgentState:
    return AgentState(username, "小李", frozenset({"物流", "售后服务"}), "在线", capacity, active)


# --- the factory ----------------------------------------------------------------------------------

async def test_factory_picks_the_mode_from_the_url(prefix: str) -> None:
    assert isinstance(await open_queue_state(None, prefix), InMemoryQueueState)
    state = await open_queue_state(REDIS_URL, prefix)
    try:
        assert isinstance(state, RedisQueueState)
        await state.add_waiting(Waiting("s1", "物流", 1, 1.0))
        assert [w.session_id for w in await state.waiting()] == ["s1"]
    finally:
        await state.close()


async def test_close_ends_the_event_pump_even_when_a_cancel_is_lost(prefix: str) -> None:
    state = RedisQueueState(REDIS_URL, prefix)
    read = state._pubsub.get_message

    async def lossy(**kwargs: Any) -> Any:
        try:
            return await read(**kwargs)
        except asyncio.CancelledError:  # what redis-py does when the cancel meets its read timeout
            return None

    state._pubsub.get_message = lossy
    await state.open()
    await asyncio.wait_for(state.close(), WAIT_S)
    assert state._pump is None


# --- waiting customers ----------------------------------------------------------------------------

async def test_waiting_is_shared_and_keeps_first_insertion_order(pair: Pair) -> None:
    a, b = pair
    await a.add_waiting(Waiting("s2", "物流", 1, 20.5))
    await b.add_waiting(Waiting("s1", "投诉", 0, 10.25))
    await a.add_waiting(Waiting("s3", "物流", 1, 30.0))
    await b.add_waiting(Waiting("s2", "售后服务", 1, 1762000000.123456))  # replaced in place, like a dict
    assert await b.waiting() == await a.waiting() == [
        Waiting("s2", "售后服务", 1, 1762000000.123456), Waiting("s1", "投诉", 0, 10.25), Waiting("s3", "物流", 1, 30.0)]
    assert await b.remove_waiting("s1") == Waiting("s1", "投诉", 0, 10.25)
    assert await a.remove_waiting("s1") is None
    await a.add_waiting(Waiting("s1", "投诉", 0, 10.25))  # back in: now last
    assert [w.session_id for w in await a.waiting()] == ["s2", "s3", "s1"]


async def test_two_processes_removing_the_same_customers_get_each_exactly_once(pair: Pair) -> None:
    a, b = pair
    sessions = [f"s{i}" for i in range(30)]
    for i, session in enumerate(sessions):
        await a.add_waiting(Waiting(session, "物流", 1, float(i)))
    results = await asyncio.gather(*(state.remove_waiting(s) for s in sessions for state in (a, b)))
    won = [r.session_id for r in results if r is not None]
    assert sorted(won) == sorted(sessions)
    assert await a.waiting() == await b.waiting() == []


# --- agents and their load -------------------------------------------------------------------------

async def test_agents_are_shared_and_concurrent_load_changes_are_not_lost(pair: Pair) -> None:
    a, b = pair
    await a.put_agent(agent("agent2", active=1))
    await b.put_agent(agent("agent1"))
    assert await b.agents() == [agent("agent2", active=1), agent("agent1")]
    await asyncio.gather(*(state.add_load("agent2", 1) for _ in range(50) for state in (a, b)))
    assert (await b.agents())[0].active == 101
    await asyncio.gather(*(state.add_load("agent1", -1) for _ in range(10) for state in (a, b)))
    assert (await a.agents())[1].active == 0  # never below 0
    await a.add_load("nobody", 1)  # an agent not at the desk is left alone
    assert [x.username for x in await b.agents()] == ["agent2", "agent1"]
    await b.remove_agent("agent2")
    await b.put_agent(agent("agent2", active=2))  # status/active overwritten; back in last place
    assert await a.agents() == [agent("agent1"), agent("agent2", active=2)]


# --- owners and what customers were told -----------------------------------------------------------

async def test_owners_and_told_values_are_shared_and_swapped_atomically(pair: Pair) -> None:
    a, b = pair
    await a.set_owner("s1", "agent2")
    assert (await b.owner("s1"), await b.owner("s2")) == ("agent2", None)
    await b.set_owner("s1", None)
    assert await a.owner("s1") is None
    assert await a.swap_told("s1", "2/6") is None
    assert await b.swap_told("s1", "1/3") == "2/6"
    # both processes notice the same change: only one of them sees a different previous value
    assert sorted(str(v) for v in await asyncio.gather(a.swap_told("s1", "3/9"), b.swap_told("s1", "3/9"))) == ["1/3", "3/9"]
    assert await b.swap_told("s1", None) == "3/9"
    assert await a.swap_told("s1", None) is None


# --- events -----------------------------------------------------------------------------------------

async def test_every_process_gets_each_event_exactly_once(pair: Pair) -> None:
    a, b = pair
    seen_a, listen_a = recorder()
    seen_b, listen_b = recorder()
    a.listen(listen_a)
    b.listen(listen_b)
    await a.publish({"type": "presence", "agent": "agent2", "status": "忙碌"})
    assert seen_a == [{"type": "presence", "agent": "agent2", "status": "忙碌"}]  # before publish returns
    await b.publish({"type": "queue", "waiting": [], "agents": []})
    await a.publish({"type": "assigned", "agent": "agent2"})
    await b.publish({"type": "session_ended", "agent": "agent2"})
    # one channel keeps its order: an echo of a process's own events would arrive before the other's last one
    await eventually(lambda: "session_ended" in kinds(seen_a) and "assigned" in kinds(seen_b))
    assert sorted(kinds(seen_a)) == sorted(kinds(seen_b)) == ["assigned", "presence", "queue", "session_ended"]


async def test_a_failing_listener_is_logged_and_delivery_goes_on(pair: Pair, caplog: pytest.LogCaptureFixture) -> None:
    a, b = pair
    seen, listen = recorder()

    async def broken(event: dict[str, Any]) -> None:
        raise RuntimeError(f"cannot show {event['text']}")

    b.listen(broken)
    b.listen(listen)
    with caplog.at_level(logging.WARNING, logger="handoff.redis_state"):
        for text in ("13800138000 我的快递", "second"):
            await a.publish({"type": "customer_message", "agent": "agent2", "text": text})
        await eventually(lambda: len(seen) == 2)
    failures = [r.getMessage() for r in caplog.records if "queue_listener_failed" in r.getMessage()]
    assert failures == ["queue_listener_failed type=customer_message error=RuntimeError"] * 2
    assert "13800138000" not in caplog.text


async def test_the_event_pump_survives_a_dropped_connection(pair: Pair, raw: aioredis.Redis) -> None:
    a, b = pair
    seen, listen = recorder()
    a.listen(listen)
    [listening] = [c for c in await raw.client_list(_type="pubsub") if c["name"] == a.client_name]
    await raw.client_kill_filter(_id=listening["id"])

    async def publish_until_seen() -> None:  # what is published while a is away is lost, by design
        while not seen:
            await b.publish({"type": "presence", "agent": "agent2", "status": "在线"})
            await asyncio.sleep(0.05)

    await asyncio.wait_for(publish_until_seen(), WAIT_S)


# --- one decision at a time -------------------------------------------------------------------------

async def test_critical_excludes_the_other_process_until_released(pair: Pair, prefix: str) -> None:
    a, b = pair
    entered = asyncio.Event()

    async def b_enters() -> None:
        async with b.critical():
            entered.set()

    async with a.critical():
        waiter = asyncio.create_task(b_enters())
        await asyncio.sleep(0.2)
        assert not entered.is_set()
        impatient = RedisQueueState(REDIS_URL, prefix, lock_wait_s=0.1)
        try:
            with pytest.raises(LockTimeout):
                async with impatient.critical():
                    pass
        finally:
            await impatient.close()
    await asyncio.wait_for(waiter, WAIT_S)
    assert entered.is_set()


async def test_critical_sections_of_both_processes_never_overlap(pair: Pair) -> None:
    a, b = pair
    total = 0

    async def bump(state: RedisQueueState) -> None:
        nonlocal total
        async with state.critical():
            seen = total
            await asyncio.sleep(0.001)
            total = seen + 1

    await asyncio.wait_for(asyncio.gather(*(bump(state) for _ in range(10) for state in (a, b))), WAIT_S)
    assert total == 20


async def test_an_expired_lock_is_not_released_by_its_late_holder(pair: Pair, prefix: str, raw: aioredis.Redis) -> None:
    a, b = pair
    slow = RedisQueueState(REDIS_URL, prefix, lock_ttl_s=0.1)
    inside, leave = asyncio.Event(), asyncio.Event()

    async def b_holds() -> None:
        async with b.critical():
            inside.set()
            await asyncio.wait_for(leave.wait(), WAIT_S)

    try:
        async with slow.critical():
            holder = asyncio.create_task(b_holds())
            await asyncio.wait_for(inside.wait(), WAIT_S)  # slow's lock expired, b took it
    finally:
        await slow.close()
    assert await raw.get(f"{prefix}:lock") is not None  # still b's
    leave.set()
    await asyncio.wait_for(holder, WAIT_S)
    assert await raw.get(f"{prefix}:lock") is None


# --- the real thing: two desk processes, one queue --------------------------------------------------

@pytest.fixture
async def desks(tmp_path: Path, pair: Pair) -> AsyncIterator[tuple[Bridge, Bridge, FakeRasa]]:
    """Two bridges on one SQLite file, each with its own Redis connection; one Rasa server."""
    rasa = FakeRasa()
    settings = load_settings({"XIAOZHI_VAR_DIR": str(tmp_path)})
    clock = fixed_clock(WORK_TIME)
    services = [build_ticket_service(settings, clock) for _ in pair]
    engines = [make_engine(settings.database_url) for _ in pair]
    a, b = (Bridge(state, HandoffRecords(engine, clock), rasa, tickets, load_config(), clock)
            for state, engine, tickets in zip(pair, engines, services, strict=True))
    yield a, b, rasa
    for engine in engines + [tickets._engine for tickets in services]:
        engine.dispose()


def sid(result: StartResult) -> str:
    assert result.session_id is not None
    return result.session_id


def places(view: dict[str, Any]) -> dict[str, int]:
    return {w["session_id"]: w["position"] for w in view["waiting"]}


async def test_an_agent_on_one_desk_serves_customers_queued_through_the_other(
        desks: tuple[Bridge, Bridge, FakeRasa]) -> None:
    a, b, rasa = desks
    seen_a, listen_a = recorder()
    a._state.listen(listen_a)
    await a.connect("agent2", "小李", frozenset({"物流"}), capacity=1)

    first = await b.start(request("c1"))
    assert (first.status, first.agent_name) == ("assigned", "小李")
    assert [e["agent_name"] for e in rasa.to("c1", AGENT_JOINED)] == ["小李"]
    await b.customer_message(sid(first), "我的快递怎么还没到", "query_logistics")
    await eventually(lambda: any(e["type"] == "customer_message" for e in seen_a))
    relayed = [e for e in seen_a if e["type"] == "customer_message"]
    assert [(e["agent"], e["text"]) for e in relayed] == [("agent2", "我的快递怎么还没到")]
    await a.reply("agent2", sid(first), "您好，我帮您查一下")
    assert rasa.to("c1", AGENT_MESSAGE) == [{"agent_text": "您好，我帮您查一下", "agent_name": "小李"}]

    c2 = await a.start(request("c2"))
    c3 = await b.start(request("c3"))
    c4 = await a.start(request("c4", vip=True))
    assert (c2.position, c3.position, c4.position) == (1, 2, 1)
    expected = {sid(c4): 1, sid(c2): 2, sid(c3): 3}
    assert places(await a.queue_view()) == places(await b.queue_view()) == expected

    await b.end("agent2", sid(first))  # frees the agent, who gets the VIP next
    assert [e["agent_name"] for e in rasa.to("c4", AGENT_JOINED)] == ["小李"]
    assert [x.active for x in await a._state.agents()] == [1]
    await b.leave(sid(c2))
    await a.leave(sid(c3))
    await b.end("agent2", sid(c4))
    assert [x.active for x in await a._state.agents()] == [0]
    assert (await a.queue_view())["waiting"] == []
    # each change was told once, by whichever desk made it
    assert [e["queue_position"] for e in rasa.to("c2", QUEUE_UPDATE)] == ["2", "1"]
    assert [e["queue_position"] for e in rasa.to("c3", QUEUE_UPDATE)] == ["3", "2", "1"]


async def test_customers_arriving_at_both_desks_at_once_fill_the_agent_to_capacity(
        desks: tuple[Bridge, Bridge, FakeRasa]) -> None:
    a, b, rasa = desks
    await b.connect("agent2", "小李", frozenset({"物流"}), capacity=1)
    results = await asyncio.wait_for(asyncio.gather(a.start(request("c1")), b.start(request("c2"))), WAIT_S * 2)
    assert sorted((r.status, r.position) for r in results) == [("assigned", None), ("queued", 1)]
    assert [x.active for x in await a._state.agents()] == [1]
    assert len(await b._state.waiting()) == 1
    assert len(rasa.to("c1", AGENT_JOINED) + rasa.to("c2", AGENT_JOINED)) == 1


async def test_overflow_and_the_last_agent_work_across_desks(desks: tuple[Bridge, Bridge, FakeRasa]) -> None:
    """A 售前咨询 customer queued on one desk is offered to 售后服务's agent on the other once the wait passes
    handoff.yml's limit; the Waiting entry keeps its 历史坐席 through Redis."""
    a, b, rasa = desks
    await b.connect("helper", "小何", frozenset({"售后服务"}), capacity=3)
    queued = await a.start(request("c1", intent="product_inquiry"))
    assert queued.status == "queued"
    [entry] = await b._state.waiting()
    assert entry.preferred is None
    await a._state.add_waiting(Waiting(entry.session_id, entry.group, entry.priority, entry.queued_at - 200, "helper"))
    assert (await b._state.waiting())[0].preferred == "helper"
    await b.expire_waiting()
    await a.settle()
    await b.settle()
    assert [e["agent_name"] for e in rasa.to("c1", AGENT_JOINED)] == ["小何"]
