"""Actions on built trackers: what the customer is told, and the slots set."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.deps import Services
from actions.greeting import ActionGreet, ActionSessionStart
from actions.order_slot import ActionAskOrderId, ValidateOrderLookupForm
from actions.orders import ActionCheckLogistics, ActionHandleInform, ActionOrderStatus, ActionUrgeDelivery
from tests.trackers import checked_claim, domain, responses, said, signed_in, slot_events, tracker

C001 = signed_in("C001")


def cards(dispatcher: CollectingDispatcher) -> list[dict[str, Any]]:
    """The order cards sent as custom messages (drawn by the web widget)."""
    return [m["custom"]["order_card"] for m in dispatcher.messages if "order_card" in (m.get("custom") or {})]


async def test_vip_is_greeted_as_gold_member(services: Services) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionGreet(services).run(dispatcher, tracker("你好", "greet", metadata=checked_claim("C001")), domain())
    message = said(dispatcher, "utter_greet_vip")
    assert (message["tier"], message["name"]) == ("金卡会员", "张伟")
    assert slot_events(events) == {**signed_in("C001"), "verified_order": None,
                                   "customer_vip": True, "identity_seen": "ref-1"}


async def test_a_claim_the_channel_did_not_check_proves_nothing(services: Services) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionGreet(services).run(dispatcher, tracker("你好", "greet", metadata={"customer_id": "C001"}),
                                             domain())
    assert responses(dispatcher) == ["utter_greet"] and events == []
    dispatcher = CollectingDispatcher()
    await ActionGreet(services).run(dispatcher, tracker("你好", "greet", slots={"customer_id": "C001"}), domain())
    assert responses(dispatcher) == ["utter_greet"]  # a customer id without a proof (an old tracker) is nobody


async def test_a_later_proof_replaces_an_earlier_one(services: Services) -> None:
    t = tracker("你好", "greet", slots=signed_in("C001", "otp"), metadata=checked_claim("C002", ref="ref-2"))
    dispatcher = CollectingDispatcher()
    events = await ActionGreet(services).run(dispatcher, t, domain())
    assert slot_events(events)["customer_id"] == "C002" and responses(dispatcher) == ["utter_greet_known"]
    # the same claim presented again (the page sends it with every message) is not a new proof
    t = tracker("你好", "greet", slots={**signed_in("C001", "otp"), "identity_seen": "ref-2"},
                metadata=checked_claim("C002", ref="ref-2"))
    dispatcher = CollectingDispatcher()
    assert await ActionGreet(services).run(dispatcher, t, domain()) == []
    assert said(dispatcher, "utter_greet_vip")["name"] == "张伟"


async def test_regular_and_anonymous_greetings(services: Services) -> None:
    dispatcher = CollectingDispatcher()
    await ActionGreet(services).run(dispatcher, tracker("你好", "greet", slots={**signed_in("C002")}), domain())
    assert responses(dispatcher) == ["utter_greet_known"]
    dispatcher = CollectingDispatcher()
    await ActionGreet(services).run(dispatcher, tracker("你好", "greet"), domain())
    assert responses(dispatcher) == ["utter_greet"]


async def test_session_start_identifies_by_phone_metadata(services: Services) -> None:
    t = tracker(slots={"session_started_metadata": checked_claim(phone="13900139000"), "order_id": "E202611120004"})
    events = await ActionSessionStart(services).run(CollectingDispatcher(), t, domain())
    assert events[0]["event"] == "session_started" and events[-1]["name"] == "action_listen"
    assert slot_events(events)["customer_id"] == "C002"
    assert slot_events(events)["order_id"] == "E202611120004"  # context carried over


async def test_logistics_answer_names_carrier_waybill_and_latest_node(services: Services) -> None:
    dispatcher = CollectingDispatcher()
    t = tracker("到哪了", "query_logistics", slots={"order_id": "E202611010001", **C001})
    await ActionCheckLogistics(services).run(dispatcher, t, domain())
    trace = said(dispatcher, "utter_logistics_trace")
    assert (trace["carrier"], trace["waybill"]) == ("顺丰速运", "SF1234567890")
    assert "杭州转运中心" in trace["latest"]
    assert said(dispatcher, "utter_logistics_eta")["eta"] == "11月22日"


async def test_a_shipped_order_comes_with_a_card_the_customer_may_see(services: Services) -> None:
    t = tracker("我的订单怎么样了", "query_order_status", slots={"order_id": "E202611010001", **C001})
    dispatcher = CollectingDispatcher()
    await ActionOrderStatus(services).run(dispatcher, t, domain())
    assert responses(dispatcher) == ["utter_order_status_shipped", ""]
    assert cards(dispatcher) == [{"order_id": "E202611010001", "product": "蓝牙耳机 X1 ×1", "status": "已发货",
                                  "amount": "¥399", "carrier": "顺丰速运", "waybill": "SF1234567890"}]
    dispatcher = CollectingDispatcher()
    await ActionCheckLogistics(services).run(dispatcher, t, domain())
    assert responses(dispatcher)[:2] == ["utter_logistics_trace", ""]  # the card right after the trace
    assert cards(dispatcher)[0]["waybill"] == "SF1234567890"


async def test_unshipped_order_status_and_logistics(services: Services) -> None:
    t = tracker("发货了吗", "query_order_status", slots={"order_id": "E202611150002", **C001})
    dispatcher = CollectingDispatcher()
    await ActionOrderStatus(services).run(dispatcher, t, domain())
    assert responses(dispatcher) == ["utter_order_status_paid_late", ""]  # paid 6 days ago; then its card
    assert cards(dispatcher)[0]["status"] == "待发货" and cards(dispatcher)[0]["waybill"] is None
    dispatcher = CollectingDispatcher()
    await ActionCheckLogistics(services).run(dispatcher, t, domain())
    assert said(dispatcher, "utter_logistics_not_shipped")["status"] == "待发货"
    assert [card["order_id"] for card in cards(dispatcher)] == ["E202611150002"]


async def test_urging_twice_is_escalated(services: Services) -> None:
    t = tracker("快点发货", "urge_delivery", slots={"order_id": "E202611150002", **C001})
    await ActionUrgeDelivery(services).run(CollectingDispatcher(), t, domain())
    dispatcher = CollectingDispatcher()
    await ActionUrgeDelivery(services).run(dispatcher, t, domain())
    assert responses(dispatcher) == ["utter_urge_warehouse", "utter_urge_again"]


async def test_known_customer_picks_from_recent_orders(services: Services) -> None:
    t = tracker("查物流", "query_logistics", slots={**signed_in("C001"), "order_topic": "logistics"},
                active_loop="order_lookup_form")
    dispatcher = CollectingDispatcher()
    await ActionAskOrderId(services).run(dispatcher, t, domain())
    message = said(dispatcher, "utter_choose_order")
    payloads = [b["payload"] for b in message["buttons"]]
    assert '/inform{"order_id":"E202611010001"}' in payloads
    assert all("E202611150002" not in p for p in payloads)  # not shipped: no logistics to show


async def test_anonymous_customer_is_asked_to_identify(services: Services) -> None:
    dispatcher = CollectingDispatcher()
    t = tracker("查物流", "query_logistics", active_loop="order_lookup_form")
    await ActionAskOrderId(services).run(dispatcher, t, domain())
    assert responses(dispatcher) == ["utter_ask_order_id"]


async def test_last_week_earbuds_fill_the_order(services: Services) -> None:
    t = tracker("我上周买的耳机坏了", "repair_request", entities={"product": "耳机", "time_ref": "上周"},
                slots={**signed_in("C001")})
    dispatcher = CollectingDispatcher()
    form = ValidateOrderLookupForm(services)
    extracted = await form.extract_order_id(dispatcher, t, domain())
    assert extracted["order_id"] == "E202611010001"
    assert said(dispatcher, "utter_order_matched")["product"] == "蓝牙耳机 X1"


async def test_waybill_and_foreign_orders(services: Services) -> None:
    form = ValidateOrderLookupForm(services)
    t = tracker("SF1234567890", entities={"waybill": "SF1234567890"}, slots={"requested_slot": "order_id"})
    assert (await form.extract_order_id(CollectingDispatcher(), t, domain()))["order_id"] == "E202611010001"
    dispatcher = CollectingDispatcher()
    result = await form.validate_order_id("E202611010001", dispatcher, tracker(slots=signed_in("C002")), domain())
    assert result == {"order_id": None}
    assert responses(dispatcher) == ["utter_order_not_yours"]
    dispatcher = CollectingDispatcher()
    assert await form.validate_order_id("E209901010001", dispatcher, tracker(slots=C001), domain()) == {"order_id": None}
    assert responses(dispatcher) == ["utter_order_not_found"]
    # anonymous: no answer about the order until its phone's digits are given (no help in guessing numbers)
    dispatcher = CollectingDispatcher()
    assert await form.validate_order_id("E209901010001", dispatcher, tracker(), domain()) == {"order_id": "E209901010001"}
    assert responses(dispatcher) == []


async def test_an_order_id_outside_a_form_answers_the_last_topic(services: Services) -> None:
    t = tracker("E202611010001", entities={"order_id": "E202611010001"}, slots={"order_topic": "logistics", **C001})
    dispatcher = CollectingDispatcher()
    events = await ActionHandleInform(services).run(dispatcher, t, domain())
    assert "utter_logistics_trace" in responses(dispatcher)
    assert slot_events(events)["order_id"] == "E202611010001"


async def test_an_anonymous_order_id_outside_a_form_asks_for_its_proof(services: Services) -> None:
    t = tracker("E202611010001", entities={"order_id": "E202611010001"}, slots={"order_topic": "logistics"})
    dispatcher = CollectingDispatcher()
    events = await ActionHandleInform(services).run(dispatcher, t, domain())
    assert responses(dispatcher) == []  # nothing about the order yet
    assert {"event": "followup", "timestamp": None, "name": "order_lookup_form"} in events
    assert slot_events(events)["order_id"] == "E202611010001"


async def test_a_typed_phone_number_is_no_proof(services: Services) -> None:
    t = tracker("13800138000", entities={"phone": "13800138000"})
    dispatcher = CollectingDispatcher()
    events = await ActionHandleInform(services).run(dispatcher, t, domain())
    assert "customer_id" not in slot_events(events) and responses(dispatcher) == []
    assert events == [{"event": "followup", "timestamp": None, "name": "identity_form"}]  # a code is asked for


C002 = signed_in("C002")


async def test_the_only_order_with_a_refund_is_taken_and_said(services: Services) -> None:
    t = tracker("我的退款到了没", "refund_status", slots={**C002, "order_topic": "refund"},
                active_loop="order_lookup_form")
    dispatcher = CollectingDispatcher()
    events = await ValidateOrderLookupForm(services).run(dispatcher, t, domain())
    assert slot_events(events)["order_id"] == "E202611120004"
    assert said(dispatcher, "utter_order_matched")["product"] == "连衣裙"


async def test_the_only_parcel_on_its_way_is_taken_for_a_logistics_question(services: Services) -> None:
    t = tracker("我的快递到哪了", "query_logistics", slots={**C001, "order_topic": "logistics"},
                active_loop="order_lookup_form")
    dispatcher = CollectingDispatcher()
    events = await ValidateOrderLookupForm(services).run(dispatcher, t, domain())
    assert slot_events(events)["order_id"] == "E202611010001"
    assert said(dispatcher, "utter_order_matched")["order_id"] == "E202611010001"


async def test_several_orders_that_fit_are_asked_about(services: Services) -> None:
    t = tracker("我的订单怎么样了", "query_order_status", slots={**C001, "order_topic": "status"},
                active_loop="order_lookup_form")
    dispatcher = CollectingDispatcher()
    events = await ValidateOrderLookupForm(services).run(dispatcher, t, domain())
    assert "order_id" not in slot_events(events) and responses(dispatcher) == []
    dispatcher = CollectingDispatcher()
    await ActionAskOrderId(services).run(dispatcher, t, domain())
    assert len(said(dispatcher, "utter_choose_order")["buttons"]) > 1


async def test_the_only_order_is_not_taken_again_after_the_customer_turned_it_down(services: Services) -> None:
    t = tracker("不对，是另一个订单", "switch_order", slots={**C001, "order_topic": "logistics"},
                active_loop="order_lookup_form")
    events = await ValidateOrderLookupForm(services).run(CollectingDispatcher(), t, domain())
    assert "order_id" not in slot_events(events)


def after_the_trace(t: Tracker, order_id: str) -> Tracker:
    """`t` with, before its latest message, a turn in which the bot showed `order_id`'s trace."""
    earlier = [{"event": "action", "name": "action_listen"},
               {"event": "user", "text": "查一下物流", "parse_data": {"intent": {"name": "query_logistics"}}},
               {"event": "bot", "text": "订单…由顺丰速运配送",
                "metadata": {"utter_action": "utter_logistics_trace", "order_id": order_id}},
               {"event": "bot", "text": "预计 11月22日 送达。", "metadata": {"utter_action": "utter_logistics_eta"}}]
    t.events[:0] = earlier
    return t


async def test_when_will_it_arrive_after_the_trace_is_answered_with_the_day(services: Services) -> None:
    slots = {**C001, "order_id": "E202611010001", "order_topic": "logistics"}
    dispatcher = CollectingDispatcher()
    t = after_the_trace(tracker("什么时候能到啊", "query_logistics", slots=slots), "E202611010001")
    events = await ActionCheckLogistics(services).run(dispatcher, t, domain())
    assert responses(dispatcher) == ["utter_logistics_arrival"]
    arrival = said(dispatcher, "utter_logistics_arrival")
    assert (arrival["order_id"], arrival["eta"]) == ("E202611010001", "11月22日")
    assert "order_id" not in slot_events(events)  # the order stays the one just discussed
    # asked first, or after another order's trace: the whole answer
    for t in (tracker("什么时候能到啊", "query_logistics", slots=slots),
              after_the_trace(tracker("什么时候能到啊", "query_logistics", slots=slots), "E202610200003")):
        dispatcher = CollectingDispatcher()
        await ActionCheckLogistics(services).run(dispatcher, t, domain())
        assert responses(dispatcher)[0] == "utter_logistics_trace"
    # "到哪了" after the trace: the trace again (the customer asks where, not when)
    dispatcher = CollectingDispatcher()
    await ActionCheckLogistics(services).run(dispatcher, after_the_trace(tracker("现在到哪了", "query_logistics",
                                                                                 slots=slots), "E202611010001"),
                                             domain())
    assert responses(dispatcher)[0] == "utter_logistics_trace"
