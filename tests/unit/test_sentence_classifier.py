"""The intent classifier on n-grams and the sentence encoder: trains, ranks, survives model storage."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from understanding.sentence_classifier import SentenceIntentClassifier, read_dictionary

EXAMPLES = {
    "query_logistics": ["我的快递到哪了", "物流怎么还不更新", "包裹到哪里了", "查一下物流", "快递几天能到"],
    "request_invoice": ["我要开发票", "发票怎么开", "能开个增值税专票吗", "帮我开一张电子发票", "开票"],
    "greet": ["你好", "在吗", "有人吗", "哈喽", "您好客服"],
    "faq": ["运费怎么算", "包邮吗", "七天无理由能退吗", "支持货到付款吗", "可以分期吗"],
}


def training_data() -> TrainingData:
    messages = []
    for intent, texts in EXAMPLES.items():
        for text in texts:
            data = {"text": text, "intent": intent}
            if intent == "faq":
                data["intent_response_key"] = "faq/shipping_fee"
            messages.append(Message(data=data))
    return TrainingData(training_examples=messages)


@pytest.fixture
def storage(tmp_path: Path) -> LocalModelStorage:
    return LocalModelStorage(tmp_path)


def trained(storage: LocalModelStorage) -> tuple[SentenceIntentClassifier, Resource, ExecutionContext]:
    resource = Resource("sentence_intent_classifier")
    context = ExecutionContext(GraphSchema({}), "test")
    classifier = SentenceIntentClassifier.create({"jieba_dictionary": "data/jieba"}, storage, resource, context)
    classifier.train(training_data())
    return classifier, resource, context


def intent_of(classifier: SentenceIntentClassifier, text: str) -> tuple[str, float, list[dict]]:
    [message] = classifier.process([Message(data={"text": text})])
    return message.get("intent")["name"], message.get("intent")["confidence"], message.get("intent_ranking")


def test_it_understands_unseen_phrasing_typos_and_traditional_characters(storage: LocalModelStorage) -> None:
    classifier, _, _ = trained(storage)
    assert intent_of(classifier, "我的物留到哪了")[0] == "query_logistics"  # sound-alike typo
    assert intent_of(classifier, "發票怎麼開")[0] == "request_invoice"  # traditional characters
    assert intent_of(classifier, "亲 在不在")[0] == "greet"
    name, confidence, ranking = intent_of(classifier, "包邮不")
    assert name == "faq" and 0 < confidence <= 1  # a retrieval intent is classified by its base name
    assert [r["name"] for r in ranking][0] == "faq" and len(ranking) == 4
    assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0, abs=1e-4)


def test_the_trained_model_loads_from_storage_and_answers_the_same(storage: LocalModelStorage) -> None:
    classifier, resource, context = trained(storage)
    loaded = SentenceIntentClassifier.load({}, storage, resource, context)
    for text in ("快递几天到啊", "开张发票", "运费多少"):
        assert intent_of(loaded, text)[:2] == pytest.approx(intent_of(classifier, text)[:2])


def test_the_sentence_encoder_is_ready_when_the_model_is_loaded_not_at_the_first_message(
        storage: LocalModelStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    from understanding.encoder import SentenceEncoder

    classifier, resource, context = trained(storage)
    warmed: list[SentenceEncoder] = []
    monkeypatch.setattr(SentenceEncoder, "warm", lambda self: warmed.append(self))
    loaded = SentenceIntentClassifier.load({}, storage, resource, context)
    assert warmed == [loaded._encoder]


def test_warming_the_encoder_reads_its_weights() -> None:
    from understanding.encoder import SentenceEncoder

    encoder = SentenceEncoder()
    assert encoder._model is None  # the package reads its weights lazily
    encoder.warm()
    assert encoder._model is not None and encoder.encode(["你好"]).shape == (1, 512)


def test_training_twice_on_the_same_data_gives_the_same_model(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, _, _ = trained(LocalModelStorage(tmp_path / "a"))
    second, _, _ = trained(LocalModelStorage(tmp_path / "b"))
    assert intent_of(first, "物流呢")[2] == intent_of(second, "物流呢")[2]


def test_an_untrained_or_missing_model_gives_no_intent_rather_than_an_error(storage: LocalModelStorage) -> None:
    context = ExecutionContext(GraphSchema({}), "test")
    missing = SentenceIntentClassifier.load({}, storage, Resource("never_trained"), context)
    assert intent_of(missing, "你好")[:2] == (None, 0.0)
    classifier, _, _ = trained(storage)
    assert intent_of(classifier, "   ")[:2] == (None, 0.0)


def test_the_shop_dictionary_is_read_from_a_file_or_a_directory(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("价保 10 n\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("京豆 10 n", encoding="utf-8")
    assert read_dictionary(str(tmp_path)) == "价保 10 n\n京豆 10 n\n"
    assert read_dictionary(str(tmp_path / "a.txt")) == "价保 10 n\n"
    assert read_dictionary("") == ""


def test_a_message_with_two_requests_is_the_first_with_the_second_as_an_entity(storage: LocalModelStorage) -> None:
    classifier, _, _ = trained(storage)
    [message] = classifier.process([Message(data={"text": "查一下物流，顺便帮我开一张电子发票"})])
    assert message.get("intent")["name"] == "query_logistics"
    assert message.get("intent_ranking")[0]["name"] == "query_logistics"
    assert message.get("next_request")["name"] == "request_invoice"
    [entity] = message.get("entities")
    assert (entity["entity"], entity["value"], entity["start"], entity["end"]) == ("next_request", "request_invoice", 8, 17)
    assert "next_request" in message.as_dict(only_output_properties=True)  # what Rasa's parse result shows
    [greeting] = classifier.process([Message(data={"text": "你好，顺便问下运费怎么算"})])  # a greeting is no request
    assert greeting.get("next_request") is None and not greeting.get("entities")


def test_probabilities_are_scikit_learns_for_one_message_or_several(storage: LocalModelStorage) -> None:
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    from understanding.sentence_classifier import class_probabilities

    classifier, _, _ = trained(storage)
    texts = ["快递几天到啊", "开张发票", "运费多少", "", "你好 我要开发票 顺便查物流"]
    features = classifier._features(texts)
    regression = classifier._regression
    assert class_probabilities(regression, features[:1]) == pytest.approx(regression.predict_proba(features[:1]), abs=1e-12)
    assert class_probabilities(regression, features) == pytest.approx(regression.predict_proba(features), abs=1e-12)
    # a two-class regression is one-vs-rest in scikit-learn: left to it
    binary = LogisticRegression().fit(csr_matrix([[1.0, 0.0], [0.0, 1.0]]), ["a", "b"])
    two = csr_matrix([[0.5, 0.2]])
    assert class_probabilities(binary, two) == pytest.approx(binary.predict_proba(two))
