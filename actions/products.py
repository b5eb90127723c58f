"""Product questions: stock per warehouse, price, specifications."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ServiceAction, slot_text
from actions.context import entity, latest_text
from actions.deps import Services
from actions.names import Response, Slot
from service.models import yuan
from service.products import Aspect


async def answer_product(services: Services, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """Answer about the product named now (or earlier in the conversation)."""
    named = entity(tracker, "product") or ""
    text = latest_text(tracker)
    found = await services.products.find(named, text, slot_text(tracker, Slot.PRODUCT))
    if not found:
        if named:
            dispatcher.utter_message(response=Response.PRODUCT_NOT_FOUND, name=named)
        else:
            dispatcher.utter_message(response=Response.ASK_PRODUCT)
        return []
    answer = await services.products.answer(found[0], text)
    product = answer.product
    common = {"product": product.name, "brand": product.brand, "price": yuan(product.price)}
    if answer.aspect is Aspect.PRICE:
        dispatcher.utter_message(response=Response.PRODUCT_PRICE, **common)
    elif answer.aspect is Aspect.SPECS:
        dispatcher.utter_message(response=Response.PRODUCT_SPECS, specs=answer.specs_text, **common)
    elif answer.total_stock == 0:
        dispatcher.utter_message(response="utter_product_out_of_stock", **common)
    elif answer.aspect is Aspect.STOCK:
        dispatcher.utter_message(response=Response.PRODUCT_STOCK, stock=answer.stock_text, **common)
        city = entity(tracker, "city")
        local = answer.stock_in(city) if city else None
        if city and local:
            dispatcher.utter_message(response="utter_product_stock_local", city=city,
                                     warehouse=city.rstrip("市省") + "仓", quantity=local)
    else:
        dispatcher.utter_message(response=Response.PRODUCT_OVERVIEW, stock=answer.stock_text,
                                 specs=answer.specs_text, **common)
    return [SlotSet(Slot.PRODUCT, product.name)]


class ActionProductInfo(ServiceAction):
    answers_request = True

    def name(self) -> str:
        return "action_product_info"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        return await answer_product(self.services, dispatcher, tracker)
