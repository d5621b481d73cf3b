"""NgramIntentClassifier: trained on the project's NLU data, blended with the ranking before it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, List

import numpy as np
import pytest
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components import sentence_encoder
from components.intent_classifier import NgramIntentClassifier

ROOT = Path(__file__).resolve().parents[2]
CONTEXT = ExecutionContext(GraphSchema({}), "test")


def _load(folder: Path, **config: Any) -> NgramIntentClassifier:
    storage, resource = LocalModelStorage(folder), Resource("ngram_intents")
    full = {**NgramIntentClassifier.get_default_config(), **config}
    NgramIntentClassifier.create(full, storage, resource, CONTEXT).train(
        load_data(str(ROOT / "data" / "nlu")))
    return NgramIntentClassifier.load(full, storage, resource, CONTEXT)


@pytest.fixture(scope="module")
def classifier(trained_component: Callable[..., Any]) -> NgramIntentClassifier:
    """The classifier of the trained model (data/nlu, config.yml), loaded as `rasa run`
    does, blending with a ranking before it (which the deployed pipeline has none of)."""
    return trained_component(NgramIntentClassifier, blend=0.7)


def parsed(classifier: NgramIntentClassifier, text: str,
           before: List[Dict[str, Any]] | None = None) -> Message:
    message = Message.build(text=text)
    if before is not None:
        message.set(INTENT, before[0], add_to_output=True)
        message.set(INTENT_RANKING_KEY, before, add_to_output=True)
    classifier.process([message])
    return message


@pytest.mark.parametrize("text, intent", [
    ("我的快递到哪了", "track_logistics"),
    ("能开发票吗", "ask_invoice"),
    ("收到的杯子碎了", "report_quality_issue"),
    ("谢谢亲", "thank"),
])
def test_reads_plain_requests_on_its_own(classifier: NgramIntentClassifier, text: str,
                                         intent: str) -> None:
    message = parsed(classifier, text)
    assert message.get(INTENT)["name"] == intent
    ranking = message.get(INTENT_RANKING_KEY)
    assert ranking[0] == message.get(INTENT)
    assert len(ranking) == 10
    assert [item["confidence"] for item in ranking] == sorted(
        (item["confidence"] for item in ranking), reverse=True)


def test_blends_with_the_ranking_already_there(classifier: NgramIntentClassifier) -> None:
    text = "收到的杯子碎了"
    alone = classifier.probabilities(text)
    assert alone is not None
    diet = [{"name": "complain", "confidence": 0.9}, {"name": "report_quality_issue",
                                                      "confidence": 0.1}]
    ranking = {item["name"]: item["confidence"]
               for item in parsed(classifier, text, diet).get(INTENT_RANKING_KEY)}
    assert ranking["complain"] == pytest.approx(0.7 * alone["complain"] + 0.3 * 0.9, abs=1e-6)
    assert ranking["report_quality_issue"] == pytest.approx(
        0.7 * alone["report_quality_issue"] + 0.3 * 0.1, abs=1e-6)


def test_an_order_number_does_not_change_the_request(classifier: NgramIntentClassifier) -> None:
    # Digits of a pasted number are "a number", not votes for the intents they had in training.
    assert (parsed(classifier, "帮我催一下361204587712340002").get(INTENT)["name"]
            == parsed(classifier, "帮我催一下123456789012345678").get(INTENT)["name"]
            == "urge_delivery")


def test_unknown_text_keeps_the_ranking_it_had(classifier: NgramIntentClassifier) -> None:
    before = [{"name": "greet", "confidence": 0.8}]
    message = parsed(classifier, "ぁぃぅ", before)
    assert message.get(INTENT) == before[0]
    assert message.get(INTENT_RANKING_KEY) == before


def test_unknown_text_alone_is_left_to_the_fallback(classifier: NgramIntentClassifier) -> None:
    # The only intent classifier (config.yml): no intent at all, confidence 0, so the
    # FallbackClassifier answers nlu_fallback instead of failing on a missing intent.
    message = parsed(classifier, "ぁぃぅ")
    assert message.get(INTENT) == {"name": None, "confidence": 0.0}
    assert message.get(INTENT_RANKING_KEY) == []


def test_fast_inference_matches_scikit_learn(classifier: NgramIntentClassifier) -> None:
    model = classifier._model
    assert model is not None
    texts = ["我的快递到哪了", "这件外套175 70公斤穿什么码", "你们这个杯子碎了怎么办!!!",
             "那个 我想问下就是上次那个东西"]
    ngrams = model["vectorizer"].transform([classifier._prepare(text) for text in texts])
    alone = model["classifier"].predict_proba(ngrams)
    expected = alone
    if model.get("embedded") is not None:  # config.yml: the embedding decides unsure messages
        weight = classifier._config["sentence_embedding_weight"]
        embedded = model["embedded"].predict_proba(scipy.sparse.hstack(
            [ngrams, scipy.sparse.csr_matrix(sentence_encoder.embed_many(texts) * weight)]))
        unsure = alone.max(axis=1) < classifier._config["embedding_below"]
        assert unsure.any() and not unsure.all()  # both paths are taken here
        expected = np.where(unsure[:, None], embedded, alone)
    labels = list(model["classifier"].classes_)
    actual = np.array([[classifier.probabilities(text)[label] for label in labels]
                       for text in texts])
    np.testing.assert_allclose(actual, expected, atol=1e-9)


def test_with_the_embedding_alone(tmp_path: Path) -> None:
    """`embedding_below` 1.0: one regression over n-grams and the embedding decides all."""
    examples = {"report_quality_issue": ["杯子碎了", "充电宝坏了", "质量有问题", "用两天就坏了"],
                "track_logistics": ["快递到哪了", "物流怎么不动了", "查下物流", "包裹到哪里了"],
                "ask_invoice": ["能开发票吗", "我要开票", "发票怎么开", "开个增值税发票"]}
    data = TrainingData([Message.build(text=text, intent=intent)
                         for intent, texts in examples.items() for text in texts])
    config = {**NgramIntentClassifier.get_default_config(), "sentence_embedding_weight": 1.0}
    storage, resource = LocalModelStorage(tmp_path), Resource("embedded")
    NgramIntentClassifier.create(config, storage, resource, CONTEXT).train(data)
    component = NgramIntentClassifier.load(config, storage, resource, CONTEXT)
    model = component._model
    assert model is not None and model["embedded"] is model["classifier"]
    assert component._embedded is component._scorer
    text = "收到的杯子是破的"
    features = scipy.sparse.hstack([
        model["vectorizer"].transform([component._prepare(text)]),
        scipy.sparse.csr_matrix(sentence_encoder.embed_many([text]))])
    expected = dict(zip(model["classifier"].classes_,
                        model["classifier"].predict_proba(features)[0], strict=True))
    actual = component.probabilities(text)
    assert actual is not None
    assert actual == pytest.approx(expected, abs=1e-9)


def test_untrained_resource_leaves_messages_alone(tmp_path: Path) -> None:
    component = NgramIntentClassifier.load(NgramIntentClassifier.get_default_config(),
                                           LocalModelStorage(tmp_path), Resource("none"),
                                           CONTEXT)
    before = [{"name": "greet", "confidence": 0.8}]
    assert parsed(component, "你好", before).get(INTENT_RANKING_KEY) == before
