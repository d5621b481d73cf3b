"""Emotion radar: held-out accuracy, and the component run the way the Rasa graph runs it."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any, Dict, Tuple

import numpy as np
import pytest
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.engine.training.fingerprinting import calculate_fingerprint_key
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.emotion import LABELS, EmotionRadar, intensity, load_examples
from service_common.config import ConfigError

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from emotion_report import confusion, format_report  # noqa: E402

TRAIN_FILE = ROOT / "data/emotion/train.yml"
LEXICON_FILE = ROOT / "components/emotion_lexicon.yml"
HELDOUT_FILE = ROOT / "tests/emotion/heldout.yml"

Setup = Tuple[LocalModelStorage, Resource, ExecutionContext, Dict[str, Any]]


def _setup(folder: Path, **config: Any) -> Setup:
    full_config = {**EmotionRadar.get_default_config(), "training_file": str(TRAIN_FILE),
                   "lexicon_file": str(LEXICON_FILE), **config}
    return (LocalModelStorage(folder), Resource("emotion_radar"),
            ExecutionContext(GraphSchema({}), "test"), full_config)


@pytest.fixture(scope="module")
def radar(tmp_path_factory: pytest.TempPathFactory) -> EmotionRadar:
    """Trained with create() + train(), then loaded back from storage as `rasa run` does."""
    storage, resource, context, config = _setup(tmp_path_factory.mktemp("emotion"))
    EmotionRadar.create(config, storage, resource, context).train(TrainingData())
    return EmotionRadar.load(config, storage, resource, context)


def emotion_of(radar: EmotionRadar, text: str) -> Dict[str, Any]:
    message = Message.build(text=text)
    radar.process([message])
    return message.as_dict(only_output_properties=True)["emotion"]


def test_heldout_accuracy(radar: EmotionRadar) -> None:
    texts, gold = load_examples(str(HELDOUT_FILE))
    assert all(sum(label == wanted for label in gold) >= 100 for wanted in LABELS)
    predicted = [emotion_of(radar, text)["label"] for text in texts]
    print("\nemotion radar on tests/emotion/heldout.yml\n" + format_report(gold, predicted))
    matrix = confusion(gold, predicted)
    accuracy = sum(matrix[label][label] for label in LABELS) / len(gold)
    assert accuracy >= 0.85


def test_emotion_is_in_the_parse_output(radar: EmotionRadar) -> None:
    message = Message.build(text="请问什么时候发货")
    radar.process([message])
    output = message.as_dict(only_output_properties=True)
    assert set(output["emotion"]) >= {"label", "intensity"}
    assert output["emotion"]["label"] in LABELS
    assert 0.0 <= output["emotion"]["intensity"] <= 1.0


@pytest.mark.parametrize("text, label, low, high", [
    ("你们到底怎么回事？？？再不发货我就投诉12315！！！", "angry", 0.85, 1.0),
    ("请问什么时候发货", "calm", 0.0, 0.2),
    ("急用!明天能到吗", "anxious", 0.4, 0.9),
    ("好的 谢谢亲", "calm", 0.0, 0.2),
    ("垃圾店 骗子 退钱!!!", "angry", 0.8, 1.0),
    ("在吗在吗 怎么还没发货呀 有点着急", "anxious", 0.4, 0.9),
])
def test_examples(radar: EmotionRadar, text: str, label: str, low: float, high: float) -> None:
    emotion = emotion_of(radar, text)
    assert emotion["label"] == label, emotion
    assert low <= emotion["intensity"] <= high, emotion


def test_escalation_raises_intensity(radar: EmotionRadar) -> None:
    mild = emotion_of(radar, "怎么还没发货")
    hot = emotion_of(radar, "怎么还没发货？？？再不发我就投诉！！！")
    assert hot["label"] == "angry"
    assert hot["intensity"] > mild["intensity"]


@pytest.mark.parametrize("text", ["", "   ", "/greet", "😊", "快递" * 5000])
def test_odd_messages_get_an_emotion(radar: EmotionRadar, text: str) -> None:
    emotion = emotion_of(radar, text)
    assert emotion["label"] in LABELS and 0.0 <= emotion["intensity"] <= 1.0


def test_every_intensity_is_within_range(radar: EmotionRadar) -> None:
    texts, _ = load_examples(str(HELDOUT_FILE))
    for text in texts:
        value = emotion_of(radar, text)["intensity"]
        assert 0.0 <= value <= 1.0
    for label in LABELS:
        for probability in (0.34, 0.7, 1.0):
            for cue in (0.0, 0.5, 1.0):
                assert 0.0 <= intensity(label, probability, cue) <= 1.0
    assert intensity("calm", 1.0, 1.0) == 0.0
    assert intensity("angry", 1.0, 1.0) == 1.0


def test_fast_inference_matches_scikit_learn(radar: EmotionRadar) -> None:
    # process() skips sklearn's per-call overhead; it must give sklearn's probabilities.
    texts, _ = load_examples(str(HELDOUT_FILE))
    model = radar._model
    assert model is not None
    prepared = [radar._prepare(text) for text in texts]
    features = scipy.sparse.hstack([
        model["vectorizer"].transform(prepared),
        scipy.sparse.csr_matrix(radar._hand_matrix(radar._matcher, prepared)),
    ]).tocsr()
    expected = model["classifier"].predict_proba(features)
    classes = list(model["classifier"].classes_)
    actual = np.array([[radar.probabilities(text)[0][label] for label in classes]
                       for text in texts])
    np.testing.assert_allclose(actual, expected, atol=1e-9)


def test_untrained_resource_leaves_messages_alone(tmp_path: Path) -> None:
    storage, resource, context, config = _setup(tmp_path)
    component = EmotionRadar.load(config, storage, resource, context)
    message = Message.build(text="垃圾")
    component.process([message])
    assert message.get("emotion") is None


def test_training_reads_the_configured_file(tmp_path: Path) -> None:
    data = tmp_path / "emotion.yml"
    data.write_text(
        'version: "1"\nemotions:\n'
        "  - label: calm\n    examples: |\n      - 好的\n      - 谢谢\n"
        "  - label: anxious\n    examples: |\n      - 急急急\n      - 怎么办啊\n"
        "  - label: angry\n    examples: |\n      - 垃圾\n      - 骗子\n",
        encoding="utf-8")
    (tmp_path / "model").mkdir()
    storage, resource, context, config = _setup(tmp_path / "model", training_file=str(data))
    EmotionRadar.create(config, storage, resource, context).train(TrainingData())
    loaded = EmotionRadar.load(config, storage, resource, context)
    assert emotion_of(loaded, "骗子")["label"] == "angry"


@pytest.mark.parametrize(("change", "where"), [
    (("    weight: 1.0\n", "    weight: high\n"), "cues.threat.weight: must be a number"),
    (("terms: [投诉, ", "terms: [投诉, yes, "), "cues.threat.terms[1]: must be text"),
    (("signals: [angry]", "signals: [furious]"), "cues.threat.signals[0]: unexpected value"),
    (("'(?<!不)滚'", "'(?<!不滚'"), "cues.insult.patterns[1]: bad regex"),
])
def test_a_lexicon_mistake_stops_training_naming_file_line_and_path(
        tmp_path: Path, change: Tuple[str, str], where: str) -> None:
    # The lexicon was not checked: `yes` became the term "True", a text weight or an
    # unknown label failed deep in training, a bad regex with a bare re.error.
    shipped = LEXICON_FILE.read_text(encoding="utf-8")
    lexicon = tmp_path / "lexicon.yml"
    lexicon.write_text(shipped.replace(*change, 1), encoding="utf-8")
    line = next(number for number, text in enumerate(lexicon.read_text().splitlines(), 1)
                if change[1].strip() in text)
    storage, resource, context, config = _setup(tmp_path, lexicon_file=str(lexicon))
    with pytest.raises(ConfigError, match=re.escape(f"{lexicon}:{line}: {where}")):
        EmotionRadar.create(config, storage, resource, context).train(TrainingData())


def test_fingerprint_changes_when_the_training_file_changes(tmp_path: Path) -> None:
    data = tmp_path / "emotion.yml"
    data.write_bytes(TRAIN_FILE.read_bytes())
    config = {"training_file": str(data), "lexicon_file": str(LEXICON_FILE)}

    def key() -> str:
        # The key Rasa's graph trainer computes to decide whether to reuse a cached node.
        return calculate_fingerprint_key(EmotionRadar, config, {"training_data": "same"})

    before = key()
    assert key() == before
    with data.open("a", encoding="utf-8") as file:
        file.write("      - 新加的例子 气死我了\n")
    assert key() != before
    assert EmotionRadar.fingerprint_addon(config) != EmotionRadar.fingerprint_addon(
        {**config, "lexicon_file": str(data)})


@pytest.mark.parametrize("text, label", [
    # 「你们」 opened a third of the angry training examples and few calm ones: polite
    # questions addressed to the shop were scored angry and handed to the senior queue.
    ("你们几点发货", "calm"), ("你们家还有粉色的吗", "calm"), ("请问你们支持七天无理由吗", "calm"),
    ("你们这什么破店", "angry"), ("你们到底发不发货", "angry"),
])
def test_addressing_the_shop_is_no_anger(radar: EmotionRadar, text: str, label: str) -> None:
    assert emotion_of(radar, text)["label"] == label


@pytest.mark.parametrize("text", ["361204587712340001", "5678", "5", "138-0013-8000", " 12 "])
def test_bare_numbers_carry_no_mood(radar: EmotionRadar, text: str) -> None:
    assert radar.predict(text) == {"label": "calm", "intensity": 0.0, "confidence": 1.0}


def test_char_word_analyzer_without_words_is_sklearn_char_wb() -> None:
    # max_word_ngram > 0 swaps sklearn's char_wb analyzer for CharWordAnalyzer: its
    # character part must be the same n-grams.
    from sklearn.feature_extraction.text import TfidfVectorizer

    from components.emotion import CharWordAnalyzer, normalize

    stock = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3)).build_analyzer()
    ours = CharWordAnalyzer(1, 3, 0)
    for text in load_examples(str(HELDOUT_FILE))[0][:200] + ["", " a ", "好"]:
        assert ours(normalize(text)) == stock(normalize(text))
    grams = CharWordAnalyzer(1, 2, 2)("快递到哪了 急用")
    assert any(gram.startswith("w:") and "|" in gram for gram in grams)


def test_word_ngrams_and_label_prior(tmp_path: Path) -> None:
    storage, resource, context, config = _setup(tmp_path, max_word_ngram=2)
    EmotionRadar.create(config, storage, resource, context).train(TrainingData())
    loaded = EmotionRadar.load(config, storage, resource, context)
    assert emotion_of(loaded, "请问什么时候发货")["label"] == "calm"
    assert emotion_of(loaded, "垃圾店 骗子 退钱!!!")["label"] == "angry"
    text = "怎么还没发货"
    plain = loaded.probabilities(text)[0]
    loaded._config["label_prior"] = {"calm": 3.0}
    shifted = loaded.probabilities(text)[0]
    assert shifted["calm"] > plain["calm"] and abs(sum(shifted.values()) - 1.0) < 1e-9
    ratio = plain["angry"] / plain["anxious"]
    assert abs(shifted["angry"] / shifted["anxious"] - ratio) < 1e-9


def _small_training_file(folder: Path, per_label: int = 40) -> Path:
    texts, labels = load_examples(str(TRAIN_FILE))
    lines = ['version: "1"', "emotions:"]
    for label in LABELS:
        chosen = [text for text, gold in zip(texts, labels, strict=True) if gold == label]
        lines += [f"  - label: {label}", "    examples: |"]
        lines += [f"      - {text}" for text in chosen[:per_label]]
    path = folder / "small.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_sentence_embedding_decides_the_messages_the_ngrams_are_unsure_of(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from components import emotion, sentence_encoder

    small = _small_training_file(tmp_path)
    (tmp_path / "model").mkdir()
    storage, resource, context, config = _setup(
        tmp_path / "model", training_file=str(small), sentence_embedding_weight=2.0,
        embedding_below=0.9, hand_feature_weight=0.3)
    EmotionRadar.create(config, storage, resource, context).train(TrainingData())
    loaded = EmotionRadar.load(config, storage, resource, context)
    model = loaded._model
    assert model is not None and model["embedded"] is not None
    assert model["classifier"] is not model["embedded"]

    embedded_texts = []
    embed = sentence_encoder.embed

    def counting(text: str, encoder: str = "e5") -> np.ndarray:
        embedded_texts.append(text)
        return embed(text, encoder)

    monkeypatch.setattr(emotion.sentence_encoder, "embed", counting)
    texts, _ = load_examples(str(HELDOUT_FILE))
    texts = texts[:60]
    prepared = [loaded._prepare(text) for text in texts]
    ngrams = scipy.sparse.hstack([
        model["vectorizer"].transform(prepared),
        scipy.sparse.csr_matrix(loaded._hand_matrix(loaded._matcher, prepared))]).tocsr()
    alone = model["classifier"].predict_proba(ngrams)
    joint = model["embedded"].predict_proba(scipy.sparse.hstack([
        ngrams, scipy.sparse.csr_matrix(sentence_encoder.embed_many(texts) * 2.0)]).tocsr())
    unsure = alone.max(axis=1) < 0.9
    assert 0 < unsure.sum() < len(texts)
    expected = np.where(unsure[:, None], joint, alone)
    classes = list(model["classifier"].classes_)
    found = [loaded.probabilities(text)[0] for text in texts]
    actual = np.array([[probabilities[label] for label in classes] for probabilities in found])
    np.testing.assert_allclose(actual, expected, atol=1e-9)
    assert embedded_texts == [text for text, flag in zip(texts, unsure, strict=True) if flag]

    # embedding_below 1.0: every message through the joint model
    storage, resource, context, config = _setup(
        tmp_path / "model", training_file=str(small), sentence_embedding_weight=2.0,
        hand_feature_weight=0.3)
    resource = Resource("always")
    EmotionRadar.create(config, storage, resource, context).train(TrainingData())
    always = EmotionRadar.load(config, storage, resource, context)
    embedded_texts.clear()  # loading warms the encoder up with one text
    assert always._model is not None and always._model["classifier"] is always._model["embedded"]
    found = [always.probabilities(text)[0] for text in texts[:5]]
    joint = always._model["embedded"].predict_proba(scipy.sparse.hstack([
        ngrams[:5], scipy.sparse.csr_matrix(sentence_encoder.embed_many(texts[:5]) * 2.0)
    ]).tocsr())
    np.testing.assert_allclose([[row[label] for label in classes] for row in found], joint,
                               atol=1e-9)
    assert embedded_texts == texts[:5]
