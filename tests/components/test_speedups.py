"""The cached action-result validation must judge exactly like jsonschema.validate."""

from __future__ import annotations

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

import components  # noqa: F401  (applies the speedups)
from components import speedups

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
    assert RemoteAction._validate_action_result is speedups._validate_action_result


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
