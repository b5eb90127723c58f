"""The bot's side of a handoff: the context package, queue messages, relay, off-hours, desk down."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_sdk.executor import CollectingDispatcher

from actions.deps import Services
from actions.handoff import (
    ActionAgentJoined,
    ActionAgentMessage,
    ActionHandoffEnded,
    ActionHandoffTimeout,
    ActionQueueUpdate,
    ActionRelayToAgent,
    ActionRequestHuman,
)
from handoff.policy import HandoffPolicy, should_escalate, should_relay
from service.clock import fixed_clock
from service.desk_client import DeskUnavailable
from service.tickets.rules import Category
from tests.desk_harness import draft
from tests.trackers import domain, responses, said, slot_events, tracker


class FakeDesk:
    def __init__(self, answer: dict[str, Any] | None = None, down: bool = False) -> None:
        self.answer = answer or {"status": "queued", "session_id": "h1", "position": 2, "eta_minutes": 3}
        self.down = down
        self.calls: list[tuple[str, Any]] = []
        self.channels: list[str] = []

    async def start(self, request: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("start", request))
        if self.down:
            raise DeskUnavailable("down")
        return self.answer

    async def relay(self, session_id: str, text: str, intent: str, entities: list[Any],
                    channel: str = "") -> dict[str, Any]:
        self.calls.append(("relay", (session_id, text, intent, entities)))
        self.channels.append(channel)
        if self.down:
            raise DeskUnavailable("down")
        return {"ok": True}

    async def leave(self, session_id: str) -> dict[str, Any]:
        self.calls.append(("leave", session_id))
        return {"status": "abandoned"}


def states(dispatcher: CollectingDispatcher) -> list[dict[str, Any]]:
    """The handoff states sent as custom messages (the web widget's status line)."""
    return [m["custom"]["handoff"] for m in dispatcher.messages if "handoff" in (m.get("custom") or {})]


def logistics_conversation():
    t = tracker("转人工", "request_human", slots={"customer_id": "C001", "identity_proof": "signed", "order_id": "E202611010001"})
    t.events[:0] = [
        {"event": "user", "text": "查一下E202611010001的物流", "input_channel": "rest",
         "parse_data": {"intent": {"name": "query_logistics"}, "entities": [{"entity": "order_id", "value": "E202611010001"}]}},
        {"event": "bot", "text": "订单 E202611010001 由顺丰速运配送…最新物流：快件已到达【杭州转运中心】"},
    ]
    t.events[-1]["input_channel"] = "rest"
    return t


async def test_request_human_sends_the_context_package_and_says_the_queue_place(services: Services) -> None:
    desk = FakeDesk()
    dispatcher = CollectingDispatcher()
    events = await ActionRequestHuman(services, desk).run(dispatcher, logistics_conversation(), domain())
    queued = said(dispatcher, "utter_handoff_queued")
    assert (queued["queue_position"], queued["wait_minutes"]) == (2, 3)
    assert states(dispatcher) == [{"state": "queued", "ahead": 1, "wait_minutes": 3}]  # second in line: one ahead
    assert slot_events(events)["handoff_active"] is True and slot_events(events)["handoff_session"] == "h1"
    request = desk.calls[0][1]
    assert request["reason"] == "request_human" and request["intent"] == "query_logistics"
    assert request["summary"] == "客户询问订单E202611010001物流，机器人已告知在杭州转运中心，客户要求人工"
    context = request["context"]
    assert context["customer"]["tier"] == "金卡会员" and context["channel"] == "rest"
    assert context["transcript"][0] == {"speaker": "user", "text": "查一下E202611010001的物流",
                                        "intent": "query_logistics", "entities": [["order_id", "E202611010001"]],
                                        "channel": "rest"}  # the console shows where each message came from
    assert context["slots"]["order_id"] == "E202611010001"
    assert context["recent_orders"][0]["order_id"] == "E202611150002"
    assert request["customer_vip"] is True


async def test_an_anonymous_visitors_phone_digits_do_not_change_the_topic_the_handoff_is_routed_by(
        services: Services) -> None:
    # 「查物流」, the bot asks for the order's phone digits, 「8000」 (inform), then 「转人工」: a logistics question
    t = logistics_conversation()
    t.events[2:2] = [{"event": "user", "text": "8000", "input_channel": "rest",
                      "parse_data": {"intent": {"name": "inform"}, "entities": []}},
                     {"event": "bot", "text": "订单 E202611010001 由顺丰速运配送"}]
    desk = FakeDesk()
    await ActionRequestHuman(services, desk).run(CollectingDispatcher(), t, domain())
    assert desk.calls[0][1]["intent"] == "query_logistics"


async def test_off_hours_ends_in_a_ticket_with_the_next_contact_time(services: Services) -> None:
    desk = FakeDesk({"status": "unavailable", "unavailable": "off_hours", "group": "物流", "hours": "每天 09:00–22:00",
                     "next_contact": "2026-11-22T09:00:00+08:00", "closed_at": "2026-11-21T22:00:00+08:00"})
    dispatcher = CollectingDispatcher()
    at_night = replace(services, clock=fixed_clock(datetime(2026, 11, 21, 23, 30)))
    events = await ActionRequestHuman(at_night, desk).run(dispatcher, logistics_conversation(), domain())
    message = said(dispatcher, "utter_handoff_off_hours")
    assert message["next_contact"] == "2026-11-22 09:00" and message["number"].startswith("T")
    assert (message["team"], message["closed_at"], message["back_at"]) == ("物流组", "22:00", "明天 09:00")
    assert services.tickets.get(message["number"]).category == "人工未完成"
    assert "handoff_active" not in slot_events(events)


async def test_a_desk_that_is_down_never_loses_the_request(services: Services) -> None:
    dispatcher = CollectingDispatcher()
    await ActionRequestHuman(services, FakeDesk(down=True)).run(dispatcher, logistics_conversation(), domain())
    number = said(dispatcher, "utter_handoff_no_agent")["number"]
    assert "E202611010001" in services.tickets.get(number).summary


async def test_a_typed_ticket_number_is_not_taken_for_a_ticket_of_this_turn(services: Services) -> None:
    """Another customer's number typed in the message fills the ticket slot from the entity; when no agent is
    free, the stranger gets a ticket of their own, not the other customer's named as theirs."""
    others = services.tickets.create(draft(sender_id="web-c001-someone")).ticket
    stranger = tracker(f"转人工 {others.number}", "request_human", entities={"ticket_id": others.number})
    stranger.events.append({"event": "slot", "name": "ticket_id", "value": others.number})  # action_extract_slots
    dispatcher = CollectingDispatcher()
    events = await ActionRequestHuman(services, FakeDesk(down=True)).run(dispatcher, stranger, domain())
    number = said(dispatcher, "utter_handoff_no_agent")["number"]
    assert number != others.number and slot_events(events)["ticket_id"] == number
    assert services.tickets.get(number).sender_id == "tester"


async def test_a_ticket_an_action_opened_this_turn_is_announced_not_doubled(services: Services) -> None:
    complaint = tracker("你们太差劲了 我要投诉", "complaint", slots={"customer_id": "C001", "identity_proof": "signed"})
    own = services.tickets.create(draft(category=Category.COMPLAINT, description="投诉", sender_id="tester")).ticket
    complaint.events += [{"event": "action", "name": "action_handle_complaint"},
                         {"event": "slot", "name": "ticket_id", "value": own.number}]
    dispatcher = CollectingDispatcher()
    await ActionRequestHuman(services, FakeDesk(down=True)).run(dispatcher, complaint, domain())
    assert said(dispatcher, "utter_handoff_no_agent")["number"] == own.number


async def test_relay_carries_the_nlu_and_not_waiting_leaves_the_queue(services: Services) -> None:
    desk = FakeDesk()
    slots = {"handoff_active": True, "handoff_session": "h1"}
    t = tracker("我的快递怎么还没到", "query_logistics", entities={"order_id": "E202611010001"}, slots=slots)
    t.events[-1]["input_channel"] = "wechat"
    await ActionRelayToAgent(services, desk).run(CollectingDispatcher(), t, domain())
    assert desk.calls[-1] == ("relay", ("h1", "我的快递怎么还没到", "query_logistics", [["order_id", "E202611010001"]]))
    assert desk.channels[-1] == "wechat"  # the agent sees where the customer wrote from
    dispatcher = CollectingDispatcher()
    events = await ActionRelayToAgent(services, desk).run(dispatcher, tracker("不等了", "stop", slots=slots), domain())
    assert responses(dispatcher) == ["utter_handoff_left_queue", ""]
    assert states(dispatcher) == [{"state": "ended"}]
    assert slot_events(events) == {"handoff_active": False, "handoff_session": None, "pending_offer": "ticket"}


async def test_agent_messages_are_marked_and_the_end_asks_for_a_rating(services: Services) -> None:
    dispatcher = CollectingDispatcher()
    reply = {"agent_text": "您好，我是小李", "agent_name": "小李"}
    t = tracker("/EXTERNAL_agent_message", "EXTERNAL_agent_message", entities=reply)
    await ActionAgentMessage(services).run(dispatcher, t, domain())
    message = said(dispatcher, "utter_agent_message")
    assert (message["agent_text"], message["from_agent"]) == ("您好，我是小李", True)
    dispatcher = CollectingDispatcher()
    update = tracker("", "EXTERNAL_queue_update", entities={"queue_position": "2", "wait_minutes": "3"},
                     slots={"handoff_active": True})
    await ActionQueueUpdate(services).run(dispatcher, update, domain())
    assert said(dispatcher, "utter_handoff_queue_update")["ahead"] == 1
    assert states(dispatcher) == [{"state": "queued", "ahead": 1, "wait_minutes": 3}]
    dispatcher = CollectingDispatcher()
    events = await ActionHandoffEnded(services).run(dispatcher, tracker("", "EXTERNAL_handoff_ended",
                                                     entities={"handoff_id": "h1"}, slots={"handoff_active": True}), domain())
    assert responses(dispatcher) == ["utter_handoff_ended", ""]
    assert states(dispatcher) == [{"state": "ended"}]
    assert slot_events(events)["pending_offer"] == "rating" and slot_events(events)["rating_handoff"] == "h1"


async def test_an_agent_who_joins_after_the_bot_gave_up_on_the_desk_still_gets_the_messages(services: Services) -> None:
    # The request timed out (the customer heard "nobody is free"), but the desk had queued them.
    dispatcher = CollectingDispatcher()
    joined = tracker("", "EXTERNAL_agent_joined", entities={"agent_name": "小李", "handoff_id": "h7"},
                     slots={"handoff_active": False})
    events = await ActionAgentJoined(services).run(dispatcher, joined, domain())
    assert said(dispatcher, "utter_handoff_agent_joined")["agent_name"] == "小李"
    assert states(dispatcher) == [{"state": "agent", "agent_name": "小李"}]
    assert slot_events(events)["handoff_active"] is True and slot_events(events)["handoff_session"] == "h7"


async def test_an_agent_free_at_once_is_named_in_the_same_turn_and_not_announced_twice(services: Services) -> None:
    # The desk assigns the request at once: the customer hears who joined in the answer to 转人工 itself,
    # and the desk's agent-joined event that follows a moment later says nothing more.
    dispatcher = CollectingDispatcher()
    desk = FakeDesk({"status": "assigned", "session_id": "h2", "agent_name": "小李"})
    await ActionRequestHuman(services, desk).run(dispatcher, logistics_conversation(), domain())
    assert responses(dispatcher) == ["utter_handoff_connecting", "utter_handoff_agent_joined", ""]
    assert said(dispatcher, "utter_handoff_agent_joined")["agent_name"] == "小李"
    request_turn = [
        {"event": "user", "text": "转人工", "parse_data": {"intent": {"name": "request_human"}}},
        {"event": "action", "name": "action_request_human"},
        {"event": "bot", "text": "人工客服小李已接入", "metadata": {"utter_action": "utter_handoff_agent_joined"}},
        {"event": "slot", "name": "handoff_active", "value": True},
    ]
    joined = tracker("", "EXTERNAL_agent_joined", entities={"agent_name": "小李", "handoff_id": "h2"},
                     slots={"handoff_active": True})
    joined.events[:0] = request_turn
    dispatcher = CollectingDispatcher()
    events = await ActionAgentJoined(services).run(dispatcher, joined, domain())
    assert dispatcher.messages == []
    assert slot_events(events)["handoff_session"] == "h2"
    # Joined later (after waiting in the queue, or a transfer): announced.
    later = tracker("", "EXTERNAL_agent_joined", entities={"agent_name": "小王", "handoff_id": "h2"},
                    slots={"handoff_active": True})
    later.events[:0] = request_turn + [{"event": "user", "text": "好的", "parse_data": {"intent": {"name": "affirm"}}},
                                       {"event": "action", "name": "action_relay_to_agent"}]
    dispatcher = CollectingDispatcher()
    await ActionAgentJoined(services).run(dispatcher, later, domain())
    assert said(dispatcher, "utter_handoff_agent_joined")["agent_name"] == "小王"


@pytest.mark.parametrize("active, action, intent, relay", [
    (True, "action_listen", "query_logistics", True),
    (True, "action_listen", "EXTERNAL_agent_message", False),
    (True, "action_relay_to_agent", "query_logistics", False),
    (False, "action_listen", "query_logistics", False),
])
def test_policy_relays_only_customer_messages_during_a_handoff(active: bool, action: str, intent: str, relay: bool) -> None:
    assert should_relay(active, action, intent) is relay


def policy(tmp_path: Path, **config: Any) -> HandoffPolicy:
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    return HandoffPolicy.create({**HandoffPolicy.get_default_config(), **config}, storage, Resource("handoff"), context)


def predicted(policy: HandoffPolicy, project_domain: Domain, text: str, intent: str) -> str | None:
    tracker = DialogueStateTracker.from_events("s1", [
        ActionExecuted(ACTION_LISTEN_NAME), UserUttered(text, {"name": intent, "confidence": 0.99})],
        slots=project_domain.slots)
    prediction = policy.predict_action_probabilities(tracker, project_domain)
    best = max(range(len(prediction.probabilities)), key=prediction.probabilities.__getitem__)
    return project_domain.action_names_or_texts[best] if prediction.probabilities[best] > 0 else None


def test_configured_intents_go_straight_to_a_person(tmp_path: Path) -> None:
    project_domain = Domain.load("domain.yml")
    configured = policy(tmp_path, always_human_intents=["cancel_order"])
    assert predicted(configured, project_domain, "帮我取消订单", "cancel_order") == "action_request_human"
    assert predicted(configured, project_domain, "我的快递到哪了", "query_logistics") is None  # left to the rules
    assert predicted(configured, project_domain, "到底什么时候发货!!!", "urge_delivery") == "action_request_human"
    cancel = [{"text": "取消", "intent": {"name": "cancel_order", "confidence": 0.9}}]
    assert should_escalate(False, "action_listen", cancel, always_human=frozenset({"cancel_order"}))
    assert not should_escalate(True, "action_listen", cancel, always_human=frozenset({"cancel_order"}))


def test_handoff_yml_names_the_always_human_intents_and_rejects_desk_events() -> None:
    from handoff.config import HandoffConfigError, parse_config

    document = {"groups": {"物流": ["query_logistics"]}, "default_group": "物流", "always_human_intents": ["cancel_order"]}
    assert parse_config(document).always_human_intents == {"cancel_order"}
    with pytest.raises(HandoffConfigError, match="always_human_intents"):
        parse_config({**document, "always_human_intents": ["EXTERNAL_agent_message"]})


async def test_an_always_human_intent_is_handed_over_with_that_reason(services: Services,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import actions.handoff

    monkeypatch.setattr(actions.handoff, "_always_human", frozenset({"cancel_order"}))
    desk = FakeDesk()
    await ActionRequestHuman(services, desk).run(CollectingDispatcher(), tracker("帮我取消订单", "cancel_order"), domain())
    assert desk.calls[0][1]["reason"] == "always_human"


def test_the_dialogue_models_stand_aside_while_a_person_has_the_chat(tmp_path: Path) -> None:
    from rasa.shared.core.events import SlotSet

    from handoff.quiet_policies import QuietMemoizationPolicy, QuietTEDPolicy

    project_domain = Domain.load("domain.yml")
    tracker = DialogueStateTracker.from_events("s1", [
        SlotSet("handoff_active", True), ActionExecuted(ACTION_LISTEN_NAME),
        UserUttered("我的快递怎么还没到", {"name": "query_logistics", "confidence": 0.99})], slots=project_domain.slots)
    context = ExecutionContext(GraphSchema({}), "test")
    for policy_class in (QuietTEDPolicy, QuietMemoizationPolicy):
        untrained = policy_class.create(policy_class.get_default_config(), LocalModelStorage(tmp_path),
                                        Resource(policy_class.__name__), context)
        assert max(untrained.predict_action_probabilities(tracker, project_domain).probabilities) == 0.0


def test_the_handoff_policy_says_an_agents_reply_during_a_handoff_and_then_listens(tmp_path: Path) -> None:
    from rasa.shared.core.events import SlotSet

    project_domain = Domain.load("domain.yml")
    handoff = policy(tmp_path)

    def next_action(active: bool, *after: ActionExecuted) -> str | None:
        tracker = DialogueStateTracker.from_events("s1", [
            SlotSet("handoff_active", active), ActionExecuted(ACTION_LISTEN_NAME),
            UserUttered(None, {"name": "EXTERNAL_agent_message", "confidence": 1.0}), *after], slots=project_domain.slots)
        probabilities = handoff.predict_action_probabilities(tracker, project_domain).probabilities
        best = max(range(len(probabilities)), key=probabilities.__getitem__)
        return project_domain.action_names_or_texts[best] if probabilities[best] > 0 else None

    assert next_action(True) == "action_agent_message"
    assert next_action(True, ActionExecuted("action_agent_message")) == ACTION_LISTEN_NAME
    assert next_action(False) is None  # outside a handoff the rule (data/rules/handoff.yml) says it


def test_the_rules_stand_aside_only_where_the_handoff_policy_decides(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa.core.policies.policy import PolicyPrediction
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.shared.core.events import SlotSet

    from handoff.quiet_policies import QuietRulePolicy

    project_domain = Domain.load("domain.yml")
    asked: list[str] = []

    def rules(self: RulePolicy, tracker: DialogueStateTracker, domain: Domain, *args: object,
              **kwargs: object) -> PolicyPrediction:
        asked.append(tracker.latest_message.intent["name"])
        probabilities = [0.0] * domain.num_actions
        probabilities[domain.index_for_action("action_agent_message")] = 1.0
        return PolicyPrediction(probabilities, "RulePolicy")

    monkeypatch.setattr(RulePolicy, "predict_action_probabilities", rules)
    policy = QuietRulePolicy.create(QuietRulePolicy.get_default_config(), LocalModelStorage(tmp_path),
                                    Resource("rules"), ExecutionContext(GraphSchema({}), "test"))

    def conversation(active: bool, intent: str, *after: ActionExecuted) -> DialogueStateTracker:
        return DialogueStateTracker.from_events("s1", [
            SlotSet("handoff_active", active), ActionExecuted(ACTION_LISTEN_NAME),
            UserUttered("我的快递怎么还没到", {"name": intent, "confidence": 0.99}), *after], slots=project_domain.slots)

    customer = conversation(True, "query_logistics")
    relayed = conversation(True, "query_logistics", ActionExecuted("action_relay_to_agent"))
    reply = conversation(True, "EXTERNAL_agent_message")
    said = conversation(True, "EXTERNAL_agent_message", ActionExecuted("action_agent_message"))
    for decided in (customer, relayed, reply, said):
        assert max(policy.predict_action_probabilities(decided, project_domain).probabilities) == 0.0
    assert asked == []  # a message to the agent, an agent's reply: the rules were not even read
    for ruled in (conversation(True, "EXTERNAL_queue_update"), conversation(False, "EXTERNAL_agent_message"),
                  conversation(False, "query_logistics")):
        assert max(policy.predict_action_probabilities(ruled, project_domain).probabilities) == 1.0
    # the desk's other events, a reply outside a handoff, and the bot's own turns
    assert asked == ["EXTERNAL_queue_update", "EXTERNAL_agent_message", "query_logistics"]


async def test_the_queue_state_follows_the_handoff_to_its_end(services: Services) -> None:
    dispatcher = CollectingDispatcher()
    update = tracker("", "EXTERNAL_queue_update", entities={"queue_position": "1", "wait_minutes": "2"},
                     slots={"handoff_active": True})
    await ActionQueueUpdate(services).run(dispatcher, update, domain())
    assert responses(dispatcher) == ["utter_handoff_queue_next", ""]
    assert states(dispatcher) == [{"state": "queued", "ahead": 0, "wait_minutes": 2}]
    dispatcher = CollectingDispatcher()
    await ActionQueueUpdate(services).run(dispatcher, tracker("", "EXTERNAL_queue_update", entities={
        "queue_position": "2"}, slots={"handoff_active": False}), domain())
    assert dispatcher.messages == []  # the handoff is over: no stale queue place
    dispatcher = CollectingDispatcher()
    assigned = FakeDesk({"status": "assigned", "session_id": "h2", "agent_name": "小李"})
    await ActionRequestHuman(services, assigned).run(dispatcher, logistics_conversation(), domain())
    assert states(dispatcher) == [{"state": "agent", "agent_name": "小李"}]
    dispatcher = CollectingDispatcher()
    await ActionHandoffTimeout(services).run(dispatcher, tracker("", "EXTERNAL_handoff_timeout", entities={
        "ticket_id": "T1001"}, slots={"handoff_active": True}), domain())
    assert states(dispatcher) == [{"state": "ended"}]
    dispatcher = CollectingDispatcher()
    down = FakeDesk(down=True)
    await ActionRelayToAgent(services, down).run(dispatcher, tracker("还在吗", "query_logistics", slots={
        "handoff_active": True, "handoff_session": "h1"}), domain())
    assert "utter_handoff_interrupted" in responses(dispatcher) and states(dispatcher) == [{"state": "ended"}]
