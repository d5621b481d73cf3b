"""The analytics configuration files: topics.yml (lexicon, intent groups, cluster names)
and targets.yml (metric targets, alert thresholds, detector settings, promotion calendar)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Literal, Optional

from pydantic import conint, conlist, validator

from service_common.config import Count, Model, Text, load_yaml, number
from service_common.settings import env_float, env_str

HERE = Path(__file__).resolve().parent
TOPICS_FILE = HERE / "topics.yml"
TARGETS_FILE = HERE / "targets.yml"


class TopicsFile(Model):
    """analytics/topics.yml"""

    topics: Dict[Text, conlist(Text, min_items=1)]  # type: ignore[valid-type]
    intent_groups: Dict[Text, List[Text]]
    cluster_names: Dict[Text, Text] = {}  # generated name -> name to show
    stopwords: List[Text] = []


class MetricSpec(Model):
    label: Text
    unit: str = ""
    direction: Literal["higher", "lower"]
    target: Optional[number()] = None  # type: ignore[valid-type]
    alert: Optional[number()] = None  # type: ignore[valid-type]


class DetectorSpec(Model):
    window_days: Count = 3
    baseline_days: Count = 28
    fdr: number(gt=0, le=1) = 0.002  # type: ignore[valid-type]
    min_count: Count = 8
    min_ratio: number(gt=0) = 2.0  # type: ignore[valid-type]
    examples: conint(strict=True, ge=0) = 3  # type: ignore[valid-type]
    promotion_terms: List[Text] = []
    promotion_factor: number(gt=0) = 3.0  # type: ignore[valid-type]


class Promotion(Model):
    name: Text = "大促"
    start: date
    end: Optional[date] = None  # default: the start day

    @validator("end")
    def _not_before_start(cls, end: Optional[date], values: Dict[str, object]
                          ) -> Optional[date]:
        start = values.get("start")
        if end is not None and isinstance(start, date) and end < start:
            raise ValueError(f"must not be before start ({start})")
        return end

    def days(self) -> List[date]:
        last = self.end or self.start
        return [self.start + timedelta(days=n) for n in range((last - self.start).days + 1)]


class Calendar(Model):
    promotions: List[Promotion] = []


class TargetsFile(Model):
    """analytics/targets.yml"""

    recontact_hours: number(gt=0) = 48  # type: ignore[valid-type]
    conversion_hours: number(gt=0) = 24  # type: ignore[valid-type]
    negative_rating_max: number() = 2  # type: ignore[valid-type]
    alert_min_sessions: conint(strict=True, ge=0) = 20  # type: ignore[valid-type]
    metrics: Dict[Text, MetricSpec]
    detector: DetectorSpec = DetectorSpec()
    calendar: Calendar = Calendar()


@lru_cache(maxsize=4)
def topics_config(path: Optional[str] = None) -> TopicsFile:
    return load_yaml(path or env_str("ANALYTICS_TOPICS_FILE") or TOPICS_FILE, TopicsFile)


@lru_cache(maxsize=4)
def targets_config(path: Optional[str] = None) -> TargetsFile:
    return load_yaml(path or env_str("ANALYTICS_TARGETS_FILE") or TARGETS_FILE, TargetsFile)


def intent_group(intent: Optional[str]) -> Optional[str]:
    if not intent:
        return None
    base = intent.split("/")[0]
    for group, intents in topics_config().intent_groups.items():
        if base in intents:
            return group
    return "other"


def tz() -> timezone:
    """Shop-local time for hour/day buckets (China: UTC+8, no daylight saving)."""
    return timezone(timedelta(hours=env_float("ANALYTICS_TZ_OFFSET_HOURS")))


def local(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz())


def promotion_days() -> List[date]:
    return [day for entry in targets_config().calendar.promotions for day in entry.days()]


def promotions_between(first: date, last: date) -> List[Dict[str, str]]:
    """The calendar's promotions overlapping [first, last] (days inclusive), clipped to it:
    {name, start, end} with ISO dates, for the charts' marked areas."""
    found = []
    for entry in targets_config().calendar.promotions:
        start, end = entry.start, entry.end or entry.start
        if start <= last and end >= first:
            found.append({"name": entry.name, "start": max(start, first).isoformat(),
                          "end": min(end, last).isoformat()})
    return found


def recontact_hours() -> float:
    return env_float("ANALYTICS_RECONTACT_HOURS", float(targets_config().recontact_hours))
