"""The invoice details in a message make it an invoice request: 「我要开专票 订单3612…
抬头杭州…有限公司 税号9133…」 was read as `query_order_status` (the order number and 订单), and
「开发票 单位抬头 … 税号 … 邮箱 … 谢谢」 as too close to call (a clarifying question with one
choice): a title, a tax id or 开票 words only make sense as one. When the message names them and
the classifier fell back or read an order-status question, an answer, a thank-you or an FAQ,
the intent is `ask_invoice`. Messages about goods going back (「退货要把发票寄回吗」) keep theirs.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from components.intents import set_intent


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class InvoiceCue(GraphComponent):
    """Sets `ask_invoice` for messages that give or ask for an invoice's details."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"intent": "ask_invoice",
                "replaces": ["nlu_fallback", "query_order_status", "inform", "thank", "faq"],
                "cue": r"税号|抬头|(开|要|申请)(个|张|一张|一下)?(增值税)?(专用|普通|电子)?"
                       r"(发票|专票|普票)",
                "unless": r"退货|换货|退款|寄回|退回"}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.intent = str(config["intent"])
        self.replaces = set(config["replaces"])
        self.cue = re.compile(config["cue"])
        self.unless = re.compile(config["unless"])

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage,
               resource: Resource, execution_context: ExecutionContext) -> InvoiceCue:
        return cls({**cls.get_default_config(), **config})

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if (message.get(INTENT) or {}).get("name") not in self.replaces or \
                    text.startswith("/") or not self.cue.search(text) or \
                    self.unless.search(text):
                continue
            set_intent(message, {"name": self.intent, "confidence": 1.0})
        return messages
