"""The schedules routes (GET for any staff, changes for 主管 only) and GET /api/handoff/meta, over real HTTP."""

from __future__ import annotations

from urllib.parse import quote

from desk.openapi import openapi_spec
from handoff.labels import INTENTS, REASONS
from tests.desk_harness import Desk
from tests.unit.desk_fixtures import assert_refused

JI = quote("技术")
ROUTES = [("GET", "/api/schedules", None), ("GET", "/api/handoff/meta", None),
          ("PUT", f"/api/schedules/groups/{JI}", {"start": "09:00", "end": "18:00"}),
          ("DELETE", f"/api/schedules/groups/{JI}", None),
          ("POST", "/api/schedules/holidays", {"date": "2027-01-01"}),
          ("DELETE", "/api/schedules/holidays/1", None),
          ("POST", "/api/schedules/shifts", {"username": "agent1", "date": "2026-11-21", "start": "09:00", "end": "18:00"}),
          ("DELETE", "/api/schedules/shifts/1", None)]
WRITES = [r for r in ROUTES if r[0] != "GET"]


async def test_no_token_a_bot_token_and_agents_writing_are_refused(desk: Desk) -> None:
    agent = await desk.login("agent1")
    await assert_refused(desk, ROUTES, WRITES, agent)
    status, page = await desk.call("GET", "/api/schedules", agent)
    assert status == 200 and {g["group"] for g in page["groups"]} >= {"技术", "物流"}


async def test_a_supervisor_sets_hours_holidays_and_shifts(desk: Desk) -> None:
    boss = await desk.login("supervisor")
    status, hours = await desk.call("PUT", f"/api/schedules/groups/{JI}", boss,
                                    {"start": "08:30", "end": "20:00", "days": [1, 2, 3, 4, 5, 6]})
    assert status == 200 and (hours["text"], hours["source"]) == ("周一至周六 08:30–20:00", "desk")
    status, holiday = await desk.call("POST", "/api/schedules/holidays", boss,
                                      {"date": "2026-12-31", "start": "09:00", "end": "17:00", "note": "跨年"})
    assert status == 201 and (holiday["closed"], holiday["start"], holiday["source"]) == (False, "09:00", "desk")
    status, shift = await desk.call("POST", "/api/schedules/shifts", boss,
                                    {"username": "agent1", "date": "2026-11-21", "start": "22:00", "end": "02:00"})
    assert status == 201 and set(shift["groups"]) >= {"技术"}
    status, page = await desk.call("GET", "/api/schedules?from=2026-11-16&days=7", boss)
    assert status == 200 and page["editable"] is True
    assert next(g for g in page["groups"] if g["group"] == "技术")["days"] == [1, 2, 3, 4, 5, 6]
    assert [s["id"] for s in page["shifts"]] == [shift["id"]]
    assert any(h["id"] == holiday["id"] for h in page["holidays"])
    assert {"username": "agent1", "name": "小王"}.items() <= next(
        a for a in page["agents"] if a["username"] == "agent1").items()
    for path in (f"/api/schedules/shifts/{shift['id']}", f"/api/schedules/holidays/{holiday['id']}"):
        assert (await desk.call("DELETE", path, boss))[0] == 200
        assert (await desk.call("DELETE", path, boss))[0] == 404
    status, back = await desk.call("DELETE", f"/api/schedules/groups/{JI}", boss)
    assert status == 200 and back["source"] == "handoff.yml" and back["text"] == "周一至周五 09:00–18:00"


async def test_the_same_start_and_end_is_round_the_clock(desk: Desk) -> None:
    boss = await desk.login("supervisor")
    status, hours = await desk.call("PUT", f"/api/schedules/groups/{JI}", boss, {"start": "00:00", "end": "00:00"})
    assert status == 200 and hours["text"] == "每天 24 小时", hours


async def test_bad_input_is_a_4xx_with_a_reason(desk: Desk) -> None:
    boss = await desk.login("supervisor")
    cases = [
        ("PUT", f"/api/schedules/groups/{JI}", {"start": "9:00", "end": "18:00"}, 422, "invalid_time"),
        ("PUT", f"/api/schedules/groups/{JI}", {"start": "09:00", "end": "18:00", "days": [0]}, 422, "invalid_days"),
        ("PUT", f"/api/schedules/groups/{JI}", {"start": "09:00", "end": "18:00", "days": [True]}, 422, "invalid_days"),
        ("PUT", f"/api/schedules/groups/{JI}", {"start": "09:00", "end": "18:00", "x": 1}, 400, "bad_body"),
        ("PUT", f"/api/schedules/groups/{quote('没有')}", {"start": "09:00", "end": "18:00"}, 404, "not_found"),
        ("PUT", f"/api/schedules/groups/{JI}", [1], 400, "bad_body"),
        ("DELETE", "/api/schedules/groups/%FF%FE", None, 404, "not_found"),
        ("POST", "/api/schedules/holidays", {"date": "2027-02-30"}, 422, "invalid_date"),
        ("POST", "/api/schedules/holidays", {"date": "1999-12-31"}, 422, "invalid_date"),
        ("POST", "/api/schedules/holidays", {"date": "2027-01-01", "group": "没有"}, 422, "invalid_group"),
        ("POST", "/api/schedules/holidays", {"date": "2027-01-01", "closed": True, "start": "09:00"}, 422,
         "invalid_input"),
        ("POST", "/api/schedules/holidays", {"date": "2027-01-01", "note": "长" * 61}, 422, "invalid_note"),
        ("POST", "/api/schedules/holidays", {"date": 20270101}, 400, "bad_body"),
        ("POST", "/api/schedules/holidays", {"date": "2027-01-01", "closed": None}, 400, "bad_body"),
        ("POST", "/api/schedules/holidays", {"date": "2027-01-01", "start": None, "end": None}, 400, "bad_body"),
        ("POST", "/api/schedules/holidays", {"date": "2027-01-01", "end": "18:00"}, 400, "bad_body"),
        ("POST", "/api/schedules/shifts", {"username": "nobody", "date": "2026-11-21", "start": "09:00",
                                           "end": "18:00"}, 422, "unknown_agent"),
        ("POST", "/api/schedules/shifts", {"username": "agent1", "date": "2026-11-21"}, 400, "bad_body"),
        ("DELETE", "/api/schedules/shifts/99999999999999999999", None, 404, "not_found"),
        ("DELETE", "/api/schedules/holidays/0", None, 404, "not_found"),
        ("GET", "/api/schedules?days=32", None, 422, "invalid_parameter"),
        ("GET", "/api/schedules?from=tomorrow", None, 422, "invalid_date"),
        ("GET", "/api/schedules?nope=1", None, 400, "bad_parameter"),
    ]
    for method, path, body, code, error in cases:
        status, answer = await desk.call(method, path, boss, body)
        assert (status, answer.get("error")) == (code, error), (path, body, answer)
        assert answer.get("reason")


async def test_meta_lists_groups_reasons_intents_and_statuses(desk: Desk) -> None:
    agent = await desk.login("agent1")
    status, meta = await desk.call("GET", "/api/handoff/meta", agent)
    assert status == 200
    assert meta["groups"] == ["售前咨询", "售后服务", "物流", "投诉", "技术"]
    assert {"name": "complaint", "label": REASONS["complaint"]} in meta["reasons"]
    assert {"name": "query_logistics", "label": INTENTS["query_logistics"]} in meta["intents"]
    assert meta["statuses"] == ["在线", "忙碌", "离开"]
    assert (await desk.call("GET", "/api/handoff/meta?x=1", agent))[0] == 400


def test_the_routes_are_described() -> None:
    paths = openapi_spec(["售后服务部"], ["技术"])["paths"]
    assert {"/api/handoff/meta", "/api/schedules", "/api/schedules/groups/{group}", "/api/schedules/holidays",
            "/api/schedules/holidays/{rule_id}", "/api/schedules/shifts", "/api/schedules/shifts/{shift_id}"} <= set(paths)
    assert set(paths["/api/schedules/groups/{group}"]) == {"put", "delete"}


async def test_hostile_input_is_never_a_5xx(desk: Desk) -> None:
    boss = await desk.login("supervisor")
    nasty = ["<script>alert(1)</script>", "' OR 1=1 --", "..%2F..%2Fetc", "%00", "%FF", "长" * 5000, "9" * 400]
    calls: list[tuple[str, str, object]] = []
    for text in nasty:
        calls += [("PUT", f"/api/schedules/groups/{text}", {"start": "09:00", "end": "18:00"}),
                  ("DELETE", f"/api/schedules/groups/{text}", None),
                  ("DELETE", f"/api/schedules/shifts/{text}", None),
                  ("GET", f"/api/schedules?from={text}", None), ("GET", f"/api/schedules?days={text}", None),
                  ("POST", "/api/schedules/holidays", {"date": text, "group": text, "note": text}),
                  ("POST", "/api/schedules/shifts", {"username": text, "date": "2026-11-21", "start": text,
                                                     "end": "18:00"})]
    calls += [("PUT", f"/api/schedules/groups/{JI}", {"start": "09:00", "end": "18:00", "days": [1.0, 2]}),
              ("PUT", f"/api/schedules/groups/{JI}", {"start": "09:00", "end": "18:00", "days": list(range(1, 9))}),
              ("PUT", f"/api/schedules/groups/{JI}", {"start": ["09:00"], "end": {"a": 1}}),
              ("POST", "/api/schedules/holidays", {"date": "2027-01-01", "closed": "yes"}),
              ("GET", "/api/schedules?days=%EF%BC%91%EF%BC%92", None),
              ("DELETE", "/api/schedules/holidays/-1", None)]
    for method, path, body in calls:
        status, answer = await desk.call(method, path, boss, body)
        assert 400 <= status < 500, (method, path, body, status, answer)
    status, _ = await desk.call("POST", "/api/schedules/holidays", boss, raw=b'{"date": "2027-01-01\\u0000"}')
    assert status == 400
