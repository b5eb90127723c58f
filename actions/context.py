"""What the conversation already tells us: the customer, the message's metadata, entities."""

from __future__ import annotations

from datetime import date
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.deps import Services
from actions.names import Response, Slot
from service.errors import NotFound
from service.models import Customer, Order
from service.tickets.drafting import Line


def latest_metadata(tracker: Tracker) -> dict[str, Any]:
    """Metadata the channel sent with the customer's latest message."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return dict(event.get("metadata") or {})
    return {}


def identity_metadata(tracker: Tracker) -> dict[str, Any]:
    """The latest message's metadata, else what the session started with."""
    metadata = latest_metadata(tracker)
    if metadata.get("customer_id") or metadata.get("phone"):
        return metadata
    return dict(tracker.get_slot(Slot.SESSION_METADATA) or {})


async def current_customer(services: Services, tracker: Tracker) -> tuple[Customer | None, list[EventType]]:
    """The identified customer and the SlotSet to remember them (empty if already known)."""
    customer_id = tracker.get_slot(Slot.CUSTOMER_ID)
    if customer_id:
        return await services.customers.get(str(customer_id)), []
    customer = await services.customers.identify(identity_metadata(tracker))
    if customer is None:
        return None, []
    return customer, [SlotSet(Slot.CUSTOMER_ID, customer.id), SlotSet("customer_vip", customer.is_vip)]


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


async def load_order(services: Services, dispatcher: CollectingDispatcher, tracker: Tracker) -> Order | None:
    """The order in context; tells the customer when it cannot be found."""
    order_id = str(tracker.get_slot(Slot.ORDER_ID) or "").strip()
    if not order_id:
        dispatcher.utter_message(response=Response.ASK_ORDER_ID)
        return None
    try:
        return await services.orders.get(order_id)
    except NotFound:
        dispatcher.utter_message(response=Response.ORDER_NOT_FOUND, order_id=order_id)
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
