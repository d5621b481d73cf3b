"""Load, validate and evaluate the escalation rules file (escalation/rules.yml)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import yaml

from escalation.mood import history_of, turning_point

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RULES = Path(__file__).resolve().parent / "rules.yml"
QUEUES_FILE = ROOT / "desk" / "queues.yml"
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
EMOTIONS = {"calm", "anxious", "angry"}
COUNT_CONDITIONS = ("repeated_intent", "fallbacks_in_a_row", "failed_attempts")
CONDITIONS = {"intents", "keywords", "emotion", "min_intensity", "streak", "turning_point",
              "repeats_allowed", *COUNT_CONDITIONS}
# Saying hello or yes three times is not an unresolved question.
NOT_QUESTIONS = {"greet", "goodbye", "thank", "affirm", "deny", "inform", "rate_service",
                 "nlu_fallback", "out_of_scope"}


class RulesError(ValueError):
    """A mistake in the rules file, with the file and rule named."""


@dataclass(frozen=True)
class Turn:
    """One customer message of the current session, as the rules see it."""

    intent: Optional[str]
    text: str
    emotion: Optional[str] = None
    intensity: float = 0.0


@dataclass(frozen=True)
class Rule:
    id: str
    queue: str
    priority: int
    when: Dict[str, Any]
    say: Optional[str] = None
    keywords: Optional[re.Pattern] = field(default=None, compare=False)

    def matches(self, turns: Sequence[Turn], failed_attempts: int,
                turned: Optional[Dict[str, Any]]) -> Optional[str]:
        """Why this rule fires for the latest turn, or None."""
        when, last = self.when, turns[-1] if turns else None
        if last is not None:
            if last.intent in when.get("intents", ()):
                return f"intent {last.intent}"
            if self.keywords is not None and (found := self.keywords.search(last.text)):
                return f"keyword {found.group(0)}"
            if "emotion" in when and _streak(turns, when) >= when.get("streak", 1):
                return f"emotion {last.emotion} {last.intensity:.2f}"
            if when.get("repeated_intent") and last.intent not in NOT_QUESTIONS and \
                    last.intent not in when.get("repeats_allowed", ()):
                asked = sum(turn.intent == last.intent for turn in turns)
                if asked >= when["repeated_intent"]:
                    return f"{last.intent} asked {asked} times"
            if when.get("fallbacks_in_a_row"):
                misunderstood = 0
                for turn in reversed(turns):
                    if turn.intent != "nlu_fallback":
                        break
                    misunderstood += 1
                if misunderstood >= when["fallbacks_in_a_row"]:
                    return f"{misunderstood} messages not understood in a row"
        if when.get("turning_point") and turned:
            return f"mood turning point ({turned['kind']})"
        if when.get("failed_attempts") and failed_attempts >= when["failed_attempts"]:
            return f"{failed_attempts} rejected answers"
        return None


def _streak(turns: Sequence[Turn], when: Dict[str, Any]) -> int:
    count = 0
    for turn in reversed(turns):
        if turn.emotion != when["emotion"] or turn.intensity < when.get("min_intensity", 0):
            break
        count += 1
    return count


@dataclass(frozen=True)
class OfficeHours:
    offset: timezone
    days: Tuple[int, ...]
    open: time
    close: time

    def is_open(self, now: Optional[datetime] = None) -> bool:
        local = (now or datetime.now(timezone.utc)).astimezone(self.offset)
        return local.weekday() in self.days and self.open <= local.time() < self.close

    def next_opening(self, now: Optional[datetime] = None) -> datetime:
        local = (now or datetime.now(timezone.utc)).astimezone(self.offset)
        for days_ahead in range(8):
            day = local.date() + timedelta(days=days_ahead)
            opening = datetime.combine(day, self.open, tzinfo=self.offset)
            if day.weekday() in self.days and opening > local:
                return opening
        raise RulesError("office_hours: no opening day")  # prevented by validation


@dataclass(frozen=True)
class EscalationRules:
    rules: Tuple[Rule, ...]
    office_hours: OfficeHours

    def evaluate(self, turns: Sequence[Turn], failed_attempts: int = 0
                 ) -> Tuple[Optional[Rule], Optional[str], Optional[Dict[str, Any]]]:
        """(the rule that fires, why, the turning point if the latest message is one)."""
        turned = turning_point(history_of(turns))
        fired = [(rule, why) for rule in self.rules
                 if (why := rule.matches(turns, failed_attempts, turned))]
        if not fired:
            return None, None, turned
        rule, why = min(fired, key=lambda pair: pair[0].priority)  # stable: first listed
        return rule, why, turned

    def rule(self, rule_id: str) -> Optional[Rule]:
        return next((rule for rule in self.rules if rule.id == rule_id), None)


def known_queues(path: Path = QUEUES_FILE) -> Optional[set]:
    if not path.is_file():
        return None
    content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    queues = content.get("queues", content)
    return set(queues) if isinstance(queues, dict) else None


def load_rules(path: Union[str, Path, None] = None) -> EscalationRules:
    path = Path(path or DEFAULT_RULES)
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise RulesError(f"{path}: cannot read the escalation rules: {error}") from error
    return parse_rules(content, str(path))


def parse_rules(content: Any, source: str = "rules") -> EscalationRules:
    def fail(where: str, problem: str) -> RulesError:
        return RulesError(f"{source}: {where}: {problem}")

    if not isinstance(content, dict) or not isinstance(content.get("rules"), list):
        raise fail("top level", "expected a mapping with a `rules:` list")
    unknown = set(content) - {"rules", "office_hours"}
    if unknown:
        raise fail("top level", f"unknown keys {sorted(unknown)}")
    queues = known_queues()
    rules, seen = [], set()
    for index, raw in enumerate(content["rules"]):
        where = f"rule {raw.get('id', '?')!r} (rules[{index}])" if isinstance(raw, dict) \
            else f"rules[{index}]"
        if not isinstance(raw, dict):
            raise fail(where, "each rule must be a mapping")
        extra = set(raw) - {"id", "queue", "priority", "when", "say"}
        if extra:
            raise fail(where, f"unknown keys {sorted(extra)}")
        rule_id, queue, priority, when = (raw.get(key) for key in ("id", "queue", "priority",
                                                                    "when"))
        if not isinstance(rule_id, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", rule_id):
            raise fail(where, "`id` must be a lower_snake_case name")
        if rule_id in seen:
            raise fail(where, "duplicate id")
        seen.add(rule_id)
        if not isinstance(queue, str) or (queues is not None and queue not in queues):
            raise fail(where, f"unknown queue {queue!r}; known: {sorted(queues or [])}")
        if not isinstance(priority, int) or isinstance(priority, bool) or not 1 <= priority <= 5:
            raise fail(where, "`priority` must be a whole number from 1 (most urgent) to 5")
        rules.append(_parse_when(rule_id, queue, priority, when, raw.get("say"), where, fail))
    if not rules:
        raise fail("rules", "at least one rule is needed")
    return EscalationRules(tuple(rules), _office_hours(content.get("office_hours"), fail))


def _parse_when(rule_id, queue, priority, when, say, where, fail) -> Rule:
    if not isinstance(when, dict) or not when:
        raise fail(where, "`when` must list at least one condition")
    unknown = set(when) - CONDITIONS
    if unknown:
        raise fail(where, f"unknown conditions {sorted(unknown)}; known: {sorted(CONDITIONS)}")
    for key in ("intents", "keywords", "repeats_allowed"):
        values = when.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
            raise fail(where, f"`{key}` must be a list of non-empty texts")
    if "emotion" in when and when["emotion"] not in EMOTIONS:
        raise fail(where, f"`emotion` must be one of {sorted(EMOTIONS)}")
    if "repeats_allowed" in when and "repeated_intent" not in when:
        raise fail(where, "`repeats_allowed` needs a `repeated_intent`")
    if ("min_intensity" in when or "streak" in when) and "emotion" not in when:
        raise fail(where, "`min_intensity`/`streak` need an `emotion`")
    intensity = when.get("min_intensity", 0)
    if not isinstance(intensity, int | float) or not 0 <= intensity <= 1:
        raise fail(where, "`min_intensity` must be between 0 and 1")
    for key in (*COUNT_CONDITIONS, "streak"):
        value = when.get(key, 1)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise fail(where, f"`{key}` must be a whole number >= 1")
    if "turning_point" in when and when["turning_point"] is not True:
        raise fail(where, "`turning_point` can only be `true`")
    if say is not None and (not isinstance(say, str) or not say.strip()):
        raise fail(where, "`say` must be a text")
    keywords = when.get("keywords")
    pattern = re.compile("|".join(map(re.escape, keywords)), re.IGNORECASE) if keywords else None
    return Rule(rule_id, queue, priority, when, say, pattern)


def _office_hours(raw: Any, fail) -> OfficeHours:
    raw = raw or {"days": DAYS, "open": "00:00", "close": "23:59"}
    if not isinstance(raw, dict):
        raise fail("office_hours", "must be a mapping")
    unknown = set(raw) - {"timezone_offset_hours", "days", "open", "close"}
    if unknown:
        raise fail("office_hours", f"unknown keys {sorted(unknown)}")
    offset = raw.get("timezone_offset_hours", 8)
    if not isinstance(offset, int | float) or not -12 <= offset <= 14:
        raise fail("office_hours", "`timezone_offset_hours` must be between -12 and 14")
    days = raw.get("days", DAYS)
    if not isinstance(days, list) or not days or any(day not in DAYS for day in days):
        raise fail("office_hours", f"`days` must list some of {DAYS}")
    try:
        opening, closing = (time.fromisoformat(str(raw.get(key, default)))
                            for key, default in (("open", "09:00"), ("close", "22:00")))
    except ValueError as error:
        raise fail("office_hours", f"`open`/`close` must be HH:MM ({error})") from error
    if opening >= closing:
        raise fail("office_hours", "`open` must be before `close`")
    return OfficeHours(timezone(timedelta(hours=offset)), tuple(DAYS.index(d) for d in days),
                       opening, closing)
