"""Answers about one order: status, logistics, urging; and the order context itself."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ServiceAction, slot_text
from actions.context import entity, latest_text, load_order, md
from actions.deps import Services
from actions.identity import identity_of, need_for
from actions.names import Form, Response, Slot
from actions.order_slot import ANONYMOUS_PURPOSES, ActionAskOrderId
from actions.products import answer_product
from actions.refunds import answer_refund
from service.access import AccessDenied, Need
from service.errors import NotAllowed, NotFound
from service.identity import Identity
from service.logistics import asks_arrival
from service.models import Order, OrderStatus, yuan
from service.orders import Purpose

LATE_SHIPMENT_DAYS = 2


def order_card(order: Order) -> dict[str, dict[str, str | None]]:
    """The order as a card for channels that draw one (the web widget): only what the customer may see."""
    return {"order_card": {"order_id": order.id, "product": "、".join(item.label for item in order.items) or None,
                           "status": order.status.value, "amount": yuan(order.total), "carrier": order.carrier,
                           "waybill": order.waybill}}


async def say_status(services: Services, dispatcher: CollectingDispatcher, order: Order) -> None:
    common = {"order_id": order.id, "summary": order.summary}
    if order.status is OrderStatus.UNPAID:
        dispatcher.utter_message(response="utter_order_status_unpaid", **common)
    elif order.status is OrderStatus.PAID:
        days = (services.clock.now() - order.created_at).days
        late = days >= LATE_SHIPMENT_DAYS
        dispatcher.utter_message(response="utter_order_status_paid_late" if late else "utter_order_status_paid",
                                 warehouse=order.warehouse, days=days, **common)
    elif order.status is OrderStatus.SHIPPED:
        tracking = await services.logistics.track(order)
        dispatcher.utter_message(response="utter_order_status_shipped", carrier=order.carrier,
                                 waybill=order.waybill, latest=tracking.latest_text, **common)
    elif order.status is OrderStatus.SIGNED:
        signed = order.signed_at.date() if order.signed_at else order.created_at.date()
        dispatcher.utter_message(response="utter_order_status_signed", signed_date=md(signed), **common)
    else:
        dispatcher.utter_message(response="utter_order_status_cancelled", **common)
    dispatcher.utter_message(json_message=order_card(order))


async def say_logistics(services: Services, dispatcher: CollectingDispatcher, order: Order) -> None:
    tracking = await services.logistics.track(order)
    if tracking.shipment is None:
        dispatcher.utter_message(response=Response.LOGISTICS_NOT_SHIPPED, order_id=order.id,
                                 summary=order.summary, status=order.status.value)
        dispatcher.utter_message(json_message=order_card(order))
        return
    shipment = tracking.shipment
    dispatcher.utter_message(response=Response.LOGISTICS_TRACE, order_id=order.id, carrier=shipment.carrier,
                             waybill=shipment.waybill, latest=tracking.latest_text)
    dispatcher.utter_message(json_message=order_card(order))
    if shipment.signed_at:
        dispatcher.utter_message(response="utter_logistics_signed", signed_date=md(shipment.signed_at.date()))
    elif tracking.delayed:
        dispatcher.utter_message(response=Response.LOGISTICS_DELAYED)
    elif tracking.eta:
        dispatcher.utter_message(response="utter_logistics_eta", eta=md(tracking.eta))


async def say_arrival(services: Services, dispatcher: CollectingDispatcher, order: Order) -> None:
    """"什么时候能到" after the trace: just the day it is expected (or that it came, or is late)."""
    tracking = await services.logistics.track(order)
    shipment = tracking.shipment
    if shipment is None or not (shipment.signed_at or tracking.eta):
        await say_logistics(services, dispatcher, order)
    elif shipment.signed_at:
        dispatcher.utter_message(response="utter_logistics_signed", signed_date=md(shipment.signed_at.date()))
    elif tracking.delayed:
        dispatcher.utter_message(response=Response.LOGISTICS_DELAYED)
    elif tracking.eta:
        dispatcher.utter_message(response=Response.LOGISTICS_ARRIVAL, order_id=order.id, eta=md(tracking.eta))


# What a logistics answer about an order says first (its trace is in it).
TRACE_RESPONSES = frozenset({Response.LOGISTICS_TRACE, "utter_order_status_shipped"})


def trace_just_shown(tracker: Tracker, order_id: str) -> bool:
    """Whether the bot's last turn, before the latest message, showed `order_id`'s trace."""
    users = 0
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            users += 1
            if users == 2:
                return False
        elif kind == "bot" and users == 1:
            metadata = event.get("metadata") or {}
            if metadata.get("utter_action") in TRACE_RESPONSES and metadata.get("order_id") == order_id:
                return True
    return False


async def say_urge(services: Services, dispatcher: CollectingDispatcher, order: Order, identity: Identity) -> None:
    try:
        receipt = await services.orders.urge(order.id, identity)
    except NotAllowed:
        dispatcher.utter_message(response=Response.URGE_NOT_APPLICABLE, order_id=order.id,
                                 status=order.status.value)
        return
    if order.status.before_shipment:
        dispatcher.utter_message(response=Response.URGE_WAREHOUSE, target=receipt.target, order_id=order.id)
    else:
        tracking = await services.logistics.track(order)
        dispatcher.utter_message(response=Response.URGE_CARRIER, target=receipt.target, order_id=order.id,
                                 waybill=order.waybill, latest=tracking.latest_text)
    if receipt.times > 1:
        dispatcher.utter_message(response=Response.URGE_AGAIN, times=receipt.times)


class ActionOrderStatus(ServiceAction):
    answers_request = True

    def name(self) -> str:
        return "action_order_status"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        order = await load_order(self.services, dispatcher, tracker, Need.STATUS)
        if order:
            await say_status(self.services, dispatcher, order)
        return []


class ActionCheckLogistics(ServiceAction):
    answers_request = True

    def name(self) -> str:
        return "action_check_logistics"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        order = await load_order(self.services, dispatcher, tracker, Need.STATUS)
        if order is None:
            return []
        if asks_arrival(latest_text(tracker)) and trace_just_shown(tracker, order.id):
            await say_arrival(self.services, dispatcher, order)
        else:
            await say_logistics(self.services, dispatcher, order)
        return []


class ActionUrgeDelivery(ServiceAction):
    answers_request = True

    def name(self) -> str:
        return "action_urge_delivery"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        order = await load_order(self.services, dispatcher, tracker)
        if order:
            await say_urge(self.services, dispatcher, order, identity_of(tracker))
        return []


class ActionHandleInform(ServiceAction):
    """A piece of information outside any form: an order reference answers the last order question
    again for that order (after the proof it needs); a phone number starts a proof by SMS code; a
    refund number or a product gets its answer; anything else is acknowledged."""

    answers_request = True

    def name(self) -> str:
        return "action_handle_inform"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        services = self.services
        identity = identity_of(tracker)
        order_id = entity(tracker, "order_id")
        waybill = entity(tracker, "waybill")
        if not order_id and waybill:
            try:
                order_id = (await services.orders.by_waybill(waybill)).id
            except NotFound:
                dispatcher.utter_message(response=Response.WAYBILL_NOT_FOUND, waybill=waybill)
                return []
        if not order_id and entity(tracker, "phone"):
            if identity.proven:  # a number is no reason to look at anyone else's orders
                return await ActionAskOrderId(services).handle(dispatcher, tracker, domain)
            return [FollowupAction(Form.IDENTITY)]  # the form sends the code to that number and asks for it
        if order_id:
            return await self.answer_order(dispatcher, tracker, order_id.upper(), identity)
        refund_id = entity(tracker, "refund_id")
        if refund_id:
            return await answer_refund(services, dispatcher, tracker, refund_id)
        if entity(tracker, "product"):
            return await answer_product(services, dispatcher, tracker)
        dispatcher.utter_message(response=Response.INFORM_ACK)
        return []

    async def answer_order(self, dispatcher: CollectingDispatcher, tracker: Tracker, order_id: str,
                           identity: Identity) -> list[EventType]:
        services = self.services
        topic = Purpose(slot_text(tracker, Slot.ORDER_TOPIC) or Purpose.STATUS.value)
        try:
            order = await services.orders.get_for(order_id, identity, need_for(topic in ANONYMOUS_PURPOSES))
        except NotFound:
            if not identity.proven:  # checked with the proof, like any anonymous order reference
                return [SlotSet(Slot.ORDER_ID, order_id), FollowupAction(Form.ORDER_LOOKUP)]
            dispatcher.utter_message(response=Response.ORDER_NOT_FOUND, order_id=order_id)
            return []
        except AccessDenied as denied:
            if denied.code == "not_owner":
                dispatcher.utter_message(response=Response.ORDER_NOT_YOURS, order_id=order_id)
                return []
            return [SlotSet(Slot.ORDER_ID, order_id), FollowupAction(Form.ORDER_LOOKUP)]  # asks for the proof
        if topic is Purpose.LOGISTICS:
            await say_logistics(services, dispatcher, order)
        elif topic is Purpose.URGE:
            await say_urge(services, dispatcher, order, identity)
        else:
            await say_status(services, dispatcher, order)
        return [SlotSet(Slot.ORDER_ID, order.id)]


class ActionSwitchOrder(ServiceAction):
    """"不对，是另一个订单": forget the order in context so the next step asks again."""

    def name(self) -> str:
        return "action_switch_order"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        new_id = entity(tracker, "order_id")
        return [SlotSet(Slot.ORDER_ID, new_id.upper() if new_id else None)]
