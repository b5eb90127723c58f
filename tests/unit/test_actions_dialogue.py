"""Fallback topics, stopping forms, offers and ratings."""

from __future__ import annotations

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.dialogue import ActionDeclineOffer, ActionStopForm, parse_rating
from actions.fallback import ActionDefaultAskAffirmation
from tests.trackers import domain, responses, said, slot_events, tracker


async def test_fallback_offers_the_two_likeliest_topics_and_none_of_them() -> None:
    ranking = [{"name": "nlu_fallback", "confidence": 0.5}, {"name": "faq", "confidence": 0.2},
               {"name": "query_logistics", "confidence": 0.15}, {"name": "return_request", "confidence": 0.1},
               {"name": "urge_delivery", "confidence": 0.05}]
    t = tracker("那个东西咋整", "nlu_fallback", entities={"order_id": "E202611010001"}, ranking=ranking)
    dispatcher = CollectingDispatcher()
    await ActionDefaultAskAffirmation().run(dispatcher, t, domain())
    buttons = said(dispatcher, "utter_ask_affirmation")["buttons"]
    assert [b["title"] for b in buttons] == ["查询物流", "申请退货", "都不是"]
    assert buttons[0]["payload"] == '/query_logistics{"order_id": "E202611010001"}'
    assert buttons[-1]["payload"] == "/out_of_scope"


async def test_stopping_a_form_clears_what_it_collected() -> None:
    t = tracker("算了", "stop", slots={"order_id": "E202611120004", "return_reason": "尺码小了"}, active_loop="return_form")
    dispatcher = CollectingDispatcher()
    events = await ActionStopForm().run(dispatcher, t, domain())
    assert responses(dispatcher) == ["utter_form_stopped"]
    assert {"event": "active_loop", "timestamp": None, "name": None} in events
    slots = slot_events(events)
    assert slots["return_reason"] is None and "order_id" not in slots  # the order stays as context


async def test_declining_an_offer_forgets_it() -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionDeclineOffer().run(dispatcher, tracker("不用了", "deny", slots={"pending_offer": "human"}), domain())
    assert slot_events(events) == {"pending_offer": None}


@pytest.mark.parametrize("text, rating", [
    ("5分", 5), ("给你打4分吧", 4), ("五星好评", 5), ("非常满意", 5), ("一般般吧", 3), ("很差", 1), ("嗯", None),
])
def test_ratings(text: str, rating: int | None) -> None:
    assert parse_rating(text) == rating
