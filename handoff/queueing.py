"""Queue rules as pure functions: order, positions, estimated wait, which agent gets whom."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

ONLINE = "在线"
BUSY = "忙碌"
AWAY = "离开"
AGENT_STATUSES = (ONLINE, BUSY, AWAY)


@dataclass(frozen=True)
class Waiting:
    session_id: str
    group: str
    priority: int  # 0 first (特急, complaints, VIPs), then 1
    queued_at: float  # epoch seconds


@dataclass(frozen=True)
class AgentState:
    username: str
    name: str
    groups: frozenset[str]
    status: str
    capacity: int
    active: int  # chats the agent has now

    @property
    def at_work(self) -> bool:
        return self.status in (ONLINE, BUSY)

    @property
    def takes_new(self) -> bool:
        return self.status == ONLINE and self.active < self.capacity


def queue_order(waiting: Iterable[Waiting]) -> list[Waiting]:
    """Urgent first, then the longest wait."""
    return sorted(waiting, key=lambda w: (w.priority, w.queued_at, w.session_id))


def positions(waiting: Iterable[Waiting]) -> dict[str, int]:
    """1-based place of each session within its own skill group's queue."""
    seen: dict[str, int] = {}
    result = {}
    for entry in queue_order(waiting):
        seen[entry.group] = seen.get(entry.group, 0) + 1
        result[entry.session_id] = seen[entry.group]
    return result


def eta_minutes(position: int, agents_at_work: int, avg_handle_minutes: float) -> int:
    """Rounds of conversations ahead, each taking the average handling time."""
    rounds = math.ceil(position / max(1, agents_at_work))
    return max(1, round(rounds * avg_handle_minutes))


def agents_for(group: str, agents: Iterable[AgentState]) -> list[AgentState]:
    return [a for a in agents if group in a.groups and a.at_work]


def pick_agent(group: str, agents: Iterable[AgentState]) -> AgentState | None:
    """The least-loaded online agent of the group with room for one more chat."""
    candidates = [a for a in agents if group in a.groups and a.takes_new]
    if not candidates:
        return None
    return min(candidates, key=lambda a: (a.active / a.capacity, a.active, a.username))


def plan_assignments(waiting: Iterable[Waiting], agents: Iterable[AgentState]) -> list[tuple[str, str]]:
    """(session, agent) pairs for as many waiting customers as free agents allow, in queue order."""
    pool = {a.username: a for a in agents}
    plan = []
    for entry in queue_order(waiting):
        agent = pick_agent(entry.group, pool.values())
        if agent is None:
            continue
        plan.append((entry.session_id, agent.username))
        pool[agent.username] = replace(agent, active=agent.active + 1)
    return plan
