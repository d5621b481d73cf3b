"""Emotion radar: label every customer message calm / anxious / angry with an intensity.

The label comes from a logistic regression over character n-grams (TF-IDF) and hand cues
(threats, insults, urgency, sarcasm, ???/!!! runs ...) kept in an editable lexicon file.
The emotion examples live in their own file (data/emotion/train.yml), because Rasa's
TrainingData has no place for a second label per message.

Intensity (0-1), from the winning label's probability p and the cue strength c of that label:

    c = 1 - exp(-sum(weight_g * min(hits_g, 2)))   over lexicon groups g signalling the label
    calm:    intensity = 0.3 * (1 - p)                        -> 0 .. 0.2
    anxious: intensity = 0.3 + 0.6 * (0.5 * p + 0.5 * c)      -> 0.3 .. 0.9
    angry:   intensity = 0.4 + 0.6 * (0.5 * p + 0.5 * c)      -> 0.4 .. 1.0

so a confident angry message with a threat and "!!!" lands near 1, and a calm one near 0.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import unicodedata
from pathlib import Path
from typing import Any, Dict, List, Literal, Optional, Pattern, Text, Tuple, Union

import numpy as np
import scipy.sparse
import yaml
from pydantic import StrictInt, validator
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.exceptions import RasaException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components import model_files, sentence_encoder
from components.ngram_linear import NgramLinearScorer, softmax
from service_common.config import Model, number, parse, read_yaml
from service_common.config import Text as TextType

logger = logging.getLogger(__name__)

EMOTION = "emotion"
LABELS = ("calm", "anxious", "angry")
MODEL_FILE = "emotion.joblib"

# (floor, span) of the intensity for the agitated labels; see the module docstring.
INTENSITY_RANGES = {"anxious": (0.3, 0.6), "angry": (0.4, 0.6)}
CALM_SPAN = 0.3
MAX_HITS_PER_GROUP = 2

# A question ends in a run of "?" or in 吗/呢/么/嘛 at a clause break (linear-time regex:
# it runs on every message).
_QUESTION_END = re.compile(r"\?+|[吗呢么嘛](?=[,.;!\s~、。…]|$)")
_QUESTION_RUN = re.compile(r"\?+")
_NO_WORDS = re.compile(r"[\d\s\-+#.,:/()（）,。:]*")
_EXCLAMATION_RUN = re.compile(r"!+")


def normalize(text: Text) -> Text:
    """NFKC (full-width ？！１ -> ?!1) and lower case, so cues match however they are typed."""
    return unicodedata.normalize("NFKC", text).lower()


def load_examples(path: Text) -> Tuple[List[Text], List[Text]]:
    """Reads `emotions: - label: X / examples: | - text` into parallel text/label lists."""
    with open(path, encoding="utf-8") as file:
        content = yaml.safe_load(file) or {}
    texts: List[Text] = []
    labels: List[Text] = []
    for block in content.get("emotions") or []:
        label = block.get("label")
        if label not in LABELS:
            raise RasaException(f"{path}: unknown emotion label '{label}', use one of {LABELS}")
        for line in (block.get("examples") or "").splitlines():
            line = line.strip()
            if line.startswith("- ") and line[2:].strip():
                texts.append(line[2:].strip())
                labels.append(label)
    return texts, labels


class CueGroup(Model):
    """A group of cues (words or regexes) hinting at some labels, with a weight."""

    signals: List[Literal["calm", "anxious", "angry"]] = []
    weight: number(ge=0) = 0.0  # type: ignore[valid-type]
    # 12315 (the consumer hotline) reads as a number in YAML and means the same; a yes/no
    # would turn into true/false, which must be quoted.
    terms: List[Union[TextType, StrictInt]] = []
    patterns: List[TextType] = []

    @validator("patterns", each_item=True)
    def _regex(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as error:
            raise ValueError(f"bad regex {pattern!r}: {error}") from None
        return pattern


class LexiconFile(Model):
    """components/emotion_lexicon.yml"""

    version: Literal["1"]
    cues: Dict[TextType, CueGroup]


def load_lexicon(path: Union[str, Path]) -> Dict[Text, Any]:
    """The lexicon as written (the trained model keeps it), once it is checked."""
    data, text = read_yaml(path)
    parse(data, LexiconFile, str(path), text)
    return data


class CueMatcher:
    """Counts lexicon group hits and punctuation structure: the hand features."""

    def __init__(self, lexicon: Dict[Text, Any]) -> None:
        self.groups: List[Tuple[Text, List[Pattern], float, Tuple[Text, ...]]] = []
        for name, group in (lexicon.get("cues") or {}).items():
            terms = sorted({normalize(str(term)) for term in group.get("terms") or []},
                           key=len, reverse=True)
            regexes = [re.compile("|".join(re.escape(term) for term in terms))] if terms else []
            # Patterns stay separate: their back-references count groups per pattern.
            regexes += [re.compile(pattern) for pattern in group.get("patterns") or []]
            signals = tuple(group.get("signals") or ())
            self.groups.append((name, regexes, float(group.get("weight", 0.0)), signals))
        self.feature_names = [name for name, *_ in self.groups] + [
            "question_marks", "exclamations", "question_run", "exclamation_run",
            "question_clauses", "length",
        ]

    def hits(self, text: Text) -> List[int]:
        return [sum(1 for regex in regexes for _ in regex.finditer(text))
                for _, regexes, _, _ in self.groups]

    def features(self, text: Text) -> Tuple[np.ndarray, List[int]]:
        """Returns the hand feature vector and the raw hit counts per group."""
        hits = self.hits(text)
        question_run = max((len(run) for run in _QUESTION_RUN.findall(text)), default=0)
        exclamation_run = max((len(run) for run in _EXCLAMATION_RUN.findall(text)), default=0)
        structure = [
            math.log1p(text.count("?")),
            math.log1p(text.count("!")),
            min(question_run, 4) / 4,
            min(exclamation_run, 4) / 4,
            # A string of questions ("今天发吗?明天到吗?后天呢?") reads as pressure.
            math.log1p(len(_QUESTION_END.findall(text))),
            math.log1p(len(text)) / 4,
        ]
        values = [math.log1p(count) for count in hits] + structure
        return np.asarray(values, dtype=np.float64), hits

    def cue_strength(self, hits: List[int], label: Text) -> float:
        """1 - exp(-weighted hits) of the groups that signal `label`: 0 none, ~1 many."""
        total = sum(weight * min(count, MAX_HITS_PER_GROUP)
                    for (_, _, weight, signals), count in zip(self.groups, hits, strict=True)
                    if label in signals)
        return 1.0 - math.exp(-total)


class CharWordAnalyzer:
    """sklearn's character n-grams (char_wb) of the text plus, when `max_word_ngram` > 0,
    jieba word n-grams prefixed "w:" (one vocabulary, so the fast scorer needs no change)."""

    def __init__(self, min_ngram: int, max_ngram: int, max_word_ngram: int) -> None:
        from sklearn.feature_extraction.text import CountVectorizer

        self._characters = CountVectorizer(analyzer="char_wb", lowercase=False,
                                           ngram_range=(min_ngram, max_ngram)).build_analyzer()
        self.max_word_ngram = max_word_ngram

    def __call__(self, text: Text) -> List[Text]:
        grams: List[Text] = list(self._characters(text))
        if self.max_word_ngram > 0:
            import jieba

            words = [word for word in jieba.lcut(text) if word.strip()]
            for n in range(1, self.max_word_ngram + 1):
                grams.extend("w:" + "|".join(words[start:start + n])
                             for start in range(len(words) - n + 1))
        return grams


def class_weights(labels: List[Text], setting: Any) -> Any:
    """sklearn's class weights: "balanced", or a blend `b` of balanced (1) and the raw
    counts (0): weight = (n / (k * count)) ** b."""
    if setting in (None, "balanced"):
        return setting
    counts = {label: labels.count(label) for label in set(labels)}
    return {label: (len(labels) / (len(counts) * count)) ** float(setting)
            for label, count in counts.items()}


def intensity(label: Text, probability: float, cue_strength: float) -> float:
    """Maps the label probability and cue strength to 0-1 (formula in the module docstring)."""
    if label == "calm":
        value = CALM_SPAN * (1.0 - probability)
    else:
        floor, span = INTENSITY_RANGES[label]
        value = floor + span * (0.5 * probability + 0.5 * cue_strength)
    return float(min(1.0, max(0.0, value)))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class EmotionRadar(GraphComponent):
    """Adds `emotion: {label, intensity, confidence}` to every parsed message.

    Registered as an intent classifier so that it trains once and runs on each message
    without touching the featurized training data; it reads only the raw text.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "training_file": "data/emotion/train.yml",
            "lexicon_file": "components/emotion_lexicon.yml",
            # Character n-grams of the raw text; char_wb keeps n-grams inside space-separated
            # chunks, which customers use as clause breaks.
            "analyzer": "char_wb",
            "min_ngram": 1,
            "max_ngram": 3,
            # Inverse regularisation strength of the logistic regression.
            "C": 10.0,
            # Scale of the hand features next to the L2-normalised n-gram vector.
            "hand_feature_weight": 1.0,
            "random_state": 2026,
            # A pasted essay must not cost more than a normal message.
            "max_chars": 300,
            # "balanced" weighs the three labels equally whatever their counts; a number
            # in [0, 1] blends towards the training counts (real traffic is mostly calm).
            "class_weight": "balanced",
            # Jieba word n-grams (1..N, prefixed "w:") beside the character n-grams; 0 = none.
            # Needs analyzer char_wb.
            "max_word_ngram": 0,
            # Factor on each label's probability before the arg-max (then renormalised):
            # above 1 for calm flags fewer calm messages. Labels left out keep 1.
            "label_prior": {},
            # The sentence embedding (components/sentence_encoder.py) beside the n-grams
            # and hand cues, scaled by this weight; 0 = none.
            "sentence_embedding_weight": 0.0,
            # Which encoder (components/sentence_encoder.py): "e5", "use" or "e5+use".
            "sentence_encoder": "e5",
            # ... computed only for messages whose n-gram model's top probability is below
            # this (1.0: every message); the joint model decides those.
            "embedding_below": 1.0,
        }

    @classmethod
    def required_packages(cls) -> List[Text]:
        return ["sklearn", "joblib"]

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[Text]:
        # Rasa fingerprints config and NLU data only; hashing the emotion examples and the
        # lexicon makes `rasa train` retrain when trainers edit either file.
        digest = hashlib.sha256()
        defaults = cls.get_default_config()
        for key in ("training_file", "lexicon_file"):
            path = Path(config.get(key) or defaults[key])
            digest.update(key.encode())
            digest.update(path.read_bytes() if path.is_file() else b"<missing>")
        return digest.hexdigest()

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Optional[Dict[Text, Any]] = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._set_model(model)

    def _set_model(self, model: Optional[Dict[Text, Any]]) -> None:
        self._model = model
        self._matcher = CueMatcher(model["lexicon"]) if model else None
        if model:
            self._scorer = NgramLinearScorer(model["vectorizer"], model["classifier"])
            embedded = model.get("embedded")
            self._embedded = (NgramLinearScorer(model["vectorizer"], embedded)
                              if embedded is not None else None)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> EmotionRadar:
        return cls(config, model_storage, resource)

    # ----------------------------------------------------------------- training

    def _prepare(self, text: Text) -> Text:
        return normalize(text[: self._config["max_chars"]])

    def _hand_matrix(self, matcher: CueMatcher, texts: List[Text]) -> np.ndarray:
        weight = self._config["hand_feature_weight"]
        return np.vstack([matcher.features(text)[0] for text in texts]) * weight

    def train(self, training_data: TrainingData) -> Resource:
        """Trains on the emotion file; Rasa's NLU `training_data` carries no emotion labels."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        path = self._config["training_file"]
        if not Path(path).is_file():
            raise RasaException(f"EmotionRadar: training file '{path}' not found.")
        raw_texts, labels = load_examples(path)
        missing = set(LABELS) - set(labels)
        if missing:
            raise RasaException(f"EmotionRadar: '{path}' has no examples for {sorted(missing)}.")
        lexicon = load_lexicon(self._config["lexicon_file"])

        texts = [self._prepare(text) for text in raw_texts]
        matcher = CueMatcher(lexicon)
        word_ngrams = int(self._config.get("max_word_ngram") or 0)
        if word_ngrams and self._config["analyzer"] != "char_wb":
            raise RasaException("EmotionRadar: max_word_ngram needs analyzer char_wb.")
        vectorizer = TfidfVectorizer(
            analyzer=(CharWordAnalyzer(self._config["min_ngram"], self._config["max_ngram"],
                                       word_ngrams)
                      if word_ngrams else self._config["analyzer"]),
            ngram_range=(self._config["min_ngram"], self._config["max_ngram"]),
            sublinear_tf=True,
            lowercase=False,  # normalize() already did it
            dtype=np.float64,
        )
        features = scipy.sparse.hstack(
            [vectorizer.fit_transform(texts),
             scipy.sparse.csr_matrix(self._hand_matrix(matcher, texts))]
        ).tocsr()

        def fitted(matrix: Any) -> Any:
            classifier = LogisticRegression(
                C=self._config["C"],
                class_weight=class_weights(labels, self._config["class_weight"]),
                max_iter=5000,
                random_state=self._config["random_state"],
                multi_class="multinomial",
                solver="lbfgs",
            )
            return classifier.fit(matrix, labels)

        weight = float(self._config["sentence_embedding_weight"])
        embedded = None
        if weight:
            embeddings = sentence_encoder.embed_many(
                raw_texts, self._config["sentence_encoder"]) * weight
            embedded = fitted(scipy.sparse.hstack(
                [features, scipy.sparse.csr_matrix(embeddings)]).tocsr())
        alone = fitted(features) if embedded is None or \
            float(self._config["embedding_below"]) < 1.0 else None
        self._set_model({"vectorizer": vectorizer, "classifier": alone or embedded,
                         "embedded": embedded, "lexicon": lexicon})
        self.persist()
        logger.debug(f"EmotionRadar trained on {len(texts)} examples from '{path}'.")
        return self._resource

    def persist(self) -> None:
        model_files.save(self._model_storage, self._resource, MODEL_FILE, self._model)

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> EmotionRadar:
        model = model_files.load(model_storage, resource, MODEL_FILE)
        if model is None:
            logger.warning(
                f"EmotionRadar: no trained model in resource '{resource.name}'; "
                f"messages get no emotion until the model is retrained."
            )
        elif model.get("embedded") is not None:
            # The encoder loaded now, not on a customer's message.
            sentence_encoder.embed("你好", config.get("sentence_encoder", "e5"))
        return cls(config, model_storage, resource, model)

    # ---------------------------------------------------------------- inference

    def probabilities(self, text: Text) -> Tuple[Dict[Text, float], List[int]]:
        """Class probabilities for one raw text, plus the lexicon hits behind them."""
        assert self._matcher is not None
        prepared = self._prepare(text)
        scorer = self._scorer
        hand, hits = self._matcher.features(prepared)
        hand = hand * self._config["hand_feature_weight"]
        counts = scorer.columns(prepared)
        embedded = self._embedded
        probabilities = None
        below = float(self._config["embedding_below"])
        if embedded is None or below < 1.0:  # the n-gram model (without the embedding)
            probabilities = softmax(scorer.intercept + scorer.scores(counts)
                                    + hand @ scorer.extra_coef)
        if embedded is not None and (probabilities is None or probabilities.max() < below):
            weight = float(self._config["sentence_embedding_weight"])
            extra = np.concatenate(
                [hand, sentence_encoder.embed(text, self._config["sentence_encoder"]) * weight])
            probabilities = softmax(embedded.intercept + embedded.scores(counts)
                                    + extra @ embedded.extra_coef)
        assert probabilities is not None
        prior = self._config.get("label_prior") or {}
        if prior:
            probabilities = probabilities * np.array(
                [float(prior.get(label, 1.0)) for label in scorer.labels])
            probabilities /= probabilities.sum()
        return dict(zip(scorer.labels, probabilities.tolist(), strict=True)), hits

    def predict(self, text: Text) -> Dict[Text, Any]:
        """`{label, intensity, confidence}` for one raw text."""
        if not text or not text.strip() or _NO_WORDS.fullmatch(text):
            # Order numbers, phone tails, "5": data, not mood (n-grams of digits would
            # otherwise borrow whatever mood the digits had in the training examples).
            return {"label": "calm", "intensity": 0.0, "confidence": 1.0}
        assert self._matcher is not None
        probabilities, hits = self.probabilities(text)
        label = max(probabilities, key=probabilities.__getitem__)
        probability = probabilities[label]
        strength = self._matcher.cue_strength(hits, label)
        return {
            "label": label,
            "intensity": round(intensity(label, probability, strength), 3),
            "confidence": round(probability, 3),
        }

    def process(self, messages: List[Message]) -> List[Message]:
        if self._model is None:
            return messages
        for message in messages:
            message.set(EMOTION, self.predict(message.get(TEXT) or ""), add_to_output=True)
        return messages
