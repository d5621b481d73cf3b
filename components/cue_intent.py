"""Words that only make sense as one request decide the intent the classifier missed.

- **Invoice details** (`ask_invoice`): 「我要开专票 订单3612… 抬头杭州…有限公司 税号9133…」 was
  read as `query_order_status` (the order number and 订单), and 「开发票 单位抬头 … 税号 … 邮箱 …
  谢谢」 as too close to call (a clarifying question with one choice). Messages about goods
  going back (「退货要把发票寄回吗」) keep theirs.
- **到账** (`query_refund_progress`): 「多久到账」 after a refund's answer got the shop's
  dispatch times (`ask_shipping_time`); money arrives, parcels do not.

Each is one entry in config.yml: the intent, the classifier's readings it may replace
(others, such as a tracking request beside an invoice question, stay), the cue and the words
that keep the classifier's reading. A button payload (「/inform{…}」) is never replaced.
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
class CueIntent(GraphComponent):
    """Sets `intent` for messages whose words cue it, where the classifier read one of
    `replaces`."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"intent": None, "replaces": ["nlu_fallback"], "cue": None, "unless": None}

    def __init__(self, config: Dict[Text, Any]) -> None:
        if not config.get("intent") or not config.get("cue"):
            raise ValueError("CueIntent needs an `intent` and a `cue` (config.yml)")
        self.intent = str(config["intent"])
        self.replaces = set(config["replaces"])
        self.cue = re.compile(config["cue"])
        self.unless = re.compile(config["unless"]) if config.get("unless") else None

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage,
               resource: Resource, execution_context: ExecutionContext) -> CueIntent:
        return cls({**cls.get_default_config(), **config})

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if (message.get(INTENT) or {}).get("name") not in self.replaces or \
                    text.startswith("/") or not self.cue.search(text) or \
                    (self.unless is not None and self.unless.search(text)):
                continue
            set_intent(message, {"name": self.intent, "confidence": 1.0})
        return messages
