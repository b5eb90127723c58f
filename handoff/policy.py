"""HandoffPolicy: while a human agent has the conversation, the bot stays quiet.

Every customer message is routed to the relay action (which posts it, with its NLU result,
to the agent through the desk), and the bot then listens again. Events the desk sends in
(agent replies, queue updates, the end of the handoff: intents starting with EXTERNAL_) are
left to the rules. Outside a handoff the policy only acts on a message it reads as angry
(words from its `anger_words` config, or !!!) or whose intent handoff.yml lists under
`always_human_intents`: that goes to a person at once.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction, SupportedData
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)

HANDOFF_SLOT = "handoff_active"
EXTERNAL_PREFIX = "EXTERNAL_"


def should_relay(active: bool, latest_action: str | None, latest_intent: str | None) -> bool:
    """A customer message just arrived during an active handoff."""
    return bool(active) and latest_action == ACTION_LISTEN_NAME and not (latest_intent or "").startswith(EXTERNAL_PREFIX)


def relayed_just_now(latest_action: str | None, relay_action: str) -> bool:
    """The relay action ran (it may just have ended the handoff: 不等了): wait for the next message."""
    return latest_action == relay_action


def reads_angry(text: str, anger_words: list[str]) -> bool:
    return any(word in text for word in anger_words) or text.count("!") + text.count("！") >= 3


def should_escalate(active: bool, latest_action: str | None, latest_intent: str | None, text: str,
                    anger_words: list[str], always_human: frozenset[str] = frozenset()) -> bool:
    """A customer message outside a handoff that goes to a person at once: angry, or always-human."""
    if active or latest_action != ACTION_LISTEN_NAME or (latest_intent or "").startswith(EXTERNAL_PREFIX):
        return False
    return (latest_intent or "") in always_human or reads_angry(text, anger_words)


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
        return {"priority": 7, "relay_action": "action_relay_to_agent", "slot": HANDOFF_SLOT,
                "escalation_action": "action_request_human", "anger_words": [],
                "always_human_intents": None}  # None: read handoff.yml

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
        text = (tracker.latest_message.text or "") if tracker.latest_message else ""
        relay, escalate = self.config["relay_action"], self.config["escalation_action"]
        if should_relay(active, latest_action, intent) and relay in domain.action_names_or_texts:
            probabilities[domain.index_for_action(relay)] = 1.0
        elif relayed_just_now(latest_action, relay) or latest_action == escalate:
            probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
        elif should_escalate(active, latest_action, intent, text, list(self.config["anger_words"]),
                             self._always_human):
            probabilities[domain.index_for_action(escalate)] = 1.0
        return self._prediction(probabilities)

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
