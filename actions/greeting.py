"""Session start (identity from channel metadata), greetings and the customer's profile."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ServiceAction
from actions.context import current_customer
from actions.names import Response, Slot

# Slots that describe the customer or the conversation's state machine and must not be
# carried into a new session (the rest is context worth keeping, like the order in question).
NOT_CARRIED = {Slot.REQUESTED, Slot.PENDING_OFFER, Slot.SESSION_METADATA}


class ActionSessionStart(ServiceAction):
    """Starts a session, keeps the useful context, and identifies the customer."""

    def name(self) -> str:
        return "action_session_start"

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
            customer = await self.services.customers.identify(metadata)
            if customer is not None:
                events += [SlotSet(Slot.CUSTOMER_ID, customer.id), SlotSet("customer_vip", customer.is_vip)]
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
    def name(self) -> str:
        return "action_customer_profile"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        customer, events = await current_customer(self.services, tracker)
        if customer is None:
            dispatcher.utter_message(response=Response.PROFILE_UNKNOWN)
            return []
        dispatcher.utter_message(response=Response.PROFILE, name=customer.name, tier=customer.tier.value,
                                 points=customer.points)
        if customer.is_vip:
            dispatcher.utter_message(response="utter_profile_vip_benefits", tier=customer.tier.value)
        else:
            dispatcher.utter_message(response="utter_profile_upgrade_hint")
        return events
