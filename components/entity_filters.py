"""Drop extracted entities whose value cannot be right for their type."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Text

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


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class EntityFormatFilter(GraphComponent):
    """Removes entities that do not match a format pattern for their type, reads a
    message that is nothing but such a value as that entity, and a value next to its cue
    (「尾号5678」, 「5678是手机尾号」) as that entity when the extractor found none of its type.

    A learnt extractor sees tokens, not digit counts: DIET happily tagged "88" (网络用语
    拜拜) or the "4" of "后4位" as a phone tail. A phone tail is exactly 4 digits and an order
    number 18, so anything else is dropped rather than passed to the dialogue.
    The other way round, real messages full of untagged numbers (product ids, prices)
    taught DIET to miss a bare 「5678」 sent when the form asks for the phone tail: a whole
    message matching a `whole_message` pattern is that entity when DIET found none.
    `cued` patterns (one capture group: the value) cover what a learnt extractor may miss
    in few words, where a cue word says what the number is.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"patterns": {}, "whole_message": {}, "cued": {}}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._patterns = {
            entity: re.compile(pattern) for entity, pattern in config["patterns"].items()
        }
        self._whole = {entity: re.compile(pattern)
                       for entity, pattern in (config.get("whole_message") or {}).items()}
        self._cued = {entity: [re.compile(pattern) for pattern in
                               ([patterns] if isinstance(patterns, str) else patterns)]
                      for entity, patterns in (config.get("cued") or {}).items()}

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> EntityFormatFilter:
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            entities = message.get(ENTITIES) or []
            kept = [entity for entity in entities if self._valid(entity)]
            kept += self._whole_message(message.get(TEXT) or "", kept)
            kept += self._cued_values(message.get(TEXT) or "", kept)
            if kept != entities:
                message.set(ENTITIES, kept, add_to_output=True)
        return messages

    def _whole_message(self, text: Text, found: List[Dict[Text, Any]]) -> List[Dict[Text, Any]]:
        value = text.strip()
        if found or not value:
            return []
        start = text.index(value)
        return [{ENTITY_ATTRIBUTE_TYPE: entity, ENTITY_ATTRIBUTE_VALUE: value,
                 ENTITY_ATTRIBUTE_START: start, ENTITY_ATTRIBUTE_END: start + len(value),
                 EXTRACTOR: self.__class__.__name__}
                for entity, pattern in self._whole.items() if pattern.fullmatch(value)][:1]

    def _cued_values(self, text: Text, found: List[Dict[Text, Any]]) -> List[Dict[Text, Any]]:
        have = {entity.get(ENTITY_ATTRIBUTE_TYPE) for entity in found}
        added = []
        for entity, patterns in self._cued.items():
            if entity in have:
                continue
            match = next(filter(None, (pattern.search(text) for pattern in patterns)), None)
            if match:
                # 「3612 0458 7712 3400 03」: the value without the spaces it was typed with.
                value = re.sub(r"[\s-]", "", match.group(1))
                added.append({ENTITY_ATTRIBUTE_TYPE: entity, ENTITY_ATTRIBUTE_VALUE: value,
                              ENTITY_ATTRIBUTE_START: match.start(1),
                              ENTITY_ATTRIBUTE_END: match.end(1),
                              EXTRACTOR: self.__class__.__name__})
        return added

    def _valid(self, entity: Dict[Text, Any]) -> bool:
        pattern = self._patterns.get(entity.get(ENTITY_ATTRIBUTE_TYPE))
        return pattern is None or bool(pattern.fullmatch(str(entity.get(ENTITY_ATTRIBUTE_VALUE))))
