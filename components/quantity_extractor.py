"""Normalised body measurements and sizes as entities, on top of the CRF's raw spans."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from components.quantities import (
    Quantity,
    extract,
    normalise_height,
    normalise_size,
    normalise_weight,
)

# The learnt extractor's raw entity type -> (our entity, normaliser taking the raw text and
# a height in cm).
_NORMALISERS: Dict[Text, tuple[Text, Callable[[Text, Optional[float]], Optional[Text]]]] = {
    "height": ("height_cm", lambda raw, _height: normalise_height(raw)),
    "weight": ("weight_kg", normalise_weight),
    "size": ("size", lambda raw, _height: normalise_size(raw)),
}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class QuantityExtractor(GraphComponent):
    """Adds height_cm, weight_kg, chest_cm, waist_cm, shoulder_cm, body_shape, fit and size.

    The learnt extractor (CRFEntityExtractor) finds *where* "一米七五" or "140斤" is but
    returns the raw text, and the size advice needs numbers in one unit.  Rules parse the
    units instead; a learnt height/weight/size entity on the same span is replaced, so the
    dialogue sees one clean value per quantity. Learnt spans the rules do not cover (a bare
    "175" answering "身高多少?") are converted using the learnt label, and kept raw only if
    they cannot be read at all.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # Raw entity types this component supersedes when they overlap its results.
            "replace_entities": ["height", "weight", "size"],
            # Convert the remaining raw height/weight/size entities using the learnt label.
            "normalise_unmatched": True,
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._replace = set(config.get("replace_entities") or [])
        self._normalise_unmatched = bool(config.get("normalise_unmatched", True))
        self._name = type(self).__name__

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> QuantityExtractor:
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if text:
                message.set(ENTITIES, self._entities(text, message.get(ENTITIES) or []),
                            add_to_output=True)
        return messages

    def _entities(self, text: Text, entities: List[Dict[Text, Any]]) -> List[Dict[Text, Any]]:
        found = extract(text)
        heights = [float(q.value) for q in found if q.entity == "height_cm"]
        result = [self._entity(q) for q in found]
        # Heights first: a bare learnt weight such as "90" is read in kg or 斤 given the height.
        for entity in sorted(entities, key=lambda e: e.get(ENTITY_ATTRIBUTE_TYPE) != "height"):
            if entity.get(ENTITY_ATTRIBUTE_TYPE) in self._replace and any(
                _overlaps(entity, q) for q in found
            ):
                continue  # superseded by the normalised value on the same span
            normalised = self._normalised(text, entity, heights[0] if heights else None)
            if normalised.get(ENTITY_ATTRIBUTE_TYPE) == "height_cm":
                heights.append(float(normalised[ENTITY_ATTRIBUTE_VALUE]))
            result.append(normalised)
        return sorted(result, key=lambda e: (e.get(ENTITY_ATTRIBUTE_START) or 0,
                                             e.get(ENTITY_ATTRIBUTE_END) or 0))

    def _normalised(self, text: Text, entity: Dict[Text, Any],
                    height_cm: Optional[float]) -> Dict[Text, Any]:
        kind = entity.get(ENTITY_ATTRIBUTE_TYPE)
        start, end = entity.get(ENTITY_ATTRIBUTE_START), entity.get(ENTITY_ATTRIBUTE_END)
        if (not self._normalise_unmatched or kind not in _NORMALISERS
                or kind not in self._replace or start is None or end is None):
            return entity
        name, normalise = _NORMALISERS[kind]
        value = normalise(text[start:end], height_cm)
        if value is None:
            return entity  # unreadable: better the raw text than nothing
        return {ENTITY_ATTRIBUTE_TYPE: name, ENTITY_ATTRIBUTE_VALUE: value,
                ENTITY_ATTRIBUTE_START: start, ENTITY_ATTRIBUTE_END: end,
                EXTRACTOR: self._name, "additional_info": {"labelled_by": entity.get(EXTRACTOR)}}

    def _entity(self, quantity: Quantity) -> Dict[Text, Any]:
        entity: Dict[Text, Any] = {
            ENTITY_ATTRIBUTE_TYPE: quantity.entity,
            ENTITY_ATTRIBUTE_VALUE: quantity.value,
            ENTITY_ATTRIBUTE_START: quantity.start,
            ENTITY_ATTRIBUTE_END: quantity.end,
            EXTRACTOR: self._name,
        }
        if quantity.unit:
            # Lets the dialogue confirm a guess: "按130斤(65公斤)给您推荐哦".
            entity["additional_info"] = {"unit": quantity.unit, "assumed": quantity.assumed}
        return entity


def _overlaps(entity: Dict[Text, Any], quantity: Quantity) -> bool:
    start, end = entity.get(ENTITY_ATTRIBUTE_START), entity.get(ENTITY_ATTRIBUTE_END)
    return start is not None and end is not None and start < quantity.end and quantity.start < end
