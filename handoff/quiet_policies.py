"""TED, memoization and the rules, standing aside while a human agent has the chat.

During a handoff only HandoffPolicy (relay, an agent's reply, then listen) and the rules for the desk's EXTERNAL_
intents decide, so running the dialogue models on every relayed message and agent reply is
pure cost: they featurize the whole conversation, which grows with every message, and the Rasa
server does it on its one event loop for every chat at once. The rules stand aside only where
HandoffPolicy itself decides (a customer message to relay, an agent's reply, the listen after either): its 1.0 at
priority 7 wins over any rule there, and RulePolicy turned the whole session into states for each
of those predictions (~10 % of a busy server's samples in `make bench-handoff`, docs/scaling.md).
The desk's other EXTERNAL_ events are still the rules' to answer. Outside a handoff all three behave
like Rasa's own policies, with one saving that changes no answer: TED does not compute a prediction
that a rule, a memorised story or HandoffPolicy has already made for certain (handoff/certain_predictions.py).
Training is theirs, unchanged.
"""

from __future__ import annotations

from typing import Any

from rasa.core.policies.memoization import MemoizationPolicy
from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.core.policies.rule_policy import RulePolicy
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import TEXT

from handoff.certain_predictions import decided_for_certain, note_if_certain
from handoff.policy import (
    HANDOFF_SLOT,
    RELAY_ACTION,
    passes_agent_message,
    relayed_just_now,
    said_agent_message,
    should_relay,
)


def in_handoff(tracker: DialogueStateTracker) -> bool:
    return bool(tracker.get_slot(HANDOFF_SLOT))


class StandsAsideDuringHandoff(Policy):
    """Predicts nothing while the handoff slot is set; otherwise the policy it is mixed into decides (and a certain
    answer is noted for TED, handoff/certain_predictions.py)."""

    def predict_action_probabilities(self, tracker: DialogueStateTracker, domain: Domain,
                                     *args: Any, **kwargs: Any) -> PolicyPrediction:
        if in_handoff(tracker):
            return self._prediction(self._default_predictions(domain))
        return note_if_certain(tracker, super().predict_action_probabilities(tracker, domain, *args, **kwargs))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITH_END_TO_END_SUPPORT, is_trainable=True)
class QuietTEDPolicy(StandsAsideDuringHandoff, TEDPolicy):
    """TEDPolicy, also predicting nothing where a policy of higher priority has already decided for certain."""

    def predict_action_probabilities(self, tracker: DialogueStateTracker, domain: Domain,
                                     *args: Any, **kwargs: Any) -> PolicyPrediction:
        if TEXT not in self.fake_features and decided_for_certain(tracker, above_priority=self.priority):
            return self._prediction(self._default_predictions(domain))
        return super().predict_action_probabilities(tracker, domain, *args, **kwargs)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class QuietMemoizationPolicy(StandsAsideDuringHandoff, MemoizationPolicy):
    pass


def handoff_decides(tracker: DialogueStateTracker, relay_action: str = RELAY_ACTION) -> bool:
    """During a handoff, a customer message to relay, an agent's reply to say, or the listen after either:
    HandoffPolicy's call."""
    intent = (tracker.latest_message.intent or {}).get("name") if tracker.latest_message else None
    latest_action = tracker.latest_action_name
    return in_handoff(tracker) and (should_relay(True, latest_action, intent)
                                    or relayed_just_now(latest_action, relay_action)
                                    or passes_agent_message(True, latest_action, intent)
                                    or said_agent_message(True, latest_action))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class QuietRulePolicy(RulePolicy):
    """RulePolicy, predicting nothing where HandoffPolicy decides; the desk's EXTERNAL_ events keep their rules.

    Rasa's recipe validator looks for RulePolicy by its exact class: at training it warns that none is configured
    (untrue: this one is a RulePolicy, /restart and forms work) and skips RulePolicy's check of its config against
    the domain, which `train` therefore runs itself.
    """

    def train(self, training_trackers: list[TrackerWithCachedStates], domain: Domain, **kwargs: Any) -> Resource:
        RulePolicy.raise_if_incompatible_with_domain(self.config, domain)
        return super().train(training_trackers, domain, **kwargs)

    def predict_action_probabilities(self, tracker: DialogueStateTracker, domain: Domain,
                                     *args: Any, **kwargs: Any) -> PolicyPrediction:
        if handoff_decides(tracker):  # not even the 0.3 of core fallback: the relay is not in doubt
            return self._prediction([0.0] * domain.num_actions)
        return note_if_certain(tracker, super().predict_action_probabilities(tracker, domain, *args, **kwargs))
