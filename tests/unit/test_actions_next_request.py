"""「查下物流，顺便开个发票」: the logistics answer, then the invoice offered once (and not when the customer left)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.address import ActionChangeAddress
from actions.deps import Services
from actions.dialogue import ActionDeclineOffer, ActionStopForm
from actions.identity_form import ActionIdentityVerified
from actions.next_request import still_wanted
from actions.orders import ActionCheckLogistics
from actions.tickets import ActionTicketStatus
from tests.trackers import domain, responses, said, signed_in, slot_events

EARBUDS = "E202611010001"  # 张伟's, shipped (顺丰 SF1234567890)
FRYER = "E202611150002"  # 张伟's, not shipped yet
OFFER = "utter_offer_next_request"


def user(text: str, intent: str, next_request: str | None = None, **entities: str) -> dict[str, Any]:
    found = [{"entity": k, "value": v} for k, v in entities.items()]
    if next_request:
        found.append({"entity": "next_request", "value": next_request, "extractor": "SentenceIntentClassifier"})
    return {"event": "user", "text": text, "metadata": {},
            "parse_data": {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": found}}


def loop(name: str | None) -> dict[str, Any]:
    return {"event": "active_loop", "name": name}


def action(name: str) -> dict[str, Any]:
    return {"event": "action", "name": name}


def bot(response: str) -> dict[str, Any]:
    return {"event": "bot", "text": "…", "metadata": {"utter_action": response}}


TWO_REQUESTS = user("查下物流，顺便开个发票", "query_logistics", next_request="request_invoice")


def conversation(*events: dict[str, Any], slots: dict[str, Any] | None = None, active_loop: str | None = None) -> Tracker:
    """A tracker after `events` (the latest user event is the latest message), with the invoice still to offer."""
    latest = next(e for e in reversed(events) if e["event"] == "user")["parse_data"]
    all_slots = {"order_topic": "logistics", "next_request": "request_invoice", **(slots or {})}
    return Tracker("tester", all_slots, latest, [action("action_listen"), *events], False, None,
                   {"name": active_loop} if active_loop else {}, "action_listen")


ANSWERED_AT_ONCE = (TWO_REQUESTS, action("order_lookup_form"), loop("order_lookup_form"), loop(None))


async def test_the_second_request_is_offered_after_the_answer_to_the_first(services: Services) -> None:
    dispatcher = CollectingDispatcher()
    t = conversation(*ANSWERED_AT_ONCE, slots={**signed_in("C001"), "order_id": EARBUDS})
    events = await ActionCheckLogistics(services).run(dispatcher, t, domain())
    said_in_order = responses(dispatcher)
    assert said_in_order.index("utter_logistics_trace") < said_in_order.index(OFFER) == len(said_in_order) - 1
    offer = said(dispatcher, OFFER)
    assert (offer["request"], offer["next_intent"]) == ("开具发票", "request_invoice")
    assert slot_events(events)["next_request"] is None  # offered once
    yes, no = domain()["responses"][OFFER][0]["buttons"]
    assert yes["payload"].format(next_intent=offer["next_intent"]) == "/request_invoice"  # what 好的 sends
    assert no["payload"] == "/deny"


async def test_after_a_phone_and_its_code_the_offer_follows_the_logistics_answer(services: Services) -> None:
    """Not signed in: the lookup asks for a phone number and its SMS code first; the offer waits for the answer."""
    proof_turns = (TWO_REQUESTS, action("order_lookup_form"), loop("order_lookup_form"), bot("utter_ask_order_id"),
                   action("action_listen"), user("13800138000", "inform", phone="13800138000"),
                   bot("utter_verify_code_sent"), action("action_listen"), user("204518", "inform"),
                   bot("utter_verified"), bot("utter_order_matched"), loop(None))
    dispatcher = CollectingDispatcher()
    t = conversation(*proof_turns, slots={**signed_in("C001", "otp"), "order_id": EARBUDS})
    events = await ActionCheckLogistics(services).run(dispatcher, t, domain())
    assert responses(dispatcher)[0] == "utter_logistics_trace" and responses(dispatcher)[-1] == OFFER
    assert slot_events(events)["next_request"] is None


async def test_with_an_order_proof_too(services: Services) -> None:
    """Anonymous: the order number and its phone's last 4 digits."""
    proof_turns = (TWO_REQUESTS, action("order_lookup_form"), loop("order_lookup_form"), action("action_listen"),
                   user(EARBUDS, "inform", order_id=EARBUDS), action("action_listen"), user("8000", "inform"), loop(None))
    dispatcher = CollectingDispatcher()
    t = conversation(*proof_turns, slots={"identity_proof": "order", "verified_order": EARBUDS, "order_id": EARBUDS})
    await ActionCheckLogistics(services).run(dispatcher, t, domain())
    assert responses(dispatcher)[0] == "utter_logistics_trace" and responses(dispatcher)[-1] == OFFER


async def test_while_a_proof_is_asked_for_the_offer_waits_for_the_answer(services: Services) -> None:
    ticket_question = user("我的工单怎么样了，顺便开个发票", "query_ticket_status", next_request="request_invoice")
    dispatcher = CollectingDispatcher()
    events = await ActionTicketStatus(services).run(dispatcher, conversation(ticket_question), domain())
    assert responses(dispatcher) == ["utter_proof_needed"] and "next_request" not in slot_events(events)
    # proven by the identity form: the answer, then the offer
    proven = (ticket_question, action("action_ticket_status"), loop("identity_form"), action("action_listen"),
              user("13800138000", "inform"), action("action_listen"), user("204518", "inform"), loop(None))
    dispatcher = CollectingDispatcher()
    t = conversation(*proven, slots={**signed_in("C001", "otp"), "pending_task": "query_ticket_status"})
    events = await ActionIdentityVerified(services).run(dispatcher, t, domain())
    assert responses(dispatcher) == ["utter_ticket_none", OFFER] and slot_events(events)["next_request"] is None


async def test_an_answer_that_asks_something_back_keeps_the_offer_for_later(services: Services) -> None:
    dispatcher = CollectingDispatcher()  # no order in context: the answer is a question
    events = await ActionCheckLogistics(services).run(dispatcher, conversation(*ANSWERED_AT_ONCE), domain())
    assert responses(dispatcher) == ["utter_ask_order_id"] and "next_request" not in slot_events(events)


async def test_another_open_offer_goes_first_and_declining_it_brings_the_second_request(services: Services) -> None:
    address = user("改下地址，顺便开个发票", "change_address", next_request="request_invoice")
    flow = (address, action("change_address_form"), loop("change_address_form"), loop(None))
    dispatcher = CollectingDispatcher()
    t = conversation(*flow, slots={**signed_in("C001"), "order_id": EARBUDS, "new_address": "上海市浦东新区世纪大道1号2楼"})
    events = await ActionChangeAddress(services).run(dispatcher, t, domain())
    assert responses(dispatcher) == ["utter_address_change_blocked"]  # shipped: an intercept is offered instead
    assert slot_events(events)["pending_offer"] == "intercept" and "next_request" not in slot_events(events)
    dispatcher = CollectingDispatcher()
    t = conversation(*flow, action("action_change_address"), action("action_listen"), user("不用了", "deny"),
                     slots={**signed_in("C001"), "pending_offer": "intercept"})
    events = await ActionDeclineOffer().run(dispatcher, t, domain())
    assert responses(dispatcher) == [OFFER]  # instead of 还有其他可以帮您的吗
    assert slot_events(events) == {"pending_offer": None, "next_request": None}


async def test_nothing_is_offered_once_the_customer_left_the_first_request(services: Services) -> None:
    signed = {**signed_in("C001"), "order_id": EARBUDS}
    left = {
        "stopped": (TWO_REQUESTS, loop("order_lookup_form"), action("action_listen"), user("算了", "stop"),
                    action("action_stop_form"), loop(None), action("action_listen"),
                    user("查一下物流", "query_logistics"), loop("order_lookup_form"), loop(None)),
        "another task": (TWO_REQUESTS, loop("order_lookup_form"), loop(None), action("action_check_logistics"),
                         bot("utter_ask_order_id"), action("action_listen"), user("我要退货", "return_request"),
                         loop("return_form"), loop(None), action("action_submit_return"), action("action_listen"),
                         user("那查下物流", "query_logistics"), loop("order_lookup_form"), loop(None)),
        "a person took over": (TWO_REQUESTS, loop("order_lookup_form"), action("action_listen"),
                               user("转人工", "request_human"), action("action_request_human"), loop(None)),
        "a new session": (TWO_REQUESTS, loop("order_lookup_form"), loop(None), {"event": "session_started"},
                          action("action_listen"), user("查下物流", "query_logistics"), loop("order_lookup_form"),
                          loop(None)),
    }
    for why, events in left.items():
        dispatcher = CollectingDispatcher()
        result = await ActionCheckLogistics(services).run(dispatcher, conversation(*events, slots=signed), domain())
        assert OFFER not in responses(dispatcher), why
        assert slot_events(result)["next_request"] is None, why  # forgotten


def test_answers_and_digressions_inside_the_first_request_do_not_leave_it() -> None:
    events = [TWO_REQUESTS, loop("order_lookup_form"), user("运费怎么算", "faq"), user("我要退货", "return_request"),
              user(EARBUDS, "inform"), loop("identity_form"), user("退款到哪了", "refund_status"), loop(None)]
    assert still_wanted(events)  # said while a form was asking: answers, or digressions the form came back from
    assert not still_wanted([*events, user("我要退货", "return_request")])  # said with no form asking: a new task
    assert not still_wanted([TWO_REQUESTS, loop("order_lookup_form"), loop("return_form")])  # another form began
    assert still_wanted([TWO_REQUESTS, loop("order_lookup_form"), loop(None), user("查下物流", "query_logistics")])
    assert not still_wanted([user("查下物流", "query_logistics")])  # nothing was ever carried


async def test_stopping_the_form_forgets_the_second_request() -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionStopForm().run(dispatcher, conversation(TWO_REQUESTS, user("算了", "stop"),
                                                                 active_loop="order_lookup_form"), domain())
    assert slot_events(events)["next_request"] is None


async def test_only_intents_with_a_topic_name_are_offered(services: Services) -> None:
    for value in ("EXTERNAL_agent_message", "greet", "nonsense"):
        dispatcher = CollectingDispatcher()
        t = conversation(*ANSWERED_AT_ONCE, slots={**signed_in("C001"), "order_id": EARBUDS, "next_request": value})
        events = await ActionCheckLogistics(services).run(dispatcher, t, domain())
        assert OFFER not in responses(dispatcher) and slot_events(events)["next_request"] is None


async def test_without_a_second_request_the_answer_is_as_before(services: Services) -> None:
    dispatcher = CollectingDispatcher()
    t = conversation(user("查下物流", "query_logistics"), loop("order_lookup_form"), loop(None),
                     slots={**signed_in("C001"), "order_id": FRYER, "next_request": None})
    events = await ActionCheckLogistics(services).run(dispatcher, t, domain())
    assert responses(dispatcher) == ["utter_logistics_not_shipped", ""] and events == []  # the text, then the card
