"""GET /api/reports/*: the report of a period from a real tracker store and desk database, its CSV tables, the live
board from the running bridge; 主管 only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa.shared.core.events import ActionExecuted, UserUttered

from desk.reports_api import ECHARTS
from handoff.bridge import StartRequest
from handoff.records import HandoffRecords
from scripts.launch import ROOT
from service.clock import CST
from service.desk_client import bot_token
from service.reports.csv_export import BOM
from service.reports.tables import TABLES
from service.settings import Settings, load_settings
from service.tickets import build_ticket_service
from tests.desk_harness import Desk, MovableClock, draft
from tests.unit.desk_fixtures import serve_desk, tracker_log
from tests.unit.test_tracker_store import say, store

NOW = datetime(2026, 11, 21, 10, 0)
ROUTES = ("/api/reports/board", "/api/reports/summary", *(f"/api/reports/{name}.csv" for name in TABLES))


def at(hour: int, minute: int = 0) -> float:
    return datetime(2026, 11, 21, hour, minute, tzinfo=CST).timestamp()


def settings_for(tmp_path: Path) -> Settings:
    config = yaml.safe_load((ROOT / "handoff.yml").read_text(encoding="utf-8"))
    config["working_hours"] = {"start": "00:00", "end": "23:59"}
    config.pop("group_hours", None)
    config.pop("holidays", None)
    handoff_yml = tmp_path / "handoff.yml"
    handoff_yml.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return load_settings({"XIAOZHI_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'desk.db'}",
                          "XIAOZHI_MODE": "embedded", "HANDOFF_CONFIG": str(handoff_yml)})


async def conversations(tmp_path: Path) -> None:
    """c1 asks about a parcel (the bot answers); c2 is not understood, asks for a person."""
    tracker_store = store(tmp_path)
    await say(tracker_store, "c1", [
        UserUttered("我的快递到哪了", intent={"name": "query_logistics", "confidence": 0.95}, timestamp=at(9)),
        ActionExecuted("action_check_logistics", timestamp=at(9)), ActionExecuted("action_listen", timestamp=at(9))])
    await say(tracker_store, "c2", [
        UserUttered("嗯嗯 13900139000", intent={"name": "nlu_fallback", "confidence": 0.2}, timestamp=at(9, 5)),
        ActionExecuted("action_default_fallback", timestamp=at(9, 5)),
        UserUttered("转人工", intent={"name": "request_human", "confidence": 0.99}, timestamp=at(9, 6))])


def records(settings: Settings, clock: MovableClock) -> None:
    """c2's handoff: queued 09:06, assigned 09:07, first reply 09:08, ended 09:10, rated 5; one ticket at 10:00."""
    tickets = build_ticket_service(settings, clock)
    handoffs = HandoffRecords(tickets._engine, clock)
    clock.moment = datetime(2026, 11, 21, 9, 6)
    session = handoffs.open_session(sender_id="c2", channel="rest", customer_id=None, reason="fallback",
                                    skill_group="物流", priority=1, summary="", context={})
    clock.advance(minutes=1)
    handoffs.assign(session.id, "agent2", "auto", "system")
    clock.advance(minutes=1)
    handoffs.add_message(session.id, "agent", "agent2", "您好")
    clock.advance(minutes=2)
    handoffs.close(session.id, "ended", "agent_ended")
    handoffs.rate(session.id, 5)
    clock.moment = NOW
    tickets.create(draft(sender_id="c3"))
    tickets._engine.dispose()


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    settings, clock = settings_for(tmp_path), MovableClock(NOW)
    await conversations(tmp_path)
    records(settings, clock)
    log = tracker_log(tmp_path)

    def prepare(ctx: Any) -> None:
        ctx.conversation_log = log
        ctx.report_clock = clock
        ctx.review_scan_every_s = 0

    try:
        async with serve_desk(settings, clock, prepare) as running:
            yield running
    finally:
        log.close()


async def test_the_summary_of_today_from_tracker_and_records(desk: Desk) -> None:
    status, body = await desk.call("GET", "/api/reports/summary?period=today", await desk.login("supervisor"))
    assert status == 200, body
    k = body["kpis"]
    assert (k["conversations"], k["bot_only"], k["bot_only_rate"], k["handoff_rate"]) == (2, 1, 0.5, 0.5)
    assert (k["customer_messages"], k["fallbacks"], k["fallback_rate"]) == (3, 1, 0.3333)
    assert k["wait"]["average_s"] == 60.0 and k["first_response"]["average_s"] == 60.0
    assert k["handling"] == {"count": 1, "average_s": 180.0, "median_s": 180.0}
    assert k["csat"]["agent"]["average"] == 5.0 and k["csat"]["bot"]["count"] == 0
    assert k["tickets"]["opened"] == 1
    assert body["period"] == {"name": "today", "label": "今日", "first_day": "2026-11-21", "last_day": "2026-11-21",
                              "days": ["2026-11-21"]}
    assert body["tables"]["misunderstood"]["rows"][0]["text"] == "嗯嗯 139****9000"  # masked
    week = (await desk.call("GET", "/api/reports/summary?period=7d", await desk.login("supervisor")))[1]
    assert len(week["tables"]["daily"]["rows"]) == 7 and week["kpis"]["conversations"] == 2


async def test_every_table_downloads_as_csv_for_excel(desk: Desk) -> None:
    token = await desk.login("supervisor")
    for name in TABLES:
        async with desk.session.get(f"{desk.url}/api/reports/{name}.csv?period=7d",
                                    headers={"Authorization": f"Bearer {token}"}) as answer:
            raw = await answer.read()
            assert answer.status == 200, name
            assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
            assert answer.headers["Content-Disposition"] == f'attachment; filename="report-{name}-7d-2026-11-21.csv"'
            assert raw.startswith(BOM.encode("utf-8"))
    async with desk.session.get(f"{desk.url}/api/reports/handoff_reasons.csv",
                                headers={"Authorization": f"Bearer {token}"}) as answer:
        lines = (await answer.read()).decode("utf-8").removeprefix(BOM).split("\r\n")
    assert lines[:2] == ["转人工原因,原因代码,次数,占比", "机器人连续两次没听懂,fallback,1,100.0%"]


async def test_only_supervisors_read_reports(desk: Desk) -> None:
    agent = await desk.login("agent1")
    bot = bot_token(desk.app.ctx.test_secret)
    for path in ROUTES:
        assert (await desk.call("GET", path))[0] == 401, path
        assert (await desk.call("GET", path, bot))[0] == 401, path  # the bot's token is not a staff token
        status, body = await desk.call("GET", path, agent)
        assert (status, body["error"]) == (403, "forbidden"), path


@pytest.mark.parametrize("query, status, code", [
    ("period=1y", 422, "invalid_parameter"), ("period=%20today", 422, "invalid_parameter"),
    ("since=2026-11-01", 400, "bad_parameter"), ("period=today&period=7d", 400, "bad_parameter"),
])
async def test_bad_parameters_are_named(desk: Desk, query: str, status: int, code: str) -> None:
    token = await desk.login("supervisor")
    for path in ("/api/reports/summary", "/api/reports/daily.csv"):
        answer, body = await desk.call("GET", f"{path}?{query}", token)
        assert (answer, body["error"], body["field"]) == (status, code, query.split("=")[0]), path
    assert (await desk.call("GET", "/api/reports/summary?period=", token))[0] == 200  # empty: today
    answer, body = await desk.call("GET", "/api/reports/board?period=today", token)
    assert (answer, body["error"]) == (400, "bad_parameter")


async def test_the_board_follows_the_queue(desk: Desk) -> None:
    token, bridge = await desk.login("supervisor"), desk.app.ctx.bridge
    empty: dict[str, Any] = (await desk.call("GET", "/api/reports/board", token))[1]
    assert empty["totals"]["waiting"] == 0 and empty["agents"] == []
    assert {g["group"] for g in empty["groups"]} >= {"物流", "售后服务"}
    await bridge.connect("agent2", "小李", frozenset({"物流", "售前咨询"}), 3, status="忙碌")
    started = await bridge.start(StartRequest(sender_id="c9", channel="rest", reason="request_human",
                                              intent="query_logistics", summary="查物流", context={}))
    assert started.status == "queued"
    board = (await desk.call("GET", "/api/reports/board", token))[1]
    logistics = next(g for g in board["groups"] if g["group"] == "物流")
    assert (logistics["waiting"], logistics["agents_busy"], logistics["agents_online"]) == (1, 1, 0)
    assert logistics["longest_wait_s"] >= 0 and board["totals"]["waiting"] == 1
    assert board["agents"] == [{"username": "agent2", "name": "小李", "status": "忙碌", "active": 0, "capacity": 3,
                                "load": 0.0, "groups": ["售前咨询", "物流"], "unreplied": 0}]
    await bridge.set_status("agent2", "在线")  # takes the customer, has not answered yet
    board = (await desk.call("GET", "/api/reports/board", token))[1]
    assert board["totals"]["waiting"] == 0 and board["totals"]["unreplied"] == 1
    assert board["unreplied"][0]["agent_name"] == "小李" and board["unreplied"][0]["group"] == "物流"
    assert board["agents"][0]["active"] == 1 and board["agents"][0]["load"] == 0.3333


async def test_echarts_is_served_from_node_modules(desk: Desk) -> None:
    async with desk.session.get(desk.url + "/console/vendor/echarts.min.js") as answer:
        if ECHARTS.is_file():
            assert answer.status == 200 and "javascript" in answer.content_type
        else:
            assert (answer.status, (await answer.json())["error"]) == (404, "not_installed")


async def test_openapi_describes_the_report_routes(desk: Desk) -> None:
    _, spec = await desk.call("GET", "/openapi.json")
    for path in ROUTES:
        operation = spec["paths"][path]["get"]
        assert {"401", "403"} <= set(operation["responses"]), path
    period = spec["paths"]["/api/reports/summary"]["get"]["parameters"][0]
    assert period["schema"]["enum"] == ["today", "7d", "30d"] and period["allowEmptyValue"]


def _json_schema(schema: Any, components: dict[str, Any]) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema: $refs resolved, `nullable` as a null type."""
    if isinstance(schema, list):
        return [_json_schema(item, components) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        return _json_schema(components[schema["$ref"].rsplit("/", 1)[1]], components)
    converted = {key: _json_schema(value, components) for key, value in schema.items() if key != "nullable"}
    if schema.get("nullable") and "type" in schema:
        converted["type"] = [schema["type"], "null"]
        if "enum" in converted:
            converted["enum"] = [*converted["enum"], None]
    return converted


async def test_answers_match_their_description(desk: Desk) -> None:
    import jsonschema

    _, spec = await desk.call("GET", "/openapi.json")
    components = spec["components"]["schemas"]
    token, bridge = await desk.login("supervisor"), desk.app.ctx.bridge
    await bridge.connect("agent2", "小李", frozenset({"物流"}), 3, status="忙碌")
    await bridge.start(StartRequest(sender_id="c9", channel="rest", reason="complaint", intent="query_logistics",
                                    summary="", context={}))
    for path, name in (("/api/reports/board", "ReportBoard"), ("/api/reports/summary?period=30d", "ReportSummary"),
                       ("/api/reports/summary", "ReportSummary")):
        status, body = await desk.call("GET", path, token)
        assert status == 200
        jsonschema.validate(body, _json_schema(components[name], components))
