"""Our fixes to Rasa: same verdicts, faster; test stories keep the emotion."""

from __future__ import annotations

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

import components  # noqa: F401  (applies the fixes)
from components import rasa_fixes

GOOD = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "order_id", "value": "361204587712340001"}],
     "responses": [{"text": "请提供手机号后4位", "buttons": []}]},
    {"events": [{"event": "action", "name": "action_listen"},
                {"event": "pause"}, {"event": "followup", "name": "utter_greet"}]},
]
BAD = [
    {"events": "not a list"},
    {"events": [{"name": "no event type"}]},
    {"events": [{"event": "slot", "name": 5}]},
    {"responses": "hello"},
]


def test_patch_is_active_once_components_is_imported() -> None:
    assert RemoteAction._validate_action_result is rasa_fixes._validate_action_result


@pytest.mark.parametrize("result", GOOD)
def test_valid_results_pass_like_jsonschema(result: dict) -> None:
    jsonschema.validate(result, RemoteAction.action_response_format_spec())
    assert RemoteAction("action_x", None)._validate_action_result(result) is True


@pytest.mark.parametrize("result", BAD)
def test_invalid_results_fail_like_jsonschema(result: dict) -> None:
    with pytest.raises(jsonschema.ValidationError) as original:
        jsonschema.validate(result, RemoteAction.action_response_format_spec())
    with pytest.raises(jsonschema.ValidationError) as ours:
        RemoteAction("action_x", None)._validate_action_result(result)
    assert ours.value.message.startswith(original.value.message)
    assert "Failed to validate Action server response" in ours.value.message


EDGE = [
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"event": "bot", "text": 5}]},
    {"events": [{"event": "bot", "text": "好的", "metadata": None, "timestamp": 1.5}]},
    {"events": [{"event": "bot", "timestamp": "yesterday"}]},
    {"events": [{"event": "user", "text": "在吗",
                 "parse_data": {"entities": [{"entity": "order_id"}]}}]},
    {"events": [{"event": "user", "text": "在吗",
                 "parse_data": {"entities": [{"entity": "order_id", "value": "1"}]}}]},
    {"events": [{"event": "active_loop", "name": None}, {"event": "slot", "name": "x"}]},
    {"events": [{"event": "slot", "name": "x", "value": [1, {"a": None}]}, "not an object"]},
    {"events": [{"event": "reminder", "intent": "x", "date_time": "2026-12-05T10:00:00"}]},
    {"events": [{"event": "action", "name": "action_listen", "policy": 3}]},
    {"events": None},
    {},
]


@pytest.mark.parametrize("result", GOOD + BAD + EDGE)
def test_per_event_type_check_gives_jsonschemas_verdict(result: dict) -> None:
    full = jsonschema.validators.validator_for(RemoteAction.action_response_format_spec())
    expected = full(RemoteAction.action_response_format_spec()).is_valid(result)
    assert rasa_fixes._is_valid_action_result(result) is expected


def test_test_stories_keep_the_parsed_emotion() -> None:
    import rasa.core.test as rasa_test
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    event = UserUttered("搞什么啊!!!", {"name": "urge_delivery"}, [])
    predicted = {"intent": {"name": "urge_delivery", "confidence": 0.9}, "entities": [],
                 "emotion": {"label": "angry", "intensity": 0.95}}
    tracker = DialogueStateTracker("t", [])
    rasa_test._collect_user_uttered_predictions(event, predicted, tracker, True)
    assert tracker.latest_message.parse_data["emotion"] == {"label": "angry", "intensity": 0.95}
