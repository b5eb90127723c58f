"""Conversation mechanics: stopping a form, declining an offer, complaints, ratings."""

from __future__ import annotations

import asyncio
import re

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ServiceAction, slot_text
from actions.context import entity, latest_text, order_if_visible
from actions.names import FORM_SLOTS, PROOF_SLOTS, Offer, Response, Slot
from actions.next_request import offer_next_request
from actions.tickets import open_ticket
from handoff.ratings import HandoffRatings
from service.tickets.rules import Category

_RATING_WORDS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}


def parse_rating(text: str) -> int | None:
    """1–5 from "5分", "五星", "打4分", "非常满意" …; None when no rating is given."""
    match = re.search(r"(?<!\d)([1-5])(?!\d)", text)
    if match:
        return int(match.group(1))
    match = re.search(r"([一二两三四五])\s*(?:分|星|颗星)", text)
    if match:
        return _RATING_WORDS[match.group(1)]
    if re.search(r"非常满意|很满意|超级满意|特别满意|满分|好评", text):
        return 5
    if re.search(r"不满意|很差|太差|差评|垃圾", text):
        return 1
    if re.search(r"满意|不错|挺好", text):
        return 4
    if re.search(r"一般|还行|凑合", text):
        return 3
    return None


class ActionStopForm(Action):
    """"算了": end the active form cleanly and forget what it had collected."""

    def name(self) -> str:
        return "action_stop_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        form = (tracker.active_loop or {}).get("name")
        dispatcher.utter_message(response=Response.FORM_STOPPED)
        cleared = [SlotSet(slot, None) for slot in (*FORM_SLOTS.get(form or "", ()), *PROOF_SLOTS, Slot.NEXT_REQUEST)]
        return [ActiveLoop(None), SlotSet(Slot.REQUESTED, None), *cleared]


class ActionDeclineOffer(Action):
    """"不用了" to an offer (intercept, human, …); a second request from the customer's message comes next, if
    one waits for that offer to be answered (actions/next_request.py), else "anything else?"."""

    def name(self) -> str:
        return "action_decline_offer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        events: list[EventType] = [SlotSet(Slot.PENDING_OFFER, None)]
        events += offer_next_request(dispatcher, tracker, domain, events)
        if not dispatcher.messages:
            dispatcher.utter_message(response=Response.ANYTHING_ELSE)
        return events


class ActionHandleComplaint(ServiceAction):
    """A complaint becomes a ticket for 客户关系 at once (the rules then hand over to a person)."""

    def name(self) -> str:
        return "action_handle_complaint"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        order_id = entity(tracker, "order_id") or slot_text(tracker, Slot.ORDER_ID)
        order = await order_if_visible(self.services, tracker, order_id)  # never someone else's order on the ticket
        dispatcher.utter_message(response=Response.COMPLAINT_ACK)
        created = await open_ticket(self.services, dispatcher, tracker, Category.COMPLAINT, order,
                                    description=latest_text(tracker))
        return [SlotSet(Slot.TICKET_ID, created.ticket.number)]


def rating_of(tracker: Tracker) -> int | None:
    value = entity(tracker, "rating")
    if value and value.isdigit() and 1 <= int(value) <= 5:
        return int(value)
    return parse_rating(latest_text(tracker))


class ActionRateService(ServiceAction):
    """A 1–5 rating: stored on the ticket or human chat it was asked for (1–2 opens an improvement task)."""

    def name(self) -> str:
        return "action_rate_service"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        rating = rating_of(tracker)
        if rating is None:
            dispatcher.utter_message(response=Response.ASK_RATING)
            return []
        number = slot_text(tracker, Slot.PENDING_TICKET)
        handoff = slot_text(tracker, "rating_handoff")
        text = latest_text(tracker)
        comment = "" if text.startswith("/") else text
        if number and slot_text(tracker, Slot.PENDING_OFFER) == Offer.RATING:
            await asyncio.to_thread(self.services.tickets.rate, number, rating, comment)
        elif handoff and slot_text(tracker, Slot.PENDING_OFFER) == Offer.RATING:
            ratings = HandoffRatings(self.services.handoffs, self.services.tickets)  # 1–2: an improvement task too
            await asyncio.to_thread(ratings.rate, handoff, rating, comment)
        dispatcher.utter_message(response=Response.RATING_THANKS if rating >= 3 else Response.RATING_SORRY,
                                 rating=rating)
        return [SlotSet(Slot.PENDING_OFFER, None), SlotSet(Slot.PENDING_TICKET, None), SlotSet("rating_handoff", None)]
