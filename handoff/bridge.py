"""The handoff bridge: queue, assignment, relay both ways, transfers, timeouts.

Runs in the desk process. It never talks to a customer channel: everything for the customer
goes through Rasa (trigger_intent), so the tracker keeps the whole transcript and each
channel's own output is the way back. Agents get events through QueueState's fan-out.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from handoff.config import PRIORITY_NORMAL, PRIORITY_URGENT, HandoffConfig
from handoff.queueing import (
    AGENT_STATUSES,
    ONLINE,
    AgentState,
    Waiting,
    agents_for,
    eta_minutes,
    offered_groups,
    plan_assignments,
    positions,
)
from handoff.records import ABANDONED, ENDED, TIMED_OUT, HandoffRecords, Session
from handoff.schedules import Schedules
from handoff.state import QueueState
from handoff.summary import (
    DUE_LIMIT,
    DUE_WITHIN,
    check_late_writer,
    check_summary,
    customer_line,
    summary_due,
)
from service.clock import CST, Clock
from service.errors import InvalidInput, NotAllowed, NotFound
from service.logs import log_event
from service.tickets.models import TicketDraft
from service.tickets.rules import Category
from service.tickets.service import TicketService

logger = logging.getLogger(__name__)

AGENT_JOINED = "EXTERNAL_agent_joined"
AGENT_MESSAGE = "EXTERNAL_agent_message"
QUEUE_UPDATE = "EXTERNAL_queue_update"
HANDOFF_ENDED = "EXTERNAL_handoff_ended"
HANDOFF_TIMEOUT = "EXTERNAL_handoff_timeout"
AGENT_ROLE = "坐席"
URGENT_REASONS = frozenset({"complaint", "angry"})
MAX_TEXT = 2000

# The conversation whose bot turn is calling the bridge right now (start, leave). Rasa holds that
# conversation's lock until the turn ends, so what the bridge says to it must wait for the turn,
# in the background: awaiting it here would deadlock until the action server's call timed out.
# What it says to other conversations meanwhile (queue places) goes in the background too: each
# is a whole Rasa turn, and the waiting action must get its answer well within its timeout.
_calling_turn: contextvars.ContextVar[str | None] = contextvars.ContextVar("calling_turn", default=None)


def cst(moment: datetime) -> str:
    """ISO time with the +08:00 offset (records are naive China Standard Time)."""
    return moment.replace(tzinfo=CST).isoformat()


class Messenger(Protocol):
    async def trigger_intent(self, sender_id: str, intent: str, entities: dict[str, str]) -> bool: ...


@dataclass(frozen=True)
class StartRequest:
    sender_id: str
    channel: str
    reason: str
    intent: str
    summary: str
    context: dict[str, Any]
    customer_id: str | None = None
    customer_vip: bool = False
    urgent: bool = False  # e.g. a 特急 ticket is involved


@dataclass(frozen=True)
class StartResult:
    status: str  # queued | assigned | unavailable
    session_id: str | None = None
    group: str = ""
    position: int | None = None
    eta_minutes: int | None = None
    agent_name: str | None = None
    unavailable: str | None = None  # off_hours | no_agent
    next_contact: datetime | None = None  # off hours: when the group is back (None: nothing scheduled soon)
    hours: str = ""  # the group's usual hours in Chinese, e.g. 每天 09:00–22:00
    closed_at: datetime | None = None  # off hours: when the group stopped earlier today, if it worked today


class Bridge:
    def __init__(self, state: QueueState, records: HandoffRecords, messenger: Messenger, tickets: TicketService,
                 config: HandoffConfig, clock: Clock, schedules: Schedules | None = None) -> None:
        self._state = state
        self._records = records
        self._messenger = messenger
        self._tickets = tickets
        self._outboxes: dict[str, tuple[asyncio.Lock, int]] = {}
        self._pending: set[asyncio.Task[bool]] = set()
        self.config = config
        self._clock = clock
        self.schedules = schedules or Schedules(config)  # without the desk's database: handoff.yml's hours only
        # called with each finished chat's record, and again when a summary is added to it afterwards (so a hook
        # must be idempotent; the desk's 质检 adds one: desk/quality_api.py)
        self.ended_hooks: list[Callable[[Session], Awaitable[None]]] = []

    async def _db(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(fn, *args, **kwargs)

    # --- the bot's side -------------------------------------------------------------------

    async def start(self, request: StartRequest) -> StartResult:
        """Queue the customer (or say why no agent can take them now)."""
        token = _calling_turn.set(request.sender_id)
        try:
            return await self._start(request)
        finally:
            _calling_turn.reset(token)

    async def _start(self, request: StartRequest) -> StartResult:
        existing = await self._db(self._records.open_for, request.sender_id)
        if existing is not None:
            return await self._result(existing)
        group = self.config.group_for("complaint" if request.reason == "complaint" else request.intent)
        now = self._clock.now()
        hours = await self._db(self.schedules.status, group, now)
        if not hours.open:
            return StartResult("unavailable", group=group, unavailable="off_hours", next_contact=hours.back_at,
                               hours=hours.hours, closed_at=hours.closed_at)
        helpers = (group, *((self.config.overflow[group].to,) if group in self.config.overflow else ()))
        agents = await self._state.agents()
        if not any(agents_for(g, agents) for g in helpers):  # scheduled, but nobody of the group is at work
            return StartResult("unavailable", group=group, unavailable="no_agent", hours=hours.hours)
        preferred = await self._db(self._records.last_agent, request.customer_id, request.sender_id)
        urgent = request.urgent or request.customer_vip or request.reason in URGENT_REASONS
        session = await self._db(
            self._records.open_session, sender_id=request.sender_id, channel=request.channel,
            customer_id=request.customer_id, reason=request.reason, skill_group=group,
            priority=PRIORITY_URGENT if urgent else PRIORITY_NORMAL, summary=request.summary, context=request.context)
        async with self._state.critical():
            await self._state.add_waiting(Waiting(session.id, group, session.priority, time.time(), preferred))
            place = (await self._positions()).get(session.id)
            if place is not None:  # the bot itself tells the first position
                await self._state.swap_told(session.id, f"{place[0]}/{place[1]}")
        log_event(logger, "handoff_queued", session=session.id, group=group, reason=request.reason)
        agent = dict(await self.rebalance()).get(session.id)
        if agent is not None:  # taken at once: the record need not be read back
            return StartResult("assigned", session.id, session.skill_group, agent_name=await self._name(agent))
        return await self._result(await self._db(self._records.get, session.id))

    async def customer_message(self, session_id: str, text: str, intent: str = "", entities: list[Any] | None = None,
                               channel: str = "", system: bool = False) -> None:
        """A customer message during the handoff, with its NLU and the channel it came from; `system`: a note of the
        bot's for the agent instead (a message the channel could not deliver)."""
        session = await self._open(session_id)
        text = text[:MAX_TEXT]
        direction = "system" if system else "customer"
        at = await self._db(self._records.add_message, session.id, direction, direction, text, intent, entities or [],
                            channel)
        owner = await self._state.owner(session.id)
        await self._state.publish({"type": "customer_message", "agent": owner, "session_id": session.id,
                                   "direction": direction, "text": text, "intent": intent, "entities": entities or [],
                                   "channel": channel[:16], "at": cst(at)})

    async def leave(self, session_id: str) -> Session:
        """The customer stopped waiting (不等了)."""
        session = await self._open(session_id)
        token = _calling_turn.set(session.sender_id)
        try:
            return await self._leave(session)
        finally:
            _calling_turn.reset(token)

    async def _leave(self, session: Session) -> Session:
        if session.status == "assigned":
            return await self._finish(session, ENDED, "customer_left")
        async with self._state.critical():
            await self._state.remove_waiting(session.id)
        await self._state.swap_told(session.id, None)
        closed = await self._db(self._records.close, session.id, ABANDONED, "customer_left")
        await self._after_queue_change()
        return closed

    # --- agents -----------------------------------------------------------------------------

    async def connect(self, username: str, name: str, groups: frozenset[str], capacity: int,
                      status: str = ONLINE) -> AgentState:
        """An agent comes to work; one who is already known keeps the status they chose (e.g. 忙碌)."""
        active = sum(1 for s in await self._db(self._records.open_sessions) if s.agent == username and s.status == "assigned")
        async with self._state.critical():
            known = next((a for a in await self._state.agents() if a.username == username), None)
            if known is not None and known.status != "离开":
                status = known.status
            agent = AgentState(username, name, groups, status, capacity if capacity > 0 else self.config.default_capacity,
                               active)
            await self._state.put_agent(agent)
        await self.rebalance()
        return agent

    async def restore(self) -> int:
        """Rebuild the live queue from the records (a desk restarted): waiting customers and chat owners."""
        restored = 0
        async with self._state.critical():
            waiting = {w.session_id for w in await self._state.waiting()}
            for session in await self._db(self._records.open_sessions):
                if session.status == "queued" and session.id not in waiting:
                    age_s = (self._clock.now() - session.queued_at).total_seconds()
                    preferred = await self._db(self._records.last_agent, session.customer_id, session.sender_id)
                    await self._state.add_waiting(Waiting(session.id, session.skill_group, session.priority,
                                                          time.time() - age_s, preferred))
                    restored += 1
                elif session.status == "assigned" and session.agent and not await self._state.owner(session.id):
                    await self._state.set_owner(session.id, session.agent)
                    restored += 1
        return restored

    async def disconnect(self, username: str) -> None:
        await self.set_status(username, "离开")

    async def set_status(self, username: str, status: str) -> AgentState:
        if status not in AGENT_STATUSES:
            raise InvalidInput("status", f"one of {', '.join(AGENT_STATUSES)}")
        async with self._state.critical():  # read-modify-write: another desk may change the load meanwhile
            agent = next((a for a in await self._state.agents() if a.username == username), None)
            if agent is None:
                raise NotFound("agent", username)
            agent = replace(agent, status=status)
            await self._state.put_agent(agent)
        await self._state.publish({"type": "presence", "agent": username, "status": status})
        await self.rebalance()
        return agent

    async def pick(self, username: str, session_id: str) -> Session:
        """An agent takes a waiting customer from the queue."""
        async with self._state.critical():
            entry = next((w for w in await self._state.waiting() if w.session_id == session_id), None)
            if entry is None:
                raise NotAllowed("not_waiting", "该会话已不在排队中")
            agent = next((a for a in await self._state.agents() if a.username == username), None)
            offered = offered_groups(entry, time.time(), self.config.overflow)
            if agent is None or not agent.groups & set(offered):
                raise NotAllowed("wrong_group", "不在您的技能组")
            await self._state.remove_waiting(session_id)
            await self._state.set_owner(session_id, username)
            await self._state.add_load(username, 1)
        session = await self._db(self._records.assign, session_id, username, "pick", username)
        await self._announce_assignment(session)
        await self._after_queue_change()
        return session

    async def reply(self, username: str, session_id: str, text: str) -> None:
        session = await self._owned(username, session_id)
        text = text.strip()[:MAX_TEXT]
        if not text:
            raise InvalidInput("text", "empty")
        at = await self._db(self._records.add_message, session.id, "agent", username, text)
        delivered = await self._tell(
            session.sender_id, AGENT_MESSAGE, {"agent_text": text, "agent_name": await self._name(username)})
        await self._state.publish({"type": "agent_message", "agent": username, "session_id": session.id, "text": text,
                                   "at": cst(at), "delivered": delivered})

    async def transfer(self, username: str, session_id: str, group: str | None = None,
                       to_agent: str | None = None) -> Session:
        """Hand a chat to another group (back to its queue) or straight to another agent; context kept."""
        session = await self._owned(username, session_id)
        if to_agent:
            target = next((a for a in await self._state.agents() if a.username == to_agent and a.at_work), None)
            if target is None:
                raise NotAllowed("agent_unavailable", "目标坐席不在线")
            async with self._state.critical():
                await self._state.set_owner(session.id, to_agent)
                await self._state.add_load(username, -1)
                await self._state.add_load(to_agent, 1)
            moved = await self._db(self._records.assign, session.id, to_agent, "transfer", username)
            await self._announce_assignment(moved, transferred_from=username)
            await self.rebalance()
            return moved
        if not group or group not in self.config.groups:
            raise InvalidInput("group", f"one of {', '.join(self.config.groups)}")
        if not agents_for(group, await self._state.agents()):
            raise NotAllowed("no_agent", f"{group}现在没有坐席在线，无法转接")
        async with self._state.critical():
            await self._state.set_owner(session.id, None)
            await self._state.add_load(username, -1)
            queued_at = time.time() - (self._clock.now() - session.queued_at).total_seconds()
            await self._state.add_waiting(Waiting(session.id, group, session.priority, queued_at))
        moved = await self._db(self._records.requeue, session.id, group, username)
        await self._state.publish({"type": "session_transferred", "agent": username, "session_id": session.id,
                                   "group": group})
        await self.rebalance()
        return moved

    async def end(self, username: str, session_id: str, summary: str | None = None) -> Session:
        """The agent ends the chat with a 服务小结 (handoff/summary.py): stored on the record and sent to the customer
        as the agent's last message, before the bot asks for a rating. `summary` None: none was asked for (a caller
        inside the desk); "" is refused. A chat of theirs that has ended already (the customer left while the agent
        was writing) is returned as it is, with the summary given kept as one added afterwards (`add_summary`)."""
        session = await self._db(self._records.get, session_id)
        if not session.is_open and session.agent == username:
            if summary and summary.strip() and summary_due(session):
                return await self.add_summary(username, session.id, summary)
            return session
        session = await self._owned(username, session_id)
        if summary is not None:
            line = check_summary(summary)
            await self._db(self._records.set_closing_summary, session.id, line)
            await self._tell(session.sender_id, AGENT_MESSAGE,
                             {"agent_text": customer_line(line), "agent_name": await self._name(username)})
        return await self._finish(session, ENDED, "agent_ended")

    async def add_summary(self, username: str, session_id: str, summary: str, role: str = AGENT_ROLE) -> Session:
        """补写服务小结: a summary for a chat that ended without one (the customer left first, or it ended another
        way), by its agent or a 主管 (handoff/summary.py check_late_writer). Kept on the record only: the customer has
        gone and is told nothing. The agent's consoles hear `summary_added`; the ended hooks run again with the
        record (the 质检 check counts the summary)."""
        session = await self._db(self._records.get, session_id)
        check_late_writer(session, username, role)
        line = check_summary(summary)
        if not await self._db(self._records.add_late_summary, session.id, line):
            raise NotAllowed("summary_exists", "该会话已有服务小结，不能再改")  # written meanwhile, e.g. in another tab
        session = await self._db(self._records.get, session.id)
        await self._state.publish({"type": "summary_added", "agent": session.agent, "session_id": session.id,
                                   "closing_summary": line, "by": username})
        log_event(logger, "handoff_summary_added", session=session.id, why=session.end_reason or "")
        await self._ended(session)
        return session

    async def summaries_due(self, username: str) -> list[dict[str, Any]]:
        """The agent's chats of the last days that ended without a 服务小结 (newest first), as session views with
        when and why they ended: the console lists them to 补写."""
        since = self._clock.now() - DUE_WITHIN
        due = await self._db(self._records.summaries_due, username, since, DUE_LIMIT)
        return [{**await self.session_view(s.id), "ended_at": cst(s.ended_at) if s.ended_at else None,
                 "end_reason": s.end_reason} for s in due]

    # --- the queue --------------------------------------------------------------------------

    async def rebalance(self) -> list[tuple[str, str]]:
        """Give waiting customers to free agents (least-loaded first), then tell everyone; (session, agent) assigned."""
        assigned: list[tuple[str, str]] = []
        async with self._state.critical():
            plan = plan_assignments(await self._state.waiting(), await self._state.agents(), time.time(),
                                    self.config.overflow)
            for session_id, username in plan:
                await self._state.remove_waiting(session_id)
                await self._state.set_owner(session_id, username)
                await self._state.add_load(username, 1)
                assigned.append((session_id, username))
        for session_id, username in assigned:
            session = await self._db(self._records.assign, session_id, username, "auto", "system")
            await self._announce_assignment(session)
        await self._after_queue_change()
        return assigned

    async def expire_waiting(self) -> list[Session]:
        """Waits past the limit end in a ticket, and the customer is told."""
        limit_s = self.config.max_wait_minutes * 60
        now = time.time()
        expired = []
        async with self._state.critical():
            for entry in await self._state.waiting():
                if now - entry.queued_at > limit_s:
                    await self._state.remove_waiting(entry.session_id)
                    expired.append(entry.session_id)
        closed = []
        for session_id in expired:
            await self._state.swap_told(session_id, None)
            session = await self._db(self._records.get, session_id)
            ticket = await self.ticket_for(session, "排队超时")
            closed.append(await self._db(self._records.close, session_id, TIMED_OUT, "wait_limit", ticket))
            await self._tell(session.sender_id, HANDOFF_TIMEOUT, {"ticket_id": ticket})
            log_event(logger, "handoff_timed_out", session=session_id, ticket=ticket)
        if expired:
            await self._after_queue_change()
        if plan_assignments(await self._state.waiting(), await self._state.agents(), time.time(), self.config.overflow):
            await self.rebalance()  # a wait passed its group's overflow limit: the second group may take it
        return closed

    async def queue_view(self) -> dict[str, Any]:
        waiting = await self._state.waiting()
        places = positions(waiting)
        sessions = {s.id: s for s in await self._db(self._records.open_sessions)} if waiting else {}
        agents = await self._state.agents()
        def entry(w: Waiting) -> dict[str, Any]:
            session = sessions.get(w.session_id)
            customer = (session.context.get("customer") or {}) if session else {}
            return {"session_id": w.session_id, "group": w.group, "priority": w.priority,
                    "position": places[w.session_id], "waited_s": round(time.time() - w.queued_at),
                    "offered_to": list(offered_groups(w, time.time(), self.config.overflow)),
                    "summary": session.summary if session else "", "reason": session.reason if session else "",
                    "channel": session.channel if session else "", "customer_name": str(customer.get("name", "")),
                    "vip": bool(customer.get("vip"))}

        return {
            "waiting": [entry(w) for w in sorted(waiting, key=lambda w: (w.group, places[w.session_id]))],
            "groups": list(self.config.groups),
            "agents": [{"username": a.username, "name": a.name, "status": a.status, "active": a.active,
                        "capacity": a.capacity, "groups": sorted(a.groups)} for a in agents],
        }

    async def session_view(self, session_id: str) -> dict[str, Any]:
        return await self._view(await self._db(self._records.get, session_id))

    async def _view(self, session: Session) -> dict[str, Any]:
        """A session's view from its record as read (e.g. by the assignment that just wrote it)."""
        messages = await self._db(self._records.messages, session.id)
        return {
            "session_id": session.id, "status": session.status, "group": session.skill_group,
            "reason": session.reason, "priority": session.priority, "agent": session.agent,
            "summary": session.summary, "context": session.context, "queued_at": cst(session.queued_at),
            "closing_summary": session.closing_summary,
            "messages": [{"at": cst(m.at), "direction": m.direction, "author": m.author, "text": m.text,
                          "intent": m.intent, "entities": m.entities, "channel": m.channel} for m in messages],
        }

    async def ticket_for(self, session: Session, why: str) -> str:
        """A 人工未完成 ticket carrying the handoff's context."""
        context = session.context
        customer = context.get("customer") or {}
        lines = "\n".join(f"{t.get('speaker')}：{t.get('text')}" for t in context.get("transcript", [])[-12:])
        draft = TicketDraft(
            category=Category.HANDOFF, description=f"{why}：{session.summary}", summary=session.summary,
            transcript=lines, customer_id=session.customer_id, customer_name=str(customer.get("name", "")),
            customer_phone=str(customer.get("phone", "")), customer_vip=bool(customer.get("vip")),
            channel=session.channel, sender_id=session.sender_id,
            order_id=(context.get("slots") or {}).get("order_id"), intent="request_human")
        created = await self._db(self._tickets.create, draft)
        return created.ticket.number

    async def agent(self, username: str) -> AgentState | None:
        """The agent as the queue knows them (None when they never came to work)."""
        return next((a for a in await self._state.agents() if a.username == username), None)

    async def session(self, session_id: str) -> Session:
        """A handoff's record (NotFound when there is none)."""
        return await self._db(self._records.get, session_id)

    # --- helpers ----------------------------------------------------------------------------

    async def _positions(self) -> dict[str, tuple[int, int]]:
        waiting = await self._state.waiting()
        agents = await self._state.agents()
        result = {}
        for session_id, position in positions(waiting).items():
            group = next(w.group for w in waiting if w.session_id == session_id)
            result[session_id] = (position, eta_minutes(position, len(agents_for(group, agents)),
                                                        self.config.avg_handle_minutes))
        return result

    async def _after_queue_change(self) -> None:
        """Tell waiting customers whose place or estimated wait changed; refresh the agents' queue."""
        for session_id, place in (await self._positions()).items():
            told = f"{place[0]}/{place[1]}"
            if await self._state.swap_told(session_id, told) == told:
                continue
            session = await self._db(self._records.get, session_id)
            await self._tell(session.sender_id, QUEUE_UPDATE,
                                                 {"queue_position": str(place[0]), "wait_minutes": str(place[1])})
        await self._state.publish({"type": "queue", **(await self.queue_view())})

    async def _announce_assignment(self, session: Session, transferred_from: str | None = None) -> None:
        await self._state.swap_told(session.id, None)
        view = await self._view(session)
        await self._state.publish({"type": "assigned", "agent": session.agent, "session": view,
                                   "transferred_from": transferred_from})
        name = await self._name(session.agent or "")
        await self._tell(session.sender_id, AGENT_JOINED, {"agent_name": name, "handoff_id": session.id})
        log_event(logger, "handoff_assigned", session=session.id, agent=session.agent)

    async def _finish(self, session: Session, status: str, why: str) -> Session:
        async with self._state.critical():
            owner = await self._state.owner(session.id)
            await self._state.set_owner(session.id, None)
            if owner:
                await self._state.add_load(owner, -1)
        closed = await self._db(self._records.close, session.id, status, why)
        await self._tell(session.sender_id, HANDOFF_ENDED, {"handoff_id": session.id})
        await self._state.publish({"type": "session_ended", "agent": owner, "session_id": session.id, "why": why})
        log_event(logger, "handoff_ended", session=session.id, why=why)
        await self.rebalance()
        await self._ended(closed)
        return closed

    async def _ended(self, session: Session) -> None:
        """The ended hooks; one that fails is logged and does not undo the end."""
        for hook in list(self.ended_hooks):
            try:
                await hook(session)
            except Exception as exc:
                log_event(logger, "handoff_ended_hook_failed", logging.WARNING, session=session.id,
                          error=type(exc).__name__)

    async def _tell(self, sender_id: str, intent: str, entities: dict[str, str]) -> bool:
        """Say something in a conversation through Rasa, in order per conversation.

        During a call from a bot turn (see _calling_turn) it is sent in the background, and
        reported as sent.
        """
        if _calling_turn.get() is not None:
            task = asyncio.create_task(self._send_in_order(sender_id, intent, entities))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
            return True
        return await self._send_in_order(sender_id, intent, entities)

    async def _send_in_order(self, sender_id: str, intent: str, entities: dict[str, str]) -> bool:
        lock, users = self._outboxes.get(sender_id) or (asyncio.Lock(), 0)
        self._outboxes[sender_id] = (lock, users + 1)
        try:
            async with lock:
                return await self._messenger.trigger_intent(sender_id, intent, entities)
        finally:
            lock, users = self._outboxes[sender_id]
            if users <= 1:
                del self._outboxes[sender_id]
            else:
                self._outboxes[sender_id] = (lock, users - 1)

    async def settle(self, timeout_s: float | None = None) -> None:
        """Wait for messages still being sent after a bot turn (tests, shutdown)."""
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=timeout_s)

    async def _name(self, username: str) -> str:
        agent = next((a for a in await self._state.agents() if a.username == username), None)
        return agent.name if agent else username

    async def _open(self, session_id: str) -> Session:
        session = await self._db(self._records.get, session_id)
        if not session.is_open:
            raise NotAllowed("closed", "会话已结束")
        return session

    async def _owned(self, username: str, session_id: str) -> Session:
        session = await self._open(session_id)
        if await self._state.owner(session.id) != username:
            raise NotAllowed("not_owner", "该会话不由您接待")
        return session

    async def _result(self, session: Session) -> StartResult:
        if session.status == "assigned":
            return StartResult("assigned", session.id, session.skill_group, agent_name=await self._name(session.agent or ""))
        place = (await self._positions()).get(session.id, (1, round(self.config.avg_handle_minutes)))
        return StartResult("queued", session.id, session.skill_group, position=place[0], eta_minutes=place[1])
