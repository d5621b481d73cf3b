"""The CRF entity extractor, trained only on examples whose entities are annotated.

Texts labelled for intents only (the real customer messages and the real-style batches:
the products, couriers and numbers they name are left unmarked) would teach Rasa's CRF that
such words are no entity. Their intent blocks carry ``metadata: {entities: unannotated}``;
this extractor leaves those examples out of its training and is Rasa's
``CRFEntityExtractor`` in everything else.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.extractors.crf_entity_extractor import CRFEntityExtractor
from rasa.shared.nlu.constants import METADATA, METADATA_INTENT
from rasa.shared.nlu.training_data.message import Message

# The intent block's metadata that marks it (trainer/nlu_files.py reads the same marker).
UNANNOTATED = {"entities": "unannotated"}


def entities_unannotated(message: Message) -> bool:
    """True for an example of an intent block marked ``metadata: {entities: unannotated}``."""
    intent_metadata = (message.get(METADATA) or {}).get(METADATA_INTENT)
    return isinstance(intent_metadata, dict) and UNANNOTATED.items() <= intent_metadata.items()


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True
)
class AnnotatedCRFEntityExtractor(CRFEntityExtractor):
    """``CRFEntityExtractor`` that skips examples of blocks marked as unannotated (Rasa 3.6's
    ``train`` picks its examples through ``filter_trainable_entities``)."""

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[Text]:
        # Rasa's cache key has the config and the data, not the code.
        return "skips-unannotated-v1"

    def filter_trainable_entities(self, entity_examples: List[Message]) -> List[Message]:
        kept = [message for message in entity_examples if not entities_unannotated(message)]
        return super().filter_trainable_entities(kept)
