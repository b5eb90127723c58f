"""Session start (identity from channel metadata), greetings and the customer's profile."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ServiceAction, apologise
from actions.context import current_customer
from actions.identity import ask_proof_for, resolve_claim
from actions.names import PROOF_SLOTS, Response, Slot
from service.errors import BackendUnavailable
from service.identity import Claim

# Slots of the conversation's state machine, not carried into a new session (the rest is context worth
# keeping: the order in question, and who the customer proved to be).
NOT_CARRIED = {Slot.REQUESTED, Slot.PENDING_OFFER, Slot.SESSION_METADATA, Slot.PENDING_TASK, *PROOF_SLOTS}


class ActionSessionStart(ServiceAction):
    """Starts a session, keeps the useful context, and takes the identity the first message proves."""

    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        # Not the generic run: its identity events would come before SessionStarted, which resets them.
        try:
            return await self.handle(dispatcher, tracker, domain)
        except BackendUnavailable as error:
            apologise(dispatcher, tracker, self.name(), error)
            return [SessionStarted(), ActionExecuted("action_listen")]

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        events: list[EventType] = [SessionStarted()]
        carry = domain.get("session_config", {}).get("carry_over_slots_to_new_session", True)
        if carry:
            events += [
                SlotSet(name, value)
                for name, value in tracker.current_slot_values().items()
                if value is not None and name not in NOT_CARRIED
            ]
        metadata: Any = tracker.get_slot(Slot.SESSION_METADATA)
        if metadata:
            events.append(SlotSet(Slot.SESSION_METADATA, metadata))
            events += await resolve_claim(self.services, tracker, Claim.from_metadata(metadata))
        events.append(ActionExecuted("action_listen"))
        return events


class ActionGreet(ServiceAction):
    """A greeting by name for known customers, and as 金卡/钻石会员 for VIPs."""

    def name(self) -> str:
        return "action_greet"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        customer, events = await current_customer(self.services, tracker)
        if customer is None:
            dispatcher.utter_message(response=Response.GREET)
        elif customer.is_vip:
            dispatcher.utter_message(response=Response.GREET_VIP, tier=customer.tier.value, name=customer.name)
        else:
            dispatcher.utter_message(response=Response.GREET_KNOWN, name=customer.name)
        return events


class ActionCustomerProfile(ServiceAction):
    answers_request = True

    def name(self) -> str:
        return "action_customer_profile"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        customer, events = await current_customer(self.services, tracker)
        if customer is None:
            return ask_proof_for(dispatcher, "query_profile")
        dispatcher.utter_message(response=Response.PROFILE, name=customer.name, tier=customer.tier.value,
                                 points=customer.points)
        if customer.is_vip:
            dispatcher.utter_message(response="utter_profile_vip_benefits", tier=customer.tier.value)
        else:
            dispatcher.utter_message(response="utter_profile_upgrade_hint")
        return events
