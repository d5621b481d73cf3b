"""EscalationPolicy on real trackers and the project's domain."""

from __future__ import annotations

from typing import List, Optional

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    ConversationResumed,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from components.escalation_policy import EscalationPolicy


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load("domain.yml")


@pytest.fixture()
def policy(tmp_path, domain: Domain) -> EscalationPolicy:
    storage = LocalModelStorage(tmp_path)
    resource = Resource("escalation")
    context = ExecutionContext(GraphSchema({}), "test")
    config = {**EscalationPolicy.get_default_config()}
    trained = EscalationPolicy.create(config, storage, resource, context)
    trained.train([], domain)
    return EscalationPolicy.load(config, storage, resource, context)


def user(text: str, intent: str, emotion: Optional[str] = None, intensity: float = 0.0
         ) -> List[Event]:
    parse = {"intent": {"name": intent, "confidence": 0.9}, "entities": [], "text": text}
    if emotion:
        parse["emotion"] = {"label": emotion, "intensity": intensity}
    return [UserUttered(text, parse["intent"], [], parse_data=parse)]


def tracker(*turns: List[Event], domain: Domain) -> DialogueStateTracker:
    events: List[Event] = [ActionExecuted("action_session_start"), SessionStarted(),
                           ActionExecuted("action_listen")]
    for turn in turns:
        events += turn
    return DialogueStateTracker.from_events("tester", events, domain.slots)


def predicted(policy: EscalationPolicy, tracker: DialogueStateTracker, domain: Domain):
    prediction = policy.predict_action_probabilities(tracker, domain)
    if prediction.max_confidence < 1.0:
        return None, prediction
    return domain.action_names_or_texts[prediction.max_confidence_index], prediction


def test_request_for_a_human_escalates_with_the_route(policy, domain) -> None:
    action, prediction = predicted(policy, tracker(user("转人工", "request_human"),
                                                   domain=domain), domain)
    assert action == "action_escalate"
    assert prediction.policy_priority == 7 and prediction.is_no_user_prediction
    handoff = [e for e in prediction.optional_events if isinstance(e, SlotSet)][0]
    assert handoff.key == "handoff"
    assert handoff.value["queue"] == "general" and handoff.value["rule"] == "asked_for_human"


def test_a_first_complaint_about_the_parcel_is_left_to_the_bot_outside_a_form(policy,
                                                                              domain) -> None:
    slow = user("你们这快递也太慢了吧？？？", "complain")
    action, _ = predicted(policy, tracker(slow, domain=domain), domain)
    assert action is None  # action_handle_complaint (data/rules/handoff.yml) acts on it
    inside = tracker(user("查物流", "track_logistics"),
                     [ActionExecuted("order_form"), ActiveLoop("order_form"),
                      SlotSet("requested_slot", "order_id"), ActionExecuted("action_listen")],
                     user("你们这快递也太慢了吧？？？", "complain"), domain=domain)
    assert predicted(policy, inside, domain)[0] == "action_escalate"


def test_escalates_inside_an_active_form(policy, domain) -> None:
    history = tracker(user("查物流", "track_logistics"),
                      [ActionExecuted("order_form"), ActiveLoop("order_form"),
                       SlotSet("requested_slot", "order_id"), ActionExecuted("action_listen")],
                      user("我要投诉你们", "complain"), domain=domain)
    action, prediction = predicted(policy, history, domain)
    assert action == "action_escalate"
    assert prediction.optional_events[0].value["queue"] == "senior"


def test_a_photo_for_the_photo_request_is_an_answer_whatever_its_caption(policy, domain):
    asked = [ActionExecuted("order_form"), ActiveLoop("order_form"),
             SlotSet("requested_slot", "evidence"), ActionExecuted("action_listen")]
    caption = "外壳这里摔裂了,你们看看怎么处理"
    photo = user(caption, "complain")
    photo[0].metadata = {"attachments": [{"type": "image", "url": "data:image/png;base64,x"}]}
    action, _ = predicted(policy, tracker(user("电饭煲摔坏了", "report_quality_issue"), asked,
                                          photo, domain=domain), domain)
    assert action is None  # the form takes the photo
    # The same words without a photo are a complaint for a person.
    action, _ = predicted(policy, tracker(user("电饭煲摔坏了", "report_quality_issue"), asked,
                                          user(caption, "complain"), domain=domain), domain)
    assert action == "action_escalate"


def test_the_tasks_own_words_answering_its_confirmation_are_no_repeated_request(policy, domain):
    # 「算了不退了」, then 「还是取消退货吧」, then 「对 不退了」 to 「确认撤销…吗?」: all read as
    # cancel_order; the third is the yes, not the request a third time.
    asked = [ActionExecuted("order_form"), ActiveLoop("order_form"),
             SlotSet("requested_slot", "confirmed"), ActionExecuted("action_listen")]
    turns = [user("算了不退了", "cancel_order"), asked, user("还是取消退货吧", "cancel_order"),
             asked]
    action, _ = predicted(policy, tracker(*turns, user("对 不退了", "cancel_order"),
                                          domain=domain), domain)
    assert action is None
    # Asked a third time where no yes or no was asked for: a human.
    waiting = [ActionExecuted("order_form"), ActiveLoop("order_form"),
               SlotSet("requested_slot", "order_id"), ActionExecuted("action_listen")]
    action, _ = predicted(policy, tracker(*turns[:3], waiting, user("取消退货", "cancel_order"),
                                          domain=domain), domain)
    assert action == "action_escalate"


def test_quiet_conversations_are_left_alone(policy, domain) -> None:
    action, prediction = predicted(policy, tracker(user("你好", "greet", "calm", 0.05),
                                                   domain=domain), domain)
    assert action is None and not prediction.events


def test_turning_point_is_recorded_and_escalates(policy, domain) -> None:
    history = tracker(user("你好", "greet", "calm", 0.05),
                      [ActionExecuted("utter_greet"), ActionExecuted("action_listen")],
                      user("快递有点慢啊", "track_logistics", "anxious", 0.5),
                      [ActionExecuted("order_form"), ActionExecuted("action_listen")],
                      user("到底怎么回事???", "track_logistics", "angry", 0.7), domain=domain)
    action, prediction = predicted(policy, history, domain)
    assert action == "action_escalate"
    turning = [e for e in prediction.events if isinstance(e, SlotSet)][0]
    assert turning.key == "turning_point" and turning.value["kind"] == "calm_anxious_angry"


def test_form_that_gave_up_escalates_once(policy, domain) -> None:
    history = tracker(user("查订单", "query_order_status"),
                      [ActionExecuted("order_form"), ActiveLoop("order_form"),
                       ActionExecuted("action_listen")],
                      user("123", "inform"),
                      [SlotSet("failed_attempts", 3.0), ActionExecuted("order_form"),
                       ActiveLoop(None)], domain=domain)
    assert predicted(policy, history, domain)[0] == "action_escalate"
    history.update(ActionExecuted("action_escalate"))
    assert predicted(policy, history, domain)[0] == "action_listen"


def test_messages_before_a_human_handled_it_do_not_count_again(policy, domain) -> None:
    asked = [user("什么时候发货", "ask_shipping_time"),
             [ActionExecuted("action_ask_shipping_time"), ActionExecuted("action_listen")]]
    history = tracker(*asked, *asked, user("什么时候发货", "ask_shipping_time"),
                      domain=domain)
    assert predicted(policy, history, domain)[0] == "action_escalate"
    history = tracker(*asked, *asked, [ConversationResumed(), ActionExecuted("action_listen")],
                      user("什么时候发货", "ask_shipping_time"), domain=domain)
    assert predicted(policy, history, domain)[0] is None


def test_answers_inside_a_form_break_an_angry_streak(policy, domain) -> None:
    history = tracker(user("搞什么!!!", "track_logistics", "angry", 0.95),
                      [ActionExecuted("order_form"), ActiveLoop("order_form"),
                       ActionExecuted("action_listen")],
                      user("361204587712340011", "inform", "calm", 0.0),
                      [ActionExecuted("order_form"), ActiveLoop(None),
                       ActionExecuted("action_order_task"), ActionExecuted("action_listen")],
                      user("你们这什么破物流!!!", "track_logistics", "angry", 0.98), domain=domain)
    assert predicted(policy, history, domain)[0] is None
    history.update(ActionExecuted("action_listen"))
    for event in user("还要等多久???气死了!!!", "track_logistics", "angry", 0.97):
        history.update(event)
    assert predicted(policy, history, domain)[0] == "action_escalate"


def test_policy_and_actions_follow_the_rules_file_after_it_changes(
        tmp_path, domain, monkeypatch, caplog) -> None:
    """Trained with the shipped file; then the file changes without retraining (a new
    keyword and another queue). The policy used to keep the copy trained into the model
    while actions/handoff.py read the file: the bot escalated by the old rules and routed
    by the new. Both now read the file when they start, and the change is logged."""
    import logging

    import yaml

    from escalation.rules import DEFAULT_RULES, load_rules

    rules_file = tmp_path / "rules.yml"
    rules_file.write_text(DEFAULT_RULES.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("ESCALATION_RULES", str(rules_file))
    (tmp_path / "model").mkdir()
    storage = LocalModelStorage(tmp_path / "model")
    resource, context = Resource("escalation"), ExecutionContext(GraphSchema({}), "test")
    config = {**EscalationPolicy.get_default_config()}
    EscalationPolicy.create(config, storage, resource, context).train([], domain)

    data = yaml.safe_load(rules_file.read_text(encoding="utf-8"))
    human = next(rule for rule in data["rules"] if rule["id"] == "asked_for_human")
    human["queue"] = "senior"
    human["when"]["keywords"].append("找你们老板")
    rules_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    with caplog.at_level(logging.WARNING, logger="components.escalation_policy"):
        policy = EscalationPolicy.load(config, storage, resource, context)
    assert f"{rules_file} changed since the model was trained" in caplog.text
    action, prediction = predicted(policy, tracker(user("我要找你们老板", "inform"),
                                                   domain=domain), domain)
    assert action == "action_escalate"
    chosen = [e for e in prediction.optional_events if isinstance(e, SlotSet)][0].value
    # What the action server (actions/handoff.py: load_rules()) makes of the same message.
    from escalation import Turn

    rule, _, _ = load_rules().evaluate([Turn("inform", "我要找你们老板")])
    assert rule is not None
    assert (chosen["rule"], chosen["queue"]) == (rule.id, rule.queue) == \
        ("asked_for_human", "senior")
