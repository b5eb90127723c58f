"""Routing: the customer's last agent first (历史坐席优先), overflow to a second group, default capacity, and what
the bridge says when no agent can take the customer (the group's hours, when it is back)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import insert

from desk.app import agent_profile
from handoff.bridge import AGENT_JOINED, Bridge, StartRequest
from handoff.config import load_config
from handoff.queueing import AgentState, Overflow, Waiting, offered_groups, pick_agent, plan_assignments
from handoff.records import HandoffRecords
from handoff.state import InMemoryQueueState
from service.clock import fixed_clock
from service.db import make_engine
from service.errors import NotAllowed
from service.settings import load_settings
from service.tickets import build_ticket_service
from service.tickets.schema import staff

FRIDAY = datetime(2026, 11, 20, 10, 0)
OVERFLOW = {"售前咨询": Overflow("售后服务", 120)}


class FakeRasa:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, str]]] = []

    async def trigger_intent(self, sender_id: str, intent: str, entities: dict[str, str]) -> bool:
        self.sent.append((sender_id, intent, entities))
        return True

    def joined(self, sender: str) -> list[str]:
        return [e["agent_name"] for s, i, e in self.sent if s == sender and i == AGENT_JOINED]


def make_bridge(tmp_path: Path, rasa: FakeRasa, moment: datetime = FRIDAY) -> Bridge:
    settings = load_settings({"XIAOZHI_VAR_DIR": str(tmp_path)})
    clock = fixed_clock(moment)
    return Bridge(InMemoryQueueState(), HandoffRecords(make_engine(settings.database_url), clock), rasa,
                  build_ticket_service(settings, clock), load_config(), clock)


def request(sender: str, intent: str = "query_logistics", customer: str | None = None,
            reason: str = "request_human") -> StartRequest:
    return StartRequest(sender_id=sender, channel="rest", reason=reason, intent=intent, summary="要人工",
                        context={"customer": {"name": "张伟"}, "transcript": []}, customer_id=customer)


def agent(username: str, groups: set[str], active: int = 0, capacity: int = 3, status: str = "在线") -> AgentState:
    return AgentState(username, username, frozenset(groups), status, capacity, active)


# --- pure rules -------------------------------------------------------------------------------------

def test_the_last_agent_goes_first_when_online_with_room_and_of_the_group() -> None:
    agents = [agent("a", {"物流"}), agent("b", {"物流"}, active=2), agent("c", {"投诉"})]
    assert pick_agent("物流", agents, preferred="b").username == "b"  # though a is less loaded
    assert pick_agent("物流", agents, preferred="c").username == "a"  # not of the group
    full = [agent("a", {"物流"}), agent("b", {"物流"}, active=3)]
    assert pick_agent("物流", full, preferred="b").username == "a"  # no room
    away = [agent("a", {"物流"}), agent("b", {"物流"}, status="忙碌")]
    assert pick_agent("物流", away, preferred="b").username == "a"  # not online


def test_a_wait_past_its_limit_is_offered_to_the_second_group() -> None:
    entry = Waiting("s", "售前咨询", 1, 1000.0)
    assert offered_groups(entry, 1119.0, OVERFLOW) == ("售前咨询",)
    assert offered_groups(entry, 1120.0, OVERFLOW) == ("售前咨询", "售后服务")
    helpers = [agent("x", {"售后服务"})]
    assert plan_assignments([entry], helpers, 1100.0, OVERFLOW) == []
    assert plan_assignments([entry], helpers, 1200.0, OVERFLOW) == [("s", "x")]
    own_first = [agent("x", {"售后服务"}), agent("y", {"售前咨询"}, active=2)]
    assert plan_assignments([entry], own_first, 1200.0, OVERFLOW) == [("s", "y")]  # its own group first


def test_capacity_zero_is_never_a_division_by_zero() -> None:
    assert pick_agent("物流", [agent("a", {"物流"}, capacity=0)]) is None


# --- the bridge ---------------------------------------------------------------------------------------

async def test_a_returning_customer_gets_the_agent_they_had(tmp_path: Path) -> None:
    rasa = FakeRasa()
    bridge = make_bridge(tmp_path, rasa)
    await bridge.connect("zz", "小周", frozenset({"物流"}), capacity=3)
    first = await bridge.start(request("web-1", customer="C001"))
    await bridge.settle()
    assert rasa.joined("web-1") == ["小周"]
    await bridge.end("zz", first.session_id or "")
    await bridge.connect("aa", "小安", frozenset({"物流"}), capacity=3)  # less loaded and first by name
    again = await bridge.start(request("wechat-1", customer="C001"))  # the same customer on another channel
    await bridge.settle()
    assert rasa.joined("wechat-1") == ["小周"] and again.agent_name == "小周"
    stranger = await bridge.start(request("web-2", customer="C002"))
    assert stranger.agent_name == "小安"


async def test_the_last_agent_at_capacity_leaves_the_customer_to_others(tmp_path: Path) -> None:
    rasa = FakeRasa()
    bridge = make_bridge(tmp_path, rasa)
    await bridge.connect("zz", "小周", frozenset({"物流"}), capacity=1)
    first = await bridge.start(request("web-1"))
    await bridge.end("zz", first.session_id or "")
    await bridge.start(request("web-9"))  # 小周 is full now
    await bridge.connect("aa", "小安", frozenset({"物流"}), capacity=3)
    again = await bridge.start(request("web-1"))
    assert again.agent_name == "小安"


async def test_overflow_offers_a_long_wait_to_the_second_group(tmp_path: Path) -> None:
    rasa = FakeRasa()
    bridge = make_bridge(tmp_path, rasa)
    await bridge.connect("helper", "小何", frozenset({"售后服务"}), capacity=3)
    queued = await bridge.start(request("web-1", intent="product_inquiry"))  # 售前咨询: nobody, but 售后服务 helps
    assert (queued.status, queued.group) == ("queued", "售前咨询")
    with pytest.raises(NotAllowed):
        await bridge.pick("helper", queued.session_id or "")  # not yet past the limit
    [entry] = await bridge._state.waiting()
    await bridge._state.add_waiting(replace(entry, queued_at=entry.queued_at - 121))
    view = await bridge.queue_view()
    assert view["waiting"][0]["offered_to"] == ["售前咨询", "售后服务"]
    await bridge.expire_waiting()  # the desk's periodic job notices the wait passed the limit
    await bridge.settle()
    assert rasa.joined("web-1") == ["小何"]


async def test_no_agent_of_the_group_nor_its_overflow_is_a_busy_answer_with_the_hours(tmp_path: Path) -> None:
    bridge = make_bridge(tmp_path, FakeRasa())
    result = await bridge.start(request("web-1", intent="return_request"))
    assert (result.status, result.unavailable, result.group, result.hours) == (
        "unavailable", "no_agent", "售后服务", "每天 09:00–22:00")


async def test_off_hours_names_the_group_s_hours_and_when_it_is_back(tmp_path: Path) -> None:
    saturday = make_bridge(tmp_path, FakeRasa(), datetime(2026, 11, 21, 10, 0))
    result = await saturday.start(request("web-1", intent="repair_request"))
    assert (result.unavailable, result.group, result.hours, result.next_contact, result.closed_at) == (
        "off_hours", "技术", "周一至周五 09:00–18:00", datetime(2026, 11, 23, 9, 0), None)
    night = make_bridge(tmp_path / "night", FakeRasa(), datetime(2026, 11, 21, 23, 30))
    late = await night.start(request("web-2", intent="refund_status"))
    assert (late.group, late.closed_at, late.next_contact) == (
        "售后服务", datetime(2026, 11, 21, 22, 0), datetime(2026, 11, 22, 9, 0))


async def test_an_unknown_capacity_is_handoff_yml_s_default(tmp_path: Path) -> None:
    bridge = make_bridge(tmp_path, FakeRasa())
    joined = await bridge.connect("aa", "小安", frozenset({"物流"}), capacity=0)
    assert joined.capacity == bridge.config.default_capacity
    engine = make_engine(f"sqlite:///{tmp_path / 'staff.db'}")
    from service.migrate import upgrade

    upgrade(engine)

    class Member:
        username, department = "ghost", "物流部"

    config = load_config()
    assert agent_profile(engine, config.groups_of, Member(), 5) == (frozenset({"物流", "售前咨询"}), 5)
    with engine.begin() as conn:
        conn.execute(insert(staff).values(username="ghost", display_name="幽", role="坐席", department="物流部",
                                          password_hash="x", active=True, skill_groups="", capacity=0))
    assert agent_profile(engine, config.groups_of, Member(), 5)[1] == 5
    engine.dispose()
