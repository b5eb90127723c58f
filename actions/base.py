"""Base classes: service access and the polite reply when a backend fails."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.deps import Services, default_services
from actions.names import Response, Slot
from service.errors import BackendUnavailable
from service.logs import log_event

logger = logging.getLogger(__name__)


def apologised_this_turn(tracker: Tracker) -> bool:
    """Whether the backend apology was already sent since the customer's last message."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "bot" and (event.get("metadata") or {}).get("utter_action") == Response.BACKEND_ERROR:
            return True
    return False


def apologise(dispatcher: CollectingDispatcher, tracker: Tracker, action: str, error: BackendUnavailable) -> None:
    log_event(logger, "action_backend_unavailable", logging.WARNING, action=action, operation=error.operation,
              cause=error.cause)
    already = apologised_this_turn(tracker) or any(
        m.get("response") == Response.BACKEND_ERROR for m in dispatcher.messages
    )
    if not already:
        dispatcher.utter_message(response=Response.BACKEND_ERROR)


class UsesServices:
    """The service layer: the one given (tests) or the process-wide default."""

    def __init__(self, services: Services | None = None) -> None:
        self._services = services

    @property
    def services(self) -> Services:
        return self._services or default_services()


async def with_presented_identity(services: Services, tracker: Tracker) -> list[EventType]:
    """Resolve an identity claim the channel checked and that no action has seen yet; the tracker is updated."""
    from actions.identity import resolve_presented  # identity imports this module's neighbours

    events = await resolve_presented(services, tracker)
    tracker.add_slots(events)
    return events


class ServiceAction(UsesServices, Action, ABC):
    """An action that calls the service layer; backend failures become an apology.

    Before its work, a newly presented proof of identity is turned into the identity slots, so
    `handle` always sees who the customer is now. After the work of an action that answers a
    customer's request (`answers_request`), a second request from the same message is offered
    (actions/next_request.py).
    """

    answers_request: ClassVar[bool] = False

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        identified: list[EventType] = []
        try:
            identified = await with_presented_identity(self.services, tracker)
            events = identified + await self.handle(dispatcher, tracker, domain)
            if self.answers_request:
                from actions.next_request import offer_next_request  # it reads the fallback's topic names

                events += offer_next_request(dispatcher, tracker, domain, events)
            return events
        except BackendUnavailable as error:
            apologise(dispatcher, tracker, self.name(), error)
            return identified

    @abstractmethod
    async def handle(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """The action's work; may raise BackendUnavailable."""


# Slots a form fills with whatever the customer types. When it asks for one of them and the
# classifier is unsure what the answer is ("裙子开线了" read as 算了 at 0.5), the text is the answer:
# a misread answer must not end the form.
FREE_TEXT_SLOTS = frozenset({
    Slot.NEW_ADDRESS, Slot.RETURN_REASON, Slot.EXCHANGE_DETAIL, Slot.INVOICE_TITLE, Slot.TAX_ID, Slot.EMAIL,
    Slot.FAULT_DESCRIPTION, Slot.PREFERRED_TIME, "issue_description", "ticket_note",
})
UNSURE_BELOW = 0.8


def unsure_free_text(tracker: Tracker, requested: str | None) -> str | None:
    """The latest text, when it answers a free-text question and the intent guess is weak."""
    if requested not in FREE_TEXT_SLOTS or tracker.get_slot(requested) is not None:
        return None
    message = tracker.latest_message or {}
    text = str(message.get("text") or "").strip()
    confidence = float((message.get("intent") or {}).get("confidence") or 0.0)
    if not text or text.startswith("/") or confidence >= UNSURE_BELOW:
        return None
    return text


class ServiceFormValidation(UsesServices, FormValidationAction, ABC):
    """A form validator that calls the service layer; a backend failure ends the form politely."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        identified: list[EventType] = []
        try:
            identified = await with_presented_identity(self.services, tracker)
            return identified + await super().run(dispatcher, tracker, domain)
        except BackendUnavailable as error:
            apologise(dispatcher, tracker, self.name(), error)
            return identified + [SlotSet(Slot.REQUESTED, None)]

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events = await super().get_extraction_events(dispatcher, tracker, domain)
        requested = tracker.get_slot(Slot.REQUESTED)
        if requested and requested not in {e.get("name") for e in events}:
            text = unsure_free_text(tracker, requested)
            if text:
                events.append(SlotSet(requested, text))
        return events

    @abstractmethod
    def name(self) -> str:
        """validate_<form name>."""


def slot_text(tracker: Tracker, slot: str) -> str:
    value: Any = tracker.get_slot(slot)
    return str(value).strip() if value not in (None, "") else ""
