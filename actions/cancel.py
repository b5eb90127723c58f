"""Cancelling an order: only before shipment, and only after the customer confirms."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ServiceAction
from actions.context import latest_text, load_order
from actions.identity import identity_of
from actions.names import Response, Slot
from actions.order_slot import OrderSlotValidation
from service.errors import NotAllowed
from service.models import OrderStatus, yuan
from service.orders import cancel_block

_KEEP = re.compile(r"不取消|不要取消|别取消|先不|不用取消|算了|再想想|保留|不要了吧")
_CONFIRM = re.compile(r"确认|确定|是的|对的|没错|要取消|取消吧|取消掉|好的|可以|嗯")


def confirmation(text: str) -> bool | None:
    """"不取消了" → False, "确认取消" → True; both words contain 取消, so the classifier cannot tell."""
    if _KEEP.search(text):
        return False
    if _CONFIRM.search(text):
        return True
    return None


class ValidateCancelOrderForm(OrderSlotValidation):
    def name(self) -> str:
        return "validate_cancel_order_form"

    async def extract_cancel_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot(Slot.REQUESTED) != Slot.CANCEL_CONFIRMED or tracker.get_slot(Slot.CANCEL_CONFIRMED) is not None:
            return {}
        answer = confirmation(latest_text(tracker))
        return {} if answer is None else {Slot.CANCEL_CONFIRMED: answer}

    async def task_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        order = await self.current_order(tracker)
        if order is not None and cancel_block(order):
            return [Slot.ORDER_ID]
        return domain_slots


class ActionCancelOrder(ServiceAction):
    answers_request = True

    def name(self) -> str:
        return "action_cancel_order"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        events: list[EventType] = [SlotSet(Slot.CANCEL_CONFIRMED, None)]
        order = await load_order(self.services, dispatcher, tracker)
        if order is None:
            return events
        if order.status is OrderStatus.CANCELLED:
            dispatcher.utter_message(response=Response.ORDER_ALREADY_CANCELLED, order_id=order.id)
            return events
        if cancel_block(order):
            dispatcher.utter_message(response=Response.CANCEL_BLOCKED, order_id=order.id, status=order.status.value)
            return events
        confirmed = tracker.get_slot(Slot.CANCEL_CONFIRMED)
        if confirmed is None:
            return events
        if not confirmed:
            dispatcher.utter_message(response=Response.CANCEL_KEPT, order_id=order.id)
            return events
        try:
            cancelled = await self.services.orders.cancel(order.id, "买家在客服对话中申请取消", identity_of(tracker))
        except NotAllowed:
            refreshed = await self.services.orders.get_for(order.id, identity_of(tracker))
            dispatcher.utter_message(response=Response.CANCEL_BLOCKED, order_id=order.id,
                                     status=refreshed.status.value)
            return events
        dispatcher.utter_message(response=Response.ORDER_CANCELLED, order_id=cancelled.id,
                                 amount=yuan(cancelled.total))
        return events
