"""Staff never see a conversation's key: whoever holds a sender id can continue that conversation as its customer."""

from __future__ import annotations

import json
from pathlib import Path

from desk.auth import Role
from desk.views import ticket_view
from handoff.views import for_role
from service.privacy import conversation_ref
from service.settings import load_settings
from service.tickets import build_ticket_service
from tests.desk_harness import NOW, MovableClock, draft

SESSION = "f3a9c2e4b1d84a7e9c0b5d2a6e8f1c3b"  # a widget's socket.io session id


def test_ticket_views_carry_a_pseudonym_not_the_sender_id(tmp_path: Path) -> None:
    tickets = build_ticket_service(load_settings({"XIAOZHI_VAR_DIR": str(tmp_path)}), MovableClock(NOW))
    ticket = tickets.create(draft(sender_id=SESSION)).ticket
    for role in Role:
        shown = ticket_view(ticket, role)
        assert SESSION not in json.dumps(shown, ensure_ascii=False) and "sender_id" not in shown
        assert shown["conversation"] == conversation_ref(SESSION) != ""


def test_handoff_data_carries_a_pseudonym_not_the_sender_id() -> None:
    view = {"session_id": "h1", "context": {"sender_id": SESSION, "customer": {"phone": "13800138000"}},
            "waiting": [{"sender_id": SESSION}]}
    for role in ("主管", "坐席"):
        shown = for_role(view, role)
        assert SESSION not in json.dumps(shown) and shown["context"]["conversation"] == conversation_ref(SESSION)
    assert view["context"]["sender_id"] == SESSION  # the caller's data is left alone


def test_an_agent_gets_session_ids_whole_even_where_they_read_like_a_phone_number() -> None:
    session_id = "ff75b13912345674a015a4e7cd2a02ab"  # 32 hex characters holding 13912345674
    view = {"session_id": session_id, "summary": "客户电话13912345674", "waiting": [{"session_id": session_id}],
            "session": {"session_id": session_id, "context": {"sender_id": SESSION}}}
    shown = for_role(view, "坐席")
    assert shown["session_id"] == shown["waiting"][0]["session_id"] == shown["session"]["session_id"] == session_id
    assert shown["summary"] == "客户电话139****5674"  # what the customer wrote is still masked
    assert shown["session"]["context"]["conversation"] == conversation_ref(SESSION)
