"""Returns and exchanges: the 7-day / 15-day checks and the after-sales request."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ServiceAction, slot_text
from actions.context import latest_intent, latest_text, load_order, md
from actions.names import Response, Slot
from actions.order_slot import OrderSlotValidation
from actions.tickets import open_ticket
from service.aftersales import ReasonKind, classify_reason
from service.models import CaseKind, OrderStatus
from service.tickets.rules import Category

MIN_TEXT = 2

# Why a customer sends something back, in their words ("尺码小了", "不想要了"); a product fault
# (aftersales.classify_reason: 质量, 开线 …) is a reason too.
_CUSTOMER_REASON = re.compile(
    r"尺码|尺寸|码数|[大小]了|偏[大小]|太[大小紧肥瘦松]|不合身|不合适|穿不下|挤脚|夹脚|颜色|不喜欢|不想要|不要了|"
    r"拍错|买错|买多|多买|后悔|不符|不一样|不好看|不好用|不满意|没用|用不上|效果不好"
)
# Answers that are about something else, whatever words they contain.
_NOT_A_REASON = frozenset({"faq", "chitchat", "stop", "switch_order", "request_human", "bot_challenge", "greet",
                           "goodbye", "thank", "affirm", "deny", "query_logistics", "query_order_status"})


def stated_reason(text: str) -> bool:
    """Whether `text` gives a reason for a return or an exchange ("裙子不合适想退", "尺码小了")."""
    return bool(_CUSTOMER_REASON.search(text or "")) or classify_reason(text) is ReasonKind.MERCHANT


def kind_of(tracker: Tracker) -> CaseKind:
    return CaseKind.EXCHANGE if slot_text(tracker, Slot.RETURN_KIND) == CaseKind.EXCHANGE.value else CaseKind.RETURN


class ValidateReturnForm(OrderSlotValidation):
    def name(self) -> str:
        return "validate_return_form"

    async def task_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        order = await self.current_order(tracker)
        if order is not None and order.status is not OrderStatus.SIGNED:
            return [Slot.ORDER_ID]
        if kind_of(tracker) is CaseKind.RETURN:
            return [s for s in domain_slots if s != Slot.EXCHANGE_DETAIL]
        return domain_slots

    async def extract_return_reason(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The reason, whenever the customer gives it: in the message that starts the form, or while the
        form asks for the order or a proof ("尺码小了" in answer to the list of orders). The domain's
        mappings fill it when it is the question."""
        requested = tracker.get_slot(Slot.REQUESTED)
        if tracker.get_slot(Slot.RETURN_REASON) or requested == Slot.RETURN_REASON:
            return {}
        reason = next(tracker.get_latest_entity_values("return_reason"), None)
        if reason:
            return {Slot.RETURN_REASON: str(reason)}
        text = latest_text(tracker).strip()
        if text.startswith("/") or latest_intent(tracker) in _NOT_A_REASON or not stated_reason(text):
            return {}
        return {Slot.RETURN_REASON: text}

    def validate_return_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        return {Slot.RETURN_REASON: text if len(text) >= MIN_TEXT else None}

    def validate_exchange_detail(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        return {Slot.EXCHANGE_DETAIL: text or None}


class ActionSubmitReturn(ServiceAction):
    answers_request = True

    def name(self) -> str:
        return "action_submit_return"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        events: list[EventType] = [SlotSet(Slot.RETURN_REASON, None), SlotSet(Slot.EXCHANGE_DETAIL, None)]
        order = await load_order(self.services, dispatcher, tracker)
        if order is None:
            return events
        if order.status is not OrderStatus.SIGNED:
            dispatcher.utter_message(response=Response.RETURN_NOT_RECEIVED, order_id=order.id,
                                     status=order.status.value)
            return events
        reason = slot_text(tracker, Slot.RETURN_REASON)
        if not reason:
            return events
        aftersales = self.services.aftersales
        verdict = aftersales.eligibility(order, reason)
        if verdict.code == "no_reason_expired":
            signed = order.signed_at.date() if order.signed_at else order.created_at.date()
            dispatcher.utter_message(response=Response.RETURN_EXPIRED_NO_REASON, order_id=order.id,
                                     signed_date=md(signed), deadline=md(verdict.deadline) if verdict.deadline else "")
            return events
        if verdict.code == "quality_expired":
            dispatcher.utter_message(response=Response.RETURN_EXPIRED_QUALITY, order_id=order.id,
                                     deadline=md(verdict.deadline) if verdict.deadline else "")
            return events
        kind = kind_of(tracker)
        case = await aftersales.open_return(order, kind, reason, detail=slot_text(tracker, Slot.EXCHANGE_DETAIL))
        reason_kind = classify_reason(reason)
        dispatcher.utter_message(response=Response.RETURN_SUBMITTED, kind=kind.value, case_id=case.id,
                                 reason_kind=reason_kind.value)
        if reason_kind is ReasonKind.MERCHANT:  # a product problem: after-sales follows it up
            detail = f"{kind.value}：{reason}；售后单 {case.id}"
            created = await open_ticket(self.services, dispatcher, tracker, Category.RETURN, order, reason, detail)
            events.append(SlotSet(Slot.TICKET_ID, created.ticket.number))
        return events
