"""Who the customer is in this conversation, and asking for a proof when a task needs one.

The identity lives in slots that only actions set (customer_id, identity_proof, verified_order), from
proofs (service/identity.py): a claim the channel checked, a one-time code, an order's phone digits.
`resolve_presented` turns a newly presented channel claim into those slots before any action runs.
`ProofSlots` gives the forms their proof questions: a phone number and its SMS code, or, for an
anonymous order lookup, the last 4 digits of the order's phone.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import channel_of, latest_text
from actions.deps import Services
from actions.names import Form, Response, Slot
from service.access import AccessDenied, Need
from service.errors import NotFound
from service.identity import ANONYMOUS, Claim, Identity
from service.models import Customer
from service.otp import Outcome, TooSoon
from service.proofs import LastFour, phone_in

SIX_DIGITS = re.compile(r"(?<!\d)(\d{6})(?!\d)")
FOUR_DIGITS = re.compile(r"(?<!\d)(\d{4})(?!\d)")
RESEND = re.compile(r"重发|重新发|再发|没收到|收不到|没有收到|没看到")


def identity_of(tracker: Tracker) -> Identity:
    """The identity the conversation holds now (after `resolve_presented`)."""
    return Identity.from_slots(tracker.get_slot(Slot.CUSTOMER_ID), tracker.get_slot(Slot.IDENTITY_PROOF),
                               tracker.get_slot(Slot.VERIFIED_ORDER))


def presented_claim(tracker: Tracker) -> Claim | None:
    """The newest identity claim a channel checked: on a customer message, else the session's first metadata."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            claim = Claim.from_metadata(event.get("metadata"))
            if claim is not None:
                return claim
    return Claim.from_metadata(tracker.get_slot(Slot.SESSION_METADATA))


def identity_events(identity: Identity, customer: Customer | None = None) -> list[EventType]:
    """The slots that hold `identity` (a later proof replaces the earlier one)."""
    return [SlotSet(Slot.CUSTOMER_ID, identity.customer_id if identity.proven else None),
            SlotSet(Slot.IDENTITY_PROOF, identity.proof.value if identity.proof else None),
            SlotSet(Slot.VERIFIED_ORDER, identity.order_id),
            SlotSet(Slot.CUSTOMER_VIP, bool(customer and customer.is_vip))]


async def resolve_presented(services: Services, tracker: Tracker) -> list[EventType]:
    """Slot events for a claim presented for the first time (none when it was seen before)."""
    return await resolve_claim(services, tracker, presented_claim(tracker))


async def resolve_claim(services: Services, tracker: Tracker, claim: Claim | None) -> list[EventType]:
    """Slot events that make `claim` the identity, unless it was seen before (the same proof presented again)."""
    if claim is None or claim.ref == tracker.get_slot(Slot.IDENTITY_SEEN):
        return []
    events: list[EventType] = [SlotSet(Slot.IDENTITY_SEEN, claim.ref)]
    identity = await services.identity.from_claim(claim)
    if identity is None:
        return events
    customer = await services.customers.of(identity)
    await services.identity.remember(identity, tracker.sender_id, channel_of(tracker))
    return identity_events(identity, customer) + events


async def proven_events(services: Services, dispatcher: CollectingDispatcher, tracker: Tracker,
                        identity: Identity) -> dict[str, Any]:
    """After a successful code: the identity slots, a greeting by name, and the order in context re-checked."""
    customer = await services.customers.of(identity)
    await services.identity.remember(identity, tracker.sender_id, channel_of(tracker))
    dispatcher.utter_message(response=Response.VERIFIED, name=customer.name if customer else "")
    slots = {event["name"]: event["value"] for event in identity_events(identity, customer)}
    slots.update({Slot.VERIFY_PHONE: None, Slot.VERIFY_CODE: None, Slot.PHONE_LAST4: None})
    order_id = str(tracker.get_slot(Slot.ORDER_ID) or "")
    if order_id:
        try:
            await services.orders.get_for(order_id, identity)
        except AccessDenied:
            dispatcher.utter_message(response=Response.ORDER_NOT_YOURS, order_id=order_id)
            slots[Slot.ORDER_ID] = None
        except NotFound:
            dispatcher.utter_message(response=Response.ORDER_NOT_FOUND, order_id=order_id)
            slots[Slot.ORDER_ID] = None
    return slots


def _phone_entity(tracker: Tracker) -> str | None:
    value = next(tracker.get_latest_entity_values("phone"), None)
    return phone_in(str(value)) if value else None


def _minutes(seconds: int) -> int:
    return max(1, (seconds + 59) // 60)


class ProofSlots:
    """Extraction and validation of the proof slots, for any form validator with `self.services`."""

    services: Services

    # --- the phone and its code --------------------------------------------------------------------
    async def extract_verify_phone(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> dict[str, Any]:
        if identity_of(tracker).proven:
            return {}
        requested = tracker.get_slot(Slot.REQUESTED)
        text = latest_text(tracker).strip()
        phone = _phone_entity(tracker) or phone_in(text)
        if requested == Slot.VERIFY_CODE:
            if phone:  # a corrected number: a code to that one
                return {Slot.VERIFY_PHONE: phone}
            if RESEND.search(text) and tracker.get_slot(Slot.VERIFY_PHONE):
                return {Slot.VERIFY_PHONE: tracker.get_slot(Slot.VERIFY_PHONE)}
            return {}
        if phone and requested in (None, Slot.VERIFY_PHONE, Slot.ORDER_ID):
            return {Slot.VERIFY_PHONE: phone}
        if requested == Slot.VERIFY_PHONE and text:
            return {Slot.VERIFY_PHONE: text}  # not a number: validate_verify_phone says so (digressions are rules)
        return {}

    async def validate_verify_phone(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> dict[str, Any]:
        phone = phone_in(str(value or ""))
        if not phone:
            dispatcher.utter_message(response=Response.VERIFY_PHONE_INVALID)
            return {Slot.VERIFY_PHONE: None}
        earlier = tracker.get_slot(Slot.VERIFY_PHONE) == phone and _sent_before(tracker)
        try:
            sent = await self.services.identity.send_code(phone, tracker.sender_id)
        except TooSoon as wait:
            dispatcher.utter_message(response=Response.VERIFY_TOO_SOON, minutes=_minutes(wait.retry_after_s))
            return {Slot.VERIFY_PHONE: phone if earlier else None}
        dispatcher.utter_message(response=Response.VERIFY_CODE_SENT, masked_phone=sent.masked_phone,
                                 minutes=sent.minutes)
        return {Slot.VERIFY_PHONE: phone, Slot.VERIFY_CODE: None}

    async def extract_verify_code(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> dict[str, Any]:
        if tracker.get_slot(Slot.REQUESTED) != Slot.VERIFY_CODE or identity_of(tracker).proven:
            return {}
        text = latest_text(tracker).strip()
        if phone_in(text) or (RESEND.search(text) and not SIX_DIGITS.search(text)):
            return {}  # a new number or "send it again": extract_verify_phone's
        match = SIX_DIGITS.search(text)
        return {Slot.VERIFY_CODE: match.group(1) if match else text} if text else {}

    async def validate_verify_code(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> dict[str, Any]:
        match = SIX_DIGITS.search(str(value or ""))
        phone = str(tracker.get_slot(Slot.VERIFY_PHONE) or "")
        if not phone:
            return {Slot.VERIFY_CODE: None}
        if not match:
            dispatcher.utter_message(response=Response.VERIFY_CODE_FORMAT)
            return {Slot.VERIFY_CODE: None}
        result = await self.services.identity.check_code(phone, tracker.sender_id, match.group(1))
        if result.identity is not None:
            return await proven_events(self.services, dispatcher, tracker, result.identity)
        if result.check.outcome is Outcome.WRONG:
            dispatcher.utter_message(response=Response.VERIFY_CODE_WRONG, tries_left=result.check.tries_left)
            return {Slot.VERIFY_CODE: None}
        dispatcher.utter_message(response=Response.VERIFY_CODE_EXPIRED)
        return {Slot.VERIFY_CODE: None, Slot.VERIFY_PHONE: None}

    # --- an order's phone digits (anonymous status and logistics) ----------------------------------
    async def extract_phone_last4(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> dict[str, Any]:
        if tracker.get_slot(Slot.REQUESTED) != Slot.PHONE_LAST4:
            return {}
        text = latest_text(tracker).strip()
        if phone_in(text):
            return {}  # a whole number: the customer chose the code instead
        match = FOUR_DIGITS.search(text)
        return {Slot.PHONE_LAST4: match.group(1) if match else text} if text else {}

    async def validate_phone_last4(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> dict[str, Any]:
        match = FOUR_DIGITS.search(str(value or ""))
        order_id = str(tracker.get_slot(Slot.ORDER_ID) or "")
        if not order_id:
            return {Slot.PHONE_LAST4: None}
        if not match:
            dispatcher.utter_message(response=Response.LAST4_FORMAT)
            return {Slot.PHONE_LAST4: None}
        result = await self.services.identity.check_last4(order_id, match.group(1), tracker.sender_id)
        if result.outcome is LastFour.OK and result.identity is not None:
            slots = {e["name"]: e["value"] for e in identity_events(result.identity)}
            return {**slots, Slot.PHONE_LAST4: None}
        if result.outcome is LastFour.WRONG:
            dispatcher.utter_message(response=Response.LAST4_WRONG, order_id=order_id, tries_left=result.tries_left)
            return {Slot.PHONE_LAST4: None}
        dispatcher.utter_message(response=Response.LAST4_LOCKED, minutes=_minutes(result.retry_after_s))
        return {Slot.PHONE_LAST4: None, Slot.ORDER_ID: None}


def _sent_before(tracker: Tracker) -> bool:
    """Whether the bot already told this conversation that a code was sent."""
    return any(e.get("event") == "bot" and (e.get("metadata") or {}).get("utter_action") == Response.VERIFY_CODE_SENT
               for e in tracker.events)


def proof_slots(identity: Identity, anonymous_ok: bool, tracker: Tracker) -> list[str] | None:
    """The proof questions a task still needs before its own: None when the identity is enough.

    `anonymous_ok` tasks (an order's status and logistics) take an order and its phone's last 4 digits,
    unless the customer has started on a phone number and its code.
    """
    if identity.proven:
        return None
    order_id = str(tracker.get_slot(Slot.ORDER_ID) or "")
    if anonymous_ok and not tracker.get_slot(Slot.VERIFY_PHONE):
        if order_id and identity.opens_order(order_id):
            return None
        return [Slot.ORDER_ID, Slot.PHONE_LAST4, Slot.VERIFY_PHONE]  # the phone only to hear one
    return [Slot.VERIFY_PHONE, Slot.VERIFY_CODE]


def ask_proof_for(dispatcher: CollectingDispatcher, task: str) -> list[EventType]:
    """Ask for a proof of identity, then carry on with `task` (ActionIdentityVerified resumes it)."""
    dispatcher.utter_message(response=Response.PROOF_NEEDED)
    return [SlotSet(Slot.PENDING_TASK, task), FollowupAction(Form.IDENTITY)]


def need_for(anonymous_ok: bool) -> Need:
    return Need.STATUS if anonymous_ok else Need.OWNER


__all__ = ["ANONYMOUS", "ProofSlots", "ask_proof_for", "identity_events", "identity_of", "need_for",
           "presented_claim", "proof_slots", "proven_events", "resolve_claim", "resolve_presented"]
