"""Invoice requests: 抬头, 税号 (companies only) and the e-mail address."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ServiceAction, slot_text
from actions.context import load_order
from actions.names import Response, Slot
from actions.order_slot import OrderSlotValidation
from service.errors import InvalidInput, NotAllowed
from service.invoices import is_company, normalise_email, normalise_tax_id, normalise_title
from service.privacy import mask_email

FORM_SLOTS = (Slot.INVOICE_TITLE, Slot.TAX_ID, Slot.EMAIL)


class ValidateInvoiceForm(OrderSlotValidation):
    def name(self) -> str:
        return "validate_invoice_form"

    async def task_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        title = slot_text(tracker, Slot.INVOICE_TITLE)
        if title and not is_company(title):
            return [s for s in domain_slots if s != Slot.TAX_ID]
        return domain_slots

    def validate_invoice_title(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        try:
            return {Slot.INVOICE_TITLE: normalise_title(str(value or ""))}
        except InvalidInput:
            dispatcher.utter_message(response=Response.INVOICE_TITLE_INVALID)
            return {Slot.INVOICE_TITLE: None}

    def validate_tax_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        try:
            return {Slot.TAX_ID: normalise_tax_id(str(value or ""))}
        except InvalidInput:
            dispatcher.utter_message(response=Response.TAX_ID_INVALID)
            return {Slot.TAX_ID: None}

    def validate_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        try:
            return {Slot.EMAIL: normalise_email(str(value or ""))}
        except InvalidInput:
            dispatcher.utter_message(response=Response.EMAIL_INVALID)
            return {Slot.EMAIL: None}


class ActionSubmitInvoice(ServiceAction):
    answers_request = True

    def name(self) -> str:
        return "action_submit_invoice"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        events: list[EventType] = [SlotSet(slot, None) for slot in FORM_SLOTS]
        order = await load_order(self.services, dispatcher, tracker)
        title = slot_text(tracker, Slot.INVOICE_TITLE)
        email = slot_text(tracker, Slot.EMAIL)
        if order is None or not title or not email:
            return events
        tax_id = slot_text(tracker, Slot.TAX_ID) or None
        try:
            invoice = await self.services.invoices.request(order, title, tax_id, email)
        except NotAllowed:
            dispatcher.utter_message(response=Response.INVOICE_NOT_ALLOWED, order_id=order.id,
                                     status=order.status.value)
            return events
        common = {"order_id": order.id, "title": invoice.title, "email": mask_email(invoice.email),
                  "invoice_id": invoice.id}
        if invoice.tax_id:
            dispatcher.utter_message(response="utter_invoice_requested_company", tax_id=invoice.tax_id, **common)
        else:
            dispatcher.utter_message(response=Response.INVOICE_REQUESTED, **common)
        return events
