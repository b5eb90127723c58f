"""The 服务小结: drafted from the chat, checked, stored and told the customer before the rating; the routes and the
socket command that take it; the draft route's roles."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from handoff.bridge import AGENT_MESSAGE, HANDOFF_ENDED
from handoff.qa_rules import parse_rules
from handoff.quality import NO_SUMMARY, QualityChecks
from handoff.quality_store import QualityStore
from handoff.records import Message, Session
from handoff.summary import MAX_SUMMARY, check_drafter, check_summary, customer_line, draft_summary, summary_due
from service.clock import fixed_clock
from service.desk_client import bot_token
from service.errors import InvalidInput, NotAllowed
from tests.desk_harness import Desk, MovableClock
from tests.socket_harness import AgentSocket, bot, handoff_desk, handoff_request
from tests.unit.test_handoff_bridge import FakeRasa, make_bridge, request

AT = datetime(2026, 11, 21, 10, 0)


def session(**extra: Any) -> Session:
    values: dict[str, Any] = dict(
        id="s1", sender_id="web-c001", channel="rest", customer_id="C001", reason="request_human", skill_group="物流",
        priority=1, status="assigned", agent="agent2", summary="客户询问物流", queued_at=AT, assigned_at=AT,
        first_agent_reply_at=None, ended_at=None, end_reason=None, ticket_number=None, rating=None,
        context={"slots": {"order_id": "E202611010001"},
                 "transcript": [{"speaker": "user", "text": "查物流", "intent": "query_logistics"},
                                {"speaker": "user", "text": "转人工", "intent": "request_human"}]})
    values.update(extra)
    return Session(**values)


def message(direction: str, text: str, intent: str | None = None) -> Message:
    return Message(AT, direction, direction, text, intent, [])


# --- drafting and checking ------------------------------------------------------------------------------

def test_the_draft_names_reason_question_order_and_the_agents_last_words() -> None:
    messages = [message("customer", "到哪了", "query_logistics"), message("agent", "稍等"),
                message("agent", "快件已在派送途中，\n请留意电话13800138000")]
    draft = draft_summary(session(), messages)
    assert draft == "客户要求人工；问题：查物流；订单 E202611010001；已答复：快件已在派送途中， 请留意电话138****8000"
    assert "\n" not in draft and len(draft) <= MAX_SUMMARY


def test_the_draft_falls_back_on_what_the_bot_heard_and_stays_within_bounds() -> None:
    assert draft_summary(session(context={}), []) == "客户要求人工"
    bare = session(context={"transcript": [{"speaker": "user", "text": "退货", "intent": "return_request"}]},
                   reason="complaint")
    assert draft_summary(bare, []) == "客户投诉；问题：退货"
    long = draft_summary(session(), [message("agent", "好" * 500)])
    assert len(long) <= MAX_SUMMARY and long.endswith("…")


def test_a_summary_is_one_line_of_one_to_two_hundred_characters() -> None:
    assert check_summary("  已告知\n物流进度\t稍后回电 ") == "已告知 物流进度 稍后回电"
    assert check_summary("好" * MAX_SUMMARY) == "好" * MAX_SUMMARY
    for bad in ("", "   \n ", "好" * (MAX_SUMMARY + 1)):
        with pytest.raises(InvalidInput) as refused:
            check_summary(bad)
        assert refused.value.field == "summary"
    assert customer_line("已处理") == "服务小结：已处理"


def test_only_the_agent_of_the_chat_or_a_supervisor_may_draft() -> None:
    check_drafter(session(), "agent2", "坐席")
    check_drafter(session(), "agent1", "主管")
    with pytest.raises(NotAllowed):
        check_drafter(session(), "agent1", "坐席")


# --- the bridge -----------------------------------------------------------------------------------------

async def started_chat(tmp_path: Path, rasa: FakeRasa) -> tuple[Any, str]:
    bridge = make_bridge(tmp_path, rasa)
    await bridge.connect("agent2", "小李", frozenset({"物流"}), capacity=3)
    started = await bridge.start(request("c1"))
    assert started.status == "assigned" and started.session_id
    return bridge, started.session_id


async def test_ending_with_a_summary_stores_it_and_tells_the_customer_before_the_rating(tmp_path: Path) -> None:
    rasa = FakeRasa()
    bridge, session_id = await started_chat(tmp_path, rasa)
    ended_seen: list[str] = []

    async def hook(ended: Session) -> None:
        ended_seen.append(ended.closing_summary or "")

    async def broken(_ended: Session) -> None:
        raise RuntimeError("a hook that fails")

    bridge.ended_hooks.extend([broken, hook])
    with pytest.raises(InvalidInput):
        await bridge.end("agent2", session_id, "  ")
    assert (await bridge.session(session_id)).is_open  # refused: the chat goes on

    ended = await bridge.end("agent2", session_id, "已告知\n物流进度")
    assert (ended.status, ended.closing_summary) == ("ended", "已告知 物流进度")
    told = [(intent, entities) for sender, intent, entities in rasa.sent if sender == "c1"][-2:]
    assert told == [(AGENT_MESSAGE, {"agent_text": "服务小结：已告知 物流进度", "agent_name": "小李"}),
                    (HANDOFF_ENDED, {"handoff_id": session_id})]
    assert ended_seen == ["已告知 物流进度"]  # the failing hook did not stop the next one
    view = await bridge.session_view(session_id)
    assert view["closing_summary"] == "已告知 物流进度"


async def test_after_the_customer_left_the_agent_adds_the_summary_afterwards_and_the_customer_is_told_nothing(
        tmp_path: Path) -> None:
    rasa = FakeRasa()
    bridge, session_id = await started_chat(tmp_path, rasa)
    await bridge.reply("agent2", session_id, "快件在派送")
    store = QualityStore(bridge._records._engine, fixed_clock(AT))
    strict = parse_rules({"ended_without_summary": {"except_end_reasons": []}})  # customer_left is flagged too
    checks = QualityChecks(bridge._records, store, strict)
    bridge.ended_hooks.append(checks.on_ended)
    events: list[dict[str, Any]] = []

    async def heard(event: dict[str, Any]) -> None:
        events.append(event)

    bridge._state.listen(heard)

    await bridge.leave(session_id)
    left = await bridge.session(session_id)
    assert (left.status, left.end_reason, left.closing_summary) == ("ended", "customer_left", None)
    assert summary_due(left)
    assert [f.rule for f in store.of_session(session_id)] == [NO_SUMMARY]
    due = await bridge.summaries_due("agent2")
    assert [(d["session_id"], d["end_reason"], d["closing_summary"]) for d in due] == [
        (session_id, "customer_left", None)]
    assert await bridge.summaries_due("agent1") == []
    sent = len(rasa.sent)

    with pytest.raises(NotAllowed) as stranger:
        await bridge.add_summary("agent1", session_id, "不是我的会话")
    assert stranger.value.code == "not_owner"
    with pytest.raises(InvalidInput):
        await bridge.add_summary("agent2", session_id, " \n ")
    assert (await bridge.end("agent2", session_id, "")).closing_summary is None  # ended already: nothing to end

    added = await bridge.add_summary("agent2", session_id, "客户已离开，\n已告知物流进度")
    assert (added.status, added.end_reason, added.closing_summary) == ("ended", "customer_left",
                                                                       "客户已离开， 已告知物流进度")
    assert len(rasa.sent) == sent  # nothing is said to a customer who has gone
    assert store.of_session(session_id) == []  # the 质检 check counts the summary added afterwards
    assert {"type": "summary_added", "agent": "agent2", "session_id": session_id,
            "closing_summary": "客户已离开， 已告知物流进度", "by": "agent2"} in events  # the agent's consoles hear it
    assert await bridge.summaries_due("agent2") == []
    assert (await bridge.session_view(session_id))["closing_summary"] == "客户已离开， 已告知物流进度"
    with pytest.raises(NotAllowed) as again:
        await bridge.add_summary("agent2", session_id, "再写一次")
    assert again.value.code == "summary_exists"  # written once, kept
    assert (await bridge.session(session_id)).closing_summary == "客户已离开， 已告知物流进度"


async def test_a_summary_afterwards_only_for_a_finished_chat_an_agent_served(tmp_path: Path) -> None:
    rasa = FakeRasa()
    bridge, session_id = await started_chat(tmp_path, rasa)
    with pytest.raises(NotAllowed) as still_open:
        await bridge.add_summary("agent2", session_id, "还没结束")
    assert still_open.value.code == "still_open"
    with pytest.raises(NotAllowed) as supervisor_too:
        await bridge.add_summary("boss", session_id, "还没结束", role="主管")
    assert supervisor_too.value.code == "still_open"
    ended = await bridge.end("agent2", session_id, "已处理")
    assert not summary_due(ended)
    with pytest.raises(NotAllowed) as written:
        await bridge.add_summary("agent2", session_id, "改一下")
    assert written.value.code == "summary_exists"

    await bridge.set_status("agent2", "忙碌")  # not given new chats: the next customer waits, then leaves the queue
    queued = await bridge.start(request("c2"))
    assert queued.status == "queued" and queued.session_id
    abandoned = await bridge.leave(queued.session_id)
    assert abandoned.status == "abandoned" and not summary_due(abandoned)
    with pytest.raises(NotAllowed) as unserved:
        await bridge.add_summary("boss", queued.session_id, "无人接待", role="主管")
    assert unserved.value.code == "not_served"


async def test_a_supervisor_may_add_the_summary_of_an_agents_chat_and_it_is_checked_too(tmp_path: Path) -> None:
    bridge, session_id = await started_chat(tmp_path, FakeRasa())
    store = QualityStore(bridge._records._engine, fixed_clock(AT))
    bridge.ended_hooks.append(QualityChecks(bridge._records, store, parse_rules({"forbidden_phrases": ["没办法"]})).on_ended)
    await bridge.leave(session_id)
    added = await bridge.add_summary("boss", session_id, "客户离开，没办法再联系", role="主管")
    assert added.closing_summary == "客户离开，没办法再联系" and added.agent == "agent2"
    assert [(f.rule, f.agent) for f in store.of_session(session_id)] == [("forbidden_phrase", "agent2")]


# --- the desk: REST end, the socket's end command, the draft route --------------------------------------

@pytest.fixture
async def desk(tmp_path: Path, desk_clock: MovableClock) -> AsyncIterator[Desk]:
    async with handoff_desk(tmp_path, desk_clock) as running:
        yield running


async def picked(desk: Desk, username: str = "agent2") -> tuple[str, str]:
    """A customer queued and taken by `username` (物流): (token, session id)."""
    token = await desk.login(username)
    assert (await desk.call("PUT", "/api/agents/me/status", token, {"status": "忙碌"}))[0] == 200
    status, started = await bot(desk, "/api/handoff/sessions", handoff_request())
    assert status == 201, started
    session_id = started["session_id"]
    assert (await desk.call("POST", f"/api/handoff/sessions/{session_id}/pick", token))[0] == 200
    return token, session_id


async def test_the_rest_end_needs_a_summary(desk: Desk) -> None:
    token, session_id = await picked(desk)
    path = f"/api/handoff/sessions/{session_id}/end"
    for body in (None, {}, {"summary": ""}, {"summary": "好" * 201}):
        status, answer = await desk.call("POST", path, token, body)
        assert (status, answer["error"], answer.get("field")) == (422, "invalid_input", "summary"), body
    status, answer = await desk.call("POST", path, token, {"summary": 5})
    assert (status, answer["field"]) == (422, "summary")
    status, answer = await desk.call("POST", path, token, {"summary": "已告知物流进度"})
    assert (status, answer["status"]) == (200, "ended")
    _, view = await desk.call("GET", f"/api/handoff/sessions/{session_id}", await desk.login("supervisor"))
    assert view["closing_summary"] == "已告知物流进度"
    assert ("web-c001", AGENT_MESSAGE, {"agent_text": "服务小结：已告知物流进度", "agent_name": "小李"}) in desk.rasa.calls


async def test_the_socket_end_command_carries_the_summary(desk: Desk) -> None:
    token, session_id = await picked(desk)
    socket = await AgentSocket.open(desk, token)
    await socket.next(lambda e: e.get("type") == "hello")
    refused = await socket.send(type="end", session_id=session_id)
    assert (refused["type"], refused["error"], refused["field"]) == ("error", "invalid_input", "summary")
    assert (await socket.send(type="end", session_id=session_id, summary="已处理"))["type"] == "ok"
    await socket.ws.close()
    record = desk.app.ctx.handoff_records.get(session_id)
    assert (record.status, record.closing_summary) == ("ended", "已处理")


async def test_the_draft_route_for_the_agent_of_the_chat_or_a_supervisor(desk: Desk) -> None:
    token, session_id = await picked(desk)
    assert (await desk.call("POST", f"/api/handoff/sessions/{session_id}/reply", token, {"text": "快件在派送"}))[0] == 200
    path = f"/api/handoff/sessions/{session_id}/summary-draft"
    assert (await desk.call("GET", path))[0] == 401
    status, answer = await desk.call("GET", path, bot_token(desk.app.ctx.test_secret))
    assert (status, answer["error"]) == (401, "invalid_token")
    status, answer = await desk.call("GET", path, await desk.login("agent1"))
    assert (status, answer["error"]) == (403, "not_owner")
    status, answer = await desk.call("GET", path, token)
    assert status == 200 and answer["draft"] == "客户要求人工；问题：查物流；已答复：快件在派送"
    assert answer["max_length"] == MAX_SUMMARY and answer["closing_summary"] is None
    assert (await desk.call("GET", path, await desk.login("supervisor")))[0] == 200
    status, answer = await desk.call("GET", "/api/handoff/sessions/nope/summary-draft", token)
    assert (status, answer["error"]) == (404, "not_found")
    _, spec = await desk.call("GET", "/openapi.json")
    assert "get" in spec["paths"]["/api/handoff/sessions/{session_id}/summary-draft"]
    assert "summary" in spec["paths"]["/api/handoff/sessions/{session_id}/end"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]["properties"]


async def test_the_summary_afterwards_route_for_the_agent_of_the_chat_or_a_supervisor(desk: Desk) -> None:
    token, session_id = await picked(desk)
    path = f"/api/handoff/sessions/{session_id}/summary"
    status, answer = await desk.call("PUT", path, token, {"summary": "还在聊"})
    assert (status, answer["error"]) == (422, "still_open")
    await desk.app.ctx.bridge.leave(session_id)  # the customer left the chat
    calls = len(desk.rasa.calls)

    status, due = await desk.call("GET", "/api/handoff/summaries/due", token)
    assert status == 200 and [(s["session_id"], s["end_reason"]) for s in due["sessions"]] == [
        (session_id, "customer_left")]
    assert "13800138000" not in str(due)  # masked, as an agent sees a chat
    status, other = await desk.call("GET", "/api/handoff/summaries/due", await desk.login("agent1"))
    assert (status, other["sessions"]) == (200, [])

    assert (await desk.call("PUT", path, None, {"summary": "无令牌"}))[0] == 401
    status, answer = await desk.call("PUT", path, await desk.login("agent1"), {"summary": "不是我的会话"})
    assert (status, answer["error"]) == (403, "not_owner")  # a stranger
    status, answer = await desk.call("PUT", "/api/handoff/sessions/nope/summary", token, {"summary": "无此会话"})
    assert (status, answer["error"]) == (404, "not_found")
    for body in ({}, {"summary": " "}, {"summary": 5}, {"summary": "好" * 201}):
        status, answer = await desk.call("PUT", path, token, body)
        assert (status, answer["error"], answer.get("field")) == (422, "invalid_input", "summary"), body
    status, answer = await desk.call("PUT", path, token, raw=b"[1]")
    assert status == 400

    status, answer = await desk.call("PUT", path, token, {"summary": "客户已离开，已告知物流进度"})
    assert status == 200 and answer == {"session_id": session_id, "status": "ended", "end_reason": "customer_left",
                                        "closing_summary": "客户已离开，已告知物流进度"}
    assert len(desk.rasa.calls) == calls  # the customer who left is told nothing
    status, answer = await desk.call("PUT", path, await desk.login("supervisor"), {"summary": "主管改写"})
    assert (status, answer["error"]) == (422, "summary_exists")
    _, view = await desk.call("GET", f"/api/handoff/sessions/{session_id}", await desk.login("supervisor"))
    assert view["closing_summary"] == "客户已离开，已告知物流进度"
    assert (await desk.call("GET", "/api/handoff/summaries/due", token))[1]["sessions"] == []
    _, spec = await desk.call("GET", "/openapi.json")
    assert "put" in spec["paths"]["/api/handoff/sessions/{session_id}/summary"]
    assert "get" in spec["paths"]["/api/handoff/summaries/due"]


async def test_a_supervisor_adds_the_summary_of_an_agents_chat_over_rest(desk: Desk) -> None:
    _token, session_id = await picked(desk)
    await desk.app.ctx.bridge.leave(session_id)
    status, answer = await desk.call("PUT", f"/api/handoff/sessions/{session_id}/summary",
                                     await desk.login("supervisor"), {"summary": "主管补写"})
    assert (status, answer["closing_summary"]) == (200, "主管补写")
