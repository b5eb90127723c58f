"""POST /api/assist/suggestions over real HTTP: who may ask, bad input, not ready, and the answer's shape."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from service.kb.assist import Assist, KnowledgeSources, shared_tokenizer
from service.kb.units import KnowledgeUnit, Source
from tests.desk_harness import NOW, Desk, MovableClock
from tests.unit.desk_fixtures import assert_refused, desk_settings, serve_desk
from tests.unit.test_kb import DOC, NLU, CharEncoder

PATH = "/api/assist/suggestions"
STATUS = "/api/assist/status"
REPLY = KnowledgeUnit("reply/1", Source.REPLY, "耳机左耳没声音", "您好，耳机在保修期内可以免费维修，我先为您登记。",
                      ("耳机左耳没声音",))


def fixture_assist(tmp_path: Path, hold: threading.Event | None = None) -> Assist:
    (tmp_path / "nlu").mkdir(exist_ok=True)
    (tmp_path / "nlu" / "faq.yml").write_text(NLU, encoding="utf-8")
    (tmp_path / "kb").mkdir(exist_ok=True)
    (tmp_path / "kb" / "invoices.md").write_text(DOC, encoding="utf-8")

    def replies() -> list[KnowledgeUnit]:
        if hold is not None:
            hold.wait(10)
        return [REPLY]

    return Assist(KnowledgeSources(tmp_path / "nlu", tmp_path / "kb", replies), shared_tokenizer(), CharEncoder())


async def assist_desk(tmp_path: Path, assist: Assist) -> AsyncIterator[Desk]:
    def prepare(ctx: Any) -> None:
        ctx.assist = assist
        ctx.assist_refresh_s = 0
        ctx.assist_start_delay_s = 0

    async with serve_desk(desk_settings(tmp_path, f"sqlite:///{tmp_path / 'desk.db'}"), MovableClock(NOW),
                          prepare) as running:
        yield running


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    assist = fixture_assist(tmp_path)
    async for running in assist_desk(tmp_path, assist):
        assert assist.wait(10)
        yield running


def held_session(desk: Desk, agent: str | None, messages: list[tuple[str, str]]) -> str:
    records = desk.app.ctx.handoff_records
    session = records.open_session(sender_id=f"web-{agent}", channel="rest", customer_id="C001",
                                   reason="request_human", skill_group="售后", priority=1, summary="",
                                   context={"customer": {"id": "C001", "name": "张伟", "phone": "13800138000"}})
    if agent:
        records.assign(session.id, agent, "pick", agent)
    for direction, text in messages:
        records.add_message(session.id, direction, (agent or "") if direction == "agent" else "customer", text)
    return str(session.id)


async def test_no_token_and_a_bot_token_are_refused(desk: Desk) -> None:
    await assert_refused(desk, [("POST", PATH, {"text": "包邮吗"}), ("GET", STATUS, None)])


async def test_any_staff_member_may_try_a_text(desk: Desk) -> None:
    for user in ("agent1", "supervisor"):
        status, answer = await desk.call("POST", PATH, await desk.login(user), {"text": "  新疆包邮吗  "})
        assert status == 200, answer
        assert answer["query"] == "新疆包邮吗"
        first = answer["suggestions"][0]
        assert (first["id"], first["source"]) == ("faq/shipping_fee", "FAQ")
        assert first["text"].startswith("单笔订单实付满99元包邮") and first["title"] == "包邮吗"
        assert len(answer["suggestions"]) <= 3 and isinstance(first["score"], float)


async def test_a_session_uses_its_latest_customer_message_for_its_agent_or_a_supervisor(desk: Desk) -> None:
    session_id = held_session(desk, "agent1", [("customer", "我的电话13800138000，想开专票"), ("agent", "好的"),
                                               ("customer", "耳机左耳没声音了 电话13800138000")])
    for user in ("agent1", "supervisor"):
        status, answer = await desk.call("POST", PATH, await desk.login(user), {"session_id": session_id})
        assert status == 200, answer
        assert answer["query"] == "耳机左耳没声音了 电话138****8000"  # masked in the answer
        assert answer["suggestions"][0]["id"] == "reply/1"
        assert answer["suggestions"][0]["source"] == "历史回复"


async def test_an_agent_is_refused_for_a_session_that_is_not_theirs(desk: Desk) -> None:
    theirs = held_session(desk, "agent2", [("customer", "包邮吗")])
    queued = held_session(desk, None, [("customer", "包邮吗")])
    token = await desk.login("agent1")
    for session_id in (theirs, queued):
        status, answer = await desk.call("POST", PATH, token, {"session_id": session_id})
        assert (status, answer["error"]) == (403, "not_your_session"), answer
    status, answer = await desk.call("POST", PATH, token, {"session_id": "0" * 32})
    assert (status, answer["error"]) == (404, "not_found")


async def test_a_session_without_a_customer_message_has_no_suggestions(desk: Desk) -> None:
    session_id = held_session(desk, "agent1", [])
    status, answer = await desk.call("POST", PATH, await desk.login("agent1"), {"session_id": session_id})
    assert (status, answer) == (200, {"query": "", "suggestions": []})


@pytest.mark.parametrize("body", [
    None, b"not json", b"[1]", b'"text"', {}, {"text": "包邮吗", "session_id": "x"}, {"question": "包邮吗"},
    {"text": 5}, {"text": None}, {"text": "   "}, {"text": ""}, {"text": "包" * 2001}, {"session_id": ""},
    {"session_id": "x" * 65}, {"session_id": ["x"]}, {"text": "包邮吗", "limit": 3}])
async def test_bad_input_is_a_400_with_a_reason(desk: Desk, body: object) -> None:
    token = await desk.login("agent1")
    raw = body if isinstance(body, bytes) else None
    status, answer = await desk.call("POST", PATH, token, None if raw is not None else body, raw=raw)
    assert status == 400, answer
    assert answer["error"] in ("bad_body", "bad_json") and answer["reason"]


async def test_503_with_a_reason_until_the_index_is_built(tmp_path: Path) -> None:
    hold = threading.Event()
    assist = fixture_assist(tmp_path, hold)
    async for desk in assist_desk(tmp_path, assist):
        token = await desk.login("agent1")
        status, answer = await desk.call("POST", PATH, token, {"text": "包邮吗"})
        assert (status, answer["error"]) == (503, "assist_not_ready")
        assert "正在建立" in answer["reason"]
        status, answer = await desk.call("GET", STATUS, token)
        assert (status, answer["state"], answer["units"]) == (200, "building", 0) and "正在建立" in answer["reason"]
        hold.set()
        assert assist.wait(10)
        status, answer = await desk.call("POST", PATH, token, {"text": "包邮吗"})
        assert status == 200 and answer["suggestions"]
        status, answer = await desk.call("GET", STATUS, token)
        assert status == 200 and answer == {"state": "ready", "reason": "", "units": 6, "reranks": True}
        status, answer = await desk.call("GET", STATUS + "?verbose=1", token)
        assert (status, answer["error"]) == (400, "bad_parameter")


async def test_the_route_is_described_in_openapi(desk: Desk) -> None:
    status, spec = await desk.call("GET", "/openapi.json")
    assert status == 200
    operation = spec["paths"][PATH]["post"]
    assert {"200", "400", "401", "403", "404", "503"} <= set(operation["responses"])
    assert set(spec["paths"][STATUS]["get"]["responses"]) == {"200", "400", "401"}
    assert {"AssistRequest", "AssistSuggestion", "AssistSuggestions", "AssistStatus"} <= set(spec["components"]["schemas"])
