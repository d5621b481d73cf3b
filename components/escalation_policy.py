"""A dialogue policy that hands the conversation to a human when escalation rules fire.

The rules (escalation/rules.yml) look at the whole session: the latest message's intent
and words, the emotion radar's labels over the session (streaks, turning points),
repeated questions, misunderstandings in a row, and forms that gave up. A policy sees
all of that at every prediction, which rules and stories cannot express.

It predicts `action_escalate` with full confidence and the highest priority, and puts
the rule that fired into the `handoff` slot for the action. A turning point in the mood
is recorded in the `turning_point` slot (and logged) whether or not a rule uses it.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from typing import Any, Dict, List, Optional, Text

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from escalation import history
from escalation.rules import EscalationRules, Turn, read_rules, rules_path

logger = logging.getLogger(__name__)

ACTION_ESCALATE = "action_escalate"
RULES_FILE = "rules.yml"
# Above RulePolicy (6): an escalation overrides rules, forms and stories.
PRIORITY = 7


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True
)
class EscalationPolicy(Policy):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # rules_file None: ESCALATION_RULES, else escalation/rules.yml (escalation.rules_path).
        return {"rules_file": None, "priority": PRIORITY,
                "form_attempts_slot": "failed_attempts"}

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[Text]:
        # An edited rules file must retrain this policy (seconds), not reuse the cache.
        try:
            with open(rules_path(config.get("rules_file")), "rb") as file:
                return hashlib.sha256(file.read()).hexdigest()
        except OSError:
            return None

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Optional[Any] = None,
        rules_text: Optional[Text] = None,
    ) -> None:
        super().__init__(config, model_storage, resource, execution_context, featurizer)
        self.rules_text = rules_text
        self.rules: Optional[EscalationRules] = None

    def train(
        self, training_trackers: List[TrackerWithCachedStates], domain: Domain, **kwargs: Any
    ) -> Resource:
        # Validated now so a broken rules file stops training with a clear message.
        self.rules, self.rules_text = read_rules(rules_path(self.config["rules_file"]))
        if ACTION_ESCALATE not in domain.action_names_or_texts:
            raise ValueError(f"EscalationPolicy needs `{ACTION_ESCALATE}` in domain.yml")
        with self._model_storage.write_to(self._resource) as directory:
            (directory / RULES_FILE).write_text(self.rules_text, encoding="utf-8")
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> EscalationPolicy:
        # The rules are read from the installation's file, as the action server reads them
        # (actions/handoff.py): a copy trained into the model would drift from the file
        # when it changes without retraining. The copy only tells that it did.
        with model_storage.read_from(resource) as directory:
            trained = (directory / RULES_FILE).read_text(encoding="utf-8")
        path = rules_path(config.get("rules_file"))
        rules, text = read_rules(path)
        if text != trained:
            logger.warning("Escalation rules: %s changed since the model was trained; the "
                           "policy and the actions use the file as it is now", path)
        policy = cls(config, model_storage, resource, execution_context, rules_text=text)
        policy.rules = rules
        return policy

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[Dict[Text, Any]] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        nothing = self._prediction(self._default_predictions(domain))
        if self.rules is None:
            return nothing
        latest = tracker.latest_action_name
        if latest == ACTION_ESCALATE:
            # Outside office hours the bot is not paused; the turn simply ends.
            return self._predict(ACTION_LISTEN_NAME, domain)
        if _only_slots_since_user(tracker):
            turns = session_turns(tracker)
            if turns and (answers_photo_request(tracker) or answers_confirmation(tracker)):
                # A photo sent for the photo request is the answer, whatever its caption
                # reads like (「外壳摔裂了,你们看看怎么处理」 is not a new complaint); so is
                # 「确认取消」「对 不退了」 to 「确认…吗?」 (not the request a third time).
                turns[-1] = replace(turns[-1], intent="inform")
            rule, why, turned = self.rules.evaluate(
                turns, in_form=tracker.active_loop_name is not None)
        elif tracker.active_loop_name is None and latest == _last_loop(tracker):
            # A form just ended: did it give up after too many rejected answers?
            attempts = int(tracker.get_slot(self.config["form_attempts_slot"]) or 0)
            rule, why, turned = self.rules.evaluate([], failed_attempts=attempts)
        else:
            return nothing
        events: List[Any] = []
        if turned:
            logger.info("Mood turning point for %s: %s", tracker.sender_id, turned)
            events.append(SlotSet("turning_point", turned))
        if rule is None:
            return self._prediction(self._default_predictions(domain), events=events)
        logger.info("Escalation rule %s fired for %s: %s", rule.id, tracker.sender_id, why)
        handoff = {"rule": rule.id, "reason": why, "queue": rule.queue,
                   "priority": rule.priority, "say": rule.say}
        return self._predict(ACTION_ESCALATE, domain, events, [SlotSet("handoff", handoff)])

    def _predict(self, action: Text, domain: Domain, events: Optional[List[Any]] = None,
                 optional_events: Optional[List[Any]] = None) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        probabilities[domain.index_for_action(action)] = 1.0
        # Marked like a form's own continuation so it also wins inside an active form.
        return self._prediction(probabilities, events=events, optional_events=optional_events,
                                is_no_user_prediction=True)


def answers_photo_request(tracker: DialogueStateTracker) -> bool:
    """The form asked for a photo and the latest message carries one."""
    if not tracker.active_loop_name or tracker.get_slot("requested_slot") != "evidence":
        return False
    message = tracker.latest_message
    attachments = (message.metadata or {}).get("attachments") if message else None
    return isinstance(attachments, list) and any(
        isinstance(item, dict) and item.get("type") == "image" for item in attachments)


# The requests whose own words answer the order form's 「确认取消/修改/撤销…吗?」.
CONFIRMING_INTENTS = frozenset({"cancel_order", "change_address", "request_return",
                                "request_refund", "request_exchange"})


def answers_confirmation(tracker: DialogueStateTracker) -> bool:
    """The form asked for a yes or no and the latest message reads as the task itself."""
    message = tracker.latest_message
    return bool(tracker.active_loop_name) and \
        tracker.get_slot("requested_slot") == "confirmed" and message is not None and \
        (message.intent or {}).get("name") in CONFIRMING_INTENTS


def _only_slots_since_user(tracker: DialogueStateTracker) -> bool:
    """True right after a user message whose slots were extracted (no action ran yet)."""
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return tracker.latest_action_name == ACTION_LISTEN_NAME
        if not isinstance(event, SlotSet):
            return False
    return False


def _last_loop(tracker: DialogueStateTracker) -> Optional[Text]:
    """The form that ran last in this session, if any."""
    return next((event.name for event in reversed(history.session(tracker.events))
                 if isinstance(event, ActiveLoop) and event.name), None)


def session_turns(tracker: DialogueStateTracker) -> List[Turn]:
    """The customer's messages since the session started (or a human handed it back).

    Walks the raw events: `applied_events()` folds a form's happy-path turns away, and
    the answers given inside a form are messages with a mood like any other.
    """
    turns: List[Turn] = []
    # After a human handled it (the handback), earlier messages are settled.
    for event in history.stretch(tracker.events):
        if isinstance(event, ActionExecuted) and event.action_name == ACTION_ESCALATE:
            # Handed over (or a ticket taken outside office hours): the messages so far are
            # in that ticket; only new ones may escalate again (not every later message).
            turns = []
        elif isinstance(event, UserUtteranceReverted) and turns:
            turns.pop()
        elif isinstance(event, UserUttered):
            emotion = event.parse_data.get("emotion") or {}
            turns.append(Turn(event.intent_name, event.text or "", emotion.get("label"),
                              float(emotion.get("intensity") or 0.0)))
    return turns
