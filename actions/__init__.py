"""Custom actions of the shop assistant (rasa-sdk action server).

Every text an action sends (and every button title) passes the advertising-law guard
(compliance/rules.yml): rewritten or replaced per rule, with a logged compliance event.
The SDK creates its dispatcher itself, so the guard wraps `utter_message` once here, where
the action server imports this package.
"""

from typing import Any, Optional

from rasa_sdk.executor import CollectingDispatcher

from compliance import get_checker

_utter_message = CollectingDispatcher.utter_message


def _guarded_utter_message(self: CollectingDispatcher, text: Optional[str] = None,
                           *args: Any, **kwargs: Any) -> None:
    checker = get_checker()
    if text:
        text = checker.guard(text)
    if kwargs.get("buttons"):
        kwargs["buttons"] = [{**button, "title": checker.guard(str(button.get("title", "")))}
                             for button in kwargs["buttons"]]
    _utter_message(self, text, *args, **kwargs)


CollectingDispatcher.utter_message = _guarded_utter_message  # type: ignore[method-assign]
