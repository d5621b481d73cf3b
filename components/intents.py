"""The intent a rule of a component decides, set as Rasa's classifiers set theirs."""

from __future__ import annotations

from typing import Any, Dict

from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message


def set_intent(message: Message, intent: Dict[str, Any]) -> None:
    """`intent` ({"name": ..., "confidence": ...}) as the message's intent, first in its
    ranking, the classifier's entry for the same name dropped."""
    ranking = [item for item in message.get(INTENT_RANKING_KEY) or []
               if item.get(INTENT_NAME_KEY) != intent[INTENT_NAME_KEY]]
    message.set(INTENT, intent, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [intent, *ranking], add_to_output=True)
