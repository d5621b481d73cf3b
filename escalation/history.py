"""A conversation's history in stretches: the tracker events everyone who walks them sees.

- the **session**: since the last session start or restart;
- the **stretch**: the session since a human agent last handed the conversation back
  (Rasa's `resume` event, sent by the desk and the WeCom channel). What the customer felt
  and asked before an agent took over is settled by the agent, so the bot's judgements
  (moods for the playbook and the empathic lines, the no-selling rule, loops, escalation)
  start afresh there.

Works on the action server's event dicts (rasa_sdk) and on Rasa's Event objects alike.
"""

from __future__ import annotations

from typing import Any, Iterable, List, Optional, Set, TypeVar

E = TypeVar("E")
SESSION_STARTS = frozenset({"session_started", "restart"})
HANDBACK = "resume"


def kind(event: Any) -> Optional[str]:
    """"user", "bot", "action", "slot", "session_started", "resume" ..."""
    if isinstance(event, dict):
        return event.get("event")
    return getattr(event, "type_name", None)


def text_of(event: Any) -> Optional[str]:
    return event.get("text") if isinstance(event, dict) else getattr(event, "text", None)


def metadata_of(event: Any) -> dict:
    metadata = event.get("metadata") if isinstance(event, dict) else \
        getattr(event, "metadata", None)
    return metadata if isinstance(metadata, dict) else {}


def responses_in(event: Any) -> Set[str]:
    """The domain responses a bot message was rendered from: Rasa records the response's
    name (`utter_action`) and its variables in the message's metadata; a variable may be
    a response itself (brand.nlg)."""
    metadata = metadata_of(event)
    found = {metadata["utter_action"]} if isinstance(metadata.get("utter_action"), str) else set()
    for value in metadata.values():
        if isinstance(value, dict) and isinstance(value.get("response"), str):
            found.add(value["response"])
    return found


def _since(events: Iterable[E], starts: Set[str] | frozenset) -> List[E]:
    found = list(events)
    for index in range(len(found) - 1, -1, -1):
        if kind(found[index]) in starts:
            return found[index + 1:]
    return found


def session(events: Iterable[E]) -> List[E]:
    """The events since the last session start or restart, oldest first."""
    return _since(events, SESSION_STARTS)


def stretch(events: Iterable[E]) -> List[E]:
    """The events since the last session start, restart or handback, oldest first."""
    return _since(events, SESSION_STARTS | {HANDBACK})


def user_messages(events: Iterable[E]) -> List[E]:
    """The customer's messages among `events`, newest first."""
    return [event for event in reversed(list(events)) if kind(event) == "user"]


def previous_turn(events: Iterable[E]) -> List[E]:
    """What answered the customer's message before the latest one: the events between the
    two (before the first message, everything), newest first."""
    turn: List[E] = []
    seen_user = False
    for event in reversed(list(events)):
        if kind(event) == "user":
            if seen_user:
                break
            seen_user = True
        elif seen_user:
            turn.append(event)
    return turn


def last_replies(events: Iterable[Any]) -> List[str]:
    """The texts of the bot's replies to the customer's message before the latest one."""
    return [text_of(event) or "" for event in previous_turn(events) if kind(event) == "bot"]


def said_in_last_turns(events: Iterable[Any], text: Optional[str], turns: int = 2) -> bool:
    """Whether the bot's replies in each of the last `turns` turns before the customer's
    latest message contained `text`, or the response of that name (a loop, if it were
    said once more)."""
    if not text:
        return False
    replies: List[Set[Optional[str]]] = []  # the bot's texts per turn, newest first
    for event in reversed(list(events)):
        if kind(event) == "user":
            replies.append(set())
            if len(replies) > turns:
                break
        elif kind(event) == "bot" and replies:
            replies[-1] |= {text_of(event), *responses_in(event)}
    return len(replies) >= turns and all(text in sent for sent in replies[:turns])
