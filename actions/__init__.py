"""Custom actions of the shop assistant (rasa-sdk action server).

Actions send domain responses, `utter_message(response="utter_x", **variables)`: Rasa
renders them with brand.nlg.BrandNLG, which puts them in the brand tone (brand/tone.yml)
and then through the advertising-law guard (compliance/rules.yml).

Until the last texts move to domain.yml (the invoice request's answer, the welcome back
with its follow-ups, the promotions list), a `text=` an action still sends, and the title
of every button an action adds itself, are toned and guarded here: the SDK creates its
dispatcher itself, so `utter_message` is wrapped once where the action server imports
this package. A response's text is never touched here (nothing is done twice).
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
