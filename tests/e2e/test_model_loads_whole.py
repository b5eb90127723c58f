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
