"""The second request of a message that asked for two (「查下物流，顺便开个发票」), offered once the first is answered.

The classifier reads the first request as the message's intent and puts the second in the `next_request`
entity, which fills the slot (understanding/requests.py). Whatever flow answers the first request, a
proof of identity or an order question first included, ends in an action that answers it; those actions
say so (`ServiceAction.answers_request`) and `ServiceAction.run` then calls `offer_next_request`: it offers
the second request with a 好的 button whose payload is that intent (the gate lets an offered payload
through), and forgets it. It waits while the answer asks the customer something or another offer is
open, and drops it when the customer left the first request: a form stopped, a person took over, a new
session began, or another task was started.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.fallback import topic_label
from actions.names import Form, Response, Slot
from understanding.requests import NEXT_REQUEST, REQUEST_INTENTS

# Actions after which the first request is over without an answer (names as in domain.yml).
LEAVES_THE_REQUEST = frozenset({"action_stop_form", "action_request_human", "action_restart"})
NEW_CONVERSATION = frozenset({"session_started", "restart"})
# Responses that ask the customer something, beyond utter_ask_* and those with buttons.
ASKING = frozenset({Response.PROOF_NEEDED})


def carries_next_request(parse_data: Mapping[str, Any]) -> bool:
    return any(entity.get("entity") == NEXT_REQUEST for entity in parse_data.get("entities") or [])


def still_wanted(events: Iterable[Mapping[str, Any]], request_intents: Collection[str] = REQUEST_INTENTS) -> bool:
    """Whether the latest message that carried a second request is still being answered.

    Not when, since that message, a form was stopped, a person took over, a new session began, or the customer
    started another task: said a different request while no form was asking, or a different form began."""
    carried, left = False, False
    first_intent, first_form, loop = "", "", None
    for event in events:
        kind = event.get("event")
        if kind == "active_loop":
            loop = event.get("name")
            if carried and loop and loop != Form.IDENTITY:
                first_form = first_form or str(loop)
                left = left or loop != first_form
        elif kind == "user":
            parse_data = event.get("parse_data") or {}
            intent = str((parse_data.get("intent") or {}).get("name") or "")
            if carries_next_request(parse_data):
                carried, left, first_intent, first_form = True, False, intent, ""
            elif carried and loop is None and intent in request_intents and intent != first_intent:
                left = True
        elif kind in NEW_CONVERSATION or (kind == "action" and event.get("name") in LEAVES_THE_REQUEST):
            left = True
    return carried and not left


def _has_buttons(message: Mapping[str, Any], domain: DomainDict) -> bool:
    if message.get("buttons"):
        return True
    variations: Any = (domain.get("responses") or {}).get(message.get("response") or "") or []
    return any(variation.get("buttons") for variation in variations)


def waits_for_customer(messages: Sequence[Mapping[str, Any]], events: Sequence[Mapping[str, Any]],
                       tracker: Tracker, domain: DomainDict) -> bool:
    """Whether the reply just made leaves the customer something to answer first: a question, a choice, another
    offer, a form still asking (the second request is offered after that is done)."""
    if (tracker.active_loop or {}).get("name"):
        return True
    pending_offer = tracker.get_slot(Slot.PENDING_OFFER)
    for event in events:
        if event.get("event") == "followup" or (event.get("event") == "active_loop" and event.get("name")):
            return True
        if event.get("event") == "slot" and event.get("name") == Slot.PENDING_OFFER:
            pending_offer = event.get("value")
    if pending_offer:
        return True
    for message in messages:
        response = str(message.get("response") or "")
        if response.startswith("utter_ask_") or response in ASKING or _has_buttons(message, domain):
            return True
    return False


def offer_next_request(dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict,
                       events: Sequence[EventType]) -> list[EventType]:
    """After an action answered a request: offer the second request of the customer's message and forget it.

    `events` are the answering action's own; nothing is said while the reply waits for the customer, and the
    request is forgotten unsaid once the customer has left the first one."""
    intent = str(tracker.get_slot(Slot.NEXT_REQUEST) or "")
    if not intent:
        return []
    forget: list[EventType] = [SlotSet(Slot.NEXT_REQUEST, None)]
    label = topic_label(domain, intent) if intent in REQUEST_INTENTS else None
    if not label or not still_wanted(tracker.events):
        return forget
    if waits_for_customer(dispatcher.messages, events, tracker, domain):
        return []
    dispatcher.utter_message(response=Response.OFFER_NEXT_REQUEST, request=label, next_intent=intent)
    return forget
