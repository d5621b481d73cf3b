"""Fixes to Rasa 3.6 itself, applied when `components` is imported (i.e. with our model).

1. Speed. Every custom action call ends in `RemoteAction._validate_action_result`, which calls
`jsonschema.validate(result, spec)`. With jsonschema 4.17 that re-checks the *schema*
against the draft 2020-12 meta-schema on every call: about 32 ms of CPU per action call,
two thirds of the Rasa server's CPU under load (py-spy). Validating with a validator
built once from the same schema gives the same verdicts and errors in under 1 ms; checking
each event only against its own event type's branch of the schema (`_per_event_validators`)
saves most of the rest.

2. Speed. Each policy turns the whole session into dialogue states again on every
prediction (`Domain.states_for_tracker_history` replays every event): `RulePolicy` twice
after a user message (once with the text, once with the intent, the same states) and
`MemoizationPolicy` once more; 58 % of a prediction on 60-event conversations. The states of
the latest tracker, as long as it has the same events, are computed once per set of
arguments (`_cached_states_for_tracker_history`); callers get their own copy, since the
featurizers edit them in place. As a conversation grows, the replay of the latest 64
conversations is resumed from where it stopped instead of started again (`_resumed_states`;
2.4 times faster on 300 benchmark conversations grown event by event).

3. Speed. Rasa runs its model graph (NLU on each message, the policies before each action) with
`dask.get`, which builds a task graph, orders it and schedules it on every run: about 9 % of a
Rasa worker's busy CPU in a crowd of 1,000 customers (py-spy), beside the components' own
work. `DaskGraphRunner.run` now walks the same minimal graph in a topological order worked
out once per set of targets and inputs, calls the same nodes with the same inputs and drops
each result after its last reader, as `dask.get` does (`_run_in_order`).

4. Speed. Every action call opened a new aiohttp session, so a new TCP connection to the action
server (connect, accept, close: 6 % of a Rasa worker's samples under load, py-spy), and
`json.dumps` wrote the whole domain (about 60 KB, the same object for every call of one
model) into each form validation's body. `EndpointConfig.session` now hands out one pooled
session per event loop and endpoint settings, whose connections stay open for
`KEEPALIVE_SECONDS` (below the action server's own keep-alive, Sanic's 5 s, so the pool never
sends on a connection the server is closing); its JSON writer (`dumps_sharing_domain`) writes
the same bytes as `json.dumps`, with the domain's text written once per domain object.

5. Faithful test stories. `rasa test` rebuilds each test story's user turns keeping only
the intent, entities and response selection of the parsed message, so policies never see
the emotion radar's `emotion` there, unlike in a live conversation. Keeping it lets the
test stories check the emotion-driven escalation rules.

6. Speed. Every tracker Rasa makes (a form's temporary tracker for each validation, the
copies the policies replay their states on, the copy each action runs on) copies every slot
with `copy.copy`, which goes through `__reduce_ex__`: 1.4 µs a slot, 5 % of a Rasa worker's
samples under load with this domain's 33 slots. Slots define no copy hooks, so a new object
with the same `__dict__` is the same copy (`_copy_plain`, 0.3 µs); anything else still goes
through `copy.copy`.

7. Speed. The actions marked `send_domain` (the form validations, on most customer messages)
get the whole domain, 58 KB of JSON of which 52 KB are the responses, which no action reads
(rasa_sdk reads the forms and the slots; actions answer with response names that Rasa renders).
Each call carries the domain without its responses now (`_domain_for_actions`): a third of the
bytes Rasa writes and the action server reads per validation.

8. Speed. Three lookups Rasa repeats on every message, each the same answer every time
(cProfile of `scripts/bench_rasa_turns.py`, docs/scale.md): `Event.resolve_by_type` walks
every subclass of `Event` for each event it reads back (the actions' answers, a stored
tracker), now remembered per type name (`_resolved_event_type`); `current_state` deep-copies
the active form's trigger message (the whole parse of a message) for each action call, whose
body is written as JSON at once, now a plain copy of the loop's fields (`_DataclassesModule`);
a form's unique entity mappings were worked out again by every new `FormAction` (one per
validation and per slot extraction), now once per form and domain
(`_entity_mapping_is_unique`).
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import logging
from collections import OrderedDict
from functools import lru_cache
from typing import Any, Dict, FrozenSet, List, Optional, Text, Tuple, Type

import aiohttp
import rasa.core.test as rasa_test
import rasa.shared.core.trackers as trackers
from jsonschema import validators
from jsonschema.exceptions import best_match
from rasa.core.actions.action import RemoteAction
from rasa.core.actions.forms import FormAction
from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import GraphSchema
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.constants import PREVIOUS_ACTION
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import ActionExecuted, Event
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

from service_common.http import pooled_session


@lru_cache(maxsize=1)
def _action_result_validator() -> Any:
    spec = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(spec)
    cls.check_schema(spec)  # once, instead of once per action call
    return cls(spec)


@lru_cache(maxsize=1)
def _per_event_validators() -> Tuple[Any, Dict[str, Any]]:
    """The spec with `events.items` split by event type.

    Each event must match exactly one of 23 `oneOf` branches, told apart by `event`'s
    `const`; jsonschema tries every branch and builds an error for each miss (8 % of the
    Rasa server's CPU under load). With unique consts, an event is valid under the spec
    exactly when it is valid under the item schema restricted to its own branch, so that is
    what is checked; anything that fails goes through the full validator for the error.
    """
    spec = copy.deepcopy(RemoteAction.action_response_format_spec())
    items = spec["properties"]["events"]["items"]
    branches = items.pop("oneOf")
    consts = [b.get("properties", {}).get("event", {}).get("const") for b in branches]
    if None in consts or len(set(consts)) != len(consts):
        raise RuntimeError("action response spec: oneOf branches are not keyed by `event`")
    spec["properties"]["events"]["items"] = {"type": "object"}
    cls = validators.validator_for(spec)
    by_type = {c: cls({**items, "allOf": [b]}) for c, b in zip(consts, branches, strict=True)}
    return cls(spec), by_type


def _is_valid_action_result(result: Any) -> bool:
    outer, by_type = _per_event_validators()
    if not outer.is_valid(result):
        return False
    for event in result.get("events") or []:
        validator = by_type.get(event.get("event"))
        if validator is None or not validator.is_valid(event):
            return False
    return True


def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    if _is_valid_action_result(result):
        return True
    error = best_match(_action_result_validator().iter_errors(result))
    if error is not None:
        # Same message as Rasa's own implementation.
        error.message += (
            ". Failed to validate Action server response from API, make sure your "
            "response from the Action endpoint is valid. For more information about "
            f"the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


_states_for_tracker_history = Domain.states_for_tracker_history
# (tracker, its stamp, {arguments: states}) of the latest tracker asked about. One entry: the
# policies of one prediction run one after another on the same tracker, and the tracker store
# keeps trackers for many conversations, which must not each carry their states (a crowd of
# 1,000 conversations spent more time in the garbage collector than it saved).
_latest_states: List[Any] = [None, None, {}]
# The replays of the latest conversations, resumed when their trackers grow (below).
RESUMED_TRACKERS = 64
_replays: OrderedDict[Any, Tuple[DialogueStateTracker, _Replay]] = OrderedDict()


class _Replay:
    """Rasa's `states_for_tracker_history` loop, stopped after the events applied so far:
    the tracker it replays them on, the states of the turns so far and the loop's two
    variables. The states of the final turn are made anew on each call."""

    __slots__ = ("tracker", "applied", "states", "last_ml", "hidden")

    def __init__(self, tracker: DialogueStateTracker) -> None:
        self.tracker = tracker.init_copy()
        self.applied: List[Any] = []
        self.states: List[State] = []
        self.last_ml: Any = None
        self.hidden = False


def _turn(domain: Domain, replay: _Replay, hide_rule_turn: bool, states: List[State],
          omit_unset_slots: bool, ignore_rule_only_turns: bool,
          rule_only_data: Optional[Dict[Text, Any]]) -> None:
    """One pass of the loop of Rasa 3.6's `Domain.states_for_tracker_history`."""
    tracker = replay.tracker
    if ignore_rule_only_turns:
        if not replay.hidden:
            replay.last_ml = domain._get_prev_action_sub_state(tracker)
        if not tracker.followup_action and \
                not tracker.latest_action_name == tracker.active_loop_name:
            replay.hidden = hide_rule_turn
        if replay.hidden:
            return
    state = domain.get_active_state(tracker, omit_unset_slots=omit_unset_slots)
    if ignore_rule_only_turns:
        domain._remove_rule_only_features(state, rule_only_data)
        if states:
            domain._substitute_rule_only_user_input(state, states[-1])
        if replay.last_ml:
            state[PREVIOUS_ACTION] = replay.last_ml
    states.append(domain._clean_state(state))


def _resumed_states(domain: Domain, tracker: DialogueStateTracker, omit_unset_slots: bool,
                    ignore_rule_only_turns: bool,
                    rule_only_data: Optional[Dict[Text, Any]]) -> List[State]:
    """The states Rasa computes, replaying only the events applied since the last call
    for this tracker, as long as the events applied then are still the first ones (a
    reverted event or a form's later steps can change earlier ones: then from the start)."""
    key = (id(tracker), id(domain), omit_unset_slots, ignore_rule_only_turns,
           repr(rule_only_data))
    applied = tracker.applied_events()
    entry = _replays.get(key)
    replay = entry[1] if entry is not None and entry[0] is tracker else None
    if replay is None or len(replay.applied) > len(applied) or any(
            old is not new for old, new in zip(replay.applied, applied, strict=False)):
        replay = _Replay(tracker)
    for event in itertools.islice(applied, len(replay.applied), None):
        if isinstance(event, ActionExecuted):
            _turn(domain, replay, event.hide_rule_turn, replay.states, omit_unset_slots,
                  ignore_rule_only_turns, rule_only_data)
        replay.tracker.update(event)
    replay.applied = applied
    _replays[key] = (tracker, replay)
    _replays.move_to_end(key)
    while len(_replays) > RESUMED_TRACKERS * 3:
        _replays.popitem(last=False)
    # The final turn: on copies of the loop's variables, which the next call resumes from.
    final = _Replay.__new__(_Replay)
    final.tracker, final.last_ml, final.hidden = replay.tracker, replay.last_ml, replay.hidden
    states = list(replay.states)
    _turn(domain, final, False, states, omit_unset_slots, ignore_rule_only_turns,
          rule_only_data)
    return states


def _cached_states_for_tracker_history(
        self: Domain, tracker: DialogueStateTracker, omit_unset_slots: bool = False,
        ignore_rule_only_turns: bool = False,
        rule_only_data: Optional[Dict[Text, Any]] = None) -> List[State]:
    """Rasa's `states_for_tracker_history`, computed once per tracker state and arguments,
    and for a tracker that grew, only for its new events (`_resumed_states`).

    Keyed by the tracker object, the domain, the number of events and the identity of the
    last one: the states depend on the events only (Rasa replays them on an empty copy), and
    every change of a tracker appends an event."""
    if isinstance(tracker, TrackerWithCachedStates):  # training: it has its own cache
        return _states_for_tracker_history(self, tracker, omit_unset_slots,
                                           ignore_rule_only_turns, rule_only_data)
    events = tracker.events
    stamp = (id(self), len(events), id(events[-1]) if events else None)
    if _latest_states[0] is not tracker or _latest_states[1] != stamp:
        _latest_states[:] = [tracker, stamp, {}]
    cached: Dict[Any, List[State]] = _latest_states[2]
    key = (omit_unset_slots, ignore_rule_only_turns, repr(rule_only_data))
    states = cached.get(key)
    if states is None:
        states = _resumed_states(self, tracker, omit_unset_slots, ignore_rule_only_turns,
                                 rule_only_data)
        cached[key] = states
    # A state is {sub-state name: {feature: str | tuple}}: two levels are all that is edited.
    return [{name: dict(sub) for name, sub in state.items()} for state in states]


logger = logging.getLogger(__name__)
_run_with_dask = DaskGraphRunner.run
# One step of a plan: the node to call, the keys of its inputs, the keys read for the last time.
Step = Tuple[Text, Tuple[Text, ...], Tuple[Text, ...]]


def _plan(schema: GraphSchema, targets: Tuple[Text, ...], inputs: FrozenSet[Text]
          ) -> List[Step]:
    """The nodes `targets` need, in a topological order, each with its inputs' keys and
    the results nobody reads after it (targets are kept)."""
    nodes = schema.minimal_graph_schema(list(targets)).nodes
    order: List[Text] = []
    done = set(inputs)
    pending = [name for name in nodes if name not in inputs]
    while pending:
        ready = [name for name in pending if set(nodes[name].needs.values()) <= done]
        if not ready:
            missing = {need for name in pending for need in nodes[name].needs.values()}
            raise GraphRunError(f"Graph inputs missing or cyclic: {sorted(missing - done)}")
        order += ready
        done.update(ready)
        pending = [name for name in pending if name not in done]
    last_read: Dict[Text, int] = {}
    for index, name in enumerate(order):
        for need in nodes[name].needs.values():
            last_read[need] = index
    return [(name, tuple(nodes[name].needs.values()),
             tuple(key for key, last in last_read.items() if last == index and key not in targets))
            for index, name in enumerate(order)]


def _run_in_order(self: DaskGraphRunner, inputs: Optional[Dict[Text, Any]] = None,
                  targets: Optional[List[Text]] = None) -> Dict[Text, Any]:
    """`DaskGraphRunner.run` without dask: the same nodes, inputs and results."""
    run_targets = tuple(targets if targets else self._graph_schema.target_names)
    inputs = inputs or {}
    for name in inputs:
        if name in self._graph_schema.nodes:
            raise GraphRunError(
                f"Input value '{name}' clashes with a node name. Make sure that none of the "
                f"input names passed to the `run` method are the same as node names in the "
                f"graph schema.")
    plans = self.__dict__.setdefault("_plans", {})
    key = (run_targets, frozenset(inputs))
    plan = plans.get(key)
    if plan is None:
        plan = plans[key] = _plan(self._graph_schema, run_targets, frozenset(inputs))
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(f"Running graph with inputs: {inputs}, targets: {targets} "
                     f"and {self._execution_context}.")
    # A node receives (name, output) pairs, inputs included (dask passed them so too).
    results: Dict[Text, Any] = {name: (name, value) for name, value in inputs.items()}
    try:
        for name, needs, finished in plan:
            results[name] = self._instantiated_nodes[name](*[results[need] for need in needs])
            for done in finished:
                del results[done]
    except RuntimeError as e:
        raise GraphRunError("Error running runner.") from e
    return dict(results[target] for target in run_targets)


KEEPALIVE_SECONDS = 3.0
# (domain object, its JSON text): the latest domain written into an action call.
_domain_text: List[Any] = [None, ""]
_DOMAIN_MEMBER = ', "domain": '


def dumps_sharing_domain(value: Any) -> str:
    """`json.dumps(value)`, byte for byte; an action call whose last member is the domain
    reuses the text written for the same domain object before."""
    if type(value) is dict and len(value) > 1 and next(reversed(value)) == "domain" \
            and type(value["domain"]) is dict:
        domain = value["domain"]
        if _domain_text[0] is not domain:
            _domain_text[:] = [domain, json.dumps(domain)]
        rest = json.dumps({key: item for key, item in value.items() if key != "domain"})
        return rest[:-1] + _DOMAIN_MEMBER + _domain_text[1] + "}"
    return json.dumps(value)


class _Borrowed:
    """`async with` a pooled session without closing it afterwards."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self._session

    async def __aexit__(self, *_: Any) -> None:
        return None


def _pooled_session(self: EndpointConfig) -> _Borrowed:
    def create() -> aiohttp.ClientSession:
        auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"]) \
            if self.basic_auth else None
        return aiohttp.ClientSession(
            headers=self.headers, auth=auth,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS),
            json_serialize=dumps_sharing_domain)

    key = ("rasa endpoint", self.basic_auth.get("username"), self.basic_auth.get("password"),
           tuple(sorted((str(k), str(v)) for k, v in self.headers.items())))
    return _Borrowed(pooled_session(key, create))


_collect_user_uttered_predictions = rasa_test._collect_user_uttered_predictions


def _collect_keeping_emotion(event: Any, predicted: Dict[Text, Any], partial_tracker: Any,
                             fail_on_prediction_errors: bool) -> Any:
    store = _collect_user_uttered_predictions(event, predicted, partial_tracker,
                                              fail_on_prediction_errors)
    latest = partial_tracker.latest_message
    if predicted.get("emotion") and latest is not None and latest.text == event.text:
        latest.parse_data["emotion"] = predicted["emotion"]
    return store


_NO_COPY_HOOKS: Dict[type, bool] = {}


def _no_copy_hooks(cls: type) -> bool:
    if cls not in _NO_COPY_HOOKS:
        _NO_COPY_HOOKS[cls] = (
            all(getattr(cls, name) is getattr(object, name)
                for name in ("__reduce_ex__", "__reduce__"))
            and not any(hasattr(cls, name) for name in ("__copy__", "__getstate__"))
            # Named slots are state outside `__dict__` (abc.ABC's empty ones are not).
            and not any(vars(base).get("__slots__") for base in cls.__mro__))
    return _NO_COPY_HOOKS[cls]


def _copy_plain(value: Any) -> Any:
    """`copy.copy` for objects without copy hooks (Rasa's slots): same class, same
    `__dict__` (a shallow copy, as `copy.copy` makes); anything else through `copy.copy`."""
    cls = type(value)
    if _no_copy_hooks(cls) and hasattr(value, "__dict__"):
        duplicate = object.__new__(cls)
        duplicate.__dict__.update(value.__dict__)
        return duplicate
    return copy.copy(value)


class _CopyModule:
    """The `copy` module as `rasa.shared.core.trackers` sees it: `copy` is `_copy_plain`."""

    copy = staticmethod(_copy_plain)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


# (the domain's dict, the same without responses): what the latest domain's calls carry.
_trimmed_domain: List[Any] = [None, None]
_action_call_format = RemoteAction._action_call_format


def _domain_for_actions(domain: Dict[Text, Any]) -> Dict[Text, Any]:
    if _trimmed_domain[0] is not domain:
        _trimmed_domain[:] = [domain, {key: value for key, value in domain.items()
                                       if key != "responses"}]
    return _trimmed_domain[1]


def _action_call_without_responses(self: RemoteAction, tracker: DialogueStateTracker,
                                   domain: Domain) -> Dict[Text, Any]:
    call = _action_call_format(self, tracker, domain)
    if type(call.get("domain")) is dict:
        call["domain"] = _domain_for_actions(call["domain"])
    return call


_resolve_by_type = Event.resolve_by_type
_event_types: Dict[Text, Type[Event]] = {}


def _resolved_event_type(type_name: Text, default: Optional[Type[Event]] = None
                         ) -> Optional[Type[Event]]:
    """`Event.resolve_by_type`, the class found for a name remembered (only classes found:
    an unknown name still gets the default or the error)."""
    found = _event_types.get(type_name)
    if found is None:
        found = _resolve_by_type(type_name, default)
        if found is not None and found is not default:
            _event_types[type_name] = found
    return found


class _DataclassesModule:
    """`dataclasses` as `rasa.shared.core.trackers` sees it: `asdict` of the active loop
    copies its fields without deep-copying the trigger message (callers write it as JSON or
    read it); anything else as before."""

    @staticmethod
    def asdict(value: Any) -> Dict[Text, Any]:
        if type(value) is trackers.TrackerActiveLoop:
            return {field.name: getattr(value, field.name)
                    for field in dataclasses.fields(value)}
        return dataclasses.asdict(value)

    def __getattr__(self, name: str) -> Any:
        return getattr(dataclasses, name)


# The domain the remembered mappings belong to, and {form name: its unique entity mappings}.
_unique_mappings: List[Any] = [None, {}]
_rasas_entity_mapping_is_unique = FormAction.entity_mapping_is_unique


def _entity_mapping_is_unique(self: FormAction, slot_mapping: Dict[Text, Any],
                              domain: Domain) -> bool:
    if _unique_mappings[0] is not domain:
        _unique_mappings[:] = [domain, {}]
    known = _unique_mappings[1]
    if self.name() not in known:
        known[self.name()] = self._create_unique_entity_mappings(domain)
    return json.dumps(slot_mapping, sort_keys=True) in known[self.name()]


def apply() -> None:
    RemoteAction._validate_action_result = _validate_action_result
    Domain.states_for_tracker_history = _cached_states_for_tracker_history
    rasa_test._collect_user_uttered_predictions = _collect_keeping_emotion
    DaskGraphRunner.run = _run_in_order
    EndpointConfig.session = _pooled_session
    trackers.copy = _CopyModule()
    RemoteAction._action_call_format = _action_call_without_responses
    Event.resolve_by_type = staticmethod(_resolved_event_type)
    trackers.dataclasses = _DataclassesModule()
    FormAction.entity_mapping_is_unique = _entity_mapping_is_unique

