"""Live queue state: who waits, which agents are at work and how loaded, who owns which chat,
and the fan-out of events to every desk process.

Embedded mode keeps it in the desk process (InMemoryQueueState); scaled mode keeps it in
Redis (handoff/redis_state.py) so several desk processes share one queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any, Protocol

from handoff.queueing import AgentState, Waiting

Event = dict[str, Any]
Listener = Callable[[Event], Awaitable[None]]


class QueueState(Protocol):
    async def add_waiting(self, entry: Waiting) -> None: ...

    async def remove_waiting(self, session_id: str) -> Waiting | None: ...

    async def waiting(self) -> list[Waiting]: ...

    async def put_agent(self, agent: AgentState) -> None: ...

    async def remove_agent(self, username: str) -> None: ...

    async def agents(self) -> list[AgentState]: ...

    async def add_load(self, username: str, delta: int) -> None: ...

    async def owner(self, session_id: str) -> str | None: ...

    async def set_owner(self, session_id: str, username: str | None) -> None: ...

    async def swap_told(self, session_id: str, value: str | None) -> str | None:
        """Remember what the customer was last told about their wait; return the previous value."""
        ...

    async def publish(self, event: Event) -> None:
        """Deliver `event` to the listeners of every desk process (this one included)."""
        ...

    def listen(self, listener: Listener) -> None: ...

    def critical(self) -> Any:
        """An async context manager: one queue decision at a time, across processes."""
        ...

    async def close(self) -> None: ...


class InMemoryQueueState:
    """The embedded mode's queue: one desk process, state in memory."""

    def __init__(self) -> None:
        self._waiting: dict[str, Waiting] = {}
        self._agents: dict[str, AgentState] = {}
        self._owners: dict[str, str] = {}
        self._told: dict[str, str] = {}
        self._listeners: list[Listener] = []
        self._lock = asyncio.Lock()

    async def add_waiting(self, entry: Waiting) -> None:
        self._waiting[entry.session_id] = entry

    async def remove_waiting(self, session_id: str) -> Waiting | None:
        return self._waiting.pop(session_id, None)

    async def waiting(self) -> list[Waiting]:
        return list(self._waiting.values())

    async def put_agent(self, agent: AgentState) -> None:
        self._agents[agent.username] = agent

    async def remove_agent(self, username: str) -> None:
        self._agents.pop(username, None)

    async def agents(self) -> list[AgentState]:
        return list(self._agents.values())

    async def add_load(self, username: str, delta: int) -> None:
        agent = self._agents.get(username)
        if agent is not None:
            self._agents[username] = replace(agent, active=max(0, agent.active + delta))

    async def owner(self, session_id: str) -> str | None:
        return self._owners.get(session_id)

    async def set_owner(self, session_id: str, username: str | None) -> None:
        if username is None:
            self._owners.pop(session_id, None)
        else:
            self._owners[session_id] = username

    async def swap_told(self, session_id: str, value: str | None) -> str | None:
        previous = self._told.pop(session_id, None)
        if value is not None:
            self._told[session_id] = value
        return previous

    async def publish(self, event: Event) -> None:
        for listener in list(self._listeners):
            await listener(event)

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    @asynccontextmanager
    async def critical(self) -> AsyncIterator[None]:
        async with self._lock:
            yield

    async def close(self) -> None:
        self._listeners.clear()


async def open_queue_state(redis_url: str | None, prefix: str) -> QueueState:
    """The embedded in-memory queue without a Redis URL; otherwise the shared Redis queue, opened."""
    if not redis_url:
        return InMemoryQueueState()
    from handoff.redis_state import RedisQueueState  # imported here: redis_state imports this module

    state = RedisQueueState(redis_url, prefix)
    await state.open()
    return state
