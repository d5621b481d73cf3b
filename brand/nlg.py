"""Rasa NLG that sends domain responses (utter_*) in the brand tone and through the
advertising-law guard.

Every text the bot sends is a domain response rendered here (actions send
`utter_message(response=...)` too), so this is the one place texts are toned and guarded.
endpoints.yml names this class:

    nlg:
      type: brand.nlg.BrandNLG

Rasa imports it in-process (no HTTP) and calls it for every templated bot message, also
for `dispatcher.utter_message(response="utter_x", **variables)` from an action.

An action's own buttons (order picks, intents to choose from) reach the NLG as the
`buttons` variable, and Rasa appends that same list to the rendered response afterwards
(rasa.core.actions.action.RemoteAction._utter_responses), so their titles are toned and
guarded here, in that list. A title may be a part too ({"response": "utter_button_x"}).
The same goes for the cards an action sends (`json_message={"cards": [...]}`, drawn by the
web chat instead of the buttons): their title, subtitle and action label.

A variable may itself be a part of the text: another response with its own variables,
`{"response": "utter_y", ...}` (actions.common.part). Parts are filled first and the
whole text is toned and guarded once, so an action composes its answer from domain
responses ("{head}已发货。{tracking}") without writing text itself. A variable that is a
list (a variable number of lines or items) is its parts filled and put one after the
other; separators are parts too (actions.common.joined), so every character is the YAML's.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Text, Tuple

from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import EndpointConfig

from brand.tone import Tone, get_tone
from compliance import ComplianceChecker, get_checker
from escalation import history
from escalation.rules import load_rules

REPEATED = "这个问题刚才已经回复过了哦。如果还没解决,回复「转人工」,我请人工客服来帮您。"


def sent_twice_in_a_row(tracker: Any, text: Optional[Text]) -> bool:
    """Whether `text` was among the bot's replies to each of the customer's last two
    messages since the session started or an agent handed the conversation back (never
    the same text three turns in a row: issue 16)."""
    return tracker is not None and history.said_in_last_turns(history.stretch(tracker.events),
                                                             text)


# The texts of a card (channels.webchat draws them).
CARD_LABELS = ("title", "subtitle", "action")
# What rasa_sdk's utter_message puts in a message besides the response's variables.
MESSAGE_FIELDS = {"text", "buttons", "elements", "custom", "template", "response", "image",
                  "attachment"}


def _is_part(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("response"), str)


class BrandNLG(TemplatedNaturalLanguageGenerator):
    """Domain responses, filled with slots, then toned, then guarded (text and buttons)."""

    def __init__(
        self,
        endpoint_config: Optional[EndpointConfig] = None,
        domain: Optional[Domain] = None,
        tone: Optional[Tone] = None,
        checker: Optional[ComplianceChecker] = None,
    ) -> None:
        # Rasa builds the NLG before the model is loaded (domain None) and then assigns
        # `responses` from the model's domain (Agent.load_model does that for any
        # TemplatedNaturalLanguageGenerator).
        super().__init__(domain.responses if domain is not None else {})
        # Loaded now, so a broken tone or rules file stops the server at start.
        self.tone = tone if tone is not None else get_tone()
        self.checker = checker if checker is not None else get_checker()
        # Shop facts any response may name ({open}-{close}: the FAQ on service hours says
        # what the handoff rules apply); an action's own values win.
        self.shop_facts = load_rules().office_hours.words()

    async def generate(
        self,
        utter_action: Text,
        tracker: Any,
        output_channel: Text,
        **kwargs: Any,
    ) -> Optional[Dict[Text, Any]]:
        response = await super().generate(utter_action, tracker, output_channel, **kwargs)
        if response and sent_twice_in_a_row(tracker, response.get("text")):
            # The same answer a third time in a row is a loop: say so and offer a human.
            response = {"text": self.checker.guard(self.tone.apply(REPEATED))}
        return response

    def generate_from_slots(
        self,
        utter_action: Text,
        filled_slots: Dict[Text, Any],
        output_channel: Text,
        **kwargs: Any,
    ) -> Optional[Dict[Text, Any]]:
        # `generate` goes through here too; the parent returns a deep copy, safe to edit.
        action_buttons = kwargs.get("buttons")
        action_custom = kwargs.get("custom")
        kwargs = {**self.shop_facts,
                  **{name: value if name in MESSAGE_FIELDS
                     else self._part(value, filled_slots, output_channel)
                     for name, value in kwargs.items()}}
        response = super().generate_from_slots(utter_action, filled_slots, output_channel,
                                               **kwargs)
        if response is None:
            return None
        if isinstance(action_buttons, list):
            # Rasa appends this very list to the response once we return: polish it in place.
            action_buttons[:] = [self._labelled(button, ("title",), filled_slots, output_channel)
                                 for button in action_buttons]
        cards = (action_custom or {}).get("cards") if isinstance(action_custom, dict) else None
        if isinstance(cards, list):
            # The same for the cards (Rasa adds the action's `custom` to the response).
            cards[:] = [self._labelled(card, CARD_LABELS, filled_slots, output_channel)
                        for card in cards]
        return self.polish(response)

    def _labelled(self, item: Any, fields: Tuple[str, ...], filled_slots: Dict[Text, Any],
                  output_channel: Text) -> Any:
        """A button or card of an action with its label fields filled (a part's text) and
        toned and guarded as titles."""
        if not isinstance(item, dict):
            return item
        item = dict(item)
        for field in fields:
            value = self._part(item.get(field), filled_slots, output_channel)
            if isinstance(value, str) and value:
                item[field] = self.checker.guard(self.tone.apply(value, title=True))
        return item

    def _part(self, value: Any, filled_slots: Dict[Text, Any], output_channel: Text) -> Any:
        """A variable that is a response (or a list of them) as its filled text, untoned."""
        if isinstance(value, list):
            return "".join(str(self._part(item, filled_slots, output_channel)) for item in value)
        if not _is_part(value):
            return value
        values = {name: self._part(item, filled_slots, output_channel)
                  for name, item in value.items() if name != "response"}
        filled = TemplatedNaturalLanguageGenerator.generate_from_slots(
            self, value["response"], filled_slots, output_channel, **values)
        return (filled or {}).get("text") or ""

    def polish(self, response: Dict[Text, Any]) -> Dict[Text, Any]:
        """Tone, then guard, the text and the button titles: the guard checks what is sent."""
        text = response.get("text")
        if isinstance(text, str) and text:
            toned = self.tone.apply(text)
            response["text"] = self.checker.guard(toned)
            # Bot-event metadata: analytics' compliance rate (texts passing unchanged).
            response["compliance"] = "pass" if response["text"] == toned else "changed"
        buttons = response.get("buttons")
        if buttons:
            response["buttons"] = [self._button(button) for button in buttons]
        return response

    def _button(self, button: Any) -> Any:
        if not isinstance(button, dict) or not isinstance(button.get("title"), str):
            return button
        title = self.checker.guard(self.tone.apply(button["title"], title=True))
        return {**button, "title": title}
