"""TED is spared only where a policy of higher priority has already decided this very step for certain."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from handoff.certain_predictions import decided_for_certain, note_if_certain
from handoff.quiet_policies import QuietTEDPolicy


def conversation() -> DialogueStateTracker:
    return DialogueStateTracker.from_events("s1", [ActionExecuted(ACTION_LISTEN_NAME),
                                                   UserUttered("你好", {"name": "greet", "confidence": 0.99})])


def prediction(confidence: float, priority: int, end_to_end: bool = False) -> PolicyPrediction:
    return PolicyPrediction([confidence, 1.0 - confidence], "P", priority, is_end_to_end_prediction=end_to_end)


def test_a_certain_prediction_spares_only_lower_priorities_and_only_this_step() -> None:
    tracker = conversation()
    assert not decided_for_certain(tracker, above_priority=1)
    note_if_certain(tracker, prediction(0.9, 6))  # a likely answer is not a certain one
    assert not decided_for_certain(tracker, above_priority=1)
    note_if_certain(tracker, prediction(1.0, 3))
    assert decided_for_certain(tracker, above_priority=1)
    assert not decided_for_certain(tracker, above_priority=3)  # a tie in priority is not settled by the note
    note_if_certain(tracker, prediction(1.0, 6))
    note_if_certain(tracker, prediction(1.0, 2))  # a lower one does not lower the note
    assert decided_for_certain(tracker, above_priority=5)
    tracker.update(ActionExecuted("utter_greet"))
    assert not decided_for_certain(tracker, above_priority=1)  # the next prediction of the turn is asked afresh


def test_an_end_to_end_prediction_is_never_taken_for_certain() -> None:
    tracker = conversation()
    note_if_certain(tracker, prediction(1.0, 6, end_to_end=True))
    assert not decided_for_certain(tracker, above_priority=1)


def test_ted_computes_nothing_after_a_certain_answer_and_runs_otherwise(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    domain = Domain.load("domain.yml")
    ran: list[int] = []

    def ted(self: TEDPolicy, tracker: DialogueStateTracker, domain: Domain, *args: object,
            **kwargs: object) -> PolicyPrediction:
        ran.append(len(tracker.events))
        return self._prediction([1.0 / domain.num_actions] * domain.num_actions)

    monkeypatch.setattr(TEDPolicy, "predict_action_probabilities", ted)
    policy = QuietTEDPolicy.create(QuietTEDPolicy.get_default_config(), LocalModelStorage(tmp_path), Resource("ted"),
                                   ExecutionContext(GraphSchema({}), "test"))
    tracker = DialogueStateTracker.from_events("s1", conversation().events, slots=domain.slots)
    assert max(policy.predict_action_probabilities(tracker, domain).probabilities) > 0
    note_if_certain(tracker, prediction(1.0, 6))
    assert max(policy.predict_action_probabilities(tracker, domain).probabilities) == 0.0
    assert ran == [2]  # the second time TED was not even asked
