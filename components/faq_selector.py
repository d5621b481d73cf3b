"""A ResponseSelector that only works on messages classified as its retrieval intent."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
    CountVectorsFeaturizer,
)
from rasa.nlu.selectors.response_selector import ResponseSelector
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_NAME_KEY
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.intents import set_intent

# A policy question about one order is a request about that order (docs/labelling.md:
# 「退差价」 for a specific order is `request_refund`): 「361204587712340022 降价了能价保吗」
# gets the order checked (the order form's task `price`), not the policy text again.
# Likewise 「显示器什么时候补货」 (a product named, or asked on its page) gets that
# product's stock and restock day.
AS_REQUESTS = {"faq/price_protection": ("request_refund", "order_id"),
               "faq/restock_notice": ("product_question", "product")}


def _is_retrieval(message: Message, retrieval_intent: str) -> bool:
    return (message.get(INTENT) or {}).get(INTENT_NAME_KEY) == retrieval_intent


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class FaqCountVectorsFeaturizer(CountVectorsFeaturizer):
    """Rasa's CountVectorsFeaturizer for the FAQ selector, the only reader of its features
    (the intent classifier, the emotion radar and the multi-question detector vectorise
    the text themselves). Placed after the intent classifier, it featurises at inference
    only the messages classified as the retrieval intent; training featurises every
    example, as Rasa's does."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {**CountVectorsFeaturizer.get_default_config(), "retrieval_intent": "faq"}

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        super().process(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        wanted = [message for message in messages
                  if _is_retrieval(message, self._config["retrieval_intent"])]
        if wanted:
            super().process(wanted)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class FaqResponseSelector(ResponseSelector):
    """Rasa runs the selector's network on every message (4 ms here), although its
    answer is only used when the intent classifier said `faq`; most messages are order
    and product questions, so this skips them. Training is unchanged."""

    def process(self, messages: List[Message]) -> List[Message]:
        retrieval = [message for message in messages
                     if _is_retrieval(message, self.retrieval_intent)]
        if retrieval:
            super().process(retrieval)
            for message in retrieval:
                _as_request(message, self.retrieval_intent)
        return messages


def _as_request(message: Message, retrieval_intent: str) -> None:
    selected = (message.get("response_selector") or {}).get(retrieval_intent) or {}
    key = str((selected.get("response") or {}).get("intent_response_key") or "")
    request, about = AS_REQUESTS.get(key, (None, None))
    on_its_page = about == "product" and bool((message.get("metadata") or {}).get("product_id"))
    if request is None or not (on_its_page or any(entity.get("entity") == about
                                                  for entity in message.get(ENTITIES) or [])):
        return
    set_intent(message, {**message.get(INTENT), INTENT_NAME_KEY: request})
