"""Queue configuration (desk/queues.yml): names, labels and average handling minutes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Union

from pydantic import constr, validator

from service_common.config import Model, Text, load_yaml, number

DEFAULT_QUEUES_PATH = Path(__file__).with_name("queues.yml")


@dataclass(frozen=True)
class Queue:
    name: str
    label: str
    avg_handling_minutes: float


class QueueSpec(Model):
    label: Optional[Text] = None  # default: the queue's name
    avg_handling_minutes: number(gt=0)  # type: ignore[valid-type]


class QueuesFile(Model):
    """desk/queues.yml"""

    queues: Dict[constr(strict=True, regex=r"^[a-z][a-z0-9_]{0,31}$"),  # type: ignore[valid-type]
                 QueueSpec]

    @validator("queues")
    def _some(cls, queues: Dict[str, QueueSpec]) -> Dict[str, QueueSpec]:
        if not queues:
            raise ValueError("define at least one queue")
        return queues


def load_queues(path: Union[str, Path] = DEFAULT_QUEUES_PATH) -> dict[str, Queue]:
    """Parse and validate the queue file; a mistake raises ConfigError (file, line, path)."""
    queues = load_yaml(path, QueuesFile).queues
    return {name: Queue(name, (spec.label or name).strip(), float(spec.avg_handling_minutes))
            for name, spec in queues.items()}
