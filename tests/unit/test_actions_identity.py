"""The bot asks for a proof when a task needs one, then carries on; without one nothing changes or shows."""

from __future__ import annotations

import re

from rasa_sdk.executor import CollectingDispatcher

from actions.address import ActionChangeAddress
from actions.cancel import ActionCancelOrder, ValidateCancelOrderForm
from actions.deps import Services
from actions.greeting import ActionCustomerProfile
from actions.identity_form import ActionIdentityVerified, ValidateIdentityForm
from actions.order_slot import ValidateOrderLookupForm
from actions.orders import ActionCheckLogistics, ActionUrgeDelivery
from actions.refunds import ActionRefundStatus
from service.models import OrderStatus
from service.settings import Settings
from service.sms import last_message_to
from tests.trackers import domain, responses, said, signed_in, slot_events, tracker

FRYER = "E202611150002"  # 张伟's, not shipped yet


def requested(events: list[dict]) -> str | None:
    return slot_events(events).get("requested_slot")


def code_sent_to(settings: Settings, phone: str) -> str:
    text = last_message_to(settings.sms_outbox, phone)
    assert text, f"no SMS to {phone}"
    return re.search(r"\d{6}", text).group(0)


async def test_cancelling_without_a_proof_asks_for_one_first(services: Services) -> None:
    t = tracker("帮我取消订单E202611150002", "cancel_order", entities={"order_id": FRYER}, slots={"order_id": FRYER},
                active_loop="cancel_order_form")
    dispatcher = CollectingDispatcher()
    events = await ValidateCancelOrderForm(services).run(dispatcher, t, domain())
    assert requested(events) == "verify_phone"
    assert responses(dispatcher) == []  # not a word about the order, not even that it can be cancelled


async def test_a_confirmation_without_a_proof_cancels_nothing(services: Services) -> None:
    t = tracker("是的", "affirm", slots={"order_id": FRYER, "cancel_confirmed": True})
    dispatcher = CollectingDispatcher()
    await ActionCancelOrder(services).run(dispatcher, t, domain())
    assert responses(dispatcher) == ["utter_proof_needed"]
    assert (await services.orders.get(FRYER)).status is OrderStatus.PAID
    dispatcher = CollectingDispatcher()  # nor does someone else's proof
    await ActionCancelOrder(services).run(dispatcher, tracker("是的", "affirm", slots={
        "order_id": FRYER, "cancel_confirmed": True, **signed_in("C002")}), domain())
    assert responses(dispatcher) == ["utter_order_not_yours"]
    assert (await services.orders.get(FRYER)).status is OrderStatus.PAID


async def test_nothing_else_changes_without_its_owner(services: Services) -> None:
    dispatcher = CollectingDispatcher()
    await ActionChangeAddress(services).run(dispatcher, tracker("改地址", "change_address", slots={
        "order_id": FRYER, "new_address": "上海市浦东新区世纪大道1号2楼"}), domain())
    assert responses(dispatcher) == ["utter_proof_needed"]
    dispatcher = CollectingDispatcher()
    await ActionRefundStatus(services).run(dispatcher, tracker("退款呢", "refund_status",
                                                               slots={"order_id": "E202611120004"}), domain())
    assert responses(dispatcher) == ["utter_proof_needed"]
    dispatcher = CollectingDispatcher()
    events = await ActionCustomerProfile(services).run(dispatcher, tracker("我是什么会员", "query_profile"), domain())
    assert responses(dispatcher) == ["utter_proof_needed"] and slot_events(events)["pending_task"] == "query_profile"


async def test_a_phone_number_and_its_code_prove_the_customer(services: Services, settings: Settings) -> None:
    form = ValidateCancelOrderForm(services)
    asked_phone = {"order_id": FRYER, "requested_slot": "verify_phone"}
    dispatcher = CollectingDispatcher()
    events = await form.run(dispatcher, tracker("13800138000", entities={"phone": "13800138000"}, slots=asked_phone,
                                                active_loop="cancel_order_form"), domain())
    assert slot_events(events)["verify_phone"] == "13800138000" and "customer_id" not in slot_events(events)
    assert said(dispatcher, "utter_verify_code_sent")["masked_phone"] == "138****8000"
    assert requested(events) == "verify_code"

    code = code_sent_to(settings, "13800138000")
    asked_code = {**asked_phone, "verify_phone": "13800138000", "requested_slot": "verify_code"}
    dispatcher = CollectingDispatcher()
    events = await form.run(dispatcher, tracker("000000" if code != "000000" else "111111", slots=asked_code,
                                                active_loop="cancel_order_form"), domain())
    assert said(dispatcher, "utter_verify_code_wrong")["tries_left"] == 4 and "customer_id" not in slot_events(events)

    dispatcher = CollectingDispatcher()
    events = await form.run(dispatcher, tracker(f"验证码{code}", slots=asked_code, active_loop="cancel_order_form"),
                            domain())
    slots = slot_events(events)
    assert (slots["customer_id"], slots["identity_proof"], slots["customer_vip"]) == ("C001", "otp", True)
    assert said(dispatcher, "utter_verified")["name"] == "张伟"
    assert requested(events) is None  # no more proof questions: Rasa asks the form's own (cancel_confirmed) next
    assert services.identity._links.senders_of("C001") == ["tester"]  # the conversation is 张伟's now


async def test_after_the_code_an_order_of_someone_else_is_dropped(services: Services, settings: Settings) -> None:
    form = ValidateCancelOrderForm(services)
    await services.identity.send_code("13900139000", "tester")  # 李娜 proves herself, with 张伟's order in the slot
    code = code_sent_to(settings, "13900139000")
    slots = {"order_id": FRYER, "verify_phone": "13900139000", "requested_slot": "verify_code"}
    dispatcher = CollectingDispatcher()
    events = await form.run(dispatcher, tracker(code, slots=slots, active_loop="cancel_order_form"), domain())
    assert slot_events(events)["order_id"] is None and "utter_order_not_yours" in responses(dispatcher)


async def test_an_anonymous_lookup_needs_the_orders_phone_digits(services: Services) -> None:
    form = ValidateOrderLookupForm(services)
    start = {"order_id": "E202611010001", "order_topic": "logistics"}
    events = await form.run(CollectingDispatcher(), tracker("E202611010001的物流", "query_logistics",
                                                            entities={"order_id": "E202611010001"}, slots=start,
                                                            active_loop="order_lookup_form"), domain())
    assert requested(events) == "phone_last4"
    dispatcher = CollectingDispatcher()
    events = await form.run(dispatcher, tracker("1234", slots={**start, "requested_slot": "phone_last4"},
                                                active_loop="order_lookup_form"), domain())
    assert said(dispatcher, "utter_phone_last4_wrong")["tries_left"] == 4 and requested(events) == "phone_last4"
    events = await form.run(CollectingDispatcher(), tracker("后四位是8000", slots={**start, "requested_slot": "phone_last4"},
                                                            active_loop="order_lookup_form"), domain())
    slots = slot_events(events)
    assert (slots["identity_proof"], slots["verified_order"], slots["customer_id"]) == ("order", "E202611010001", None)
    assert requested(events) is None  # the form is done: the rules answer the logistics question

    one_order = {**start, "identity_proof": "order", "verified_order": "E202611010001"}
    dispatcher = CollectingDispatcher()
    await ActionCheckLogistics(services).run(dispatcher, tracker("到哪了", slots=one_order), domain())
    trace = said(dispatcher, "utter_logistics_trace")
    assert "张伟" not in str(dispatcher.messages) and "13800138000" not in str(dispatcher.messages)
    assert trace["waybill"] == "SF1234567890"
    dispatcher = CollectingDispatcher()  # status and logistics only: urging is the owner's
    await ActionUrgeDelivery(services).run(dispatcher, tracker("催一下", slots=one_order), domain())
    assert responses(dispatcher) == ["utter_proof_needed"]


async def test_a_phone_given_for_the_order_question_starts_the_code(services: Services) -> None:
    form = ValidateOrderLookupForm(services)
    slots = {"order_topic": "logistics", "requested_slot": "order_id"}
    dispatcher = CollectingDispatcher()
    events = await form.run(dispatcher, tracker("13800138000", "inform", entities={"phone": "13800138000"}, slots=slots,
                                                active_loop="order_lookup_form"), domain())
    assert requested(events) == "verify_code" and "customer_id" not in slot_events(events)
    assert "utter_verify_code_sent" in responses(dispatcher)


async def test_after_the_code_the_one_order_that_fits_is_taken_and_named(services: Services, settings: Settings) -> None:
    """「我的快递到哪了」, a phone, its code: 张伟 has one shipped order, so the trace follows without a list."""
    form = ValidateOrderLookupForm(services)
    await services.identity.send_code("13800138000", "tester")
    slots = {"order_topic": "logistics", "verify_phone": "13800138000", "requested_slot": "verify_code"}
    dispatcher = CollectingDispatcher()
    events = await form.run(dispatcher, tracker(code_sent_to(settings, "13800138000"), slots=slots,
                                                active_loop="order_lookup_form"), domain())
    assert slot_events(events)["customer_id"] == "C001" and slot_events(events)["order_id"] == "E202611010001"
    assert responses(dispatcher) == ["utter_verified", "utter_order_matched"]
    assert requested(events) is None


async def test_the_identity_form_resumes_the_task_that_needed_it(services: Services) -> None:
    assert await ValidateIdentityForm(services).required_slots([], CollectingDispatcher(),
                                                               tracker(slots=signed_in("C002", "otp")), domain()) == []
    dispatcher = CollectingDispatcher()
    events = await ActionIdentityVerified(services).run(
        dispatcher, tracker("123456", slots={**signed_in("C002", "otp"), "pending_task": "query_profile"}), domain())
    assert said(dispatcher, "utter_profile")["name"] == "李娜" and slot_events(events)["pending_task"] is None


async def test_an_unproven_visitor_gets_no_order_picked(services: Services, settings: Settings) -> None:
    """「我的快递到哪了」 from a visitor nobody has proven, then a wrong code: no order is chosen or named for
    them, though 张伟's phone has exactly one order that fits."""
    form = ValidateOrderLookupForm(services)
    dispatcher = CollectingDispatcher()
    events = await form.run(dispatcher, tracker("我的快递到哪了", "query_logistics", slots={"order_topic": "logistics"},
                                                active_loop="order_lookup_form"), domain())
    assert "order_id" not in slot_events(events) and "customer_id" not in slot_events(events)
    assert "utter_order_matched" not in responses(dispatcher)
    assert requested(events) == "order_id"  # asked for, by id, waybill or the phone the code goes to

    await services.identity.send_code("13800138000", "tester")
    right = code_sent_to(settings, "13800138000")
    wrong = "000000" if right != "000000" else "111111"
    slots = {"order_topic": "logistics", "verify_phone": "13800138000", "requested_slot": "verify_code"}
    dispatcher = CollectingDispatcher()
    events = await form.run(dispatcher, tracker(wrong, slots=slots, active_loop="order_lookup_form"), domain())
    assert not slot_events(events).get("order_id") and not slot_events(events).get("customer_id")
    assert "utter_order_matched" not in responses(dispatcher)
    assert responses(dispatcher) == ["utter_verify_code_wrong"] and requested(events) == "verify_code"
