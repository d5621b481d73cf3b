"""Custom actions of the shop assistant (rasa-sdk action server).

Every text an action sends (and every button title) is put in the brand tone
(brand/tone.yml) and then passes the advertising-law guard (compliance/rules.yml):
rewritten or replaced per rule, with a logged compliance event. The guard runs last, so
it checks exactly what is sent. The SDK creates its dispatcher itself, so both wrap
`utter_message` once here, where the action server imports this package.

`utter_message(response="utter_x")` sends only the response name; Rasa renders it with
brand.nlg.BrandNLG, which tones and guards it there (so nothing is done twice).
"""

from typing import Any, Dict, Optional

from rasa_sdk.executor import CollectingDispatcher

from brand.tone import get_tone
from compliance import get_checker

_utter_message = CollectingDispatcher.utter_message
# Loaded now, so a broken tone file or setting stops the action server at start.
get_tone()


def _polish(text: str, title: bool = False) -> str:
    return get_checker().guard(get_tone().apply(text, title=title))


def _polish_button(button: Dict[str, Any]) -> Dict[str, Any]:
    return {**button, "title": _polish(str(button.get("title", "")), title=True)}


def _guarded_utter_message(self: CollectingDispatcher, text: Optional[str] = None,
                           *args: Any, **kwargs: Any) -> None:
    if text:
        toned = get_tone().apply(text)
        text = get_checker().guard(toned)
        # Bot-event metadata: analytics' compliance rate (texts passing unchanged).
        kwargs.setdefault("compliance", "pass" if text == toned else "changed")
    if kwargs.get("buttons"):
        kwargs["buttons"] = [_polish_button(button) for button in kwargs["buttons"]]
    _utter_message(self, text, *args, **kwargs)


CollectingDispatcher.utter_message = _guarded_utter_message
