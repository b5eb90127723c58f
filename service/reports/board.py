"""The supervisors' live board (现场管理): per skill group the queue and its longest wait, the agents at work and
their load, and the chats an agent took but has not answered yet.

Pure: `build_board` takes what the bridge tells in public (Bridge.queue_view(): waiting customers, agents) and the
open handoff records (HandoffRecords.open_sessions()). No customer's personal data is on the board.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from handoff.labels import REASONS
from handoff.queueing import AWAY, BUSY, ONLINE
from handoff.records import ASSIGNED, Session
from service.clock import CST

URGENT = 0  # the queue's priority of 特急 customers (complaints, VIPs)


def _iso(moment: datetime) -> str:
    return moment.replace(tzinfo=CST).isoformat(timespec="seconds")


def unreplied(sessions: Iterable[Session], now: datetime, names: Mapping[str, str]) -> list[dict[str, Any]]:
    """Chats assigned to an agent with no agent message yet, the longest waiting first."""
    rows = []
    for s in sessions:
        if s.status != ASSIGNED or s.first_agent_reply_at is not None or s.assigned_at is None:
            continue
        rows.append({"session_id": s.id, "agent": s.agent, "agent_name": names.get(s.agent or "", s.agent or ""),
                     "group": s.skill_group, "reason": s.reason, "reason_label": REASONS.get(s.reason, s.reason),
                     "assigned_at": _iso(s.assigned_at),
                     "waiting_s": max(0, round((now - s.assigned_at).total_seconds()))})
    return sorted(rows, key=lambda row: (-row["waiting_s"], row["session_id"]))


def build_board(queue: Mapping[str, Any], sessions: Sequence[Session], now: datetime) -> dict[str, Any]:
    """The board from Bridge.queue_view() and the open sessions; `now` is naive CST on the records' clock."""
    waiting: list[dict[str, Any]] = list(queue.get("waiting") or [])
    agents: list[dict[str, Any]] = list(queue.get("agents") or [])
    names = {a["username"]: a["name"] for a in agents}
    open_chats = unreplied(sessions, now, names)
    late_by_agent: dict[str, int] = {}
    for row in open_chats:
        late_by_agent[row["agent"] or ""] = late_by_agent.get(row["agent"] or "", 0) + 1
    groups = list(dict.fromkeys([*(queue.get("groups") or []), *(w["group"] for w in waiting)]))
    group_rows = []
    for group in groups:
        queued = [w for w in waiting if w["group"] == group]
        members = [a for a in agents if group in (a.get("groups") or [])]
        online = [a for a in members if a["status"] == ONLINE]
        group_rows.append({
            "group": group, "waiting": len(queued), "urgent": sum(1 for w in queued if w.get("priority") == URGENT),
            "longest_wait_s": max((int(w["waited_s"]) for w in queued), default=None),
            "agents_online": len(online), "agents_busy": sum(1 for a in members if a["status"] == BUSY),
            "free_slots": sum(max(0, int(a["capacity"]) - int(a["active"])) for a in online),
            "unreplied": sum(1 for row in open_chats if row["group"] == group)})
    agent_rows = [{"username": a["username"], "name": a["name"], "status": a["status"], "active": int(a["active"]),
                   "capacity": int(a["capacity"]),
                   "load": round(int(a["active"]) / int(a["capacity"]), 4) if int(a["capacity"]) else None,
                   "groups": list(a.get("groups") or []), "unreplied": late_by_agent.get(a["username"], 0)}
                  for a in sorted(agents, key=lambda a: ((ONLINE, BUSY, AWAY).index(a["status"])
                                                         if a["status"] in (ONLINE, BUSY, AWAY) else 3, a["username"]))]
    return {
        "at": _iso(now),
        "totals": {"waiting": len(waiting), "longest_wait_s": max((int(w["waited_s"]) for w in waiting), default=None),
                   "agents_online": sum(1 for a in agents if a["status"] == ONLINE),
                   "agents_busy": sum(1 for a in agents if a["status"] == BUSY),
                   "agents_away": sum(1 for a in agents if a["status"] == AWAY),
                   "chats": sum(int(a["active"]) for a in agents),
                   "unreplied": len(open_chats)},
        "groups": group_rows, "agents": agent_rows, "unreplied": open_chats,
    }
