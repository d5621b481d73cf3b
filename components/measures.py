"""Height and weight together ask for a size: 「一米七五 一百三十斤 羽绒服m还是l」 was read as
`inform` (an answer) or too close to call, and got a clarifying question, although the
numbers with a garment or a size only make sense as a size question. When the message has a
height and a weight (`QuantityExtractor`) and the classifier fell back or read a product
question, or an answer that also names a product or a size or asks (吗, ?, 什么码), the
intent is `ask_size`. A bare answer (「175 65kg」 to 「身高体重多少?」) and order requests (an
exchange for a size) keep theirs.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from components.intents import set_intent


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class MeasuresAskSize(GraphComponent):
    """Sets `ask_size` for messages with body measures the classifier did not place."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"intent": "ask_size", "replaces": ["nlu_fallback", "product_question"],
                "needs": ["height_cm", "weight_kg"],
                # an answer (`inform`) with these entities or words is a question too
                "answer_with": ["product", "size"], "asking": r"[吗?？]|什么码|哪个码|多大|还是"}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.intent = str(config["intent"])
        self.replaces = set(config["replaces"])
        self.needs = set(config["needs"])
        self.answer_with = set(config["answer_with"])
        self.asking = re.compile(config["asking"])

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage,
               resource: Resource, execution_context: ExecutionContext) -> MeasuresAskSize:
        return cls({**cls.get_default_config(), **config})

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            found = {entity.get("entity") for entity in message.get(ENTITIES) or []}
            intent = (message.get(INTENT) or {}).get("name")
            asks = intent in self.replaces or (intent == "inform" and bool(
                found & self.answer_with or self.asking.search(message.get(TEXT) or "")))
            if not asks or not self.needs <= found:
                continue
            set_intent(message, {"name": self.intent, "confidence": 1.0})
        return messages
