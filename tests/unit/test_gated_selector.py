"""The gated response selector: Rasa's answer for its own intent's messages, no selection work for the others."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.nlu.selectors.response_selector import ResponseSelector
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from understanding.gated_selector import IntentGatedResponseSelector, concerns

FAQ = {
    "faq/shipping_fee": ["is shipping free", "how much is shipping", "do you charge for delivery"],
    "faq/warranty": ["how long is the warranty", "is there a guarantee", "warranty period please"],
}
OTHER = {"query_logistics": ["where is my parcel", "track my order", "has it shipped yet"]}
RESPONSES = {"utter_faq/shipping_fee": [{"text": "free over 99"}], "utter_faq/warranty": [{"text": "one year"}]}


def test_only_messages_of_its_retrieval_intent_or_typed_intents_need_a_selection() -> None:
    assert concerns("faq", "is shipping free", ["faq"])
    assert concerns(None, "/faq", ["faq"])  # a button: the intent is set after the selectors
    assert not concerns("query_logistics", "where is my parcel", ["faq"])
    assert not concerns(None, "hello", ["faq"])
    assert concerns("chitchat", "tell me a joke", ["faq", "chitchat"])  # a selector for every retrieval intent


def training_data() -> TrainingData:
    examples = [Message(data={"text": t, "intent": "faq", "intent_response_key": key,
                              "response": RESPONSES[f"utter_{key}"][0]["text"]})
                for key, texts in FAQ.items() for t in texts]
    examples += [Message(data={"text": t, "intent": intent}) for intent, texts in OTHER.items() for t in texts]
    return TrainingData(training_examples=examples, responses=RESPONSES)


def featurized(messages: list[Message], tokenizer: WhitespaceTokenizer, featurizer: CountVectorsFeaturizer) -> list[Message]:
    tokenizer.process(messages)
    featurizer.process(messages)
    return messages


@pytest.fixture(scope="module")
def selectors(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, ...]:
    storage = LocalModelStorage(tmp_path_factory.mktemp("storage"))
    context = ExecutionContext(GraphSchema({}), "test")
    tokenizer = WhitespaceTokenizer.create(WhitespaceTokenizer.get_default_config(), storage, Resource("tok"), context)
    featurizer = CountVectorsFeaturizer.create(CountVectorsFeaturizer.get_default_config(), storage, Resource("cvf"), context)
    data = training_data()
    tokenizer.process_training_data(data)
    featurizer.train(data)
    featurizer.process_training_data(data)
    config = {**ResponseSelector.get_default_config(), "retrieval_intent": "faq", "epochs": 3, "random_seed": 7,
              "number_of_transformer_layers": 0}
    plain = ResponseSelector.create(config, storage, Resource("plain"), context)
    gated = IntentGatedResponseSelector.create(config, storage, Resource("gated"), context)
    plain.train(data)
    gated.train(data)
    return tokenizer, featurizer, plain, gated


def message(text: str, intent: str | None) -> Message:
    data: dict[str, Any] = {"text": text}
    if intent:
        data["intent"] = {"name": intent, "confidence": 0.9}
    return Message(data=data)


def test_a_faq_message_gets_what_rasas_selector_gives(selectors: tuple[Any, ...]) -> None:
    tokenizer, featurizer, plain, gated = selectors
    for text in ("is shipping free for me", "warranty how long", "/faq"):
        [by_rasa] = plain.process(featurized([message(text, "faq")], tokenizer, featurizer))
        [by_gate] = gated.process(featurized([message(text, "faq")], tokenizer, featurizer))
        ours, rasas = by_gate.get("response_selector"), by_rasa.get("response_selector")
        assert ours["faq"]["response"]["intent_response_key"] == rasas["faq"]["response"]["intent_response_key"]
        assert ours["faq"]["response"]["confidence"] == pytest.approx(rasas["faq"]["response"]["confidence"])
        assert ours["all_retrieval_intents"] == rasas["all_retrieval_intents"] == ["faq"]


def test_another_intents_message_carries_no_faq_answer_and_keeps_its_place_in_a_batch(selectors: tuple[Any, ...]) -> None:
    tokenizer, featurizer, _, gated = selectors
    batch = featurized([message("where is my parcel", "query_logistics"), message("is shipping free", "faq")],
                       tokenizer, featurizer)
    logistics, faq = gated.process(batch)
    assert logistics.get("text") == "where is my parcel"
    assert logistics.get("response_selector") == {"all_retrieval_intents": ["faq"]}
    assert faq.get("response_selector")["faq"]["response"]["intent_response_key"] == "faq/shipping_fee"
