"""TED and memoization that stand aside while a human agent has the chat.

During a handoff only HandoffPolicy (relay, then listen) and the rules for the desk's EXTERNAL_
intents decide, so running the dialogue models on every relayed message and agent reply is
pure cost: they featurize the whole conversation, which grows with every message, and the Rasa
server does it on its one event loop for every chat at once. Outside a handoff both behave
exactly like Rasa's own policies; training is theirs, unchanged.
"""

from __future__ import annotations

from typing import Any

from rasa.core.policies.memoization import MemoizationPolicy
from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from handoff.policy import HANDOFF_SLOT


def in_handoff(tracker: DialogueStateTracker) -> bool:
    return bool(tracker.get_slot(HANDOFF_SLOT))


class StandsAsideDuringHandoff(Policy):
    """Predicts nothing while the handoff slot is set; otherwise the policy it is mixed into decides."""

    def predict_action_probabilities(self, tracker: DialogueStateTracker, domain: Domain,
                                     *args: Any, **kwargs: Any) -> PolicyPrediction:
        if in_handoff(tracker):
            return self._prediction(self._default_predictions(domain))
        return super().predict_action_probabilities(tracker, domain, *args, **kwargs)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITH_END_TO_END_SUPPORT, is_trainable=True)
class QuietTEDPolicy(StandsAsideDuringHandoff, TEDPolicy):
    pass


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class QuietMemoizationPolicy(StandsAsideDuringHandoff, MemoizationPolicy):
    pass
