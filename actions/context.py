"""What the conversation already tells us: the customer, the message's metadata, entities."""

from __future__ import annotations

from datetime import date

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.deps import Services
from actions.names import Response, Slot
from service.access import AccessDenied, Need
from service.errors import NotFound
from service.models import Customer, Order
from service.tickets.drafting import Line


async def current_customer(services: Services, tracker: Tracker) -> tuple[Customer | None, list[EventType]]:
    """The proven customer (None when nobody is proven). Actions resolve new proofs before they run
    (actions/base.py), so there is nothing left to remember here: the second value stays empty."""
    from actions.identity import identity_of  # identity imports this module's neighbours

    return await services.customers.of(identity_of(tracker)), []


def entity(tracker: Tracker, name: str) -> str | None:
    """The latest message's value for entity `name`."""
    value = next(tracker.get_latest_entity_values(name), None)
    return str(value) if value else None


def latest_text(tracker: Tracker) -> str:
    return str((tracker.latest_message or {}).get("text") or "")


def latest_intent(tracker: Tracker) -> str:
    return str(((tracker.latest_message or {}).get("intent") or {}).get("name") or "")


def md(day: date) -> str:
    """11月22日."""
    return f"{day.month}月{day.day}日"


def order_button(order: Order) -> dict[str, str]:
    title = f"{order.id} {order.summary} · {order.status.value}"
    return {"title": title, "payload": f'/inform{{"order_id":"{order.id}"}}'}


async def load_order(services: Services, dispatcher: CollectingDispatcher, tracker: Tracker,
                     need: Need = Need.OWNER) -> Order | None:
    """The order in context, if the customer's proof allows `need`; otherwise tells them why not."""
    from actions.identity import identity_of

    order_id = str(tracker.get_slot(Slot.ORDER_ID) or "").strip()
    if not order_id:
        dispatcher.utter_message(response=Response.ASK_ORDER_ID)
        return None
    try:
        return await services.orders.get_for(order_id, identity_of(tracker), need)
    except NotFound:
        dispatcher.utter_message(response=Response.ORDER_NOT_FOUND, order_id=order_id)
    except AccessDenied as denied:
        say_denied(dispatcher, denied, order_id)
    return None


def say_denied(dispatcher: CollectingDispatcher, denied: AccessDenied, order_id: str = "") -> None:
    """The polite answer to a refused access: ask for a proof, or the order is not theirs."""
    if denied.code == "not_owner":
        dispatcher.utter_message(response=Response.ORDER_NOT_YOURS, order_id=order_id)
    else:
        dispatcher.utter_message(response=Response.PROOF_NEEDED)


async def order_if_visible(services: Services, tracker: Tracker, order_id: str | None) -> Order | None:
    """The order to attach to a ticket or a handoff: only one the customer may see (else None, silently)."""
    from actions.identity import identity_of

    if not order_id:
        return None
    try:
        return await services.orders.get_for(order_id.upper(), identity_of(tracker), Need.STATUS)
    except (NotFound, AccessDenied):
        return None


def transcript(tracker: Tracker) -> list[Line]:
    """The conversation so far as (speaker, text) lines; agent messages are marked as such."""
    lines = []
    for event in tracker.events:
        kind = event.get("event")
        if kind == "user":
            lines.append(Line("user", str(event.get("text") or "")))
        elif kind == "bot" and event.get("text"):
            from_agent = (event.get("metadata") or {}).get("from_agent")
            lines.append(Line("agent" if from_agent else "bot", str(event["text"])))
    return lines


def channel_of(tracker: Tracker) -> str:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return str(event.get("input_channel") or "")
    return ""
