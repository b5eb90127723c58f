"""The trained model, loaded as the Rasa servers load it (connectors/model_load.py): every TensorFlow policy and
selector has its trained weights. Rasa's TEDPolicy.load takes any ValueError for "no model" and returns a policy that
predicts nothing, which no story test notices while the rules and memoization carry the stories."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from scripts.launch import model_path


@pytest.fixture(scope="module")
def agent() -> Any:
    from connectors import model_load

    model_load.install()
    from rasa.core.agent import Agent

    return Agent.load(str(model_path()))


def components(agent: Any) -> dict[str, Any]:
    nodes = agent.processor.graph_runner._instantiated_nodes  # Rasa 3.6's DaskGraphRunner: node name -> GraphNode
    return {name: node._component for name, node in nodes.items() if getattr(node, "_component", None) is not None}


def test_every_tensorflow_component_has_its_trained_model(agent: Any) -> None:
    from rasa.core.policies.ted_policy import TEDPolicy
    from rasa.nlu.classifiers.diet_classifier import DIETClassifier

    learned = {name: c for name, c in components(agent).items() if isinstance(c, (TEDPolicy, DIETClassifier))}
    assert len(learned) == 3, sorted(learned)  # TED and the faq and chitchat response selectors
    assert [name for name, c in learned.items() if c.model is None] == []


def test_ted_predicts_the_next_action_of_a_conversation(agent: Any) -> None:
    from rasa.core.policies.ted_policy import TEDPolicy

    asyncio.run(agent.handle_text("你好", sender_id="model-check"))
    tracker = asyncio.run(agent.tracker_store.retrieve("model-check"))
    ted = next(c for c in components(agent).values() if isinstance(c, TEDPolicy))
    probabilities = TEDPolicy.predict_action_probabilities(ted, tracker, agent.domain).probabilities
    assert max(probabilities) > 0  # an untrained TED gives every action 0


def test_ted_runs_after_the_policies_whose_certain_answers_spare_it(agent: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """handoff/certain_predictions.py: TED skips only when a policy that ran before it, on the same tracker, was
    certain. The graph must run it last, or the saving is lost (never the answer)."""
    from rasa.core.policies.policy import Policy

    calls: list[tuple[str, int, int]] = []
    nodes = agent.processor.graph_runner._instantiated_nodes
    for node in nodes.values():
        if isinstance(getattr(node, "_component", None), Policy) and node._fn_name == "predict_action_probabilities":
            def recording(component: Any, *args: Any, _original: Any = node._fn, **kwargs: Any) -> Any:
                tracker = kwargs["tracker"]
                calls.append((type(component).__name__, id(tracker), len(tracker.events)))
                return _original(component, *args, **kwargs)
            monkeypatch.setattr(node, "_fn", recording)

    asyncio.run(agent.handle_text("你好", sender_id="order-check"))
    assert calls and len(calls) % 4 == 0, calls
    for start in range(0, len(calls), 4):
        step = calls[start:start + 4]
        assert step[-1][0] == "QuietTEDPolicy", step
        assert len({(tracker, events) for _, tracker, events in step}) == 1  # one tracker object, one step
