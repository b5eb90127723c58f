"""Form answers the classifier cannot tell apart are still understood."""

from __future__ import annotations

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.cancel import ValidateCancelOrderForm, confirmation
from actions.deps import Services
from actions.returns import ValidateReturnForm, stated_reason
from tests.trackers import domain, said, slot_events, tracker


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


LI_NA = {"customer_id": "C002", "identity_proof": "signed"}


async def test_the_named_dress_and_the_reason_in_the_first_message(services: Services) -> None:
    """「裙子不合适想退」 as 李娜: the 连衣裙 (裙子 in the catalogue), and the reason, in one go."""
    t = tracker("裙子不合适想退", "return_request", entities={"product": "裙子"},
                slots={**LI_NA, "return_kind": "退货"}, active_loop="return_form")
    dispatcher = CollectingDispatcher()
    events = await ValidateReturnForm(services).run(dispatcher, t, domain())
    slots = slot_events(events)
    assert (slots["order_id"], slots["return_reason"]) == ("E202611120004", "裙子不合适想退")
    assert said(dispatcher, "utter_order_matched")["product"] == "连衣裙"
    assert slots.get("requested_slot") is None  # all given: the rule submits it


async def test_a_reason_given_while_the_order_is_asked_is_taken(services: Services) -> None:
    slots = {"customer_id": "C001", "identity_proof": "signed", "return_kind": "退货", "requested_slot": "order_id"}
    events = await ValidateReturnForm(services).run(CollectingDispatcher(), tracker("尺码小了", "inform", slots=slots,
                                                                                    active_loop="return_form"), domain())
    assert slot_events(events)["return_reason"] == "尺码小了"
    assert slot_events(events).get("requested_slot", "order_id") == "order_id"  # the order is still to come
    # then the order: the form is done without asking the reason again
    events = await ValidateReturnForm(services).run(
        CollectingDispatcher(), tracker("E202611120004", entities={"order_id": "E202611120004"},
                                        slots={**slots, **LI_NA, "order_id": "E202611120004", "return_reason": "尺码小了"},
                                        active_loop="return_form"), domain())
    assert slot_events(events)["requested_slot"] is None


@pytest.mark.parametrize("text, intent", [("我要退货", "return_request"), ("E202611120004", "inform"),
                                          ("退货运费谁出", "faq"), ("算了", "stop")])
async def test_no_reason_is_read_into_other_answers(services: Services, text: str, intent: str) -> None:
    slots = {"customer_id": "C001", "identity_proof": "signed", "return_kind": "退货", "requested_slot": "order_id"}
    t = tracker(text, intent, slots=slots, active_loop="return_form")
    assert await ValidateReturnForm(services).extract_return_reason(CollectingDispatcher(), t, domain()) == {}


@pytest.mark.parametrize("text", ["尺码小了", "裙子不合适想退", "质量问题，裙子开线了", "不想要了", "颜色和图片不一样"])
def test_stated_reasons(text: str) -> None:
    assert stated_reason(text)
