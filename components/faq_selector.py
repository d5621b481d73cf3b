"""A ResponseSelector that only works on messages classified as its retrieval intent."""

from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.selectors.response_selector import ResponseSelector
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY
from rasa.shared.nlu.training_data.message import Message


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class FaqResponseSelector(ResponseSelector):
    """Rasa runs the selector's network on every message (4 ms here), although its
    answer is only used when the intent classifier said `faq`; most messages are order
    and product questions, so this skips them. Training is unchanged."""

    def process(self, messages: List[Message]) -> List[Message]:
        retrieval = [message for message in messages
                     if (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
                     == self.retrieval_intent]
        if retrieval:
            super().process(retrieval)
        return messages
