"""What the console's 工单 view needs from the desk: the `mine` filter, search by phone as typed, the next statuses for
the caller's role, the candidate assignees, and a ticket opened from a handoff chat (its prefill, then the ticket),
with the customer and order taken from the chat's record. Pure rules first, then the routes over real HTTP."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from desk.errors import ApiError
from desk.ticket_from_chat import chat_facts, chat_ticket_body
from handoff.records import Message, Session
from service.audit import AuditQuery
from service.desk_client import bot_token
from service.errors import InvalidInput, NotAllowed
from service.tickets.access import NOT_OWNER, check_chat_owner
from service.tickets.drafting import (
    ChatFacts,
    ChatOrder,
    ChatTicketRequest,
    Line,
    draft_from_chat,
    suggest_ticket,
    topic_of,
)
from service.tickets.models import TicketFilter
from service.tickets.policy import load_policy
from service.tickets.rules import Category, Kind, Status, next_statuses
from tests.desk_harness import Desk, MovableClock, draft
from tests.socket_harness import handoff_desk

AT = datetime(2026, 11, 21, 10, 0)
ORDER = "E202611010001"


# --- rules, pure ------------------------------------------------------------------------------------------

def test_next_statuses_follow_the_workflow_and_the_role() -> None:
    assert next_statuses(Status.NEW, supervisor=False) == [Status.ASSIGNED, Status.IN_PROGRESS, Status.CLOSED]
    assert next_statuses(Status.IN_PROGRESS, supervisor=False) == [Status.AWAITING_CUSTOMER, Status.RESOLVED]
    assert next_statuses(Status.CLOSED, supervisor=False) == []  # closed is final for a 坐席
    assert next_statuses(Status.CLOSED, supervisor=True) == [Status.REOPENED]
    assert next_statuses(Status.RESOLVED, supervisor=False) == [Status.CLOSED, Status.REOPENED]


def test_a_chat_ticket_is_for_its_agent_or_a_supervisor() -> None:
    check_chat_owner("agent1", "agent1", "坐席")
    check_chat_owner("agent1", "supervisor", "主管")
    check_chat_owner(None, "supervisor", "主管")
    for holder in ("agent2", None, ""):
        with pytest.raises(NotAllowed) as refused:
            check_chat_owner(holder, "agent1", "坐席")
        assert refused.value.code == NOT_OWNER


def facts(**extra: Any) -> ChatFacts:
    values: dict[str, Any] = dict(
        session_id="s1", sender_id="web-c001", channel="rest", customer_id="C001", customer_name="张伟",
        customer_phone="13800138000", customer_vip=True, summary="客户询问维修，要求人工",
        lines=(Line("user", "耳机左耳没声音，电话13800138000", "repair_request"), Line("bot", "请问订单号？"),
               Line("user", "/affirm"), Line("user", "转人工", "request_human"), Line("agent", "您好")),
        intents=("repair_request", "request_human", "affirm"), orders=(ChatOrder(ORDER, "蓝牙耳机 X1"),))
    values.update(extra)
    return ChatFacts(**values)


def test_the_prefill_reads_the_topic_order_and_words_masked() -> None:
    assert topic_of(["query_logistics", "faq/returns", "request_human", "affirm"]) == "faq"
    assert topic_of(["request_human"]) == ""
    suggestion = suggest_ticket(facts(), load_policy())
    assert (suggestion.category, suggestion.kind, suggestion.order_id) == (Category.REPAIR, Kind.ISSUE, ORDER)
    assert suggestion.priority == "紧急"  # a VIP
    assert suggestion.title.startswith(f"维修：订单{ORDER}（蓝牙耳机 X1）")
    assert suggestion.description == "耳机左耳没声音，电话138****8000"  # 转人工 is not what the case is about
    bare = suggest_ticket(facts(intents=("query_logistics",), orders=(), customer_vip=False, lines=()), load_policy())
    assert (bare.category, bare.order_id, bare.priority, bare.description) == (
        Category.REGISTERED, None, "一般", "客户询问维修，要求人工")


def test_the_draft_takes_the_customer_from_the_chat_and_checks_the_choices() -> None:
    made = draft_from_chat(facts(), ChatTicketRequest(Category.REPAIR, "  维修  耳机 ", "左耳没声音", order_id=ORDER,
                                                      priority="一般"), "agent1")
    assert (made.customer_id, made.customer_phone, made.sender_id, made.order_id, made.product) == (
        "C001", "13800138000", "web-c001", ORDER, "蓝牙耳机 X1")
    assert (made.summary, made.actor, made.origin, made.intent, made.priority) == (
        "维修 耳机", "agent1", "s1", "repair_request", "一般")
    assert "13800138000" not in made.transcript and "/affirm" not in made.transcript
    assert draft_from_chat(facts(), ChatTicketRequest(Category.REPAIR, "维修"), "agent1").description == "维修"
    for request, field in ((ChatTicketRequest(Category.REPAIR, "x", order_id="E202611150002"), "order_id"),
                           (ChatTicketRequest(Category.IMPROVEMENT, "x"), "category"),
                           (ChatTicketRequest(Category.REPAIR, "x", kind=Kind.IMPROVEMENT), "category"),
                           (ChatTicketRequest(Category.REPAIR, "   "), "title")):
        with pytest.raises(InvalidInput) as refused:
            draft_from_chat(facts(), request, "agent1")
        assert refused.value.field == field


def session(context: Any, **extra: Any) -> Session:
    values: dict[str, Any] = dict(
        id="s1", sender_id="web-c001", channel="rest", customer_id="C001", reason="request_human", skill_group="技术",
        priority=1, status="assigned", agent="agent1", summary="客户要求人工", queued_at=AT, assigned_at=AT,
        first_agent_reply_at=None, ended_at=None, end_reason=None, ticket_number=None, rating=None, context=context)
    values.update(extra)
    return Session(**values)


def test_chat_facts_come_from_the_record_and_survive_odd_contexts() -> None:
    record = session({"customer": {"name": "张伟", "phone": "13800138000", "vip": True},
                      "transcript": [{"speaker": "user", "text": "维修", "intent": "repair_request"},
                                     {"speaker": "bot", "text": "好的"}, "junk", {"speaker": "hacker", "text": "x"}],
                      "slots": {"order_id": ORDER},
                      "recent_orders": [{"order_id": "E202611150002", "summary": "空气炸锅 AF5"},
                                        {"order_id": ORDER, "summary": "蓝牙耳机 X1"}, {"order_id": "DROP TABLE"}]})
    messages = [Message(AT, "customer", "customer", "坏了", "repair_request", []), Message(AT, "agent", "agent1", "好", None, []),
                Message(AT, "system", "system", "客户已离开", None, [])]
    found = chat_facts(record, messages)
    assert (found.customer_name, found.customer_phone, found.customer_vip) == ("张伟", "13800138000", True)
    assert [o.order_id for o in found.orders] == [ORDER, "E202611150002"]
    assert found.orders[0].summary == "蓝牙耳机 X1"
    assert [(line.speaker, line.text, line.intent) for line in found.lines] == [
        ("user", "维修", "repair_request"), ("bot", "好的", ""), ("user", "坏了", "repair_request"), ("agent", "好", "")]
    assert found.intents == ("repair_request", "repair_request")
    odd = chat_facts(session({"customer": "x", "slots": [1], "transcript": None, "recent_orders": "y"}), [])
    assert (odd.customer_name, odd.orders, odd.lines, odd.customer_vip) == ("", (), (), False)


@pytest.mark.parametrize("raw, code, field", [
    ('{"title": "x"}', "bad_body", "category"),
    ('{"category": "维修", "title": "x", "customer_id": "C002"}', "bad_body", "customer_id"),  # never from the client
    ('{"category": "维修", "title": 5}', "bad_body", "title"),
    ('{"category": "闲聊", "title": "x"}', "invalid_input", "category"),
    ('{"category": "", "title": "x"}', "invalid_input", "category"),
    ('{"category": "维修", "title": "  "}', "invalid_input", "title"),
    ('{"category": "维修", "title": "%s"}' % ("长" * 101), "invalid_input", "title"),
    ('{"category": "维修", "title": "x", "priority": "超急"}', "invalid_input", "priority"),
    ('{"category": "维修", "title": "x", "kind": "x"}', "invalid_input", "kind"),
    ('{"category": "维修", "title": "x", "order_id": "1 OR 1"}', "invalid_input", "order_id"),
])
def test_the_body_is_checked_field_by_field(raw: str, code: str, field: str) -> None:
    with pytest.raises(ApiError) as refused:
        chat_ticket_body(raw.encode())
    assert (refused.value.code, refused.value.field) == (code, field)


def test_a_full_body_is_taken() -> None:
    body = b'{"category": "\\u6295\\u8bc9", "title": " x ", "kind": "", "priority": "", "order_id": ""}'
    assert chat_ticket_body(body) == ChatTicketRequest(Category.COMPLAINT, "x", "", Kind.ISSUE, None, None)


# --- the routes -------------------------------------------------------------------------------------------

@pytest.fixture
async def desk(tmp_path: Path, desk_clock: MovableClock) -> AsyncIterator[Desk]:
    async with handoff_desk(tmp_path, desk_clock) as running:
        yield running


def repair_chat() -> dict[str, Any]:
    """张伟 (C001, VIP) asks for a person about his earphones; the bot knows the order."""
    return {"sender_id": "web-c001", "channel": "rest", "reason": "request_human", "intent": "repair_request",
            "summary": "客户申请维修耳机，要求人工", "customer_id": "C001", "customer_vip": True,
            "context": {"sender_id": "web-c001", "customer": {"id": "C001", "name": "张伟", "phone": "13800138000",
                                                              "vip": True},
                        "transcript": [{"speaker": "user", "text": "耳机左耳没声音了", "intent": "repair_request"},
                                       {"speaker": "user", "text": "转人工", "intent": "request_human"}],
                        "slots": {"order_id": ORDER, "customer_id": "C001"},
                        "recent_orders": [{"order_id": ORDER, "summary": "蓝牙耳机 X1"}]}}


async def picked_chat(desk: Desk, username: str = "agent1") -> tuple[str, str]:
    """The repair chat as its record holds it once `username` took it (the queue is not what is tested here):
    (token, session id)."""
    token = await desk.login(username)
    chat = repair_chat()
    records = desk.app.ctx.handoff_records
    opened = records.open_session(sender_id=chat["sender_id"], channel=chat["channel"], customer_id="C001",
                                  reason=chat["reason"], skill_group="技术", priority=0, summary=chat["summary"],
                                  context=chat["context"])
    records.assign(opened.id, username, "pick", username)
    records.add_message(opened.id, "agent", username, "您好，我看一下", None, [])
    return token, opened.id


def create(desk: Desk, **extra: Any) -> str:
    category = extra.pop("category", Category.REPAIR)
    return desk.tickets.create(draft(category, **extra)).ticket.number


async def test_no_token_and_a_bot_token_are_refused(desk: Desk) -> None:
    number = create(desk)
    robot = bot_token(desk.app.ctx.test_secret)
    for method, path, body in (("GET", f"/api/tickets/{number}/assignees", None),
                               ("GET", "/api/handoff/sessions/s1/ticket-draft", None),
                               ("POST", "/api/handoff/sessions/s1/tickets", {"category": "维修", "title": "x"}),
                               ("GET", "/api/tickets?mine=true", None)):
        status, answer = await desk.call(method, path, None, body)
        assert (status, answer["error"]) == (401, "missing_token"), path
        status, answer = await desk.call(method, path, robot, body)
        assert (status, answer["error"]) == (401, "invalid_token"), path


async def test_mine_lists_my_tickets_and_search_takes_a_phone_as_typed(desk: Desk) -> None:
    first, second = create(desk), create(desk, order_id="E202610200003", description="冰箱维修")
    desk.tickets.assign(second, "agent1", "agent1")
    agent1, boss = await desk.login("agent1"), await desk.login("supervisor")

    async def numbers(token: str, query: str) -> list[str]:
        status, body = await desk.call("GET", "/api/tickets?" + query, token)
        assert status == 200, body
        return [item["number"] for item in body["items"]]

    assert await numbers(agent1, "mine=true") == [second]
    assert await numbers(agent1, "mine=1&assignee=agent1") == [second]
    assert await numbers(agent1, "mine=false") == [second, first]
    assert await numbers(boss, "mine=true") == []
    assert await numbers(agent1, "mine=true&assignee=agent2") == []  # the filters add up: nobody is both
    status, body = await desk.call("GET", "/api/tickets?mine=yes", agent1)
    assert (status, body["field"]) == (400, "mine")
    for typed in ("138%200013%208000", "138-0013-8000", "%2B8613800138000"):
        assert await numbers(agent1, f"q={typed}") == [second, first], typed
    assert await numbers(await desk.login("agent2"), "q=13800138000") == []  # not another department's


async def test_the_overdue_filter_lists_escalated_tickets(desk: Desk, desk_clock: MovableClock) -> None:
    late = create(desk)
    desk_clock.advance(hours=3)  # past the first response (2 h for 一般)
    fresh = create(desk, order_id="E202610200003", description="冰箱维修")
    assert [e.ticket_number for e in desk.tickets.escalate_overdue()] == [late]
    token = await desk.login("agent1")
    _, body = await desk.call("GET", "/api/tickets?overdue=true", token)
    assert [(i["number"], i["overdue"]) for i in body["items"]] == [(late, True)]
    _, body = await desk.call("GET", "/api/tickets?overdue=false", token)
    assert [i["number"] for i in body["items"]] == [fresh]


async def test_next_statuses_come_with_the_ticket_and_closed_is_final_for_agents(desk: Desk) -> None:
    number = create(desk)
    agent1, boss = await desk.login("agent1"), await desk.login("supervisor")
    _, detail = await desk.call("GET", f"/api/tickets/{number}", agent1)
    assert detail["next_statuses"] == ["已分派", "处理中", "已关闭"]
    status, changed = await desk.call("POST", f"/api/tickets/{number}/status", agent1, {"status": "已关闭"})
    assert status == 200 and changed["next_statuses"] == []
    status, body = await desk.call("POST", f"/api/tickets/{number}/status", agent1, {"status": "重新打开"})
    assert (status, body["error"]) == (403, "supervisor_only") and "主管" in body["reason"]
    assert desk.tickets.get(number).status is Status.CLOSED
    _, detail = await desk.call("GET", f"/api/tickets/{number}", boss)
    assert detail["next_statuses"] == ["重新打开"]
    status, changed = await desk.call("POST", f"/api/tickets/{number}/status", boss, {"status": "重新打开"})
    assert status == 200 and changed["next_statuses"] == ["已分派", "处理中"]
    status, commented = await desk.call("POST", f"/api/tickets/{number}/comments", agent1, {"comment": "已联系"})
    assert status == 201 and commented["next_statuses"] == ["已分派", "处理中"]


async def test_assignees_are_the_departments_agents_and_supervisors(desk: Desk) -> None:
    number = create(desk)  # 售后技术
    agent1, agent2, boss = await desk.login("agent1"), await desk.login("agent2"), await desk.login("supervisor")
    status, body = await desk.call("GET", f"/api/tickets/{number}/assignees", agent1)
    assert status == 200 and (body["number"], body["department"]) == (number, "售后技术")
    assert [(i["username"], i["selectable"]) for i in body["items"]] == [("agent1", True), ("supervisor", False)]
    _, body = await desk.call("GET", f"/api/tickets/{number}/assignees", boss)
    assert [(i["username"], i["selectable"]) for i in body["items"]] == [("agent1", True), ("supervisor", True)]
    status, body = await desk.call("GET", f"/api/tickets/{number}/assignees", agent2)
    assert (status, body["error"]) == (403, "other_department")
    assert (await desk.call("GET", "/api/tickets/T000000/assignees", boss))[0] == 404


async def test_an_agent_opens_a_ticket_from_their_chat(desk: Desk, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    token, session_id = await picked_chat(desk)
    status, prefill = await desk.call("GET", f"/api/handoff/sessions/{session_id}/ticket-draft", token)
    assert status == 200, prefill
    assert (prefill["category"], prefill["kind"], prefill["priority"], prefill["order_id"]) == ("维修", "问题", "紧急", ORDER)
    assert prefill["orders"] == [{"order_id": ORDER, "summary": "蓝牙耳机 X1"}]
    assert prefill["description"] == "耳机左耳没声音了" and prefill["departments"]["维修"] == "售后技术"
    assert prefill["departments"]["退款"] == "财务" and "13800138000" not in str(prefill)

    body = {"category": "维修", "title": prefill["title"], "description": "左耳无声，需寄修", "priority": "一般",
            "order_id": ORDER}
    status, created = await desk.call("POST", f"/api/handoff/sessions/{session_id}/tickets", token, body)
    assert status == 201, created
    assert (created["duplicate"], created["department"], created["priority"]) == (False, "售后技术", "紧急")  # VIP
    ticket = created["ticket"]
    assert (ticket["customer_id"], ticket["order_id"], ticket["product"]) == ("C001", ORDER, "蓝牙耳机 X1")
    assert ticket["customer_phone"] == "138****8000" and created["next_statuses"] == ["已分派", "处理中", "已关闭"]
    _, detail = await desk.call("GET", f"/api/tickets/{created['number']}", token)
    first = detail["trail"][0]
    assert (first["actor"], first["kind"]) == ("agent1", "created") and session_id in first["comment"]
    stored = desk.tickets.get(created["number"])
    assert (stored.sender_id, stored.intent, stored.customer_phone) == ("web-c001", "repair_request", "13800138000")
    assert "13800138000" not in caplog.text and "ticket_from_chat" in caplog.text

    status, again = await desk.call("POST", f"/api/handoff/sessions/{session_id}/tickets", token, body)
    assert (status, again["duplicate"], again["number"]) == (200, True, created["number"])
    # a refund goes to 财务: the agent learns its number, not its contents
    status, refund = await desk.call("POST", f"/api/handoff/sessions/{session_id}/tickets", token,
                                     {"category": "退款", "title": "退运费"})
    assert (status, refund["department"], refund["next_statuses"]) == (201, "财务", []) and "ticket" not in refund
    status, answer = await desk.call("POST", f"/api/handoff/sessions/{session_id}/tickets", token,
                                     {"category": "维修", "title": "x", "order_id": "E202611150002"})
    assert (status, answer["error"], answer["field"]) == (422, "unknown_order", "order_id")


async def test_only_the_chats_agent_or_a_supervisor_opens_its_ticket(desk: Desk) -> None:
    _, session_id = await picked_chat(desk)
    other, boss = await desk.login("agent2"), await desk.login("supervisor")
    for method, path, body in (("GET", f"/api/handoff/sessions/{session_id}/ticket-draft", None),
                               ("POST", f"/api/handoff/sessions/{session_id}/tickets", {"category": "维修", "title": "x"})):
        status, answer = await desk.call(method, path, other, body)
        assert (status, answer["error"]) == (403, "not_owner"), path
        assert "13800138000" not in str(answer)
        status, answer = await desk.call(method, path.replace(session_id, "nope"), boss, body)
        assert (status, answer["error"]) == (404, "not_found"), path
    assert desk.tickets.search(TicketFilter()).total == 0  # nothing was opened
    status, created = await desk.call("POST", f"/api/handoff/sessions/{session_id}/tickets", boss,
                                      {"category": "投诉", "title": "客户投诉服务态度"})
    assert status == 201 and created["ticket"]["customer_phone"] == "13800138000"  # whole for 主管, audited
    assert created["department"] == "客户关系"
    logged = desk.app.ctx.audit.log.search(AuditQuery(viewer="supervisor")).items
    assert any(row.reference == created["number"] and "phone" in row.shown for row in logged)


async def test_the_new_routes_are_described(desk: Desk) -> None:
    _, spec = await desk.call("GET", "/openapi.json")
    listing = [p["name"] for p in spec["paths"]["/api/tickets"]["get"]["parameters"]]
    assert "mine" in listing
    create_op = spec["paths"]["/api/handoff/sessions/{session_id}/tickets"]["post"]
    assert {"201", "200", "401", "403", "404", "413", "422"} <= set(create_op["responses"])
    case, improvement = spec["components"]["schemas"]["ChatTicketRequest"]["oneOf"]  # the customer is the chat's
    for request in (case, improvement):
        assert request["additionalProperties"] is False and "customer_id" not in request["properties"]
    assert "改进" not in case["properties"]["category"]["enum"] and improvement["required"] == ["category", "kind", "title"]
    assert spec["components"]["schemas"]["TicketDetail"]["properties"]["next_statuses"]["items"]["enum"][0] == "新建"
    assert "/api/tickets/{number}/assignees" in spec["paths"]
    assert "/api/handoff/sessions/{session_id}/ticket-draft" in spec["paths"]


def test_the_document_admits_the_blank_choices_the_desk_takes_as_not_chosen() -> None:
    # A form's blank select sends "" for priority, kind and order; the desk reads that as "not chosen" (above),
    # so /openapi.json must not call such a body invalid (schemathesis sent one and got a 201).
    import jsonschema

    from desk.openapi import _chat_ticket_schemas

    schema = _chat_ticket_schemas(["客服中心"])["ChatTicketRequest"]
    for body in ({"category": "投诉", "title": "x", "kind": "", "priority": "", "order_id": ""},
                 {"category": "改进", "kind": "改进", "title": "0", "priority": "", "order_id": ""}):
        jsonschema.validate(body, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"category": "投诉", "title": "x", "order_id": "1 OR 1"}, schema)
