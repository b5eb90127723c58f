"""Repair requests: order or product, fault, contact phone and a preferred time."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ServiceAction, slot_text
from actions.context import current_customer, latest_intent, latest_text, load_order, md
from actions.names import Intent, Response, Slot
from actions.order_slot import OrderSlotValidation
from actions.tickets import open_ticket
from service.aftersales import describes_fault
from service.privacy import mask_phone
from service.tickets.rules import Category
from service.timeparse import appointment

FORM_SLOTS = (Slot.FAULT_DESCRIPTION, Slot.CONTACT_PHONE, Slot.PREFERRED_TIME)
PHONE_DIGITS = 11


class ValidateRepairForm(OrderSlotValidation):
    def name(self) -> str:
        return "validate_repair_form"

    async def extract_fault_description(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # "冰箱不制冷了" already says what is wrong: do not ask again.
        if tracker.get_slot(Slot.REQUESTED) is None and not tracker.get_slot(Slot.FAULT_DESCRIPTION):
            text = latest_text(tracker)
            if describes_fault(text):
                return {Slot.FAULT_DESCRIPTION: text}
        return {}

    async def extract_contact_phone(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot(Slot.REQUESTED) != Slot.CONTACT_PHONE or latest_intent(tracker) != Intent.AFFIRM:
            return {}
        customer, _ = await current_customer(self.services, tracker)
        return {Slot.CONTACT_PHONE: customer.phone} if customer else {}

    def validate_fault_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        return {Slot.FAULT_DESCRIPTION: text[:200] if len(text) >= 2 else None}

    def validate_contact_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        digits = "".join(ch for ch in str(value or "") if ch.isdigit())
        if len(digits) != PHONE_DIGITS or not digits.startswith("1"):
            dispatcher.utter_message(response=Response.PHONE_INVALID)
            return {Slot.CONTACT_PHONE: None}
        return {Slot.CONTACT_PHONE: digits}

    def validate_preferred_time(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        when = appointment(str(value or ""), self.services.clock.today())
        if when is None:
            dispatcher.utter_message(response=Response.PREFERRED_TIME_INVALID)
        return {Slot.PREFERRED_TIME: when}


class ActionAskContactPhone(ServiceAction):
    def name(self) -> str:
        return "action_ask_contact_phone"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        customer, events = await current_customer(self.services, tracker)
        if customer is None:
            dispatcher.utter_message(response=Response.ASK_CONTACT_PHONE)
        else:
            dispatcher.utter_message(response=Response.ASK_CONTACT_PHONE_KNOWN, masked_phone=mask_phone(customer.phone))
        return events


class ActionSubmitRepair(ServiceAction):
    answers_request = True

    def name(self) -> str:
        return "action_submit_repair"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        events: list[EventType] = [SlotSet(slot, None) for slot in FORM_SLOTS]
        order = await load_order(self.services, dispatcher, tracker)
        fault = slot_text(tracker, Slot.FAULT_DESCRIPTION)
        phone = slot_text(tracker, Slot.CONTACT_PHONE)
        when = slot_text(tracker, Slot.PREFERRED_TIME)
        if order is None or not (fault and phone and when):
            return events
        aftersales = self.services.aftersales
        warranty = await aftersales.warranty(order)
        case = await aftersales.open_repair(order, fault, phone, when)
        common = {"product": warranty.product_name, "order_id": order.id, "fault": fault, "case_id": case.id,
                  "preferred_time": when, "masked_phone": mask_phone(phone)}
        if warranty.active and warranty.until:
            dispatcher.utter_message(response="utter_repair_submitted", until=warranty.until.isoformat(), **common)
        else:
            dispatcher.utter_message(response="utter_repair_submitted_paid", **common)
        if warranty.repairs:
            last = warranty.repairs[-1]
            dispatcher.utter_message(response=Response.REPAIR_HISTORY, date=md(last.reported_at.date()),
                                     fault=last.fault, result=last.result)
        detail = f"{fault}；维修单 {case.id}；期望时间 {when}；{'保内' if warranty.active else '保外'}"
        created = await open_ticket(self.services, dispatcher, tracker, Category.REPAIR, order, fault, detail)
        return events + [SlotSet(Slot.TICKET_ID, created.ticket.number)]
