"""Fixes to Rasa 3.6 itself, applied when `components` is imported (i.e. with our model).

1. Speed. Every custom action call ends in `RemoteAction._validate_action_result`, which calls
`jsonschema.validate(result, spec)`. With jsonschema 4.17 that re-checks the *schema*
against the draft 2020-12 meta-schema on every call: about 32 ms of CPU per action call,
two thirds of the Rasa server's CPU under load (py-spy). Validating with a validator
built once from the same schema gives the same verdicts and errors in under 1 ms.

2. Faithful test stories. `rasa test` rebuilds each test story's user turns keeping only
the intent, entities and response selection of the parsed message, so policies never see
the emotion radar's `emotion` there, unlike in a live conversation. Keeping it lets the
test stories check the emotion-driven escalation rules.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, Text

import rasa.core.test as rasa_test
from jsonschema import validators
from jsonschema.exceptions import best_match
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


@lru_cache(maxsize=1)
def _action_result_validator() -> Any:
    spec = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(spec)
    cls.check_schema(spec)  # once, instead of once per action call
    return cls(spec)


def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    error = best_match(_action_result_validator().iter_errors(result))
    if error is not None:
        # Same message as Rasa's own implementation.
        error.message += (
            ". Failed to validate Action server response from API, make sure your "
            "response from the Action endpoint is valid. For more information about "
            f"the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


_collect_user_uttered_predictions = rasa_test._collect_user_uttered_predictions


def _collect_keeping_emotion(event: Any, predicted: Dict[Text, Any], partial_tracker: Any,
                             fail_on_prediction_errors: bool) -> Any:
    store = _collect_user_uttered_predictions(event, predicted, partial_tracker,
                                              fail_on_prediction_errors)
    latest = partial_tracker.latest_message
    if predicted.get("emotion") and latest is not None and latest.text == event.text:
        latest.parse_data["emotion"] = predicted["emotion"]
    return store


def apply() -> None:
    RemoteAction._validate_action_result = _validate_action_result
    rasa_test._collect_user_uttered_predictions = _collect_keeping_emotion

