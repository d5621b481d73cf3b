"""One joblib file per trained component, kept in Rasa's model storage."""

from __future__ import annotations

from typing import Any, Optional, Text

from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage


def save(model_storage: ModelStorage, resource: Resource, filename: Text, model: Any) -> None:
    import joblib

    with model_storage.write_to(resource) as directory:
        joblib.dump(model, directory / filename)


def load(model_storage: ModelStorage, resource: Resource, filename: Text) -> Optional[Any]:
    """The saved model, or None when the resource holds none (an untrained component)."""
    import joblib

    try:
        with model_storage.read_from(resource) as directory:
            return joblib.load(directory / filename)
    except (ValueError, FileNotFoundError):
        return None
