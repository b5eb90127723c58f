"""Handing the conversation to a human agent, and the bot's part while the agent has it.

The context package (customer, channel, reason, transcript with the NLU of each customer
message, slots, recent orders, open tickets, a one-line summary) goes to the desk's queue.
While the handoff lasts, HandoffPolicy routes every customer message to the relay action;
agent replies and queue updates come back as EXTERNAL_* intents and are uttered here, so
they reach the customer on their own channel and stay in the transcript.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ServiceAction, slot_text
from actions.context import channel_of, current_customer, entity, latest_intent, latest_text, order_if_visible
from actions.deps import Services
from actions.names import Offer, Slot
from actions.tickets import customer_tickets, find_ticket, open_ticket, ticket_values
from handoff.config import load_config
from handoff.context import ContextPackage, Turn, summary, transcript_json
from handoff.replies import unavailable_replies
from service.access import AccessDenied
from service.desk_client import DeskClient, DeskUnavailable
from service.models import Customer, Order
from service.settings import get_settings
from service.tickets.drafting import topic_of
from service.tickets.models import Ticket
from service.tickets.rules import Category

HANDOFF_ACTIVE = "handoff_active"
HANDOFF_SESSION = "handoff_session"
# Bookkeeping and proof slots stay out of what the agent sees (a code or a half-typed phone is no context).
HIDDEN_SLOTS = frozenset({Slot.SESSION_METADATA, HANDOFF_ACTIVE, HANDOFF_SESSION, Slot.REQUESTED, Slot.IDENTITY_SEEN,
                          Slot.VERIFY_PHONE, Slot.VERIFY_CODE, Slot.PHONE_LAST4, Slot.PENDING_TASK})
_desk_lock = threading.Lock()
_desk: DeskClient | None = None
_always_human: frozenset[str] | None = None


def always_human_intents() -> frozenset[str]:
    """handoff.yml's intents that always go to a person (read once)."""
    global _always_human
    if _always_human is None:
        _always_human = load_config(get_settings().handoff_config).always_human_intents
    return _always_human


def default_desk() -> DeskClient:
    global _desk
    with _desk_lock:
        if _desk is None:
            _desk = DeskClient.from_settings(get_settings())
        return _desk


def queue_state(ahead: Any, wait_minutes: Any) -> dict[str, dict[str, Any]]:
    """Where the customer is in the queue, for channels that show it as a status line (the web widget)."""
    return {"handoff": {"state": "queued", "ahead": _count(ahead), "wait_minutes": _count(wait_minutes)}}


def agent_state(agent_name: str) -> dict[str, dict[str, Any]]:
    return {"handoff": {"state": "agent", "agent_name": agent_name}}


def ended_state() -> dict[str, dict[str, Any]]:
    return {"handoff": {"state": "ended"}}


def _count(value: Any) -> int | None:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return None


def turns(tracker: Tracker) -> list[Turn]:
    """The conversation with the NLU result of every customer message."""
    result = []
    for event in tracker.events:
        if event.get("event") == "user":
            parse = event.get("parse_data") or {}
            entities = tuple((str(e.get("entity")), str(e.get("value"))) for e in parse.get("entities") or [])
            result.append(Turn("user", str(event.get("text") or ""), str((parse.get("intent") or {}).get("name") or ""),
                               entities, str(event.get("input_channel") or "")))
        elif event.get("event") == "bot" and event.get("text"):
            speaker = "agent" if (event.get("metadata") or {}).get("from_agent") else "bot"
            result.append(Turn(speaker, str(event["text"])))
    return result


def reason_of(tracker: Tracker, customer_vip: bool) -> str:
    intent = latest_intent(tracker)
    if intent == "request_human" or intent == "affirm":
        return "request_human"
    if intent == "nlu_fallback":
        return "vip_unsolved" if customer_vip else "fallback"
    if intent == "complaint":
        return "complaint"
    if intent in always_human_intents():
        return "always_human"
    return "angry"


async def order_in_context(services: Services, tracker: Tracker) -> Order | None:
    """The order the conversation is about, if the customer may see it (else it stays out of the context)."""
    return await order_if_visible(services, tracker, slot_text(tracker, Slot.ORDER_ID))


async def context_package(services: Services, tracker: Tracker, reason: str,
                          customer: Customer | None) -> tuple[ContextPackage, str | None]:
    """`customer`: the proven customer, as the action has just looked them up (None: nobody is proven)."""
    conversation = turns(tracker)
    # the question the customer came with: not 转人工, 是/否, a greeting, nor an answer to the bot (the order's phone
    # digits, 「8000」, are inform: taking them for the topic sent a logistics question to the default group)
    topic = topic_of([t.intent for t in conversation if t.speaker == "user"])
    slots = {k: v for k, v in tracker.current_slot_values().items()
             if v is not None and k not in HIDDEN_SLOTS}
    recent: list[dict[str, Any]] = []
    orders, tickets = await asyncio.gather(services.orders.recent(customer.id) if customer is not None else _none(),
                                           customer_tickets(services, tracker))
    if customer is not None:
        recent = [{"order_id": o.id, "summary": o.summary, "status": o.status.value,
                   "created_at": o.created_at.isoformat()} for o in orders]
    open_tickets = [{"number": t.number, "category": t.category, "status": t.status.value,
                     "department": t.department} for t in tickets]
    profile: dict[str, Any] = {}
    if customer is not None:
        profile = {"id": customer.id, "name": customer.name, "phone": customer.phone, "tier": customer.tier.value,
                   "vip": customer.is_vip, "tags": list(customer.tags), "points": customer.points}
    package = ContextPackage(
        sender_id=tracker.sender_id, channel=channel_of(tracker), reason=reason,
        summary=summary(conversation, reason, slot_text(tracker, Slot.ORDER_ID) or None),
        customer=profile, transcript=transcript_json(conversation), slots=slots, recent_orders=recent,
        open_tickets=open_tickets)
    return package, topic


async def _none() -> list[Order]:
    return []


class ActionRequestHuman(ServiceAction):
    """Queue the customer for a human agent, or — off hours, nobody online, desk down — open a ticket."""

    def __init__(self, services: Services | None = None, desk: DeskClient | None = None) -> None:
        super().__init__(services)
        self._desk = desk

    def name(self) -> str:
        return "action_request_human"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        events: list[EventType] = [SlotSet(Slot.PENDING_OFFER, None)]
        if tracker.active_loop:
            events += [ActiveLoop(None), SlotSet(Slot.REQUESTED, None)]
        if tracker.get_slot(HANDOFF_ACTIVE):
            dispatcher.utter_message(response="utter_handoff_already")
            return events
        services = self.services
        customer, identified = await current_customer(services, tracker)
        events += identified
        reason = reason_of(tracker, bool(customer and customer.is_vip))
        package, topic = await context_package(services, tracker, reason, customer)
        request = {"sender_id": tracker.sender_id, "channel": package.channel, "reason": reason, "intent": topic,
                   "summary": package.summary, "context": package.as_dict(),
                   "customer_id": customer.id if customer else None, "customer_vip": bool(customer and customer.is_vip)}
        try:
            result = await (self._desk or default_desk()).start(request)
        except DeskUnavailable:
            result = {"status": "unavailable", "unavailable": "desk_down"}
        status = result.get("status")
        if status in ("queued", "assigned"):
            if status == "queued":
                dispatcher.utter_message(response="utter_handoff_queued", queue_position=result.get("position"),
                                         wait_minutes=result.get("eta_minutes"))
                position = _count(result.get("position"))
                dispatcher.utter_message(json_message=queue_state(None if position is None else position - 1,
                                                                  result.get("eta_minutes")))
            else:  # taken at once: said here, not a turn later when the desk's agent-joined event comes in
                agent_name = result.get("agent_name") or ""
                dispatcher.utter_message(response="utter_handoff_connecting", agent_name=agent_name)
                dispatcher.utter_message(response="utter_handoff_agent_joined", agent_name=agent_name, from_agent=True)
                dispatcher.utter_message(json_message=agent_state(agent_name))
            return events + [SlotSet(HANDOFF_ACTIVE, True), SlotSet(HANDOFF_SESSION, result.get("session_id"))]
        just_opened = ticket_opened_this_turn(tracker)  # e.g. the complaint's own ticket
        ticket = await visible_ticket(services, tracker, just_opened) if just_opened else None
        if ticket is None:
            order = await order_in_context(services, tracker)
            ticket = (await open_ticket(services, dispatcher, tracker, Category.HANDOFF, order, announce=False,
                                        description=package.summary)).ticket
        for reply in unavailable_replies(result, reason, ticket_values(ticket), services.clock.now(),
                                         apologised=ran_this_turn(tracker, "action_handle_complaint")):
            dispatcher.utter_message(response=reply.response, **reply.values)
        return events + [SlotSet(Slot.TICKET_ID, ticket.number)]


def ran_this_turn(tracker: Tracker, action: str) -> bool:
    """Whether `action` ran since the customer's last message (e.g. the complaint's apology was said)."""
    ran = False
    for event in tracker.events:
        if event.get("event") == "user":
            ran = False
        elif event.get("event") == "action" and event.get("name") == action:
            ran = True
    return ran


async def visible_ticket(services: Services, tracker: Tracker, number: str) -> Ticket | None:
    try:
        return await find_ticket(services, tracker, number)
    except AccessDenied:
        return None


def ticket_opened_this_turn(tracker: Tracker) -> str | None:
    """A ticket an earlier action of this same turn opened, so a second one is not needed.

    Only a number an action set counts: the slot events right after the customer's message are the
    entities of what the customer typed (another customer's ticket number, say), not a ticket of theirs."""
    opened: str | None = None
    by_action = False
    for event in tracker.events:
        kind = event.get("event")
        if kind == "user":
            opened, by_action = None, False
        elif kind == "action" and event.get("name") != "action_listen":
            by_action = True
        elif kind == "slot" and event.get("name") == Slot.TICKET_ID and by_action:
            opened = str(event["value"]) if event.get("value") else None
    return opened


class ActionRelayToAgent(ServiceAction):
    """A customer message during a handoff: to the agent, with its intent and entities."""

    def __init__(self, services: Services | None = None, desk: DeskClient | None = None) -> None:
        super().__init__(services)
        self._desk = desk

    def name(self) -> str:
        return "action_relay_to_agent"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        desk = self._desk or default_desk()
        session_id = slot_text(tracker, HANDOFF_SESSION)
        message = tracker.latest_message or {}
        intent = latest_intent(tracker)
        entities = [[e.get("entity"), e.get("value")] for e in message.get("entities") or []]
        try:
            if intent == "stop":  # 不等了: leaves the queue if still waiting; said to the agent otherwise
                left = await desk.leave(session_id)
                if left.get("status") == "abandoned":
                    dispatcher.utter_message(response="utter_handoff_left_queue")
                    dispatcher.utter_message(json_message=ended_state())
                    return [SlotSet(HANDOFF_ACTIVE, False), SlotSet(HANDOFF_SESSION, None),
                            SlotSet(Slot.PENDING_OFFER, Offer.TICKET)]
            await desk.relay(session_id, latest_text(tracker), intent, entities, channel=channel_of(tracker))
        except DeskUnavailable:
            order = await order_in_context(self.services, tracker)
            await open_ticket(self.services, dispatcher, tracker, Category.HANDOFF, order, announce=False,
                              description=f"人工对话中断，客户最后的留言：{latest_text(tracker)}")
            dispatcher.utter_message(response="utter_handoff_interrupted")
            dispatcher.utter_message(json_message=ended_state())
            return [SlotSet(HANDOFF_ACTIVE, False), SlotSet(HANDOFF_SESSION, None)]
        return []


class ActionOpenHandoffTicket(ServiceAction):
    """The customer left the queue and accepted a ticket instead."""

    def name(self) -> str:
        return "action_open_handoff_ticket"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        order = await order_in_context(self.services, tracker)
        words = [t.text for t in turns(tracker) if t.speaker == "user" and t.intent not in ("affirm", "stop")]
        created = await open_ticket(self.services, dispatcher, tracker, Category.HANDOFF, order,
                                    description="客户排队未接通，改为登记：" + "；".join(words[-3:]))
        return [SlotSet(Slot.PENDING_OFFER, None), SlotSet(Slot.TICKET_ID, created.ticket.number)]


def joined_said_by_request(tracker: Tracker) -> bool:
    """The turn before this desk event was the customer's request, which the desk answered with an agent at once,
    and it already told the customer that agent joined (ActionRequestHuman): the event repeats that news."""
    users, requested, joined = 0, False, False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            users += 1
            if users == 2:
                break
        elif users == 1 and kind == "action" and event.get("name") == "action_request_human":
            requested = True
        elif users == 1 and kind == "bot" and (event.get("metadata") or {}).get("utter_action") == "utter_handoff_agent_joined":
            joined = True
    return requested and joined


class ActionAgentJoined(ServiceAction):
    def name(self) -> str:
        return "action_agent_joined"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        agent_name = entity(tracker, "agent_name") or ""
        if not joined_said_by_request(tracker):
            dispatcher.utter_message(response="utter_handoff_agent_joined", agent_name=agent_name, from_agent=True)
            dispatcher.utter_message(json_message=agent_state(agent_name))
        # Also when the bot's own request timed out and it told the customer nobody was free: the
        # desk had queued them after all, and from now on their messages must reach the agent.
        session_id = entity(tracker, "handoff_id") or slot_text(tracker, HANDOFF_SESSION)
        return [SlotSet(HANDOFF_ACTIVE, True), SlotSet(HANDOFF_SESSION, session_id)]


class ActionAgentMessage(ServiceAction):
    """An agent's reply, said on the customer's channel and marked as from the agent."""

    def name(self) -> str:
        return "action_agent_message"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        text = entity(tracker, "agent_text")
        if text:
            dispatcher.utter_message(response="utter_agent_message", agent_text=text,
                                     agent_name=entity(tracker, "agent_name") or "", from_agent=True)
        return []


class ActionQueueUpdate(ServiceAction):
    def name(self) -> str:
        return "action_queue_update"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        position = entity(tracker, "queue_position")
        if tracker.get_slot(HANDOFF_ACTIVE) and position:
            ahead = max(0, int(position) - 1)
            response = "utter_handoff_queue_next" if ahead == 0 else "utter_handoff_queue_update"
            dispatcher.utter_message(response=response, ahead=ahead, wait_minutes=entity(tracker, "wait_minutes") or "")
            dispatcher.utter_message(json_message=queue_state(ahead, entity(tracker, "wait_minutes")))
        return []


class ActionHandoffEnded(ServiceAction):
    """The agent ended the chat: the bot takes over again and asks for a rating."""

    def name(self) -> str:
        return "action_handoff_ended"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        session_id = entity(tracker, "handoff_id") or slot_text(tracker, HANDOFF_SESSION)
        dispatcher.utter_message(response="utter_handoff_ended")
        dispatcher.utter_message(json_message=ended_state())
        return [SlotSet(HANDOFF_ACTIVE, False), SlotSet(HANDOFF_SESSION, None), SlotSet(Slot.PENDING_OFFER, Offer.RATING),
                SlotSet(Slot.PENDING_TICKET, None), SlotSet("rating_handoff", session_id)]


class ActionHandoffTimeout(ServiceAction):
    def name(self) -> str:
        return "action_handoff_timeout"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        number = entity(tracker, "ticket_id") or ""
        dispatcher.utter_message(response="utter_handoff_timeout", number=number)
        dispatcher.utter_message(json_message=ended_state())
        return [SlotSet(HANDOFF_ACTIVE, False), SlotSet(HANDOFF_SESSION, None), SlotSet(Slot.TICKET_ID, number or None)]

