"""快捷回复 routes over real HTTP: GET for any staff (agents see their groups' and the global replies), writes for
主管 only, bad input a 4xx with a reason, and the OpenAPI description."""

from __future__ import annotations

from urllib.parse import quote

from desk.openapi import openapi_spec
from service.canned_replies.defaults import DEFAULT_REPLIES
from service.canned_replies.placeholders import PLACEHOLDERS
from tests.desk_harness import Desk
from tests.unit.desk_fixtures import assert_refused

BASE = "/api/canned-replies"
REPLY = {"title": "技术专用", "text": "{customer_name}您好，请先重启设备", "shortcut": "tech1", "group": "技术"}
ROUTES = [("GET", BASE, None), ("POST", BASE, REPLY), ("PUT", f"{BASE}/1", REPLY), ("DELETE", f"{BASE}/1", None)]
WRITES = [r for r in ROUTES if r[0] != "GET"]


def _group(name: str) -> str:
    return quote(name)


async def test_no_token_a_bot_token_and_agents_writing_are_refused(desk: Desk) -> None:
    for answer in await assert_refused(desk, ROUTES, WRITES):
        assert answer["reason"]


async def test_the_embedded_desk_starts_with_the_default_replies(desk: Desk) -> None:
    boss = await desk.login("supervisor")
    status, page = await desk.call("GET", BASE, boss)
    assert status == 200 and page["total"] == len(DEFAULT_REPLIES)
    assert [r["title"] for r in page["items"][:4]] == ["问候", "稍等", "致谢", "结束前"]
    assert [p["name"] for p in page["placeholders"]] == list(PLACEHOLDERS)
    assert page["missing_marker"] == "【待填：{label}】"
    assert page["groups"] == ["售前咨询", "售后服务", "物流", "投诉", "技术"]
    hello = page["items"][0]
    assert (hello["group"], hello["placeholders"], hello["created_by"]) == (None, ["agent_name"], "system")


async def test_a_supervisor_manages_replies_and_agents_see_only_their_groups(desk_each_db: Desk) -> None:
    desk = desk_each_db  # SQLite, and PostgreSQL in the postgres suite
    boss, agent1, agent2 = (await desk.login("supervisor"), await desk.login("agent1"), await desk.login("agent2"))
    status, made = await desk.call("POST", BASE, boss, REPLY)
    assert status == 201 and (made["group"], made["shortcut"], made["created_by"]) == ("技术", "tech1", "supervisor")
    assert made["placeholders"] == ["customer_name"]

    # agent1 (售后技术: 技术, 售后服务) sees it; agent2 (物流部: 物流, 售前咨询) does not, not even by searching
    status, page = await desk.call("GET", f"{BASE}?q=tech1", agent1)
    assert status == 200 and [r["id"] for r in page["items"]] == [made["id"]]
    assert set(page["groups"]) == {"技术", "售后服务"}
    status, page = await desk.call("GET", f"{BASE}?q=tech1", agent2)
    assert status == 200 and page["items"] == []
    status, page = await desk.call("GET", BASE, agent2)
    assert {r["group"] for r in page["items"]} == {None, "物流", "售前咨询"}
    status, answer = await desk.call("GET", f"{BASE}?group={_group('技术')}", agent2)
    assert (status, answer["error"]) == (403, "wrong_group") and "技术" in answer["reason"]
    status, page = await desk.call("GET", f"{BASE}?group={_group('物流')}", agent2)
    assert status == 200 and {r["group"] for r in page["items"]} == {None, "物流"}
    status, page = await desk.call("GET", f"{BASE}?group={_group('技术')}&q=", boss)
    assert status == 200 and {r["group"] for r in page["items"]} == {None, "技术"}

    status, changed = await desk.call("PUT", f"{BASE}/{made['id']}", boss,
                                      {"title": "重启", "text": "请先重启", "shortcut": None, "group": None})
    assert status == 200 and (changed["group"], changed["shortcut"], changed["title"]) == (None, None, "重启")
    status, page = await desk.call("GET", f"{BASE}?q={quote('重启')}", agent2)
    assert made["id"] in [r["id"] for r in page["items"]]  # now for every group
    assert (await desk.call("DELETE", f"{BASE}/{made['id']}", boss))[0] == 200
    status, answer = await desk.call("DELETE", f"{BASE}/{made['id']}", boss)
    assert (status, answer["error"]) == (404, "not_found")


async def test_bad_input_is_a_4xx_with_a_reason(desk: Desk) -> None:
    boss = await desk.login("supervisor")
    status, taken = await desk.call("POST", BASE, boss, {"title": "一", "text": "二", "shortcut": "dup"})
    assert status == 201
    cases = [
        ("POST", BASE, {"title": "标题", "text": "您的{phone}"}, 422, "invalid_text"),
        ("POST", BASE, {"title": "标题", "text": "少了 {order_id"}, 422, "invalid_text"),
        ("POST", BASE, {"title": " ", "text": "内容"}, 422, "invalid_title"),
        ("POST", BASE, {"title": "长" * 31, "text": "内容"}, 422, "invalid_title"),
        ("POST", BASE, {"title": "标题", "text": "字" * 1001}, 422, "invalid_text"),
        ("POST", BASE, {"title": "标题", "text": "内容", "group": "财务"}, 422, "invalid_group"),
        ("POST", BASE, {"title": "标题", "text": "内容", "shortcut": "a b"}, 422, "invalid_shortcut"),
        ("POST", BASE, {"title": "标题", "text": "内容", "shortcut": "DUP"}, 422, "shortcut_taken"),
        ("POST", BASE, {"title": "标题"}, 400, "bad_body"),
        ("POST", BASE, {"title": "标题", "text": 1}, 400, "bad_body"),
        ("POST", BASE, {"title": "标题", "text": "内容", "group": 3}, 400, "bad_body"),
        ("POST", BASE, {"title": "标题", "text": "内容", "extra": "x"}, 400, "bad_body"),
        ("POST", BASE, ["not", "an", "object"], 400, "bad_body"),
        ("PUT", f"{BASE}/{taken['id']}", {"title": "标题", "text": "内容", "shortcut": None, "group": None, "x": 1},
         400, "bad_body"),
        ("PUT", f"{BASE}/999999", {"title": "标题", "text": "内容"}, 404, "not_found"),
        ("PUT", f"{BASE}/0", {"title": "标题", "text": "内容"}, 404, "not_found"),
        ("DELETE", f"{BASE}/99999999999999999999", None, 404, "not_found"),
        ("GET", f"{BASE}?group={_group('财务')}", None, 422, "invalid_group"),
        ("GET", f"{BASE}?q={'长' * 51}", None, 422, "invalid_parameter"),
        ("GET", f"{BASE}?q=a&q=b", None, 400, "bad_parameter"),
        ("GET", f"{BASE}?nope=1", None, 400, "bad_parameter"),
    ]
    for method, path, body, code, error in cases:
        status, answer = await desk.call(method, path, boss, body)
        assert (status, answer.get("error")) == (code, error), (path, body, answer)
        assert answer.get("reason")
    status, answer = await desk.call("POST", BASE, boss, raw=b"{not json")
    assert (status, answer["error"]) == (400, "bad_json")
    status, answer = await desk.call("POST", BASE, boss, raw=b'{"title": "\\u0000", "text": "x"}')
    assert (status, answer["error"]) == (400, "bad_json")


async def test_hostile_input_is_never_a_5xx(desk: Desk) -> None:
    boss = await desk.login("supervisor")
    nasty = ["<script>alert(1)</script>", "' OR 1=1 --", "..%2F..%2Fetc", "%FF", "长" * 5000, "9" * 400, "%", "_",
             "{", "}"]
    for text in nasty:
        for method, path, body in [("GET", f"{BASE}?q={quote(text)}", None), ("GET", f"{BASE}?group={text}", None),
                                   ("POST", BASE, {"title": text[:30], "text": text, "shortcut": text[:16]}),
                                   ("PUT", f"{BASE}/{text}", {"title": "a", "text": "b"}),
                                   ("DELETE", f"{BASE}/{text}", None)]:
            status, _ = await desk.call(method, path, boss, body)
            assert status < 500, (method, path)


def test_the_routes_are_described() -> None:
    spec = openapi_spec(["售后服务部"], ["技术", "物流"])
    paths = spec["paths"]
    assert set(paths[BASE]) == {"get", "post"} and set(paths[f"{BASE}/{{reply_id}}"]) == {"put", "delete"}
    body = paths[BASE]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["group"]["enum"] == ["技术", "物流", None] and body["additionalProperties"] is False
    assert {"CannedReply", "CannedReplyList"} <= set(spec["components"]["schemas"])
    assert all(p["allowEmptyValue"] for p in paths[BASE]["get"]["parameters"])
