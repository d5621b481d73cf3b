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


def _session_events() -> list:
    from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SlotSet, UserUttered
    return [
        ActionExecuted("action_listen"),
        UserUttered("快递到哪了", {"name": "track_logistics", "confidence": 0.9}),
        ActionExecuted("order_form"), ActiveLoop("order_form"),
        SlotSet("requested_slot", "order_id"), BotUttered("麻烦发一下订单号哦"),
        ActionExecuted("action_listen"),
        UserUttered("361204587712340001", {"name": "inform", "confidence": 0.9},
                    [{"entity": "order_id", "value": "361204587712340001"}]),
        ActionExecuted("order_form"), SlotSet("order_id", "361204587712340001"),
        SlotSet("requested_slot", "phone_tail"), BotUttered("请告诉我手机号后4位"),
        ActionExecuted("action_listen"),
        UserUttered("5678", {"name": "inform", "confidence": 0.9}),
        ActionExecuted("order_form"), SlotSet("phone_tail", "5678"), ActiveLoop(None),
        SlotSet("requested_slot", None),
    ]


def test_states_are_computed_once_per_tracker_state_and_equal_rasas() -> None:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.load("domain.yml")
    assert Domain.states_for_tracker_history is rasa_fixes._cached_states_for_tracker_history
    rasas = rasa_fixes._states_for_tracker_history
    tracker = DialogueStateTracker.from_events("states", _session_events(), domain.slots)
    variants = [{}, {"ignore_rule_only_turns": True,
                     "rule_only_data": {"slots": ["requested_slot"], "active_loops": []}},
                {"omit_unset_slots": True}]
    calls = []
    original = rasa_fixes._states_for_tracker_history

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return original(*args, **kwargs)

    rasa_fixes._states_for_tracker_history = counting
    try:
        for _ in range(2):
            for kwargs in variants:
                states = tracker.past_states(domain, **kwargs)
                assert states == rasas(domain, tracker, **kwargs)
                # The featurizers edit the states they get: that must not reach the cache.
                states[-1].clear()
                for state in states:
                    for sub in state.values():
                        sub.clear()
        assert len(calls) == len(variants)  # the second round came from the cache
        tracker.update(ActionExecuted("utter_order_status"))
        assert tracker.past_states(domain) == rasas(domain, tracker)
        assert len(calls) == len(variants) + 1  # a new event: computed again
        copy = tracker.copy()
        assert copy.past_states(domain) == rasas(domain, tracker)
        # Only the latest tracker's states are kept, not one set per conversation.
        assert rasa_fixes._latest_states[0] is copy
    finally:
        rasa_fixes._states_for_tracker_history = original
