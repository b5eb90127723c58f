"""HandoffPolicy's escalation: which unhappy customers go to a person at once (handoff/policy.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    Event,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from handoff.policy import (
    EscalationSettings,
    HandoffPolicy,
    intent_confidence,
    is_negative_turn,
    reads_shouted,
    reads_unhappy,
    should_escalate,
    turns_that_count,
)

LISTEN = ACTION_LISTEN_NAME


def turn(intent: str, text: str = "嗯", **ranking: float) -> dict[str, Any]:
    """A message's parse data: `intent` on top (0.6 unless ranked), then the other `ranking` entries."""
    confidences = {intent: ranking.pop(intent, 0.6), **ranking}
    return {"text": text, "intent": {"name": intent, "confidence": confidences[intent]},
            "intent_ranking": [{"name": n, "confidence": c} for n, c in confidences.items()]}


def escalates(*turns: dict[str, Any], active: bool = False, latest_action: str = LISTEN) -> bool:
    return should_escalate(active, latest_action, list(turns), EscalationSettings())


def test_a_complaint_second_in_the_ranking_goes_to_a_person() -> None:
    assert escalates(turn("query_logistics", query_logistics=0.45, complaint=0.40))
    assert escalates(turn("query_logistics", query_logistics=0.45, complaint=0.30))  # at the threshold
    assert not escalates(turn("query_logistics", query_logistics=0.55, complaint=0.29))
    assert intent_confidence(turn("greet", greet=0.9), "complaint") == 0.0


def test_a_top_complaint_or_request_human_is_left_to_its_rule() -> None:
    assert not escalates(turn("complaint", complaint=0.9))
    assert not escalates(turn("complaint", "你们这什么服务!!!", complaint=0.9))  # the rule opens the ticket first
    assert not escalates(turn("request_human", request_human=0.5, complaint=0.45))
    assert not escalates(turn("urge_delivery"), turn("complaint"))


def test_three_exclamation_marks_still_go_to_a_person() -> None:
    assert reads_shouted("到底什么时候发货!!!") and reads_shouted("快点！！！") and reads_shouted("啊!！!")
    assert not reads_shouted("谢谢!!")
    assert escalates(turn("query_order_status", "到底什么时候发货!!!"))


def test_one_deny_is_not_anger() -> None:
    assert not is_negative_turn(turn("deny", "不是"))
    assert not escalates(turn("deny", "不是"))
    assert not escalates(turn("query_order_status"), turn("deny", "不是"), turn("deny", "不是"))


def test_two_urges_in_the_last_three_turns_go_to_a_person() -> None:
    assert escalates(turn("urge_delivery"), turn("urge_delivery"))
    assert escalates(turn("urge_delivery"), turn("query_logistics"), turn("urge_delivery"))
    assert not escalates(turn("urge_delivery"))
    assert not escalates(turn("urge_delivery"), turn("greet"), turn("thank"), turn("urge_delivery"))  # out of the window


def test_the_latest_message_must_itself_be_negative() -> None:
    assert not escalates(turn("urge_delivery"), turn("urge_delivery"), turn("thank"))


def test_a_complaint_then_a_misunderstanding_is_repeated_unhappiness() -> None:
    assert escalates(turn("complaint"), turn("nlu_fallback"))
    assert escalates(turn("nlu_fallback"), turn("urge_delivery"))
    # Misunderstandings alone are the two-stage fallback's job (topic buttons, then a person).
    assert is_negative_turn(turn("nlu_fallback"))
    assert not escalates(turn("nlu_fallback"), turn("nlu_fallback"))


def test_desk_events_are_neither_customer_turns_nor_escalated() -> None:
    assert not escalates(turn("urge_delivery"), turn("EXTERNAL_handoff_ended"))
    assert escalates(turn("urge_delivery"), turn("EXTERNAL_queue_update"), turn("EXTERNAL_agent_message"),
                     turn("urge_delivery"))


def test_nothing_escalates_during_a_handoff_or_after_an_action() -> None:
    shouting = turn("query_logistics", "人呢!!!", query_logistics=0.45, complaint=0.40)
    assert escalates(shouting)
    assert not escalates(shouting, active=True)
    assert not escalates(turn("urge_delivery"), turn("urge_delivery"), active=True)
    assert not escalates(shouting, latest_action="action_check_logistics")
    assert not escalates()


def test_the_single_message_signal_reads_the_threshold() -> None:
    message = turn("query_logistics", query_logistics=0.45, complaint=0.33)
    assert reads_unhappy(message, EscalationSettings(complaint_confidence=0.3))
    assert not reads_unhappy(message, EscalationSettings(complaint_confidence=0.35))
    assert EscalationSettings.from_config({}).complaint_confidence == 0.3


@pytest.mark.parametrize("config, key", [
    ({"complaint_confidence": 0.0}, "complaint_confidence"),
    ({"complaint_confidence": 1.5}, "complaint_confidence"),
    ({"negative_window": 0}, "negative_window"),
    ({"negative_window": 2, "negative_turns": 3}, "negative_turns"),
])
def test_a_setting_out_of_range_names_its_key(config: dict[str, Any], key: str) -> None:
    with pytest.raises(ValueError, match=key):
        EscalationSettings.from_config(config)


def said(text: str, intent: str, **ranking: float) -> list[Event]:
    parse = turn(intent, text, **ranking)
    return [ActionExecuted(LISTEN), UserUttered(text, parse["intent"], parse_data=parse)]


def test_turns_count_from_the_session_start_and_the_last_handover() -> None:
    urge = said("催一下", "urge_delivery")
    assert len(turns_that_count(urge + [ActionExecuted("action_urge_delivery")] + urge, "action_request_human")) == 2
    restarted = urge + [ActionExecuted("action_session_start"), SessionStarted()] + urge
    assert [t["text"] for t in turns_that_count(restarted, "action_request_human")] == ["催一下"]
    handed_over = urge + [ActionExecuted("action_request_human")] + urge
    assert len(turns_that_count(handed_over, "action_request_human")) == 1
    fallback_handover = urge + [SlotSet("handoff_active", True), SlotSet("handoff_active", False)] + urge
    assert len(turns_that_count(fallback_handover, "action_request_human")) == 1
    assert turns_that_count(urge + [UserUtteranceReverted()], "action_request_human") == []


def policy(tmp_path: Path, **config: Any) -> HandoffPolicy:
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    return HandoffPolicy.create({**HandoffPolicy.get_default_config(), "always_human_intents": [], **config},
                                storage, Resource("handoff"), context)


@pytest.fixture(scope="module")
def project_domain() -> Domain:
    return Domain.load("domain.yml")


def predicted(policy: HandoffPolicy, project_domain: Domain, events: list[Event]) -> str | None:
    tracker = DialogueStateTracker.from_events("s1", events, slots=project_domain.slots)
    prediction = policy.predict_action_probabilities(tracker, project_domain)
    best = max(range(len(prediction.probabilities)), key=prediction.probabilities.__getitem__)
    return project_domain.action_names_or_texts[best] if prediction.probabilities[best] > 0 else None


def test_the_policy_hands_a_complaint_under_another_intent_to_a_person(tmp_path: Path, project_domain: Domain) -> None:
    hidden = said("快递到哪了", "query_logistics", query_logistics=0.45, complaint=0.40)
    assert predicted(policy(tmp_path), project_domain, hidden) == "action_request_human"
    assert predicted(policy(tmp_path, complaint_confidence=0.5), project_domain, hidden) is None
    assert predicted(policy(tmp_path), project_domain, said("发错货了", "complaint", complaint=0.9)) is None


def test_the_policy_hands_a_customer_who_keeps_urging_to_a_person(tmp_path: Path, project_domain: Domain) -> None:
    urged = said("催一下", "urge_delivery") + [ActionExecuted("action_urge_delivery")]
    assert predicted(policy(tmp_path), project_domain, urged[:2]) is None
    assert predicted(policy(tmp_path), project_domain, urged + said("还没发货", "urge_delivery")) == "action_request_human"
    restarted = urged + [ActionExecuted("action_session_start"), SessionStarted()]
    assert predicted(policy(tmp_path), project_domain, restarted + said("还没发货", "urge_delivery")) is None
    handed_over = urged + [ActionExecuted("action_request_human")]
    assert predicted(policy(tmp_path), project_domain, handed_over + said("还没发货", "urge_delivery")) is None


def test_during_a_handoff_the_policy_relays_and_never_escalates(tmp_path: Path, project_domain: Domain) -> None:
    handoff = [SlotSet("handoff_active", True)]
    urged = handoff + said("催一下", "urge_delivery") + [ActionExecuted("action_relay_to_agent")]
    shouting = said("人呢!!!", "query_logistics", query_logistics=0.45, complaint=0.40)
    assert predicted(policy(tmp_path), project_domain, urged + shouting) == "action_relay_to_agent"
    assert predicted(policy(tmp_path), project_domain, urged + said("还没发货", "urge_delivery")) == "action_relay_to_agent"
    assert predicted(policy(tmp_path), project_domain, urged) == ACTION_LISTEN_NAME
