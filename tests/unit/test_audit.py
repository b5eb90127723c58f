"""操作日志 (service/audit.py, desk/audit_trail.py, GET /api/audit): a row each time a 主管 is shown a customer's
phone, address or ID number whole, in an answer or a WebSocket push; agents cost nothing; nobody edits the log."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from service.audit import AuditLog, AuditQuery, AuditRow, Exposure, Owner, exposures, shown_kinds
from service.clock import CST
from service.db import make_engine
from service.desk_client import bot_token
from service.migrate import upgrade
from service.privacy import mask_address, mask_phone, scrub
from service.tickets.rules import Category
from tests.desk_harness import Desk, MovableClock, draft
from tests.socket_harness import AgentSocket, bot, handoff_desk, handoff_request

WHOLE_ADDRESS = "浙江省杭州市西湖区文三路100号3幢201室"
ID_NUMBER = "330106199001011234"


# --- finding what was shown, without HTTP ---------------------------------------------------------------


def test_shown_kinds_read_the_field_or_the_masks_shape() -> None:
    assert shown_kinds("customer_phone", "13800138000", mask_phone("13800138000")) == {"phone"}
    assert shown_kinds("customer_phone", "0571-8888", mask_phone("0571-8888")) == {"phone"}
    assert shown_kinds("customer_address", WHOLE_ADDRESS, mask_address(WHOLE_ADDRESS)) == {"address"}
    text = f"电话13800138000，身份证{ID_NUMBER}，邮箱zhangwei@example.com，地址{WHOLE_ADDRESS}"
    assert shown_kinds("description", text, scrub(text)) == {"phone", "id_number", "email", "address"}
    assert shown_kinds("description", f"身份证{ID_NUMBER}", scrub(f"身份证{ID_NUMBER}")) == {"id_number"}
    assert shown_kinds("description", "耳机没声音", "耳机没声音") == frozenset()


def test_exposures_are_put_down_to_the_nearest_record() -> None:
    def owner_of(data: Any) -> Owner | None:
        return Owner(data["customer_id"], data["number"]) if "number" in data else None

    whole = {"items": [{"number": "T1", "customer_id": "C001", "customer_phone": "13800138000"},
                       {"number": "T2", "customer_id": "C002", "customer_phone": ""},
                       {"number": "T3", "customer_id": None or "", "description": f"地址{WHOLE_ADDRESS}"}],
             "trail": [{"comment": "客户电话13900139000"}]}
    masked = {"items": [{"number": "T1", "customer_id": "C001", "customer_phone": "138****8000"},
                        {"number": "T2", "customer_id": "C002", "customer_phone": ""},
                        {"number": "T3", "customer_id": "", "description": scrub(f"地址{WHOLE_ADDRESS}")}],
              "trail": [{"comment": scrub("客户电话13900139000")}]}
    assert sorted(exposures(whole, masked, owner_of, Owner("C009", "T9")), key=lambda e: e.reference) == [
        Exposure("C001", "T1", frozenset({"phone"})), Exposure("", "T3", frozenset({"address"})),
        Exposure("C009", "T9", frozenset({"phone"}))]
    assert exposures(masked, masked, owner_of) == []


def test_the_log_is_written_in_one_go_and_read_newest_first(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    upgrade(engine)
    clock = MovableClock(datetime(2026, 11, 21, 10, 0))
    log = AuditLog(engine, clock)
    assert log.record([]) == 0
    assert log.record([AuditRow("supervisor", "主管", "C001", frozenset({"phone", "address"}), "GET /x", "T1"),
                       AuditRow("supervisor", "主管", "C002", frozenset({"phone"}), "GET /x", "T2")]) == 2
    clock.advance(hours=1)
    log.record([AuditRow("boss2", "主管", "C001", frozenset({"id_number"}), "ws:assigned", "s1")])
    page = log.search(AuditQuery())
    assert [(e.viewer, e.customer_id, e.shown) for e in page.items] == [
        ("boss2", "C001", ("id_number",)), ("supervisor", "C002", ("phone",)),
        ("supervisor", "C001", ("address", "phone"))]
    assert page.total == 3
    assert [e.reference for e in log.search(AuditQuery(customer_id="C001")).items] == ["s1", "T1"]
    assert [e.viewer for e in log.search(AuditQuery(viewer="boss2")).items] == ["boss2"]
    assert log.search(AuditQuery(since=datetime(2026, 11, 21, 10, 30))).total == 1
    assert [e.reference for e in log.search(AuditQuery(page=2, page_size=2)).items] == ["T1"]
    assert not hasattr(log, "delete") and not hasattr(log, "update")
    engine.dispose()


# --- tickets over HTTP -----------------------------------------------------------------------------------


def audit_rows(desk: Desk) -> list[tuple[str, str, tuple[str, ...], str, str]]:
    page = desk.app.ctx.audit.log.search(AuditQuery(page_size=100))
    return [(e.viewer, e.customer_id, e.shown, e.source, e.reference) for e in reversed(page.items)]


async def test_a_supervisor_viewing_a_ticket_is_logged_an_agent_is_not(desk: Desk) -> None:
    number = desk.tickets.create(draft(description=f"身份证{ID_NUMBER}")).ticket.number
    plain = desk.tickets.create(draft(Category.ADDRESS, description="要改地址", customer_id="C002", customer_phone="",
                                      customer_address="", order_id="E202611120004")).ticket.number
    agent, supervisor = await desk.login("agent1"), await desk.login("supervisor")
    assert (await desk.call("GET", f"/api/tickets/{number}", agent))[0] == 200
    assert (await desk.call("GET", "/api/tickets", agent))[0] == 200
    assert audit_rows(desk) == []  # agents see masked data: nothing to log

    status, body = await desk.call("GET", f"/api/tickets/{number}", supervisor)
    assert status == 200 and body["ticket"]["customer_phone"] == "13800138000"
    assert audit_rows(desk) == [("supervisor", "C001", ("address", "id_number", "phone"), "GET /api/tickets/<number>",
                                 number)]
    assert (await desk.call("GET", f"/api/tickets/{plain}", supervisor))[0] == 200
    assert len(audit_rows(desk)) == 1  # nothing personal on that one

    await desk.call("GET", "/api/tickets?q=13800138000", supervisor)
    await desk.call("POST", f"/api/tickets/{number}/comments", supervisor, {"comment": "已回电"})
    assert audit_rows(desk)[1:] == [
        ("supervisor", "C001", ("address", "id_number", "phone"), "GET /api/tickets", number),
        ("supervisor", "C001", ("address", "id_number", "phone"), "POST /api/tickets/<number>/comments", number)]


async def test_a_list_writes_one_row_per_customer_shown(desk: Desk) -> None:
    first = desk.tickets.create(draft()).ticket.number
    second = desk.tickets.create(draft(Category.ADDRESS, description="要改地址", customer_id="C002",
                                       customer_phone="13900139000", order_id="E202611120004")).ticket.number
    await desk.call("GET", "/api/tickets", await desk.login("supervisor"))
    assert sorted((r[1], r[4]) for r in audit_rows(desk)) == [("C001", first), ("C002", second)]


async def test_no_audit_row_no_data(desk: Desk) -> None:
    """Fail closed: if the row cannot be written, the supervisor is not shown the data."""

    class Broken(AuditLog):
        def record(self, rows: Any) -> int:
            raise RuntimeError("disk full")

    number = desk.tickets.create(draft()).ticket.number
    desk.app.ctx.audit.log = Broken(desk.tickets.engine)
    status, body = await desk.call("GET", f"/api/tickets/{number}", await desk.login("supervisor"))
    assert (status, body["error"]) == (500, "internal") and "13800138000" not in str(body)


# --- GET /api/audit ----------------------------------------------------------------------------------------


async def test_supervisors_read_the_audit_with_filters(desk: Desk) -> None:
    number = desk.tickets.create(draft()).ticket.number
    supervisor = await desk.login("supervisor")
    await desk.call("GET", f"/api/tickets/{number}", supervisor)
    status, page = await desk.call("GET", "/api/audit", supervisor)
    assert status == 200 and page["total"] == 1 and (page["page"], page["page_size"]) == (1, 50)
    [entry] = page["items"]
    assert {k: entry[k] for k in ("viewer", "role", "customer_id", "shown", "source", "reference")} == {
        "viewer": "supervisor", "role": "主管", "customer_id": "C001", "shown": ["address", "phone"],
        "source": "GET /api/tickets/<number>", "reference": number}
    assert entry["at"].endswith("+08:00")
    later = (datetime.now(CST) + timedelta(days=1)).date().isoformat()
    for query, total in (("viewer=supervisor", 1), ("viewer=agent1", 0), ("customer_id=C001", 1),
                         ("customer_id=C002", 0), ("since=2020-01-01", 1), (f"since={later}", 0),
                         ("since=2020-01-01T00:00%2B08:00&page=1&page_size=10", 1), ("page=2", 1)):
        status, page = await desk.call("GET", "/api/audit?" + query, supervisor)
        assert status == 200 and page["total"] == total, query
    assert (await desk.call("GET", "/api/audit?page=2", supervisor))[1]["items"] == []


@pytest.mark.parametrize("query, status, code", [
    ("since=yesterday", 400, "bad_parameter"), ("page=0", 422, "invalid_parameter"),
    ("page_size=101", 422, "invalid_parameter"), ("who=me", 400, "bad_parameter"),
    ("viewer=a&viewer=b", 400, "bad_parameter"),
])
async def test_bad_audit_parameters(desk: Desk, query: str, status: int, code: str) -> None:
    answer, body = await desk.call("GET", "/api/audit?" + query, await desk.login("supervisor"))
    assert (answer, body["error"]) == (status, code)


async def test_strangers_and_agents_cannot_read_it_and_nobody_can_change_it(desk: Desk, tmp_path: Path) -> None:
    from service.settings import desk_signing_key, load_settings

    bot = bot_token(desk_signing_key(load_settings({"XIAOZHI_VAR_DIR": str(tmp_path)})))
    agent, supervisor = await desk.login("agent1"), await desk.login("supervisor")
    assert (await desk.call("GET", "/api/audit"))[1]["error"] == "missing_token"
    assert (await desk.call("GET", "/api/audit", "forged.token.here"))[1]["error"] == "invalid_token"
    assert (await desk.call("GET", "/api/audit", bot))[0] == 401
    status, body = await desk.call("GET", "/api/audit", agent)
    assert (status, body["error"]) == (403, "forbidden")
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for token in (supervisor, agent, None):
            status, body = await desk.call(method, "/api/audit", token, {})
            assert (status, body["error"]) == (405, "method_not_allowed"), (method, token)
        assert (await desk.call(method, "/api/audit/1", supervisor, {}))[0] == 404


# --- handoffs: REST and WebSocket pushes -----------------------------------------------------------------


@pytest.fixture
async def handoff(tmp_path: Path, desk_clock: MovableClock) -> AsyncIterator[Desk]:
    async with handoff_desk(tmp_path, desk_clock) as running:
        yield running


async def test_handoff_data_shown_whole_to_a_supervisor_is_logged(handoff: Desk) -> None:
    desk = handoff
    boss = await AgentSocket.open(desk, await desk.login("supervisor"))
    await boss.next(lambda e: e.get("type") == "hello")
    assert (await boss.send(type="status", status="忙碌"))["type"] == "ok"  # so the chat goes to agent2
    agent = await AgentSocket.open(desk, await desk.login("agent2"))
    await agent.next(lambda e: e.get("type") == "hello")
    assert audit_rows(desk) == []

    status, started = await bot(desk, "/api/handoff/sessions", handoff_request())
    assert status == 201 and started["status"] == "assigned", started
    session_id = started["session_id"]
    mine = await agent.next(lambda e: e.get("type") == "assigned")
    seen = await boss.next(lambda e: e.get("type") == "assigned")
    assert mine["session"]["context"]["customer"]["phone"] == "138****8000"
    assert seen["session"]["context"]["customer"]["phone"] == "13800138000"
    assert audit_rows(desk) == [("supervisor", "C001", ("phone",), "ws:assigned", session_id)]

    # a customer message pushed without its context: whose it is comes from the session record
    assert (await bot(desk, f"/api/handoff/sessions/{session_id}/messages", {"text": "换个号码13900139000"}))[0] == 202
    assert (await agent.next(lambda e: e.get("type") == "customer_message"))["text"] == "换个号码139****9000"
    assert (await boss.next(lambda e: e.get("type") == "customer_message"))["text"] == "换个号码13900139000"
    await asyncio.sleep(0.05)
    assert audit_rows(desk)[-1] == ("supervisor", "C001", ("phone",), "ws:customer_message", session_id)

    # REST, and a supervisor's hello with the team's chats
    count = len(audit_rows(desk))
    assert (await desk.call("GET", f"/api/handoff/sessions/{session_id}", await desk.login("agent2")))[0] == 200
    assert len(audit_rows(desk)) == count
    status, view = await desk.call("GET", f"/api/handoff/sessions/{session_id}", await desk.login("supervisor"))
    assert status == 200 and view["context"]["customer"]["phone"] == "13800138000"
    assert audit_rows(desk)[-1] == ("supervisor", "C001", ("phone",), "GET /api/handoff/sessions/<session_id>",
                                    session_id)
    again = await AgentSocket.open(desk, await desk.login("supervisor"))
    hello = await again.next(lambda e: e.get("type") == "hello")
    assert hello["team_sessions"][0]["context"]["customer"]["phone"] == "13800138000"
    assert audit_rows(desk)[-1] == ("supervisor", "C001", ("phone",), "ws:hello", session_id)
    for socket in (boss, agent, again):
        await socket.ws.close()


async def test_a_push_is_masked_for_supervisors_when_the_row_cannot_be_written(handoff: Desk) -> None:
    class Broken(AuditLog):
        def record(self, rows: Any) -> int:
            raise RuntimeError("disk full")

    desk = handoff
    desk.app.ctx.audit.log = Broken(desk.tickets.engine)
    boss = await AgentSocket.open(desk, await desk.login("supervisor"))
    await boss.next(lambda e: e.get("type") == "hello")
    assert (await boss.send(type="status", status="忙碌"))["type"] == "ok"
    agent = await AgentSocket.open(desk, await desk.login("agent2"))
    await agent.next(lambda e: e.get("type") == "hello")
    assert (await bot(desk, "/api/handoff/sessions", handoff_request()))[0] == 201
    seen = await boss.next(lambda e: e.get("type") == "assigned")
    assert seen["session"]["context"]["customer"]["phone"] == "138****8000"
    for socket in (boss, agent):
        await socket.ws.close()
