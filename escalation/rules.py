"""Load, validate and evaluate the escalation rules file (escalation/rules.yml)."""


from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List, Literal, Optional, Sequence, Tuple, Union

import yaml
from pydantic import StrictStr, conint, conlist, constr, root_validator, validator

from escalation.mood import history_of, turning_point
from service_common.config import At, Count, Model, Text, number, parse, read_yaml, unique_ids
from service_common.settings import env_str

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RULES = Path(__file__).resolve().parent / "rules.yml"
QUEUES_FILE = ROOT / "desk" / "queues.yml"
CLOCK = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_WORDS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
# The shop's customer-service phone line when escalation/rules.yml names none.
DEFAULT_HOTLINE = "400-820-1234"
# Saying hello or yes three times is not an unresolved question.
NOT_QUESTIONS = {"greet", "goodbye", "thank", "affirm", "deny", "inform", "rate_service",
                 "nlu_fallback", "out_of_scope"}


@dataclass(frozen=True)
class Turn:
    """One customer message of the current session, as the rules see it."""

    intent: Optional[str]
    text: str
    emotion: Optional[str] = None
    intensity: float = 0.0


class When(Model):
    """A rule's conditions (see the comment at the top of rules.yml); ANY of them fires it."""

    intents: List[Text] = []
    keywords: List[Text] = []
    emotion: Optional[Literal["calm", "anxious", "angry"]] = None
    min_intensity: number(ge=0, le=1) = 0  # type: ignore[valid-type]
    streak: Count = 1
    turning_point: Optional[Literal[True]] = None
    repeated_intent: Optional[Count] = None
    repeats_allowed: List[Text] = []
    fallbacks_in_a_row: Optional[Count] = None
    failed_attempts: Optional[Count] = None
    # The session's first message of one of `intents` that names one of these words is
    # acted on by the bot first (the order form with that task), outside a form.
    answered_first: Dict[Literal["track", "urge", "quality"], List[Text]] = {}

    @root_validator(pre=True)
    def _consistent(cls, raw: Any) -> Any:
        if isinstance(raw, dict):
            if not raw:
                raise ValueError("list at least one condition")
            if "repeats_allowed" in raw and "repeated_intent" not in raw:
                raise At(("repeats_allowed",), "needs a `repeated_intent`")
            if "answered_first" in raw and "intents" not in raw:
                raise At(("answered_first",), "needs `intents`")
            for key in ("min_intensity", "streak"):
                if key in raw and "emotion" not in raw:
                    raise At((key,), "needs an `emotion`")
        return raw


class RuleSpec(Model):
    id: constr(strict=True, regex=r"^[a-z][a-z0-9_]*$")  # type: ignore[valid-type]
    queue: StrictStr
    priority: conint(strict=True, ge=1, le=5)  # type: ignore[valid-type]
    when: When
    say: Optional[Text] = None

    @validator("queue")
    def _known_queue(cls, queue: str) -> str:
        queues = known_queues()
        if queues is not None and queue not in queues:
            raise ValueError(f"unknown queue {queue!r}; known: {sorted(queues)}")
        return queue


class OfficeHoursSpec(Model):
    """When humans answer (China time by default); without it, always."""

    class Config:
        @staticmethod
        def schema_extra(schema: Dict[str, Any]) -> None:
            for key in ("open", "close"):  # written "09:00" in the file
                schema["properties"][key] = {"type": "string", "pattern": CLOCK}

    timezone_offset_hours: number(ge=-12, le=14) = 8  # type: ignore[valid-type]
    days: conlist(Literal[tuple(DAYS)], min_items=1) = list(DAYS)  # type: ignore
    open: time = time(9)
    close: time = time(22)
    hotline: constr(regex=r"^[0-9][0-9-]{4,19}$") = DEFAULT_HOTLINE  # type: ignore[valid-type]

    @validator("open", "close", pre=True)
    def _clock(cls, value: Any) -> time:
        if isinstance(value, time):
            return value
        try:
            return time.fromisoformat(value if isinstance(value, str) else "-")
        except ValueError:
            raise ValueError(f"must be HH:MM in quotes, not {value!r}") from None

    @validator("close")
    def _after_open(cls, close: time, values: Dict[str, Any]) -> time:
        if "open" in values and values["open"] >= close:
            raise ValueError("`open` must be before `close`")
        return close


class RulesFile(Model):
    """escalation/rules.yml"""

    office_hours: Optional[OfficeHoursSpec] = None
    rules: conlist(RuleSpec, min_items=1)  # type: ignore[valid-type]

    @validator("rules")
    def _unique_ids(cls, rules: List[RuleSpec]) -> List[RuleSpec]:
        unique_ids(rules)
        return rules


@dataclass(frozen=True)
class Rule:
    id: str
    queue: str
    priority: int
    when: When
    say: Optional[str] = None
    keywords: Optional[re.Pattern] = field(default=None, compare=False)

    def task_first(self, turns: Sequence[Turn]) -> Optional[str]:
        """The task the bot takes on instead of this rule's intent condition
        (`answered_first`): for the session's first such message naming its words."""
        last = turns[-1] if turns else None
        if last is None or last.intent not in self.when.intents or \
                sum(turn.intent in self.when.intents for turn in turns) > 1:
            return None
        return next((task for task, words in self.when.answered_first.items()
                     if any(word in last.text for word in words)), None)

    def matches(self, turns: Sequence[Turn], failed_attempts: int,
                turned: Optional[Dict[str, Any]], in_form: bool = False) -> Optional[str]:
        """Why this rule fires for the latest turn, or None."""
        when, last = self.when, turns[-1] if turns else None
        if last is not None:
            if last.intent in when.intents and (in_form or not self.task_first(turns)):
                return f"intent {last.intent}"
            if self.keywords is not None and (found := self.keywords.search(last.text)):
                return f"keyword {found.group(0)}"
            if when.emotion and _streak(turns, when) >= when.streak:
                return f"emotion {last.emotion} {last.intensity:.2f}"
            if when.repeated_intent and last.intent not in NOT_QUESTIONS and \
                    last.intent not in when.repeats_allowed:
                asked = sum(turn.intent == last.intent for turn in turns)
                if asked >= when.repeated_intent:
                    return f"{last.intent} asked {asked} times"
            if when.fallbacks_in_a_row:
                misunderstood = 0
                for turn in reversed(turns):
                    if turn.intent != "nlu_fallback":
                        break
                    misunderstood += 1
                if misunderstood >= when.fallbacks_in_a_row:
                    return f"{misunderstood} messages not understood in a row"
        if when.turning_point and turned:
            return f"mood turning point ({turned['kind']})"
        if when.failed_attempts and failed_attempts >= when.failed_attempts:
            return f"{failed_attempts} rejected answers"
        return None


def _streak(turns: Sequence[Turn], when: When) -> int:
    count = 0
    for turn in reversed(turns):
        if turn.emotion != when.emotion or turn.intensity < when.min_intensity:
            break
        count += 1
    return count


@dataclass(frozen=True)
class OfficeHours:
    offset: timezone
    days: Tuple[int, ...]
    open: time
    close: time
    hotline: str = DEFAULT_HOTLINE

    def is_open(self, now: Optional[datetime] = None) -> bool:
        local = (now or datetime.now(timezone.utc)).astimezone(self.offset)
        return local.weekday() in self.days and self.open <= local.time() < self.close

    def words(self) -> Dict[str, str]:
        """The hours as the customer reads them, for responses: {service_days}{open}-{close}
        -> 「每天09:00-22:00」, 「周一至周五09:00-18:00」; and the phone line, {hotline}."""
        days = sorted(self.days)
        if len(days) == 7:
            service_days = "每天"
        elif len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
            service_days = f"{WEEKDAY_WORDS[days[0]]}至{WEEKDAY_WORDS[days[-1]]}"
        else:
            service_days = "、".join(WEEKDAY_WORDS[day] for day in days)
        return {"service_days": service_days, "open": self.open.strftime("%H:%M"),
                "close": self.close.strftime("%H:%M"), "hotline": self.hotline}

    def next_opening(self, now: Optional[datetime] = None) -> datetime:
        local = (now or datetime.now(timezone.utc)).astimezone(self.offset)
        for days_ahead in range(8):
            day = local.date() + timedelta(days=days_ahead)
            opening = datetime.combine(day, self.open, tzinfo=self.offset)
            if day.weekday() in self.days and opening > local:
                return opening
        raise AssertionError("no opening day")  # prevented by validation


@dataclass(frozen=True)
class EscalationRules:
    rules: Tuple[Rule, ...]
    office_hours: OfficeHours

    def evaluate(self, turns: Sequence[Turn], failed_attempts: int = 0, in_form: bool = False
                 ) -> Tuple[Optional[Rule], Optional[str], Optional[Dict[str, Any]]]:
        """(the rule that fires, why, the turning point if the latest message is one)."""
        turned = turning_point(history_of(turns))
        fired = [(rule, why) for rule in self.rules
                 if (why := rule.matches(turns, failed_attempts, turned, in_form))]
        if not fired:
            return None, None, turned
        rule, why = min(fired, key=lambda pair: pair[0].priority)  # stable: first listed
        return rule, why, turned

    def task_first(self, turns: Sequence[Turn]) -> Optional[str]:
        """The task the bot acts on first for the latest message (Rule.task_first)."""
        return next(filter(None, (rule.task_first(turns) for rule in self.rules)), None)

    def rule(self, rule_id: str) -> Optional[Rule]:
        return next((rule for rule in self.rules if rule.id == rule_id), None)


def known_queues(path: Path = QUEUES_FILE) -> Optional[set]:
    if not path.is_file():
        return None
    content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    queues = content.get("queues", content)
    return set(queues) if isinstance(queues, dict) else None


def rules_path(configured: Union[str, Path, None] = None) -> Path:
    """The rules file of this installation: ESCALATION_RULES, else the configured file, else
    escalation/rules.yml. The policy (Rasa server) and the handoff actions (action server)
    both read it when they start, so they follow the same file."""
    return Path(env_str("ESCALATION_RULES") or configured or DEFAULT_RULES)


def read_rules(path: Union[str, Path, None] = None) -> Tuple[EscalationRules, str]:
    """(the rules, the file's text) of `path` or of the installation's file."""
    path = path or rules_path()
    data, text = read_yaml(path)
    return parse_rules(data, str(path), text), text


def load_rules(path: Union[str, Path, None] = None) -> EscalationRules:
    return read_rules(path)[0]


def parse_rules(content: Any, source: str = "rules", text: Optional[str] = None
                ) -> EscalationRules:
    spec = parse(content, RulesFile, source, text)
    rules = tuple(Rule(rule.id, rule.queue, rule.priority, rule.when, rule.say,
                       re.compile("|".join(map(re.escape, rule.when.keywords)), re.IGNORECASE)
                       if rule.when.keywords else None) for rule in spec.rules)
    # Without office hours a human is always there.
    hours = spec.office_hours or OfficeHoursSpec(open=time(0), close=time(23, 59))
    return EscalationRules(rules, OfficeHours(
        timezone(timedelta(hours=hours.timezone_offset_hours)),
        tuple(DAYS.index(day) for day in hours.days), hours.open, hours.close, hours.hotline))
