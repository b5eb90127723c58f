"""Refund progress and price protection."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ServiceAction, slot_text
from actions.context import entity, load_order, md
from actions.deps import Services
from actions.identity import ask_proof_for, identity_of
from actions.names import Response, Slot
from actions.tickets import open_ticket
from service.access import AccessDenied
from service.errors import NotAllowed, NotFound
from service.models import Refund, RefundStatus, yuan
from service.tickets.rules import Category

PRICE_PROTECTION_RESPONSES = {
    "expired": Response.PRICE_PROTECTION_EXPIRED,
    "no_drop": Response.PRICE_PROTECTION_NO_DROP,
    "already_done": Response.PRICE_PROTECTION_DONE,
    "not_paid": Response.PRICE_PROTECTION_NOT_PAID,
}


def say_refund(services: Services, dispatcher: CollectingDispatcher, refund: Refund) -> bool:
    """Tell the refund's state; True when it is overdue (and needs following up)."""
    common = {"refund_id": refund.id, "order_id": refund.order_id, "amount": yuan(refund.amount)}
    if refund.status is RefundStatus.PROCESSING:
        expected = services.refunds.expected_by(refund).date()
        overdue = expected < services.clock.today()
        response = "utter_refund_overdue" if overdue else "utter_refund_processing"
        dispatcher.utter_message(response=response, expected=md(expected), **common)
        return overdue
    elif refund.status is RefundStatus.DONE:
        dispatcher.utter_message(response="utter_refund_done", **common)
    else:
        dispatcher.utter_message(response="utter_refund_rejected", **common)
    return False


async def follow_up_overdue(services: Services, dispatcher: CollectingDispatcher, tracker: Tracker,
                            refund: Refund) -> list[EventType]:
    """An overdue refund becomes a ticket for 财务 (or updates the open one)."""
    order = await services.orders.get_for(refund.order_id, identity_of(tracker))
    detail = f"退款单 {refund.id} {yuan(refund.amount)} 超过预计到账时间仍未退回"
    created = await open_ticket(services, dispatcher, tracker, Category.REFUND, order, detail=detail)
    return [SlotSet(Slot.TICKET_ID, created.ticket.number)]


async def answer_refund(services: Services, dispatcher: CollectingDispatcher, tracker: Tracker,
                        refund_id: str) -> list[EventType]:
    """A refund by its number, for the owner of its order; asks for a proof first when nobody is proven."""
    done: list[EventType] = [SlotSet(Slot.REFUND_ID, None)]
    try:
        refund = await services.refunds.get_for(refund_id, identity_of(tracker))
    except AccessDenied as denied:
        if denied.code == "not_owner":
            dispatcher.utter_message(response=Response.REFUND_ID_NOT_FOUND, refund_id=refund_id.upper())
            return done
        return [SlotSet(Slot.REFUND_ID, refund_id.upper())] + ask_proof_for(dispatcher, "refund_status")
    except NotFound:
        dispatcher.utter_message(response=Response.REFUND_ID_NOT_FOUND, refund_id=refund_id.upper())
        return done
    if say_refund(services, dispatcher, refund):
        return done + await follow_up_overdue(services, dispatcher, tracker, refund)
    return done


class ActionRefundStatus(ServiceAction):
    answers_request = True

    def name(self) -> str:
        return "action_refund_status"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        services = self.services
        refund_id = entity(tracker, "refund_id") or slot_text(tracker, Slot.REFUND_ID)
        if refund_id:
            return await answer_refund(services, dispatcher, tracker, refund_id)
        order = await load_order(services, dispatcher, tracker)
        if order is None:
            return []
        refund = await services.refunds.latest_for_order(order.id)
        if refund is None:
            dispatcher.utter_message(response=Response.REFUND_NOT_FOUND, order_id=order.id)
        elif say_refund(services, dispatcher, refund):
            return await follow_up_overdue(services, dispatcher, tracker, refund)
        return []


class ActionPriceProtection(ServiceAction):
    answers_request = True

    def name(self) -> str:
        return "action_price_protection"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        order = await load_order(self.services, dispatcher, tracker)
        if order is None:
            return []
        try:
            drop, refund = await self.services.refunds.price_protect(order, identity_of(tracker))
        except NotAllowed as refused:
            dispatcher.utter_message(response=PRICE_PROTECTION_RESPONSES.get(refused.code, Response.PRICE_PROTECTION_NO_DROP),
                                     order_id=order.id, status=order.status.value)
            return []
        dispatcher.utter_message(response=Response.PRICE_PROTECTED, order_id=order.id, product=drop.product_name,
                                 paid=yuan(drop.paid), current=yuan(drop.current), amount=yuan(drop.amount),
                                 refund_id=refund.id)
        return []
