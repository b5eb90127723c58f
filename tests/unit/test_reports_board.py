"""The live board (service/reports/board.py) from a known queue view and open sessions: exact figures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from handoff.records import Session
from service.reports.board import build_board

NOW = datetime(2026, 11, 21, 10, 0)


def session(sid: str, status: str, agent: str | None, group: str, assigned: datetime | None,
            replied: datetime | None = None, reason: str = "request_human") -> Session:
    return Session(sid, f"web-{sid}", "rest", None, reason, group, 1, status, agent, "", {}, datetime(2026, 11, 21, 9),
                   assigned, replied, None, None, None, None)


QUEUE: dict[str, Any] = {
    "groups": ["售前咨询", "物流", "投诉"],
    "waiting": [
        {"session_id": "w1", "group": "物流", "priority": 1, "waited_s": 40, "customer_name": "张伟"},
        {"session_id": "w2", "group": "物流", "priority": 0, "waited_s": 95, "customer_name": "李娜"},
        {"session_id": "w3", "group": "投诉", "priority": 0, "waited_s": 12, "customer_name": "王芳"},
    ],
    "agents": [
        {"username": "agent2", "name": "小李", "status": "在线", "active": 2, "capacity": 3, "groups": ["物流", "售前咨询"]},
        {"username": "agent1", "name": "小王", "status": "忙碌", "active": 1, "capacity": 4, "groups": ["投诉"]},
        {"username": "agent3", "name": "小张", "status": "离开", "active": 0, "capacity": 3, "groups": ["物流"]},
    ],
}
SESSIONS = [
    session("s1", "assigned", "agent2", "物流", datetime(2026, 11, 21, 9, 58)),  # 120 s without a reply
    session("s2", "assigned", "agent2", "售前咨询", datetime(2026, 11, 21, 9, 50), datetime(2026, 11, 21, 9, 51)),
    session("s3", "assigned", "agent1", "投诉", datetime(2026, 11, 21, 9, 59, 30), reason="complaint"),  # 30 s
    session("w1", "queued", None, "物流", None),
]


def test_the_board_per_group_agent_and_unanswered_chat() -> None:
    board = build_board(QUEUE, SESSIONS, NOW)
    assert board["totals"] == {"waiting": 3, "longest_wait_s": 95, "agents_online": 1, "agents_busy": 1,
                               "agents_away": 1, "chats": 3, "unreplied": 2}
    groups = {g["group"]: g for g in board["groups"]}
    assert groups["物流"] == {"group": "物流", "waiting": 2, "urgent": 1, "longest_wait_s": 95, "agents_online": 1,
                            "agents_busy": 0, "free_slots": 1, "unreplied": 1}
    assert groups["售前咨询"] == {"group": "售前咨询", "waiting": 0, "urgent": 0, "longest_wait_s": None,
                              "agents_online": 1, "agents_busy": 0, "free_slots": 1, "unreplied": 0}
    assert (groups["投诉"]["waiting"], groups["投诉"]["agents_busy"], groups["投诉"]["free_slots"]) == (1, 1, 0)
    assert [(a["username"], a["load"], a["unreplied"]) for a in board["agents"]] == [
        ("agent2", 0.6667, 1), ("agent1", 0.25, 1), ("agent3", 0.0, 0)]  # online, busy, away
    assert [(u["session_id"], u["waiting_s"], u["agent_name"], u["reason_label"]) for u in board["unreplied"]] == [
        ("s1", 120, "小李", "客户要求人工"), ("s3", 30, "小王", "客户投诉")]
    assert "张伟" not in str(board)  # no customer's personal data on the board


def test_an_empty_desk() -> None:
    board = build_board({"groups": ["物流"], "waiting": [], "agents": []}, [], NOW)
    assert board["totals"]["longest_wait_s"] is None and board["agents"] == [] and board["unreplied"] == []
    assert board["groups"][0]["waiting"] == 0 and board["at"] == "2026-11-21T10:00:00+08:00"
