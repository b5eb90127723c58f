"""Change of delivery address: only before shipment; afterwards an intercept or a human."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ServiceAction, slot_text
from actions.context import load_order
from actions.identity import identity_of
from actions.names import Offer, Response, Slot
from actions.order_slot import OrderSlotValidation
from actions.tickets import open_ticket
from service.addresses import try_parse_address
from service.errors import InvalidInput, NotAllowed
from service.models import OrderStatus
from service.orders import address_change_block
from service.privacy import mask_address
from service.tickets.rules import Category


class ValidateChangeAddressForm(OrderSlotValidation):
    def name(self) -> str:
        return "validate_change_address_form"

    async def task_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        order = await self.current_order(tracker)
        if order is not None and address_change_block(order):
            return [Slot.ORDER_ID]  # nothing to ask: the submit step explains and offers options
        return domain_slots

    def validate_new_address(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if try_parse_address(str(value or "")) is None:
            dispatcher.utter_message(response=Response.ADDRESS_INVALID)
            return {Slot.NEW_ADDRESS: None}
        return {Slot.NEW_ADDRESS: str(value).strip()}


class ActionChangeAddress(ServiceAction):
    answers_request = True

    def name(self) -> str:
        return "action_change_address"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        order = await load_order(self.services, dispatcher, tracker)
        if order is None:
            return []
        block = address_change_block(order)
        if block == "shipped":
            dispatcher.utter_message(response=Response.ADDRESS_CHANGE_BLOCKED, order_id=order.id,
                                     status=order.status.value)
            return [SlotSet(Slot.PENDING_OFFER, Offer.INTERCEPT), SlotSet(Slot.NEW_ADDRESS, None)]
        if block:
            dispatcher.utter_message(response="utter_address_change_not_possible", order_id=order.id,
                                     status=order.status.value)
            return [SlotSet(Slot.NEW_ADDRESS, None)]
        new_address = slot_text(tracker, Slot.NEW_ADDRESS)
        if not new_address:
            return []  # the form ended without an address (already explained to the customer)
        try:
            changed = await self.services.orders.change_address(order.id, new_address, identity_of(tracker))
        except InvalidInput:
            dispatcher.utter_message(response=Response.ADDRESS_INVALID)
            return [SlotSet(Slot.NEW_ADDRESS, None)]
        except NotAllowed:  # shipped in the meantime
            dispatcher.utter_message(response=Response.ADDRESS_CHANGE_BLOCKED, order_id=order.id,
                                     status=OrderStatus.SHIPPED.value)
            return [SlotSet(Slot.PENDING_OFFER, Offer.INTERCEPT), SlotSet(Slot.NEW_ADDRESS, None)]
        dispatcher.utter_message(response=Response.ADDRESS_CHANGED, order_id=changed.id,
                                 address=mask_address(changed.address.full))
        return [SlotSet(Slot.NEW_ADDRESS, None)]


class ActionRequestIntercept(ServiceAction):
    """The customer accepted the offer to intercept and redirect a shipped parcel."""

    answers_request = True

    def name(self) -> str:
        return "action_request_intercept"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        events: list[EventType] = [SlotSet(Slot.PENDING_OFFER, None)]
        order = await load_order(self.services, dispatcher, tracker)
        if order is None:
            return events
        try:
            case = await self.services.aftersales.open_intercept(order)
        except NotAllowed:
            dispatcher.utter_message(response=Response.INTERCEPT_NOT_POSSIBLE, order_id=order.id)
            return events
        dispatcher.utter_message(response=Response.INTERCEPT_REQUESTED, case_id=case.id)
        created = await open_ticket(self.services, dispatcher, tracker, Category.ADDRESS, order,
                                    detail=f"已发货，客户要求改地址；拦截申请 {case.id}")
        return events + [SlotSet(Slot.TICKET_ID, created.ticket.number)]
