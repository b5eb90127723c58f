"""The handoff bridge with the embedded queue: priority, skills, capacity, transfer, timeouts."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from handoff.bridge import AGENT_JOINED, AGENT_MESSAGE, HANDOFF_ENDED, HANDOFF_TIMEOUT, QUEUE_UPDATE, Bridge, StartRequest
from handoff.config import load_config
from handoff.context import Turn, summary
from handoff.queueing import AgentState, Waiting, eta_minutes, pick_agent, plan_assignments, positions
from handoff.records import HandoffRecords
from handoff.state import InMemoryQueueState
from service.clock import fixed_clock
from service.db import make_engine
from service.errors import NotAllowed
from service.settings import load_settings
from service.tickets import build_ticket_service

WORK_TIME = datetime(2026, 11, 21, 10, 0)


class FakeRasa:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, str]]] = []

    async def trigger_intent(self, sender_id: str, intent: str, entities: dict[str, str]) -> bool:
        self.sent.append((sender_id, intent, entities))
        return True

    def to(self, sender: str, intent: str) -> list[dict[str, str]]:
        return [e for s, i, e in self.sent if s == sender and i == intent]


@pytest.fixture
def rasa() -> FakeRasa:
    return FakeRasa()


def make_bridge(tmp_path: Path, rasa: FakeRasa, moment: datetime = WORK_TIME) -> Bridge:
    settings = load_settings({"XIAOZHI_VAR_DIR": str(tmp_path)})
    clock = fixed_clock(moment)
    tickets = build_ticket_service(settings, clock)
    return Bridge(InMemoryQueueState(), HandoffRecords(make_engine(settings.database_url), clock), rasa, tickets,
                  load_config(), clock)


def request(sender: str, intent: str = "query_logistics", reason: str = "request_human", vip: bool = False) -> StartRequest:
    return StartRequest(sender_id=sender, channel="rest", reason=reason, intent=intent, summary=f"{sender} 要人工",
                        context={"customer": {"name": "张伟", "phone": "13800138000", "vip": vip}, "transcript": []},
                        customer_vip=vip)


# --- pure queue rules -------------------------------------------------------------------------

def test_urgent_first_then_longest_wait_within_each_group() -> None:
    waiting = [Waiting("a", "物流", 1, 10.0), Waiting("b", "物流", 0, 20.0), Waiting("c", "物流", 1, 5.0),
               Waiting("d", "投诉", 1, 1.0)]
    assert positions(waiting) == {"b": 1, "c": 2, "a": 3, "d": 1}
    assert eta_minutes(3, 2, 3) == 6 and eta_minutes(1, 0, 3) == 3


def test_least_loaded_online_agent_with_the_skill_gets_the_chat() -> None:
    agents = [AgentState("x", "小王", frozenset({"物流"}), "在线", 3, 2),
              AgentState("y", "小李", frozenset({"物流"}), "在线", 3, 1),
              AgentState("z", "小张", frozenset({"物流"}), "忙碌", 3, 0),
              AgentState("w", "小赵", frozenset({"投诉"}), "在线", 3, 0)]
    assert pick_agent("物流", agents).username == "y"
    full = [AgentState("y", "小李", frozenset({"物流"}), "在线", 1, 1)]
    assert pick_agent("物流", full) is None
    plan = plan_assignments([Waiting("a", "物流", 1, 1.0), Waiting("b", "物流", 1, 2.0)], agents[:2])
    assert plan == [("a", "y"), ("b", "x")]


def test_summary_says_what_happened() -> None:
    turns = [Turn("user", "查一下E202611010001的物流", "query_logistics"),
             Turn("bot", "订单 E202611010001 由顺丰速运配送…最新物流：快件已到达【杭州转运中心】"),
             Turn("user", "转人工", "request_human")]
    expected = "客户询问订单E202611010001物流，机器人已告知在杭州转运中心，客户要求人工"
    assert summary(turns, "request_human", "E202611010001") == expected


# --- the bridge ---------------------------------------------------------------------------------

async def test_off_hours_and_no_agent_are_unavailable(tmp_path: Path, rasa: FakeRasa) -> None:
    night = make_bridge(tmp_path, rasa, datetime(2026, 11, 21, 23, 30))
    result = await night.start(request("s1"))
    assert (result.status, result.unavailable, result.next_contact) == ("unavailable", "off_hours", datetime(2026, 11, 22, 9, 0))
    day = make_bridge(tmp_path / "day", rasa)
    assert (await day.start(request("s1"))).unavailable == "no_agent"


async def test_queue_position_updates_and_assignment(tmp_path: Path, rasa: FakeRasa) -> None:
    bridge = make_bridge(tmp_path, rasa)
    await bridge.connect("agent2", "小李", frozenset({"物流"}), capacity=1, status="忙碌")
    first = await bridge.start(request("c1"))
    second = await bridge.start(request("c2"))
    vip = await bridge.start(request("c3", vip=True))
    await bridge.settle()  # started by bot turns: the customers are told in the background
    assert (first.status, first.position, second.position, vip.position) == ("queued", 1, 2, 1)
    assert rasa.to("c1", QUEUE_UPDATE)[-1]["queue_position"] == "2"  # the VIP went ahead
    assert rasa.to("c2", QUEUE_UPDATE)[-1]["queue_position"] == "3"
    await bridge.set_status("agent2", "在线")
    assert rasa.to("c3", AGENT_JOINED) == [{"agent_name": "小李", "handoff_id": vip.session_id}]  # VIP first, capacity 1
    assert rasa.to("c1", QUEUE_UPDATE)[-1]["queue_position"] == "1"
    repeat = await bridge.start(request("c3"))
    assert (repeat.status, repeat.session_id) == ("assigned", vip.session_id)


async def test_messages_both_ways_transfer_and_end(tmp_path: Path, rasa: FakeRasa) -> None:
    bridge = make_bridge(tmp_path, rasa)
    seen: list[dict[str, Any]] = []

    async def watch(event: dict[str, Any]) -> None:
        seen.append(event)

    bridge._state.listen(watch)
    await bridge.connect("agent2", "小李", frozenset({"物流"}), capacity=3)
    await bridge.connect("agent1", "小王", frozenset({"售后服务", "技术"}), capacity=3)
    started = await bridge.start(request("c1"))
    assert started.status == "assigned"
    await bridge.customer_message(started.session_id, "我的快递怎么还没到", "query_logistics", [], channel="wechat")
    relayed = [e for e in seen if e["type"] == "customer_message"][-1]
    assert (relayed["agent"], relayed["intent"], relayed["channel"]) == ("agent2", "query_logistics", "wechat")
    await bridge.customer_message(started.session_id, "有 1 条消息未能通过微信送达客户", channel="wechat", system=True)
    note = [e for e in seen if e["type"] == "customer_message"][-1]
    assert (note["agent"], note["direction"]) == ("agent2", "system")  # the agent is told, not as the customer
    await bridge.reply("agent2", started.session_id, "您好，我帮您查一下")
    assert rasa.to("c1", AGENT_MESSAGE) == [{"agent_text": "您好，我帮您查一下", "agent_name": "小李"}]
    with pytest.raises(NotAllowed):
        await bridge.reply("agent1", started.session_id, "不是我的会话")

    await bridge.transfer("agent2", started.session_id, group="售后服务")
    moved = [e for e in seen if e["type"] == "assigned"][-1]
    assert moved["agent"] == "agent1"
    assert moved["session"]["messages"][0]["text"] == "我的快递怎么还没到"  # context travels
    assert moved["session"]["messages"][0]["channel"] == "wechat"  # with the channel each message came from
    assert [m["direction"] for m in moved["session"]["messages"]][:2] == ["customer", "system"]
    ended = await bridge.end("agent1", started.session_id)
    assert ended.status == "ended" and rasa.to("c1", HANDOFF_ENDED)
    timings = bridge._records.get(started.session_id)
    assert timings.assigned_at and timings.first_agent_reply_at and timings.ended_at


class LockingRasa(FakeRasa):
    """Like Rasa: a conversation takes nothing from outside while one of its turns is running."""

    def __init__(self) -> None:
        super().__init__()
        self.turns: dict[str, asyncio.Lock] = {}

    def turn(self, sender: str) -> asyncio.Lock:
        return self.turns.setdefault(sender, asyncio.Lock())

    async def trigger_intent(self, sender_id: str, intent: str, entities: dict[str, str]) -> bool:
        async with self.turn(sender_id):
            return await super().trigger_intent(sender_id, intent, entities)


async def test_a_free_agent_takes_the_customer_while_their_turn_is_still_running(tmp_path: Path) -> None:
    rasa = LockingRasa()
    bridge = make_bridge(tmp_path, rasa)
    await bridge.connect("agent2", "小李", frozenset({"物流"}), capacity=3)
    async with rasa.turn("c1"):  # the 转人工 turn calls the desk and waits for its answer
        started = await asyncio.wait_for(bridge.start(request("c1")), timeout=2)
        assert (started.status, started.agent_name) == ("assigned", "小李")
        assert rasa.to("c1", AGENT_JOINED) == []  # not in the middle of the bot's own turn
    await bridge.settle(timeout_s=2)
    assert rasa.to("c1", AGENT_JOINED) == [{"agent_name": "小李", "handoff_id": started.session_id}]
    await bridge.reply("agent2", started.session_id, "您好")
    assert [i for s, i, _ in rasa.sent if s == "c1"] == [AGENT_JOINED, AGENT_MESSAGE]

    async with rasa.turn("c1"):  # 不等了 during the chat: the end is said after that turn
        left = await asyncio.wait_for(bridge.leave(started.session_id), timeout=2)
    assert left.status == "ended"
    await bridge.settle(timeout_s=2)
    assert rasa.to("c1", HANDOFF_ENDED)


async def test_leaving_and_timing_out_of_the_queue(tmp_path: Path, rasa: FakeRasa) -> None:
    bridge = make_bridge(tmp_path, rasa)
    await bridge.connect("agent2", "小李", frozenset({"物流"}), capacity=1, status="忙碌")
    a = await bridge.start(request("c1"))
    b = await bridge.start(request("c2"))
    assert (await bridge.leave(a.session_id)).status == "abandoned"
    await bridge.settle()
    assert rasa.to("c2", QUEUE_UPDATE)[-1]["queue_position"] == "1"
    waiting = await bridge._state.waiting()
    await bridge._state.add_waiting(Waiting(waiting[0].session_id, "物流", 1, waiting[0].queued_at - 3600))
    [expired] = await bridge.expire_waiting()
    assert expired.id == b.session_id and expired.status == "timed_out"
    ticket = rasa.to("c2", HANDOFF_TIMEOUT)[0]["ticket_id"]
    assert ticket == expired.ticket_number and ticket.startswith("T")


async def test_reconnecting_agent_keeps_their_status_and_a_restarted_desk_restores_the_queue(
        tmp_path: Path, rasa: FakeRasa) -> None:
    bridge = make_bridge(tmp_path, rasa)
    await bridge.connect("agent2", "小李", frozenset({"物流"}), capacity=3, status="忙碌")
    await bridge.connect("agent2", "小李", frozenset({"物流"}), capacity=3)  # a second tab
    queued = await bridge.start(request("c1"))
    assert queued.status == "queued"  # still 忙碌: not auto-assigned

    restarted = Bridge(InMemoryQueueState(), bridge._records, rasa, bridge._tickets, bridge.config, bridge._clock)
    assert await restarted.restore() == 1
    assert [w.session_id for w in await restarted._state.waiting()] == [queued.session_id]


async def test_no_transfer_to_a_group_nobody_is_working_in(tmp_path: Path, rasa: FakeRasa) -> None:
    bridge = make_bridge(tmp_path, rasa)
    await bridge.connect("agent2", "小李", frozenset({"物流"}), capacity=3)
    started = await bridge.start(request("c1"))
    with pytest.raises(NotAllowed, match="没有坐席在线"):
        await bridge.transfer("agent2", started.session_id, group="投诉")
