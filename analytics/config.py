"""The analytics configuration files: topics.yml (lexicon, intent groups, cluster names)
and targets.yml (metric targets, alert thresholds, detector settings, promotion calendar)."""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

HERE = Path(__file__).resolve().parent
TOPICS_FILE = HERE / "topics.yml"
TARGETS_FILE = HERE / "targets.yml"


class ConfigError(ValueError):
    pass


def _load(path: Path) -> Dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: {error}") from error
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


@lru_cache(maxsize=4)
def topics_config(path: Optional[str] = None) -> Dict[str, Any]:
    data = _load(Path(path or os.environ.get("ANALYTICS_TOPICS_FILE") or TOPICS_FILE))
    for name in ("topics", "intent_groups"):
        if not isinstance(data.get(name), dict):
            raise ConfigError(f"topics.yml: `{name}` must be a mapping")
    for topic, words in data["topics"].items():
        if not isinstance(words, list) or not all(isinstance(w, str) and w for w in words):
            raise ConfigError(f"topics.yml: topic {topic!r} needs a list of keywords")
    data.setdefault("cluster_names", {})
    data["cluster_names"] = data["cluster_names"] or {}
    data.setdefault("stopwords", [])
    return data


@lru_cache(maxsize=4)
def targets_config(path: Optional[str] = None) -> Dict[str, Any]:
    data = _load(Path(path or os.environ.get("ANALYTICS_TARGETS_FILE") or TARGETS_FILE))
    if not isinstance(data.get("metrics"), dict):
        raise ConfigError("targets.yml: `metrics` must be a mapping")
    for name, spec in data["metrics"].items():
        if spec.get("direction") not in ("higher", "lower"):
            raise ConfigError(f"targets.yml: metric {name!r} needs direction higher|lower")
    return data


def load_defaults_env(path: Path = HERE.parent / "defaults.env") -> None:
    """The project's embedded defaults for variables not set (as scripts/stack.py does), so
    `python -m analytics ...` works beside `make run` without exporting anything."""
    if not path.is_file():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            os.environ.setdefault(key.strip(), value.strip())


def intent_group(intent: Optional[str]) -> Optional[str]:
    if not intent:
        return None
    base = intent.split("/")[0]
    for group, intents in topics_config()["intent_groups"].items():
        if base in intents:
            return group
    return "other"


def tz() -> timezone:
    """Shop-local time for hour/day buckets (China: UTC+8, no daylight saving)."""
    hours = float(os.environ.get("ANALYTICS_TZ_OFFSET_HOURS", "8"))
    return timezone(timedelta(hours=hours))


def local(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz())


def promotion_days() -> List[date]:
    days: List[date] = []
    for entry in targets_config().get("calendar", {}).get("promotions", []) or []:
        start = date.fromisoformat(str(entry["start"]))
        end = date.fromisoformat(str(entry.get("end", entry["start"])))
        while start <= end:
            days.append(start)
            start += timedelta(days=1)
    return days


def promotions_between(first: date, last: date) -> List[Dict[str, str]]:
    """The calendar's promotions overlapping [first, last] (days inclusive), clipped to it:
    {name, start, end} with ISO dates, for the charts' marked areas."""
    found = []
    for entry in targets_config().get("calendar", {}).get("promotions", []) or []:
        start = date.fromisoformat(str(entry["start"]))
        end = date.fromisoformat(str(entry.get("end", entry["start"])))
        if start <= last and end >= first:
            found.append({"name": str(entry.get("name") or "大促"),
                          "start": max(start, first).isoformat(),
                          "end": min(end, last).isoformat()})
    return found


def recontact_hours() -> float:
    return float(os.environ.get("ANALYTICS_RECONTACT_HOURS")
                 or targets_config().get("recontact_hours", 48))
