"""Tickets in chat: opening them from the conversation, progress, additions, confirmation, rating."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ServiceAction, ServiceFormValidation, slot_text
from actions.context import channel_of, current_customer, entity, latest_intent, latest_text, order_if_visible, transcript
from actions.deps import Services
from actions.identity import ask_proof_for, identity_of
from actions.names import Offer, Slot
from service.access import AccessDenied, check_ticket, may_see_ticket
from service.errors import NotFound
from service.models import Order
from service.tickets.drafting import customer_words, draft_from_conversation
from service.tickets.models import Created, Ticket
from service.tickets.rules import Category, Status, TransitionError

MIN_DESCRIPTION = 4
_LEAD_IN = re.compile(
    r"^(?:我)?(?:再|还要|还想|想|要)?(?:补充|补一下|补充一下|加一条|再加一条|说明一下)(?:一下|个情况|一点|信息|说明)?[：:，,\s]*"
)
_REGISTER = re.compile(r"登记|记录|记下|提个?工单|备案|反馈上去|跟进")


def when(ticket: Ticket, field: str) -> str:
    moment = getattr(ticket, field)
    return f"{moment.month}月{moment.day}日 {moment:%H:%M}"


def ticket_values(ticket: Ticket) -> dict[str, Any]:
    return {"number": ticket.number, "category": ticket.category, "department": ticket.department,
            "priority": ticket.priority, "status": ticket.status.value,
            "first_response": when(ticket, "first_response_due"), "resolution": when(ticket, "resolution_due")}


async def open_ticket(
    services: Services,
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    category: Category,
    order: Order | None = None,
    description: str = "",
    detail: str = "",
    announce: bool = True,
) -> Created:
    """Create (or update) a ticket from the conversation and tell the customer what happens next
    (unless `announce` is False: the caller says it in its own words)."""
    customer, _ = await current_customer(services, tracker)
    draft = draft_from_conversation(
        category, transcript(tracker), customer=customer, order=order, channel=channel_of(tracker),
        sender_id=tracker.sender_id, intent=latest_intent(tracker), description=description, detail=detail)
    created = await asyncio.to_thread(services.tickets.create, draft)
    values = ticket_values(created.ticket)
    if not announce:
        return created
    if created.duplicate:
        dispatcher.utter_message(response="utter_ticket_updated", **values)
    elif created.ticket.priority != "一般":
        dispatcher.utter_message(response="utter_ticket_created_urgent", **values)
    else:
        dispatcher.utter_message(response="utter_ticket_created", **values)
    return created


async def customer_tickets(services: Services, tracker: Tracker) -> list[Ticket]:
    """The open tickets the customer may see: their account's, or (anonymous) this conversation's."""
    identity = identity_of(tracker)
    customer_id = identity.customer_id if identity.proven else None
    found = await asyncio.to_thread(services.tickets.open_for, customer_id, None if customer_id else tracker.sender_id)
    return [t for t in found if may_see_ticket(identity, tracker.sender_id, t)]


async def find_ticket(services: Services, tracker: Tracker, number: str) -> Ticket | None:
    """The ticket by number, if the customer may see it (AccessDenied "proof_needed" when a proof would help)."""
    try:
        ticket = await asyncio.to_thread(services.tickets.get, number)
    except NotFound:
        return None
    try:
        check_ticket(identity_of(tracker), tracker.sender_id, ticket)
    except AccessDenied as denied:
        if denied.code == "proof_needed":
            raise
        return None  # someone else's: as if it did not exist
    return ticket


class ActionTicketStatus(ServiceAction):
    """"我的工单处理得怎么样了": one ticket by number, or the customer's open tickets."""

    answers_request = True

    def name(self) -> str:
        return "action_ticket_status"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        services = self.services
        number = entity(tracker, "ticket_id") or (slot_text(tracker, Slot.TICKET_ID)
                                                   if tracker.get_slot(Slot.PENDING_TASK) else "")
        if number:
            try:
                ticket = await find_ticket(services, tracker, number)
            except AccessDenied:
                return [SlotSet(Slot.TICKET_ID, number.upper())] + ask_proof_for(dispatcher, "query_ticket_status")
            if ticket is None:
                dispatcher.utter_message(response="utter_ticket_not_found", number=number.upper())
                return []
            trail = await asyncio.to_thread(services.tickets.trail, ticket.number)
            latest = next((e.comment for e in reversed(trail) if e.comment and e.kind != "duplicate"), "已受理")
            dispatcher.utter_message(response="utter_ticket_detail", latest=latest, **ticket_values(ticket))
            return [SlotSet(Slot.TICKET_ID, ticket.number)]
        open_tickets = await customer_tickets(services, tracker)
        if not open_tickets and not identity_of(tracker).proven:
            return ask_proof_for(dispatcher, "query_ticket_status")  # the account's tickets need a proof
        if not open_tickets:
            dispatcher.utter_message(response="utter_ticket_none")
            return []
        dispatcher.utter_message(response="utter_ticket_list_intro", count=len(open_tickets))
        for ticket in open_tickets:
            dispatcher.utter_message(response="utter_ticket_line", **ticket_values(ticket))
        return []


class ValidateRegisterForm(ServiceFormValidation):
    def name(self) -> str:
        return "validate_register_form"

    async def extract_issue_description(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # "帮我登记一下，洗衣机一直漏水" already says it; otherwise the earlier messages may.
        if tracker.get_slot(Slot.REQUESTED) is not None or tracker.get_slot("issue_description"):
            return {}
        text = latest_text(tracker)
        stripped = _REGISTER.sub("", text).strip("，,。 帮我一下吧好的请")
        if len(stripped) >= MIN_DESCRIPTION:
            return {"issue_description": text}
        earlier = customer_words(transcript(tracker)[:-1])
        return {"issue_description": earlier} if len(earlier) >= MIN_DESCRIPTION else {}

    def validate_issue_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        return {"issue_description": text if len(text) >= MIN_DESCRIPTION else None}


class ActionRegisterIssue(ServiceAction):
    """"帮我登记一下": a ticket from what the customer described."""

    def name(self) -> str:
        return "action_register_issue"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        description = slot_text(tracker, "issue_description")
        if not description:
            return []
        order = await order_if_visible(self.services, tracker, slot_text(tracker, Slot.ORDER_ID))
        created = await open_ticket(self.services, dispatcher, tracker, Category.REGISTERED, order, description)
        return [SlotSet("issue_description", None), SlotSet(Slot.TICKET_ID, created.ticket.number)]


def note_of(text: str) -> str:
    """"补充一下：收到时外箱是湿的" → "收到时外箱是湿的"."""
    return _LEAD_IN.sub("", text.strip()).strip()


class ValidateTicketNoteForm(ServiceFormValidation):
    def name(self) -> str:
        return "validate_ticket_note_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        if entity(tracker, "ticket_id") or slot_text(tracker, Slot.TICKET_ID):
            return domain_slots
        return domain_slots if await customer_tickets(self.services, tracker) else []

    async def extract_ticket_note(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot(Slot.REQUESTED) is not None or tracker.get_slot("ticket_note"):
            return {}
        note = note_of(latest_text(tracker))
        return {"ticket_note": note} if len(note) >= MIN_DESCRIPTION else {}

    def validate_ticket_note(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        note = note_of(str(value or ""))
        return {"ticket_note": note if len(note) >= 2 else None}


class ActionAddTicketInfo(ServiceAction):
    """"补充一下：…": a comment on the ticket named, else the customer's latest open ticket."""

    def name(self) -> str:
        return "action_add_ticket_info"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        services = self.services
        events: list[EventType] = [SlotSet("ticket_note", None)]
        number = entity(tracker, "ticket_id") or slot_text(tracker, Slot.TICKET_ID)
        try:
            ticket = await find_ticket(services, tracker, number) if number else None
        except AccessDenied:
            ticket = None
        if ticket is None or not ticket.status.is_open:
            open_tickets = await customer_tickets(services, tracker)
            ticket = open_tickets[0] if open_tickets else None
        note = slot_text(tracker, "ticket_note")
        if ticket is None:
            dispatcher.utter_message(response="utter_no_open_ticket_to_add")
            return events
        if not note:
            return events
        await asyncio.to_thread(services.tickets.comment, ticket.number, "customer", note, False)
        dispatcher.utter_message(response="utter_ticket_note_added", number=ticket.number)
        return events + [SlotSet(Slot.TICKET_ID, ticket.number)]


async def desk_ticket(services: Services, tracker: Tracker) -> Ticket | None:
    """The ticket the desk's message is about, if it is this conversation's or its customer's."""
    number = entity(tracker, "ticket_id") or slot_text(tracker, Slot.TICKET_ID)
    try:
        return await find_ticket(services, tracker, number) if number else None
    except AccessDenied:
        return None


class ActionAskResolutionConfirmation(ServiceAction):
    """The desk marked a ticket 待客户确认: ask the customer whether it is solved."""

    def name(self) -> str:
        return "action_ask_resolution_confirmation"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        ticket = await desk_ticket(self.services, tracker)
        if ticket is None:
            return []
        trail = await asyncio.to_thread(self.services.tickets.trail, ticket.number)
        note = next((e.comment for e in reversed(trail) if e.kind == "status" and e.comment), "处理结果已更新")
        dispatcher.utter_message(response="utter_ask_resolution_confirmation", note=note, **ticket_values(ticket))
        return [SlotSet(Slot.PENDING_OFFER, Offer.RESOLUTION), SlotSet(Slot.PENDING_TICKET, ticket.number)]


async def ask_rating(dispatcher: CollectingDispatcher, services: Services, ticket: Ticket) -> list[EventType]:
    await asyncio.to_thread(services.tickets.mark_rating_requested, ticket.number)
    dispatcher.utter_message(response="utter_ask_ticket_rating", number=ticket.number)
    return [SlotSet(Slot.PENDING_OFFER, Offer.RATING), SlotSet(Slot.PENDING_TICKET, ticket.number)]


class ActionConfirmResolution(ServiceAction):
    def name(self) -> str:
        return "action_confirm_resolution"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        number = slot_text(tracker, Slot.PENDING_TICKET)
        try:
            ticket = await asyncio.to_thread(self.services.tickets.change_status, number, "customer",
                                             Status.RESOLVED, "客户确认已解决")
        except (NotFound, TransitionError):
            return [SlotSet(Slot.PENDING_OFFER, None)]
        dispatcher.utter_message(response="utter_resolution_confirmed", number=ticket.number)
        return await ask_rating(dispatcher, self.services, ticket)


class ActionRejectResolution(ServiceAction):
    def name(self) -> str:
        return "action_reject_resolution"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        number = slot_text(tracker, Slot.PENDING_TICKET)
        events: list[EventType] = [SlotSet(Slot.PENDING_OFFER, None)]
        try:
            ticket = await asyncio.to_thread(self.services.tickets.change_status, number, "customer",
                                             Status.REOPENED, f"客户表示未解决：{latest_text(tracker)}")
        except (NotFound, TransitionError):
            return events
        dispatcher.utter_message(response="utter_resolution_rejected", **ticket_values(ticket))
        return events


class ActionAskTicketRating(ServiceAction):
    """The desk resolved a ticket: ask the customer for a 1–5 rating."""

    def name(self) -> str:
        return "action_ask_ticket_rating"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        ticket = await desk_ticket(self.services, tracker)
        return await ask_rating(dispatcher, self.services, ticket) if ticket else []
