"""Our fixes to Rasa: same verdicts, faster; test stories keep the emotion."""

from __future__ import annotations

import json

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
    original = rasa_fixes._resumed_states

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return original(*args, **kwargs)

    rasa_fixes._resumed_states = counting
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
        rasa_fixes._resumed_states = original


def test_states_resumed_as_a_tracker_grows_equal_rasas() -> None:
    """A conversation grown event by event, with a form, a rule-only turn, a reverted user
    message and a reverted action: after every event each variant's states are Rasa's,
    whether the replay was resumed or (after a revert) started again."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import (
        ActionExecuted,
        ActionReverted,
        ActiveLoop,
        BotUttered,
        SlotSet,
        UserUtteranceReverted,
        UserUttered,
    )
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.load("domain.yml")
    rasas = rasa_fixes._states_for_tracker_history
    more = [
        ActionExecuted("action_listen"),
        UserUttered("谢谢", {"name": "thank", "confidence": 0.9}),
        ActionExecuted("utter_thank", hide_rule_turn=True), BotUttered("不客气"),
        ActionExecuted("action_listen"),
        UserUttered("asdf", {"name": "nlu_fallback", "confidence": 0.1}),
        ActionExecuted("action_clarify"), UserUtteranceReverted(),
        ActionExecuted("action_listen"),
        UserUttered("我要退货", {"name": "request_return", "confidence": 0.9}),
        ActionExecuted("aftersale_form"), ActiveLoop("aftersale_form"),
        SlotSet("requested_slot", "order_id"), ActionExecuted("utter_wrong"), ActionReverted(),
        ActionExecuted("action_listen"),
        UserUttered("算了", {"name": "deny", "confidence": 0.9}),
        ActionExecuted("aftersale_form"), ActiveLoop(None), SlotSet("requested_slot", None),
        ActionExecuted("action_listen", hide_rule_turn=True),
    ]
    variants = [{}, {"ignore_rule_only_turns": True,
                     "rule_only_data": {"slots": ["requested_slot"], "active_loops": []}},
                {"omit_unset_slots": True}]
    tracker = DialogueStateTracker("grown", domain.slots)
    for event in _session_events() + more:
        tracker.update(event)
        for kwargs in variants:
            assert tracker.past_states(domain, **kwargs) == rasas(domain, tracker, **kwargs)
    assert any(entry[0] is tracker for entry in rasa_fixes._replays.values())


def test_action_calls_carry_the_domain_without_responses() -> None:
    """The form validations get the domain minus its responses (the rest unchanged, the same
    object for every call of one domain, so its text is written once); other actions get
    no domain, as with Rasa's selective domain."""
    import json

    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    domain = Domain.load("domain.yml")
    tracker = DialogueStateTracker.from_events("calls", _session_events(), domain.slots)
    endpoint = EndpointConfig("http://127.0.0.1:1/webhook", enable_selective_domain=True)
    first, second = (RemoteAction("validate_order_form", endpoint)._action_call_format(
        tracker, domain) for _ in range(2))
    full = domain.as_dict()
    assert "responses" in full and "responses" not in first["domain"]
    assert first["domain"] == {key: value for key, value in full.items() if key != "responses"}
    assert first["domain"] is second["domain"] and list(first)[-1] == "domain"
    assert first["domain"]["forms"]["order_form"] and first["domain"]["slots"]["order_id"]
    assert rasa_fixes.dumps_sharing_domain(first) == json.dumps(first)
    assert "domain" not in RemoteAction("action_greet", endpoint)._action_call_format(
        tracker, domain)


def test_slot_copies_are_copy_copys() -> None:
    """Every slot of the domain, with its value set, copies as `copy.copy` copies it: same
    class and attributes, a new object whose value can change alone; a tracker built from
    events has the same slots as with `copy.copy`."""
    import copy

    import rasa.shared.core.trackers as trackers
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.load("domain.yml")
    assert isinstance(trackers.copy, rasa_fixes._CopyModule)
    tracker = DialogueStateTracker.from_events("slots", _session_events(), domain.slots)
    assert tracker.get_slot("order_id") is not None  # values set, not only defaults
    for slot in tracker.slots.values():
        assert rasa_fixes._no_copy_hooks(type(slot))  # the fast copy is taken
        fast, slow = rasa_fixes._copy_plain(slot), copy.copy(slot)
        assert type(fast) is type(slow) and vars(fast) == vars(slow) and fast is not slot
        fast.value = "changed"
        assert slot.value != "changed" or slow.value == "changed"
    # Objects with copy hooks still go through copy.copy.
    assert rasa_fixes._copy_plain({"a": [1]}) == {"a": [1]}
    assert trackers.copy.deepcopy is copy.deepcopy

    with_fast = tracker.copy()
    trackers.copy = copy  # type: ignore[assignment]
    try:
        with_rasas = tracker.copy()
    finally:
        trackers.copy = rasa_fixes._CopyModule()  # type: ignore[assignment]
    assert {name: (type(slot), vars(slot)) for name, slot in with_fast.slots.items()} == \
        {name: (type(slot), vars(slot)) for name, slot in with_rasas.slots.items()}
    assert with_fast.current_state() == with_rasas.current_state()


def _predict_runner(trained_model):  # type: ignore[no-untyped-def]
    from rasa.engine.graph import ExecutionContext
    from rasa.engine.runner.dask import DaskGraphRunner

    storage, metadata = trained_model
    return metadata, DaskGraphRunner(metadata.predict_schema, storage,
                                     ExecutionContext(metadata.predict_schema,
                                                      metadata.model_id))


def test_graph_runs_without_dask_give_dasks_results(trained_model) -> None:  # type: ignore[no-untyped-def]
    from rasa.core.channels.channel import UserMessage
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    assert DaskGraphRunner.run is rasa_fixes._run_in_order
    metadata, runner = _predict_runner(trained_model)
    domain = Domain.load("domain.yml")
    tracker = DialogueStateTracker.from_events("graph", _session_events(), domain.slots)
    nlu = ([metadata.nlu_target],
           lambda: {"__message__": [UserMessage("快递到哪了 361204587712340001",
                                                message_id="m1")],
                    "__tracker__": tracker})
    core = ([metadata.core_target], lambda: {"__tracker__": tracker})
    for targets, inputs in (nlu, core, nlu):  # the plan is reused the second time
        ours = runner.run(inputs(), targets)
        dasks = rasa_fixes._run_with_dask(runner, inputs(), targets)
        assert ours.keys() == dasks.keys() == set(targets)
        if targets == nlu[0]:
            [mine], [theirs] = ours[targets[0]], dasks[targets[0]]
            assert mine.as_dict() == theirs.as_dict()
            assert mine.get("intent")["name"] == "track_logistics"
        else:
            mine, theirs = ours[targets[0]], dasks[targets[0]]
            assert (mine.policy_name, mine.max_confidence, mine.probabilities) == (
                theirs.policy_name, theirs.max_confidence, theirs.probabilities)
    assert len(runner.__dict__["_plans"]) == 2


def test_graph_plan_drops_results_after_their_last_reader(trained_model) -> None:  # type: ignore[no-untyped-def]
    from rasa.engine.exceptions import GraphRunError

    metadata, runner = _predict_runner(trained_model)
    targets = (metadata.nlu_target,)
    plan = rasa_fixes._plan(metadata.predict_schema, targets,
                            frozenset({"__message__", "__tracker__"}))
    names = [name for name, _, _ in plan]
    assert names[-1] == metadata.nlu_target and len(names) == len(set(names))
    for index, (_, needs, _) in enumerate(plan):
        assert all(need in {"__message__", "__tracker__"} or names.index(need) < index
                   for need in needs)
    dropped = [key for _, _, finished in plan for key in finished]
    read = {need for _, needs, _ in plan for need in needs}
    # Every result but the target's is let go once read for the last time, and only once.
    assert "__message__" in read and sorted(dropped) == sorted(read - set(targets))
    with pytest.raises(GraphRunError, match="__message__"):
        runner.run({"__tracker__": None}, list(targets))
    with pytest.raises(GraphRunError, match="clashes"):
        runner.run({metadata.nlu_target: 1}, list(targets))


def test_event_types_resolve_as_rasas() -> None:
    """Every event type name resolves to Rasa's class, before and after it is remembered;
    an unknown name still gets the default or Rasa's error."""
    from rasa.shared.core.events import Event, SlotSet
    from rasa.shared.utils.common import all_subclasses

    assert Event.resolve_by_type is rasa_fixes._resolved_event_type
    names = {cls.type_name for cls in all_subclasses(Event) if getattr(cls, "type_name", None)}
    assert {"user", "bot", "slot", "action", "active_loop"} <= names
    for _ in range(2):
        for name in names:
            assert Event.resolve_by_type(name) is rasa_fixes._resolve_by_type(name)
    assert Event.resolve_by_type("no_such_event", SlotSet) is SlotSet
    assert "no_such_event" not in rasa_fixes._event_types
    assert Event.resolve_by_type("topic") is None
    with pytest.raises(ValueError):
        Event.resolve_by_type("no_such_event")


def test_current_state_of_an_active_form_equals_rasas() -> None:
    """With a form active (its trigger message a whole parse), the tracker's state is the one
    Rasa's deep copy gives; the trigger message is the tracker's own (no copy is made)."""
    import dataclasses

    import rasa.shared.core.trackers as trackers
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActiveLoop
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.load("domain.yml")
    tracker = DialogueStateTracker.from_events(
        "state", [*_session_events(), ActiveLoop("order_form")], domain.slots)
    assert tracker.active_loop and tracker.active_loop.trigger_message
    ours = tracker.current_state()
    assert ours["active_loop"]["trigger_message"] is tracker.active_loop.trigger_message
    trackers.dataclasses = dataclasses  # type: ignore[assignment]
    try:
        rasas = tracker.current_state()
    finally:
        trackers.dataclasses = rasa_fixes._DataclassesModule()  # type: ignore[assignment]
    assert ours == rasas and ours["active_loop"]["name"] == "order_form"
    assert trackers.dataclasses.field is dataclasses.field


def test_unique_entity_mappings_are_rasas_worked_out_once() -> None:
    """Every from_entity mapping of every form's slots gets Rasa's verdict, and a new
    FormAction of the same form and domain does not work the mappings out again."""
    from rasa.core.actions.forms import FormAction
    from rasa.shared.core.domain import Domain

    domain = Domain.load("domain.yml")
    slots = domain.as_dict()["slots"]
    checked = 0
    for form in domain.form_names:
        for slot in domain.required_slots_for_form(form):
            for mapping in slots.get(slot, {}).get("mappings", []):
                if mapping.get("type") != "from_entity":
                    continue
                rasas = FormAction(form, None)
                expected = json.dumps(mapping, sort_keys=True) in \
                    rasas._create_unique_entity_mappings(domain)
                assert FormAction(form, None).entity_mapping_is_unique(mapping, domain) \
                    is expected
                checked += 1
    assert checked >= 3
    calls = []
    original = FormAction._create_unique_entity_mappings
    FormAction._create_unique_entity_mappings = lambda self, d: calls.append(1) or original(
        self, d)  # type: ignore[method-assign]
    try:
        for _ in range(3):
            FormAction(domain.form_names[0], None).entity_mapping_is_unique({}, domain)
    finally:
        FormAction._create_unique_entity_mappings = original  # type: ignore[method-assign]
    assert calls == []  # remembered from the loop above
    assert rasa_fixes._unique_mappings[0] is domain
