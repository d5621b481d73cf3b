"""Reading Rasa's action calls without parsing the same domain again on every call.

Rasa sends the whole domain (about 60 KB of JSON, most of it the responses) with every call
of an action marked `send_domain` in domain.yml: the form validations, called on most of the
customer's messages. It is the same text on every call of one model, and the call's last
member (Rasa writes `{"next_action": ..., "sender_id": ..., "tracker": ..., "version": ...,
"domain": ...}`). Parsing it was half of the action server's JSON work, which was a quarter of
its CPU.

`ActionCalls.read` parses a call's body as Sanic would (the same JSON parser); a body that
ends with the domain text of an earlier call is parsed without it, and gets that call's parsed
domain. That is the same result as a full parse: the rest of the body, closed with "}", must
parse to an object with at least one member, and the domain text was checked, when it was
first seen, to be exactly the domain member's value. The parsed domain is shared by the calls:
rasa_sdk and the actions only read it (tests/actions/test_action_calls.py runs the form
validations on it and compares it afterwards).
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from sanic.request import json_loads  # ujson when installed, as Sanic reads request bodies

DOMAIN_MEMBER = b', "domain": '


class ActionCalls:
    """One per action server process (the remembered domain is the latest one seen)."""

    def __init__(self) -> None:
        self._domain_text: Optional[bytes] = None  # the domain's JSON text and the final "}"
        self._domain: Optional[Dict[str, Any]] = None

    def read(self, body: bytes) -> Any:
        """The call (any JSON value, as sent); raises what Sanic's parser raises for a
        body that is no JSON."""
        known = self._domain_text
        if known is not None and body.endswith(known):
            head = body[:-len(known)]
            if head.endswith(DOMAIN_MEMBER):
                try:
                    call = json_loads(head[:-len(DOMAIN_MEMBER)] + b"}")
                except Exception:  # noqa: BLE001 - the full parse below decides
                    call = None
                if isinstance(call, dict) and call:
                    call["domain"] = self._domain
                    return call
        call = json_loads(body)
        if isinstance(call, dict) and isinstance(call.get("domain"), dict):
            self._remember_domain(body, call)
        return call

    def _remember_domain(self, body: bytes, call: Dict[str, Any]) -> None:
        """Keeps the domain's text if the body is laid out as Rasa writes it: the domain
        the last member, and the text before it a complete call without it."""
        start = body.rfind(DOMAIN_MEMBER)
        if start <= 0 or not body.endswith(b"}"):
            return
        text = body[start + len(DOMAIN_MEMBER):]
        try:
            domain = json_loads(text[:-1])
            rest = json_loads(body[:start] + b"}")
        except Exception:  # noqa: BLE001 - not laid out as expected: nothing to keep
            return
        if domain == call["domain"] and isinstance(rest, dict) and rest and \
                {**rest, "domain": domain} == call:
            self._domain_text, self._domain = text, call["domain"]
