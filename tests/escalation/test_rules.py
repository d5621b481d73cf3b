"""The escalation rules file: validation with clear errors, rule choice, mood turning points."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml

from escalation import Turn, load_rules, turning_point
from escalation.rules import DEFAULT_RULES, parse_rules
from service_common.config import ConfigError

CHINA = timezone(timedelta(hours=8))


def rules_with(**rule: Any) -> Dict[str, Any]:
    base = {"id": "r", "queue": "general", "priority": 3, "when": {"intents": ["complain"]}}
    return {"rules": [{**base, **rule}]}


def test_the_shipped_rules_file_is_valid() -> None:
    rules = load_rules()
    assert {rule.id for rule in rules.rules} >= {
        "complaint", "angry_customer", "mood_turning", "asked_for_human", "wholesale",
        "invoice", "repeated_failure"}


@pytest.mark.parametrize("change, where, message", [
    ({"queue": "nowhere"}, "rules[0].queue", "unknown queue 'nowhere'"),
    ({"priority": 0}, "rules[0].priority", "greater than or equal to 1"),
    ({"priority": True}, "rules[0].priority", "not a valid integer"),
    ({"id": "Bad Id"}, "rules[0].id", "does not match"),
    ({"when": {}}, "rules[0].when", "at least one condition"),
    ({"when": {"mood": "angry"}}, "rules[0].when.mood", "unknown key (known: intents,"),
    ({"when": {"emotion": "furious"}}, "rules[0].when.emotion", "permitted: 'calm'"),
    ({"when": {"min_intensity": 0.5}}, "rules[0].when.min_intensity", "needs an `emotion`"),
    ({"when": {"emotion": "angry", "min_intensity": 2}}, "rules[0].when.min_intensity",
     "less than or equal to 1"),
    ({"when": {"keywords": [12315]}}, "rules[0].when.keywords[0]", "quote numbers"),
    ({"when": {"repeated_intent": 0}}, "rules[0].when.repeated_intent", "greater than"),
    ({"when": {"turning_point": "yes"}}, "rules[0].when.turning_point", "permitted: True"),
    ({"when": {"repeats_allowed": ["faq"]}}, "rules[0].when.repeats_allowed",
     "needs a `repeated_intent`"),
    ({"say": ""}, "rules[0].say", "at least 1 character"),
    ({"colour": "red"}, "rules[0].colour", "unknown key"),
])
def test_mistakes_are_reported_with_the_file_line_and_path(
        change: Dict[str, Any], where: str, message: str) -> None:
    data = rules_with(**change)
    with pytest.raises(ConfigError) as error:
        parse_rules(data, "my_rules.yml", yaml.safe_dump(data))
    assert str(error.value).startswith("my_rules.yml:"), str(error.value)
    assert error.value.where == where and message in error.value.problem, str(error.value)
    assert error.value.line is not None


def test_duplicate_ids_and_bad_office_hours_are_reported() -> None:
    twice = rules_with()
    twice["rules"].append(dict(twice["rules"][0]))
    with pytest.raises(ConfigError, match=re.escape("rules[1].id: duplicate id 'r'")):
        parse_rules(twice)
    for hours, message in [({"open": "22:00", "close": "09:00"}, "`open` must be before"),
                           ({"days": ["monday"]}, "office_hours.days[0]: unexpected value"),
                           ({"open": "9am"}, "office_hours.open: must be HH:MM"),
                           ({"open": 540}, "office_hours.open: must be HH:MM"),  # 9:00 in YAML 1.1
                           ({"hotline": "call us"}, "office_hours.hotline: string does not match")]:
        with pytest.raises(ConfigError, match=re.escape(message)):
            parse_rules({**rules_with(), "office_hours": hours})


def test_unreadable_file_names_the_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "rules.yml"
    broken.write_text("rules:\n  - id: x\n    queue: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(f"{broken}:4: invalid YAML")):
        load_rules(broken)
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_rules(tmp_path / "missing.yml")


def test_the_most_urgent_matching_rule_wins() -> None:
    rules = load_rules()
    rule, why, _ = rules.evaluate([Turn("request_human", "我要投诉,转人工")])
    assert rule.id == "complaint" and rule.queue == "senior" and rule.priority == 1
    assert why == "keyword 投诉"


def test_a_first_complaint_about_the_parcel_or_the_goods_is_the_bots_to_act_on() -> None:
    rules = load_rules()
    slow = Turn("complain", "你们这快递也太慢了吧？？？")
    assert rules.evaluate([slow]) == (None, None, None)
    assert rules.task_first([slow]) == "track"
    assert rules.task_first([Turn("complain", "付款三天了还不发货 什么破店")]) == "urge"
    assert rules.task_first([Turn("complain", "收到就是坏的 什么垃圾质量")]) == "quality"
    # Inside a form, a second complaint, the escalation words, or no such topic: a human.
    assert rules.evaluate([slow], in_form=True)[0].id == "complaint"
    assert rules.evaluate([slow, Turn("complain", "还是没到 太慢了")])[0].id == "complaint"
    assert rules.task_first([slow, Turn("complain", "还是没到 太慢了")]) is None
    rule, why, _ = rules.evaluate([Turn("complain", "快递太慢了 我要投诉")])
    assert (rule.id, why) == ("complaint", "keyword 投诉")
    for service in ("你们客服态度太差了", "客服回复太慢了"):
        assert rules.evaluate([Turn("complain", service)])[0].id == "complaint", service
    # The words need the intent: 「快递」 in an ordinary question fires nothing.
    assert rules.task_first([Turn("track_logistics", "快递到哪了")]) is None


def test_answered_first_needs_intents(tmp_path: Path) -> None:
    bad = tmp_path / "rules.yml"
    bad.write_text("rules:\n  - id: x\n    queue: general\n    priority: 3\n"
                   "    when:\n      keywords: [投诉]\n      answered_first: {track: [快递]}\n",
                   encoding="utf-8")
    with pytest.raises(ConfigError, match="answered_first: needs `intents`"):
        load_rules(bad)


@pytest.mark.parametrize("turns, expected", [
    ([Turn("request_human", "转人工")], "asked_for_human"),
    ([Turn("greet", "叫你们经理来")], "asked_for_human"),
    ([Turn("wholesale_inquiry", "公司要采购500件")], "wholesale"),
    ([Turn("ask_invoice", "发票抬头开错了,帮我换开一下")], "invoice"),
    ([Turn("track_logistics", "快递呢")] * 2 + [Turn("track_logistics", "快递到底呢")],
     "repeated_failure"),
    ([Turn("nlu_fallback", "asdf")] * 3, "repeated_failure"),
    ([Turn("urge_delivery", "还不发货!!", "angry", 0.8),
      Turn("urge_delivery", "搞什么!!!", "angry", 0.9)], "angry_customer"),
    ([Turn("greet", "你好", "calm", 0.05), Turn("track_logistics", "有点急", "anxious", 0.5),
      Turn("inform", "到底怎么回事???", "angry", 0.7)], "mood_turning"),
])
def test_each_rule_fires(turns: list, expected: str) -> None:
    rule, _, _ = load_rules().evaluate(turns)
    assert rule is not None and rule.id == expected


@pytest.mark.parametrize("turns", [
    [Turn("greet", "你好", "calm", 0.02)],
    [Turn("track_logistics", "快递呢"), Turn("track_logistics", "那另一单呢")],
    [Turn("nlu_fallback", "asdf"), Turn("nlu_fallback", "qwer"), Turn("greet", "你好")],
    [Turn("urge_delivery", "还不发货!!", "angry", 0.8)],  # one angry message: answer first
    [Turn("greet", "你好", "calm", 0.05), Turn("thank", "谢谢", "calm", 0.01)],
    [Turn("greet", "在吗"), Turn("greet", "在吗"), Turn("greet", "在吗")],  # not a question
    [Turn("ask_invoice", "能开专票吗")],  # the bot files ordinary invoice requests itself
    [Turn("product_question", "什么材质"), Turn("product_question", "能机洗吗"),
     Turn("product_question", "保修多久")],  # browsing, not a failure
])
def test_ordinary_conversations_stay_with_the_bot(turns: list) -> None:
    assert load_rules().evaluate(turns)[0] is None


def test_failed_form_attempts_escalate() -> None:
    rule, why, _ = load_rules().evaluate([], failed_attempts=3)
    assert rule.id == "repeated_failure" and why == "3 rejected answers"
    assert load_rules().evaluate([], failed_attempts=2)[0] is None


def test_turning_points() -> None:
    assert turning_point([("calm", 0.1), ("anxious", 0.4), ("angry", 0.7)])["kind"] == \
        "calm_anxious_angry"
    rising = turning_point([("anxious", 0.35), ("anxious", 0.5), ("anxious", 0.7)])
    assert rising["kind"] == "rising_intensity" and rising["message_index"] == 2
    assert turning_point([("calm", 0.1), ("anxious", 0.4)]) is None  # too short
    assert turning_point([("angry", 0.9), ("anxious", 0.6), ("angry", 0.8)]) is None
    assert turning_point([("calm", 0.1), ("calm", 0.15), ("calm", 0.2)]) is None
    # One anxious message after calm ones is not a trend (the angry rules handle spikes).
    assert turning_point([("calm", 0.073), ("calm", 0.17), ("anxious", 0.703)]) is None
    assert turning_point([("anxious", 0.5), ("anxious", 0.52), ("anxious", 0.7)]) is None


def test_office_hours() -> None:
    hours = load_rules().office_hours
    monday_noon = datetime(2026, 11, 23, 12, 0, tzinfo=CHINA)
    late = datetime(2026, 11, 23, 23, 30, tzinfo=CHINA)
    assert hours.is_open(monday_noon) and not hours.is_open(late)
    assert hours.next_opening(late) == datetime(2026, 11, 24, 9, 0, tzinfo=CHINA)
    weekdays = parse_rules({**rules_with(), "office_hours": {
        "days": ["mon", "tue", "wed", "thu", "fri"], "open": "09:00", "close": "18:00"}})
    friday_evening = datetime(2026, 11, 27, 19, 0, tzinfo=CHINA)
    assert weekdays.office_hours.next_opening(friday_evening) == \
        datetime(2026, 11, 30, 9, 0, tzinfo=CHINA)


def test_rules_file_is_plain_yaml_trainers_can_read() -> None:
    content = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    assert all("queue" in rule and "priority" in rule for rule in content["rules"])


def test_action_server_refuses_to_start_with_a_broken_rules_file(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    broken = tmp_path / "rules.yml"
    broken.write_text("rules:\n  - id: x\n    queue: nowhere\n    priority: 1\n"
                      "    when: {intents: [complain]}\n", encoding="utf-8")
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", "0"],
        cwd=root, capture_output=True, text=True, timeout=120,
        env={**os.environ, "ESCALATION_RULES": str(broken), "PYTHONPATH": str(root)})
    assert result.returncode != 0
    assert f"{broken}:3: rules[0].queue: unknown queue 'nowhere'" in result.stderr
