"""The ownership proof the shop issued, as the actions keep it.

The `verified_order_id` slot holds the shop's proof (``op1.<order id>.<expiry>.<mac>``), not
a bare order id: the actions read which order it names (to decide whether to ask for the
phone tail) and send it with every order call, and the shop checks it each time. A slot value
written by anyone else (a crafted tracker, an injected event) names no order here, or is
refused by the shop (docs/security-shop.md).
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from rasa_sdk import Tracker

PROOF_SLOT = "verified_order_id"
PROOF_PREFIX = "op1."


def proof(tracker: Tracker) -> Optional[str]:
    """The stored proof, or None when the slot holds anything else."""
    value = tracker.get_slot(PROOF_SLOT)
    return value if isinstance(value, str) and value.startswith(PROOF_PREFIX) else None


def proven_order_id(tracker: Tracker) -> Optional[str]:
    """The order the stored proof is for (not checked here: the shop checks it)."""
    stored = proof(tracker)
    parts = stored.split(".") if stored else []
    return parts[1] if len(parts) == 4 else None


def is_proven(tracker: Tracker, order_id: Optional[str]) -> bool:
    return bool(order_id) and proven_order_id(tracker) == order_id


def identity_token(tracker: Tracker) -> Optional[str]:
    """The signed customer identity the channel verified (channels/identity.py), from the
    newest message that carries one: ``metadata["identity"]["token"]`` (or
    ``metadata["identity_token"]``). The shop checks the signature again before it issues a
    proof for the linked customer."""
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        token = _token_in(event.get("metadata") or {})
        if token:
            return token
    return _token_in(tracker.get_slot("session_started_metadata") or {})


def _token_in(metadata: Dict[str, Any]) -> Optional[str]:
    if not isinstance(metadata, dict):
        return None
    identity = metadata.get("identity")
    token = identity.get("token") if isinstance(identity, dict) else None
    token = token or metadata.get("identity_token")
    return token if isinstance(token, str) and token else None
