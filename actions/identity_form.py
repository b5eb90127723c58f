"""The identity form (a phone number, then its SMS code) and carrying on with the task that needed it."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ServiceAction, ServiceFormValidation, slot_text
from actions.greeting import ActionCustomerProfile
from actions.identity import ProofSlots, identity_of
from actions.names import Response, Slot
from actions.order_slot import ActionAskOrderId
from actions.refunds import answer_refund
from actions.tickets import ActionTicketStatus


class ValidateIdentityForm(ProofSlots, ServiceFormValidation):
    def name(self) -> str:
        return "validate_identity_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        return [] if identity_of(tracker).proven else [Slot.VERIFY_PHONE, Slot.VERIFY_CODE]


def said_this_turn(tracker: Tracker, *responses: str) -> bool:
    """Whether the bot has said one of `responses` since the customer's latest message."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "bot" and (event.get("metadata") or {}).get("utter_action") in responses:
            return True
    return False


class ActionAskVerifyPhone(ServiceAction):
    """Asks for the phone number, first saying why, unless the bot has just said so (or asks again after a miss)."""

    def name(self) -> str:
        return "action_ask_verify_phone"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if said_this_turn(tracker, Response.VERIFY_PHONE_INVALID):
            return []  # which asks already
        if said_this_turn(tracker, Response.VERIFY_CODE_EXPIRED, Response.VERIFY_TOO_SOON):
            dispatcher.utter_message(response=Response.ASK_VERIFY_PHONE_AGAIN)
            return []
        if not said_this_turn(tracker, Response.PROOF_NEEDED):
            dispatcher.utter_message(response=Response.PROOF_NEEDED)
        dispatcher.utter_message(response=Response.ASK_VERIFY_PHONE)
        return []


class ActionAskVerifyCode(ServiceAction):
    """Asks for the code, unless the bot has just said in this turn that it sent one (which asks already)."""

    def name(self) -> str:
        return "action_ask_verify_code"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if not said_this_turn(tracker, Response.VERIFY_CODE_SENT, Response.VERIFY_CODE_WRONG, Response.VERIFY_CODE_FORMAT):
            dispatcher.utter_message(response=Response.ASK_VERIFY_CODE)
        return []


# What the customer was doing when the bot asked for a proof, and how to carry on.
RESUMABLE = ("query_profile", "query_ticket_status", "refund_status")


class ActionIdentityVerified(ServiceAction):
    """The identity form is done: carry on with the task that needed it (or, after a bare phone number, the orders)."""

    answers_request = True

    def name(self) -> str:
        return "action_identity_verified"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        task = slot_text(tracker, Slot.PENDING_TASK)
        done: list[EventType] = [SlotSet(Slot.PENDING_TASK, None)]
        if not identity_of(tracker).proven:
            return done
        services = self._services
        if task == "query_profile":
            return done + await ActionCustomerProfile(services).handle(dispatcher, tracker, domain)
        if task == "query_ticket_status":
            return done + await ActionTicketStatus(services).handle(dispatcher, tracker, domain)
        if task == "refund_status" and slot_text(tracker, Slot.REFUND_ID):
            return done + await answer_refund(self.services, dispatcher, tracker, slot_text(tracker, Slot.REFUND_ID))
        return done + await ActionAskOrderId(services).handle(dispatcher, tracker, domain)
