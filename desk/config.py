"""Queue configuration (desk/queues.yml): names, labels and average handling minutes."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import yaml

DEFAULT_QUEUES_PATH = Path(__file__).with_name("queues.yml")
QUEUE_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class QueueConfigError(Exception):
    """The queue file is missing or invalid; the service refuses to start."""


@dataclass(frozen=True)
class Queue:
    name: str
    label: str
    avg_handling_minutes: float


def load_queues(path: Union[str, Path] = DEFAULT_QUEUES_PATH) -> dict[str, Queue]:
    """Parse and validate the queue file; every problem names the file and the entry."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise QueueConfigError(f"{path}: cannot read queue file ({error.strerror})") from None
    try:
        content = yaml.safe_load(text)
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise QueueConfigError(f"{path}: invalid YAML{line}: {error}") from None
    if not isinstance(content, dict) or not isinstance(content.get("queues"), dict):
        raise QueueConfigError(
            f"{path}: expected a mapping 'queues:' of queue name -> "
            "{label, avg_handling_minutes}"
        )
    entries: dict[Any, Any] = content["queues"]
    if not entries:
        raise QueueConfigError(f"{path}: 'queues' is empty; define at least one queue")
    queues: dict[str, Queue] = {}
    for name, entry in entries.items():
        if not isinstance(name, str) or not QUEUE_NAME_RE.match(name):
            raise QueueConfigError(
                f"{path}: queue name {name!r} must be lower-case letters, digits and '_' "
                "(starting with a letter, at most 32 characters)"
            )
        if not isinstance(entry, dict):
            raise QueueConfigError(f"{path}: queue '{name}' must be a mapping")
        minutes = entry.get("avg_handling_minutes")
        # bool is an int subclass in Python, but `true` is no duration.
        if (
            isinstance(minutes, bool)
            or not isinstance(minutes, int | float)
            or not math.isfinite(minutes)
            or minutes <= 0
        ):
            raise QueueConfigError(
                f"{path}: queue '{name}' needs avg_handling_minutes as a positive number, "
                f"got {minutes!r}"
            )
        label = entry.get("label", name)
        if not isinstance(label, str) or not label.strip():
            raise QueueConfigError(f"{path}: queue '{name}' label must be a non-empty string")
        unknown = set(entry) - {"label", "avg_handling_minutes"}
        if unknown:
            raise QueueConfigError(
                f"{path}: queue '{name}' has unknown key(s) {', '.join(sorted(map(str, unknown)))}"
            )
        queues[name] = Queue(name=name, label=label.strip(), avg_handling_minutes=float(minutes))
    return queues
