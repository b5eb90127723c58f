"""Queue rules as pure functions: order, positions, estimated wait, which agent gets whom."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
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
    preferred: str | None = None  # 历史坐席: the agent who served this customer last


@dataclass(frozen=True)
class Overflow:
    """A group whose customers wait longer than `after_seconds` is helped by the group `to` as well."""

    to: str
    after_seconds: float


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


def offered_groups(entry: Waiting, now: float, overflow: Mapping[str, Overflow] | None = None) -> tuple[str, ...]:
    """The groups whose agents may take the customer: their own, and its overflow group once the wait passed its
    limit."""
    rule = (overflow or {}).get(entry.group)
    if rule is not None and now - entry.queued_at >= rule.after_seconds:
        return entry.group, rule.to
    return (entry.group,)


def pick_agent(group: str, agents: Iterable[AgentState], preferred: str | None = None) -> AgentState | None:
    """The customer's last agent (历史坐席) when they are of the group, online and have room; else the least-loaded
    online agent of the group with room for one more chat."""
    candidates = [a for a in agents if group in a.groups and a.takes_new]
    if not candidates:
        return None
    for agent in candidates:
        if agent.username == preferred:
            return agent
    return min(candidates, key=lambda a: (a.active / max(1, a.capacity), a.active, a.username))


def pick_for(entry: Waiting, agents: Iterable[AgentState], now: float,
             overflow: Mapping[str, Overflow] | None = None) -> AgentState | None:
    """Who takes a waiting customer: the own group first (its 历史坐席 first), then the overflow group's."""
    pool = list(agents)
    groups = offered_groups(entry, now, overflow)
    for group in groups:  # the last agent wherever the customer may go, before anyone else
        agent = pick_agent(group, pool, entry.preferred)
        if agent is not None and agent.username == entry.preferred:
            return agent
    for group in groups:
        agent = pick_agent(group, pool)
        if agent is not None:
            return agent
    return None


def plan_assignments(waiting: Iterable[Waiting], agents: Iterable[AgentState], now: float = 0.0,
                     overflow: Mapping[str, Overflow] | None = None) -> list[tuple[str, str]]:
    """(session, agent) pairs for as many waiting customers as free agents allow, in queue order."""
    pool = {a.username: a for a in agents}
    plan = []
    for entry in queue_order(waiting):
        agent = pick_for(entry, pool.values(), now, overflow)
        if agent is None:
            continue
        plan.append((entry.session_id, agent.username))
        pool[agent.username] = replace(agent, active=agent.active + 1)
    return plan
