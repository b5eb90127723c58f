"""Form answers the classifier cannot tell apart are still understood."""

from __future__ import annotations

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.cancel import ValidateCancelOrderForm, confirmation
from actions.deps import Services
from actions.returns import ValidateReturnForm
from tests.trackers import domain, slot_events, tracker


@pytest.mark.parametrize("text, answer", [("不取消了", False), ("先不取消", False), ("再想想", False),
                                          ("确认取消", True), ("取消吧", True), ("订单号多少来着", None)])
def test_cancel_confirmation_words(text: str, answer: bool | None) -> None:
    assert confirmation(text) is answer


async def test_keep_the_order_although_the_classifier_says_cancel_order(services: Services) -> None:
    t = tracker("不取消了", "cancel_order", slots={"order_id": "E202611150002", "requested_slot": "cancel_confirmed"},
                active_loop="cancel_order_form")
    extracted = await ValidateCancelOrderForm(services).extract_cancel_confirmed(CollectingDispatcher(), t, domain())
    assert extracted == {"cancel_confirmed": False}


async def test_an_unsure_free_text_answer_fills_the_requested_slot(services: Services) -> None:
    slots = {"order_id": "E202611120004", "requested_slot": "return_reason", "customer_id": "C002", "identity_proof": "signed"}
    unsure = tracker("裙子开线了", "stop", slots=slots, active_loop="return_form",
                     ranking=[{"name": "stop", "confidence": 0.52}])
    unsure.latest_message["intent"]["confidence"] = 0.52
    events = await ValidateReturnForm(services).run(CollectingDispatcher(), unsure, domain())
    assert slot_events(events)["return_reason"] == "裙子开线了"
    sure = tracker("算了", "stop", slots=slots, active_loop="return_form")
    sure.latest_message["intent"]["confidence"] = 0.97
    events = await ValidateReturnForm(services).run(CollectingDispatcher(), sure, domain())
    assert "return_reason" not in slot_events(events)
