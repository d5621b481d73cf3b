"""A customer message as training data: personal data replaced, entities annotated."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Tuple

from privacy import Pseudonymizer

# Entities the pipeline's own components add after the learnt extractor (normalised
# quantities); the training data annotates only what the learnt extractor learns.
DERIVED = {"height_cm", "weight_kg", "chest_cm", "waist_cm", "shoulder_cm"}
# Extractors that learn from the annotations (config.yml); the others apply rules.
LEARNT_EXTRACTORS = {"AnnotatedCRFEntityExtractor", "CRFEntityExtractor", "DIETClassifier"}


def pseudonymize_message(text: str, entities: List[Dict[str, Any]],
                         pseudonyms: Pseudonymizer) -> Tuple[str, List[Dict[str, Any]]]:
    """The text with personal data replaced and the entities moved to their new places.
    Entities that overlap another one are dropped (an annotation cannot nest)."""
    spans: List[Dict[str, Any]] = []
    for entity in sorted(entities, key=lambda e: (e.get("start", 0), -e.get("end", 0))):
        start, end = entity.get("start"), entity.get("end")
        if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end \
                or end > len(text) or (spans and start < spans[-1]["end"]):
            continue
        spans.append(entity)
    out, moved, cursor = "", [], 0
    for entity in spans:
        out += pseudonyms.text(text[cursor:entity["start"]])
        original = text[entity["start"]:entity["end"]]
        replaced = pseudonyms.text(original)
        value = entity.get("value")
        if isinstance(value, str):
            value = replaced if value == original else pseudonyms.text(value)
        moved.append({**entity, "start": len(out), "end": len(out) + len(replaced),
                      "value": value})
        out += replaced
        cursor = entity["end"]
    out += pseudonyms.text(text[cursor:])
    return out, moved


def annotated(text: str, entities: List[Dict[str, Any]]) -> str:
    """Rasa's training-data markup: [text](entity) or [text]{"entity": .., "value": ..}."""
    out, cursor = "", 0
    for entity in sorted(entities, key=lambda e: e["start"]):
        piece = text[entity["start"]:entity["end"]]
        out += text[cursor:entity["start"]]
        if entity.get("value") in (None, piece):
            out += f"[{piece}]({entity['entity']})"
        else:
            spec = json.dumps({"entity": entity["entity"], "value": entity["value"]},
                              ensure_ascii=False)
            out += f"[{piece}]{spec}"
        cursor = entity["end"]
    return out + text[cursor:]


def training_example(text: str, entities: List[Dict[str, Any]]) -> str:
    learnt = [entity for entity in entities
              if entity.get("entity") not in DERIVED and isinstance(entity.get("value"), str)]
    new_text, moved = pseudonymize_message(text, learnt, Pseudonymizer())
    return annotated(new_text, moved)
