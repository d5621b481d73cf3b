"""A message that is nothing but a product name is an answer (`inform`), not a question.

「纯棉圆领T恤」 sent while the size form asks which product came out of DIET as
`product_question` (0.99), so the bot answered a product fact and asked for the product
again. When the product entities cover the whole message (apart from fillers such as
「这款」「的」 and closing punctuation) and nothing in it asks (？, 吗, 呢), the intent is
`inform` whatever the classifier said; what the form or the dialogue does with it is theirs.
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

FILLER = re.compile(r"[\s,，.。!！~～、:：\"'“”「」]|这款|那款|这个|那个|就是|买的|的|是")
ASKING = re.compile(r"[?？吗呢么嘛]")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class BareAnswer(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"entities": ["product"]}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.entities = set(config.get("entities") or [])

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage,
               resource: Resource, execution_context: ExecutionContext) -> BareAnswer:
        return cls({**cls.get_default_config(), **config})

    def is_bare(self, message: Message) -> bool:
        text = message.get(TEXT) or ""
        spans = sorted((entity["start"], entity["end"]) for entity in message.get(ENTITIES) or []
                       if entity.get("entity") in self.entities and "start" in entity)
        if not spans or ASKING.search(text):
            return False
        rest, position = [], 0
        for start, end in spans:
            rest.append(text[position:start])
            position = max(position, end)
        rest.append(text[position:])
        return not FILLER.sub("", "".join(rest))

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if (message.get(INTENT) or {}).get("name") != "inform" and self.is_bare(message):
                set_intent(message, {"name": "inform", "confidence": 1.0})
        return messages
