"""Messages with nothing to read get a clarifying question, not a confident guess.

DIET gives every input some intent, often with high confidence: 「。。。」 came out as
`rate_service` (0.999), 「😂😂😂」 as `request_return` (0.98), 「asdfghjkl」 as `thank`, and
「？？？」 as `complain`, which hands the customer to the complaints queue. A message is
readable when it has a Chinese character, a digit (order numbers, phone tails, ratings), a
Latin word the training examples use (ok, iPhone, sf), or is exactly a training example
(「👍」). Anything else becomes `nlu_fallback` with full confidence, so the clarification
(and, the third time, the handoff for repeated failure) follows.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Set, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.shared.utils.io import dump_obj_as_json_to_file, read_json_file

MODEL_FILE = "vocabulary.json"
READABLE = re.compile(r"[\u4e00-\u9fff0-9０-９]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def normalise(text: Text) -> Text:
    return "".join(text.split()).lower()


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class ContentGuard(GraphComponent):
    """After the FallbackClassifier: unreadable messages become `nlu_fallback`."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    def __init__(self, model_storage: ModelStorage, resource: Resource,
                 words: Optional[Set[Text]] = None, texts: Optional[Set[Text]] = None) -> None:
        self._model_storage = model_storage
        self._resource = resource
        self.words = words or set()
        self.texts = texts or set()

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage,
               resource: Resource, execution_context: ExecutionContext) -> ContentGuard:
        return cls(model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        for message in training_data.intent_examples:
            text = message.get(TEXT) or ""
            self.texts.add(normalise(text))
            self.words.update(word.lower() for word in LATIN_WORD.findall(text))
        with self._model_storage.write_to(self._resource) as directory:
            dump_obj_as_json_to_file(directory / MODEL_FILE, {
                "words": sorted(self.words), "texts": sorted(self.texts)})
        return self._resource

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> ContentGuard:
        try:
            with model_storage.read_from(resource) as directory:
                data = read_json_file(directory / MODEL_FILE)
        except (ValueError, FileNotFoundError):
            data = {}
        return cls(model_storage, resource, set(data.get("words", [])),
                   set(data.get("texts", [])))

    def readable(self, text: Text) -> bool:
        if READABLE.search(text) or normalise(text) in self.texts:
            return True
        return any(word.lower() in self.words for word in LATIN_WORD.findall(text))

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            # Button payloads (/intent) and empty texts are Rasa's own business.
            if not text or not text.strip() or text.startswith("/") or self.readable(text):
                continue
            fallback = {"name": DEFAULT_NLU_FALLBACK_INTENT_NAME, "confidence": 1.0}
            message.set(INTENT, fallback, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [fallback], add_to_output=True)
        return messages
