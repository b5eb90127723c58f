"""The 质检 routes over real HTTP: 主管 only, a chat flagged when it ends, reviewed; bad input named; OpenAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from desk.quality_api import quality_blueprint
from handoff.qa_rules import QaRulesError
from tests.desk_harness import Desk, MovableClock
from tests.socket_harness import bot, handoff_desk, handoff_request
from tests.unit.desk_fixtures import assert_refused

ROUTES = [("GET", "/api/quality/flags", None), ("POST", "/api/quality/flags/1/review", {"note": "已看"})]


@pytest.fixture
async def desk(tmp_path: Path, desk_clock: MovableClock) -> AsyncIterator[Desk]:
    async with handoff_desk(tmp_path, desk_clock) as running:
        yield running


async def flagged_chat(desk: Desk) -> str:
    """agent2 takes 张伟, answers with a forbidden phrase, the customer is angry, the chat ends: its session id."""
    token = await desk.login("agent2")
    assert (await desk.call("PUT", "/api/agents/me/status", token, {"status": "忙碌"}))[0] == 200
    status, started = await bot(desk, "/api/handoff/sessions", handoff_request())
    assert status == 201, started
    session_id = started["session_id"]
    assert (await desk.call("POST", f"/api/handoff/sessions/{session_id}/pick", token))[0] == 200
    reply = {"text": "这个我不知道，电话13800138000"}
    assert (await desk.call("POST", f"/api/handoff/sessions/{session_id}/reply", token, reply))[0] == 200
    status, _ = await bot(desk, f"/api/handoff/sessions/{session_id}/messages", {"text": "什么态度!!!"})
    assert status == 202
    status, _ = await desk.call("POST", f"/api/handoff/sessions/{session_id}/end", token, {"summary": "已处理"})
    assert status == 200
    return session_id


async def test_no_token_a_bot_token_and_agents_are_refused(desk: Desk) -> None:
    await assert_refused(desk, ROUTES, ROUTES)


async def test_a_chat_is_flagged_when_it_ends_and_a_supervisor_reviews_it(desk: Desk) -> None:
    session_id = await flagged_chat(desk)
    token = await desk.login("supervisor")
    status, page = await desk.call("GET", "/api/quality/flags", token)
    assert status == 200 and page["total"] == 2
    assert sorted((f["rule"], f["rule_label"]) for f in page["items"]) == [("customer_anger", "客户不满"),
                                                                           ("forbidden_phrase", "服务禁语")]
    forbidden = next(f for f in page["items"] if f["rule"] == "forbidden_phrase")
    assert (forbidden["session_id"], forbidden["agent"], forbidden["status"]) == (session_id, "agent2", "open")
    assert forbidden["detail"] == "用了服务禁语「不知道」：这个我不知道，电话138****8000"
    assert forbidden["at"].endswith("+08:00")
    assert {r["name"] for r in page["rules"]} == {"first_reply_late", "forbidden_phrase", "customer_anger",
                                                 "no_summary"}

    status, done = await desk.call("POST", f"/api/quality/flags/{forbidden['id']}/review", token, {"note": " 已提醒 "})
    assert status == 200 and (done["status"], done["reviewer"], done["note"]) == ("reviewed", "supervisor", "已提醒")
    status, plain = await desk.call("POST", f"/api/quality/flags/{forbidden['id']}/review", token)  # no body: no note
    assert status == 200 and plain["note"] == ""

    _, still_open = await desk.call("GET", "/api/quality/flags?status=open", token)
    assert [f["rule"] for f in still_open["items"]] == ["customer_anger"]
    day = forbidden["at"][:10]
    _, by_rule = await desk.call("GET", f"/api/quality/flags?rule=forbidden_phrase&date_from={day}&date_to={day}",
                                 token)
    assert [f["id"] for f in by_rule["items"]] == [forbidden["id"]]
    _, later = await desk.call("GET", "/api/quality/flags?date_from=9999-12-31&status=&rule=", token)
    assert later["total"] == 0
    _, paged = await desk.call("GET", "/api/quality/flags?page=2&page_size=1", token)
    assert len(paged["items"]) == 1 and paged["total"] == 2


@pytest.mark.parametrize("query, status, error, field", [
    ("?colour=red", 400, "bad_parameter", "colour"),
    ("?status=open&status=reviewed", 400, "bad_parameter", "status"),
    ("?status=done", 422, "invalid_parameter", "status"),
    ("?rule=rude", 422, "invalid_parameter", "rule"),
    ("?date_from=21-11-2026", 400, "bad_parameter", "date_from"),
    ("?date_to=2026-02-30", 400, "bad_parameter", "date_to"),
    ("?page=0", 422, "invalid_parameter", "page"),
    ("?page_size=x", 400, "bad_parameter", "page_size"),
    ("?page_size=101", 422, "invalid_parameter", "page_size"),
])
async def test_bad_list_parameters_are_named(desk: Desk, query: str, status: int, error: str, field: str) -> None:
    answer_status, answer = await desk.call("GET", "/api/quality/flags" + query, await desk.login("supervisor"))
    assert (answer_status, answer["error"], answer.get("field")) == (status, error, field)


async def test_a_reversed_date_range_lists_no_flag(desk: Desk) -> None:
    await flagged_chat(desk)
    status, page = await desk.call("GET", "/api/quality/flags?date_from=2026-11-22&date_to=2026-11-21",
                                   await desk.login("supervisor"))
    assert (status, page["items"]) == (200, [])


async def test_bad_reviews_are_named(desk: Desk) -> None:
    token = await desk.login("supervisor")
    for path in ("/api/quality/flags/abc/review", "/api/quality/flags/0/review", "/api/quality/flags/99/review",
                 "/api/quality/flags/99999999999/review"):
        status, answer = await desk.call("POST", path, token, {"note": "x"})
        assert (status, answer["error"]) == (404, "not_found"), path
    session_id = await flagged_chat(desk)
    flag_id = desk.app.ctx.quality_store.of_session(session_id)[0].id
    path = f"/api/quality/flags/{flag_id}/review"
    for body, status, error in (({"note": 5}, 400, "bad_body"), ({"notes": "x"}, 400, "bad_body"),
                                ([1], 400, "bad_body"), ({"note": "好" * 501}, 422, "invalid_input")):
        answer_status, answer = await desk.call("POST", path, token, body)
        assert (answer_status, answer["error"]) == (status, error), body
    status, answer = await desk.call("POST", path, token, raw=b"{not json")
    assert (status, answer["error"]) == (400, "bad_json")


async def test_the_routes_are_described(desk: Desk) -> None:
    _, spec = await desk.call("GET", "/openapi.json")
    listed = spec["paths"]["/api/quality/flags"]["get"]
    assert [p["name"] for p in listed["parameters"]] == ["status", "rule", "date_from", "date_to", "page", "page_size"]
    assert all(p["allowEmptyValue"] for p in listed["parameters"])
    assert "post" in spec["paths"]["/api/quality/flags/{flag_id}/review"]
    assert {"QualityFlag", "QualityFlagPage"} <= set(spec["components"]["schemas"])


def test_a_broken_rules_file_stops_the_desk_with_its_key(tmp_path: Path) -> None:
    broken = tmp_path / "qa_rules.yml"
    broken.write_text("first_reply_seconds: soon\n", encoding="utf-8")
    with pytest.raises(QaRulesError, match="first_reply_seconds"):
        quality_blueprint(broken)
