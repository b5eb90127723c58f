"""HandoffPolicy: while a human agent has the conversation, the bot stays quiet.

Every customer message is routed to the relay action (which posts it, with its NLU result,
to the agent through the desk), and the bot then listens again. An agent's reply, which the
desk sends in as EXTERNAL_agent_message, goes to the action that says it to the customer, and
the bot listens again: the same as the rule in data/rules/handoff.yml, decided here so that the
rules need not turn the whole session into states for every reply (handoff/quiet_policies.py).
The desk's other events (queue updates, the end of the handoff: intents starting with EXTERNAL_)
are left to the rules.

Outside a handoff the policy sends the latest customer message to a person at once when
- its intent is one handoff.yml lists under `always_human_intents`;
- it reads as a complaint although another intent won: `complaint` has at least
  `complaint_confidence` in the intent ranking;
- it is shouted (three or more exclamation marks);
- the customer keeps being unhappy: of their last `negative_window` messages (this one
  included, and this one negative) at least `negative_turns` were negative (see
  `is_negative_turn`).
A message whose top intent is `complaint` or `request_human` is left to its own rules
(data/rules/handoff.yml opens a complaint's ticket first). Only the turns since the session
started, and since the bot last handed the customer to a person, count.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction, SupportedData
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, Restarted, SessionStarted, SlotSet, UserUtteranceReverted, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from handoff.certain_predictions import note_if_certain

logger = logging.getLogger(__name__)

HANDOFF_SLOT = "handoff_active"
RELAY_ACTION = "action_relay_to_agent"
AGENT_MESSAGE_INTENT = "EXTERNAL_agent_message"
AGENT_MESSAGE_ACTION = "action_agent_message"
EXTERNAL_PREFIX = "EXTERNAL_"
COMPLAINT = "complaint"
FALLBACK = "nlu_fallback"
# Intents whose own rules hand the customer to a person: the policy does not jump them.
OWN_FLOW_INTENTS = frozenset({COMPLAINT, "request_human"})
# An unhappy customer: complaining, or chasing a late parcel.
NEGATIVE_INTENTS = frozenset({COMPLAINT, "urge_delivery"})

ParseData = Mapping[str, Any]


@dataclass(frozen=True)
class EscalationSettings:
    """When an unhappy customer goes to a person: HandoffPolicy's config in config.yml."""

    complaint_confidence: float = 0.3  # config.yml says why
    negative_window: int = 3
    negative_turns: int = 2

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> EscalationSettings:
        """The policy's config; a value out of range fails with its key's name."""
        settings = cls(float(config.get("complaint_confidence", cls.complaint_confidence)),
                       int(config.get("negative_window", cls.negative_window)),
                       int(config.get("negative_turns", cls.negative_turns)))
        if not 0.0 < settings.complaint_confidence <= 1.0:
            raise ValueError(f"HandoffPolicy complaint_confidence must be in (0, 1], got {settings.complaint_confidence}")
        if settings.negative_window < 1:
            raise ValueError(f"HandoffPolicy negative_window must be at least 1, got {settings.negative_window}")
        if not 1 <= settings.negative_turns <= settings.negative_window:
            raise ValueError(f"HandoffPolicy negative_turns must be between 1 and negative_window, "
                             f"got {settings.negative_turns}")
        return settings


def should_relay(active: bool, latest_action: str | None, latest_intent: str | None) -> bool:
    """A customer message just arrived during an active handoff."""
    return bool(active) and latest_action == ACTION_LISTEN_NAME and not (latest_intent or "").startswith(EXTERNAL_PREFIX)


def passes_agent_message(active: bool, latest_action: str | None, latest_intent: str | None) -> bool:
    """An agent's reply just came in from the desk during an active handoff."""
    return bool(active) and latest_action == ACTION_LISTEN_NAME and latest_intent == AGENT_MESSAGE_INTENT


def said_agent_message(active: bool, latest_action: str | None, agent_action: str = AGENT_MESSAGE_ACTION) -> bool:
    """The agent's reply was said during an active handoff: wait for the next message."""
    return bool(active) and latest_action == agent_action


def relayed_just_now(latest_action: str | None, relay_action: str) -> bool:
    """The relay action ran (it may just have ended the handoff: 不等了): wait for the next message."""
    return latest_action == relay_action


def top_intent(parse_data: ParseData) -> str:
    """The winning intent's name ("" when there is none)."""
    return str((parse_data.get("intent") or {}).get("name") or "")


def intent_confidence(parse_data: ParseData, intent: str) -> float:
    """`intent`'s confidence in the ranking (or as the top intent when there is no ranking); 0 when absent."""
    for candidate in parse_data.get("intent_ranking") or [parse_data.get("intent") or {}]:
        if candidate.get("name") == intent:
            return float(candidate.get("confidence") or 0.0)
    return 0.0


def reads_shouted(text: str) -> bool:
    """Three or more exclamation marks, half- or full-width."""
    return text.count("!") + text.count("！") >= 3


def is_negative_turn(parse_data: ParseData) -> bool:
    """The customer was unhappy in this message, or the bot did not understand it.

    Negative: a complaint, chasing a delivery, and a message the bot could not read (nlu_fallback),
    which counts only next to a complaint or a chase (see `repeatedly_negative`). Not negative: deny
    (不是 answers the bot's yes/no question), stop, and every other intent.
    """
    return top_intent(parse_data) in NEGATIVE_INTENTS | {FALLBACK}


def repeatedly_negative(customer_turns: Sequence[ParseData], window: int, needed: int) -> bool:
    """The latest turn is negative, and so are `needed` of the last `window` (latest included).

    Misunderstandings alone are the two-stage fallback's job (topic buttons, then a person): at least
    one of the negative turns must be a complaint or a chase.
    """
    recent = list(customer_turns)[-window:]
    if not recent or not is_negative_turn(recent[-1]):
        return False
    negative = [turn for turn in recent if is_negative_turn(turn)]
    return len(negative) >= needed and any(top_intent(turn) != FALLBACK for turn in negative)


def reads_as_complaint(parse_data: ParseData, settings: EscalationSettings) -> bool:
    """Another intent won, but complaint has at least `complaint_confidence` in the ranking.

    False for a top intent of complaint or request_human: their rules hand the customer over.
    """
    return (top_intent(parse_data) not in OWN_FLOW_INTENTS
            and intent_confidence(parse_data, COMPLAINT) >= settings.complaint_confidence)


def reads_unhappy(parse_data: ParseData, settings: EscalationSettings) -> bool:
    """The single-message signal: `reads_as_complaint`, or !!! (not on complaint or request_human either)."""
    if top_intent(parse_data) in OWN_FLOW_INTENTS:
        return False
    return reads_as_complaint(parse_data, settings) or reads_shouted(str(parse_data.get("text") or ""))


def should_escalate(active: bool, latest_action: str | None, user_turns: Sequence[ParseData],
                    settings: EscalationSettings = EscalationSettings(),
                    always_human: frozenset[str] = frozenset()) -> bool:
    """The latest customer message, outside a handoff, goes to a person at once.

    `user_turns`: parse data of the user messages that count (this session, since the last
    handoff to a person), oldest first, the latest message last.
    """
    if active or latest_action != ACTION_LISTEN_NAME or not user_turns:
        return False
    intent = top_intent(user_turns[-1])
    if intent.startswith(EXTERNAL_PREFIX):
        return False
    if intent in always_human:
        return True
    if intent in OWN_FLOW_INTENTS:
        return False
    customer = [turn for turn in user_turns if not top_intent(turn).startswith(EXTERNAL_PREFIX)]
    return reads_unhappy(customer[-1], settings) or repeatedly_negative(
        customer, settings.negative_window, settings.negative_turns)


def turns_that_count(events: Iterable[Event], escalation_action: str, slot: str = HANDOFF_SLOT) -> list[ParseData]:
    """Parse data of the user messages since the session started and since the customer was last handed over.

    A handover is the escalation action or the handoff slot set (action_default_fallback hands over
    too); what a person already saw does not count again. A reverted message does not count.
    """
    turns: list[ParseData] = []
    for event in events:
        if isinstance(event, (SessionStarted, Restarted)) or (
                isinstance(event, ActionExecuted) and event.action_name == escalation_action) or (
                isinstance(event, SlotSet) and event.key == slot and event.value):
            turns = []
        elif isinstance(event, UserUtteranceReverted):
            turns = turns[:-1]
        elif isinstance(event, UserUttered):
            turns.append(event.parse_data)
    return turns


def configured_always_human() -> frozenset[str]:
    """handoff.yml's always_human_intents (HANDOFF_CONFIG); a broken file is logged, not fatal to the bot."""
    from handoff.config import HandoffConfigError, load_config
    from service.settings import get_settings

    try:
        return load_config(get_settings().handoff_config).always_human_intents
    except HandoffConfigError as exc:
        logger.error("handoff.yml unreadable, no intent goes straight to a person: %s", exc)
        return frozenset()


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class HandoffPolicy(Policy):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"priority": 7, "relay_action": RELAY_ACTION, "agent_message_action": AGENT_MESSAGE_ACTION,
                "slot": HANDOFF_SLOT,
                "escalation_action": "action_request_human", "always_human_intents": None,  # None: read handoff.yml
                "complaint_confidence": EscalationSettings.complaint_confidence,
                "negative_window": EscalationSettings.negative_window,
                "negative_turns": EscalationSettings.negative_turns}

    @classmethod
    def supported_data(cls) -> SupportedData:
        return SupportedData.ML_AND_RULE_DATA

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Any | None = None,
    ) -> None:
        super().__init__({**self.get_default_config(), **config}, model_storage, resource, execution_context,
                         featurizer)
        listed = self.config["always_human_intents"]
        self._always_human = configured_always_human() if listed is None else frozenset(listed)
        self._escalation = EscalationSettings.from_config(self.config)

    def train(self, training_trackers: list[TrackerWithCachedStates], domain: Domain, **kwargs: Any) -> Resource:
        """Nothing to learn: the decision is a rule about the handoff slot."""
        with self._model_storage.write_to(self._resource):
            pass
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        active = bool(tracker.get_slot(self.config["slot"]))
        latest_action = tracker.latest_action_name
        intent = (tracker.latest_message.intent or {}).get("name") if tracker.latest_message else None
        relay, escalate = self.config["relay_action"], self.config["escalation_action"]
        agent_message = self.config["agent_message_action"]
        if should_relay(active, latest_action, intent) and relay in domain.action_names_or_texts:
            probabilities[domain.index_for_action(relay)] = 1.0
        elif passes_agent_message(active, latest_action, intent) and agent_message in domain.action_names_or_texts:
            probabilities[domain.index_for_action(agent_message)] = 1.0
        elif (relayed_just_now(latest_action, relay) or latest_action == escalate
              or said_agent_message(active, latest_action, agent_message)):
            probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
        elif should_escalate(active, latest_action, turns_that_count(tracker.events, escalate, self.config["slot"]),
                             self._escalation, self._always_human):
            probabilities[domain.index_for_action(escalate)] = 1.0
        return note_if_certain(tracker, self._prediction(probabilities))

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> HandoffPolicy:
        return cls(config, model_storage, resource, execution_context)
