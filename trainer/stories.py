"""A real conversation as a Rasa test story (tests/stories/<name>.yml).

The stored events are turned back into Rasa's own events, personal data is replaced by
consistent fakes (an 18-digit order number stays an 18-digit number, so the entity and
the form behave the same), a tracker is rebuilt with the project's domain and Rasa's
YAMLStoryWriter writes it in the test-story format: user messages with their intent and
entity annotations, the actions, form activations and slot events as `rasa test` replays
them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Optional

from privacy import Pseudonymizer
from trainer.examples import DERIVED, LEARNT_EXTRACTORS, pseudonymize_message

STORY_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# Session bookkeeping that `rasa test` adds itself; in a story it would be replayed twice.
SKIPPED_ACTIONS = {"action_session_start"}
SKIPPED_SLOTS = {"session_started_metadata"}
# Slots holding personal data by name: replaced by a fake of the same kind.
NAME_SLOTS = re.compile(r"name$")


def _fake_value(name: str, value: Any, pseudonyms: Pseudonymizer) -> Any:
    if isinstance(value, str):
        if NAME_SLOTS.search(name):
            return pseudonyms.name(value)
        return pseudonyms.text(value)
    if isinstance(value, list):
        return [_fake_value(name, item, pseudonyms) for item in value]
    if isinstance(value, dict):
        return {key: _fake_value(str(key), item, pseudonyms) for key, item in value.items()}
    return value


def session_events(events: List[Dict[str, Any]], message_key: Optional[str] = None,
                   sender_id: str = "") -> List[Dict[str, Any]]:
    """The session holding the given message (else the last one with a customer message)."""
    from trainer.source import message_key as key_of

    sessions: List[List[Dict[str, Any]]] = [[]]
    for event in events:
        if event.get("event") == "session_started" and sessions[-1]:
            sessions.append([])
        sessions[-1].append(event)
    with_user = [s for s in sessions if any(e.get("event") == "user" for e in s)]
    if message_key:
        for session in with_user:
            if any(e.get("event") == "user" and key_of(sender_id, e) == message_key
                   for e in session):
                return session
    return with_user[-1] if with_user else []


def story_yaml(events: List[Dict[str, Any]], domain_path: Path, name: str) -> str:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.shared.core.training_data.story_writer.yaml_story_writer import YAMLStoryWriter

    domain = Domain.load(str(domain_path))
    pseudonyms = Pseudonymizer(salt=f"story:{name}")
    rebuilt: List[Event] = []
    for data in events:
        kind = data.get("event")
        if kind not in ("user", "action", "slot", "active_loop", "rewind", "undo", "pause",
                        "resume", "followup", "reset_slots"):
            continue
        if kind == "user":
            data = dict(data)
            parse = dict(data.get("parse_data") or {})
            learnt = [e for e in parse.get("entities") or [] if e.get("entity") not in DERIVED
                      or e.get("extractor") not in LEARNT_EXTRACTORS]
            text, entities = pseudonymize_message(data.get("text") or "", learnt, pseudonyms)
            data["text"], parse["text"], parse["entities"] = text, text, entities
            data["parse_data"] = parse
        elif kind == "slot":
            if data.get("name") in SKIPPED_SLOTS:
                continue
            data = {**data, "value": _fake_value(str(data.get("name")), data.get("value"),
                                                 pseudonyms)}
        elif kind == "action" and data.get("name") in SKIPPED_ACTIONS:
            continue
        event = Event.from_parameters(data)
        if event is not None:
            rebuilt.append(event)
    # A test story starts at the first customer message.
    first = next((i for i, e in enumerate(rebuilt) if isinstance(e, UserUttered)), None)
    if first is None:
        raise ValueError("no customer message in this conversation")
    rebuilt = rebuilt[first:]
    if not rebuilt or not isinstance(rebuilt[0], UserUttered):
        raise ValueError("no customer message in this conversation")
    tracker = DialogueStateTracker.from_events(name, [ActionExecuted("action_listen")] + rebuilt,
                                               slots=domain.slots)
    story = tracker.as_story()
    for step in story.story_steps:
        step.block_name = name
        step.events = [e for e in step.events
                       if not (isinstance(e, SlotSet) and e.key in SKIPPED_SLOTS)]
    return YAMLStoryWriter().dumps(story.story_steps, is_test_story=True)


def valid_name(name: str) -> str:
    name = name.strip().lower()
    if not STORY_NAME.match(name):
        raise ValueError("故事名只能用小写英文字母、数字、下划线和连字符(最多 64 个字符)")
    return name
