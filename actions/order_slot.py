"""Filling `order_id` in every form: by order id, waybill, phone, a product the customer
names ("我上周买的耳机"), or a pick from the customer's recent orders."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ServiceAction, ServiceFormValidation, slot_text
from actions.context import current_customer, entity, latest_intent, md, order_button
from actions.deps import Services
from actions.identity import ProofSlots, identity_of, proof_slots
from actions.names import Form, Intent, Response, Slot
from service.access import AccessDenied
from service.errors import NotFound
from service.models import Order
from service.orders import Mention, Purpose, normalise_order_id
from service.policy import RECENT_ORDER_LIMIT

FORM_PURPOSE = {
    Form.CHANGE_ADDRESS: Purpose.CHANGE_ADDRESS,
    Form.CANCEL_ORDER: Purpose.CANCEL,
    Form.RETURN: Purpose.RETURN,
    Form.INVOICE: Purpose.INVOICE,
    Form.REPAIR: Purpose.REPAIR,
}


def purpose_of(tracker: Tracker, form: str | None = None) -> Purpose:
    """The purpose of the order being asked for: the form's, or the lookup's topic."""
    form = form or (tracker.active_loop or {}).get("name")
    if form in FORM_PURPOSE:
        return FORM_PURPOSE[form]
    return Purpose(slot_text(tracker, Slot.ORDER_TOPIC) or Purpose.STATUS.value)


# What an anonymous customer may ask about one order, with its phone's last 4 digits as proof.
ANONYMOUS_PURPOSES = frozenset({Purpose.STATUS, Purpose.LOGISTICS})


def say_picked(dispatcher: CollectingDispatcher, order: Order) -> None:
    """Tell the customer which order the bot took without asking ("找到了您在…购买的…")."""
    dispatcher.utter_message(response=Response.ORDER_MATCHED, date=md(order.created_at.date()),
                             product=order.items[0].product_name if order.items else order.summary,
                             order_id=order.id)


async def mentioned_orders(services: Services, tracker: Tracker, customer_id: str, purpose: Purpose) -> Mention | None:
    """The customer's orders of the product the latest message names (None when it names none)."""
    product = entity(tracker, "product")
    if not product:
        return None
    return await services.orders.mentioned_order(customer_id, product, entity(tracker, "time_ref") or "", purpose)


class OrderSlotValidation(ProofSlots, ServiceFormValidation):
    """`extract_order_id` / `validate_order_id` shared by the forms that need an order, and the proof
    those forms ask for first when the customer is not proven (see actions/identity.py)."""

    def form_name(self) -> str:
        return self.name().replace("validate_", "", 1)

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        anonymous_ok = purpose_of(tracker, self.form_name()) in ANONYMOUS_PURPOSES
        proof = proof_slots(identity_of(tracker), anonymous_ok, tracker)
        if proof is None:
            return await self.task_slots(domain_slots, dispatcher, tracker, domain)
        if proof[0] == Slot.ORDER_ID:  # anonymous order lookup: the order, then its phone's digits
            return proof
        return proof + [s for s in domain_slots if s not in proof]

    async def task_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        """The form's own questions once the customer's proof is enough (forms override this)."""
        return domain_slots

    async def validate_verify_code(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> dict[str, Any]:
        """A code that proves the customer: when only one of their orders fits the task, it is the one (said so),
        as it would have been had they been proven from the start."""
        slots = await super().validate_verify_code(value, dispatcher, tracker, domain)
        customer_id = slots.get(Slot.CUSTOMER_ID)
        if customer_id and not slots.get(Slot.ORDER_ID, tracker.get_slot(Slot.ORDER_ID)):
            fitting = await self.services.orders.candidates(str(customer_id), purpose_of(tracker, self.form_name()))
            if len(fitting) == 1:
                say_picked(dispatcher, fitting[0])
                slots[Slot.ORDER_ID] = fitting[0].id
        return slots

    async def extract_order_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot(Slot.ORDER_ID) or entity(tracker, "order_id"):
            return {}
        requested = tracker.get_slot(Slot.REQUESTED)
        if requested not in (None, Slot.ORDER_ID, Slot.VERIFY_CODE):
            return {}
        services = self.services
        waybill = entity(tracker, "waybill")
        if waybill and requested != Slot.VERIFY_CODE:
            try:
                order = await services.orders.by_waybill(waybill)
            except NotFound:
                dispatcher.utter_message(response=Response.WAYBILL_NOT_FOUND, waybill=waybill)
                return {}
            return {Slot.ORDER_ID: order.id}
        customer, _ = await current_customer(services, tracker)
        if customer is None:
            return {}
        purpose = purpose_of(tracker, self.form_name())
        if requested != Slot.VERIFY_CODE:
            mention = await mentioned_orders(services, tracker, customer.id, purpose)
            if mention is not None and mention.matches:  # "裙子不合适想退": the 连衣裙
                # Several equally named when the task starts: action_ask_order_id offers just those; named
                # again in answer to that question, the best of them.
                named = mention.chosen or (mention.matches[0] if requested == Slot.ORDER_ID else None)
                if named is None:
                    return {}
                say_picked(dispatcher, named)
                return {Slot.ORDER_ID: named.id}
        # Just started: the only order that fits the purpose, said so (just proven: validate_verify_code). Not
        # after "不对，是另一个订单": that one order is the one the customer just turned down.
        if requested is None and latest_intent(tracker) != Intent.SWITCH_ORDER:
            fitting = await services.orders.candidates(customer.id, purpose)
            if len(fitting) == 1:
                say_picked(dispatcher, fitting[0])
                return {Slot.ORDER_ID: fitting[0].id}
        return {}

    async def validate_order_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if not value:
            return {Slot.ORDER_ID: None}  # cleared on purpose ("不对，是另一个订单")
        order_id = normalise_order_id(str(value))
        if not order_id:
            dispatcher.utter_message(response=Response.ORDER_NOT_FOUND, order_id=str(value))
            return {Slot.ORDER_ID: None}
        identity = identity_of(tracker)
        if not identity.proven:
            return {Slot.ORDER_ID: order_id}  # checked with the proof: saying "no such order" would help guessing
        try:
            await self.services.orders.get_for(order_id, identity)
        except NotFound:
            dispatcher.utter_message(response=Response.ORDER_NOT_FOUND, order_id=order_id)
            return {Slot.ORDER_ID: None}
        except AccessDenied:
            dispatcher.utter_message(response=Response.ORDER_NOT_YOURS, order_id=order_id)
            return {Slot.ORDER_ID: None}
        return {Slot.ORDER_ID: order_id}

    async def current_order(self, tracker: Tracker) -> Order | None:
        """The validated order in the slot, when the customer owns it (None before one is chosen)."""
        order_id = slot_text(tracker, Slot.ORDER_ID)
        if not order_id:
            return None
        try:
            return await self.services.orders.get_for(order_id, identity_of(tracker))
        except (NotFound, AccessDenied):
            return None


class ActionAskOrderId(ServiceAction):
    """Asks which order: the customer's recent orders as buttons, or for an id/waybill/phone."""

    def name(self) -> str:
        return "action_ask_order_id"

    async def handle(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        customer, events = await current_customer(self.services, tracker)
        if customer is not None:
            purpose = purpose_of(tracker)
            mention = await mentioned_orders(self.services, tracker, customer.id, purpose)
            fitting = list(mention.matches[:RECENT_ORDER_LIMIT]) if mention and mention.matches else []
            fitting = fitting or await self.services.orders.candidates(customer.id, purpose)
            if fitting:
                dispatcher.utter_message(response=Response.CHOOSE_ORDER,
                                         buttons=[order_button(o) for o in fitting])
                return events
        dispatcher.utter_message(response=Response.ASK_ORDER_ID)
        return events


class ValidateOrderLookupForm(OrderSlotValidation):
    def name(self) -> str:
        return "validate_order_lookup_form"

    async def task_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        # A refund number in the question is enough on its own to answer it.
        if slot_text(tracker, Slot.ORDER_TOPIC) == Purpose.REFUND.value and slot_text(tracker, Slot.REFUND_ID):
            return []
        return domain_slots


def clear(*slots: str) -> list[EventType]:
    return [SlotSet(slot, None) for slot in slots]
