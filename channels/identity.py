"""Signed customer identity: the shop's site vouches for its logged-in customer.

A channel never trusts a customer id the client sends. The shop's site (or the demo page)
signs ``{"customer_id": ..., "product_id": ..., "exp": ...}`` with the secret it shares
with the assistant (``CHANNEL_IDENTITY_SECRET``); the channel verifies the token and only
then puts ``metadata["identity"] = {"customer_id": ..., "verified": True}`` on the message.
Format: ``base64url(json payload) + "." + base64url(HMAC-SHA256(secret, first part))``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any, Dict, Optional

MAX_TTL_SECONDS = 7 * 24 * 3600


class IdentityError(ValueError):
    """The token is malformed, forged or expired (the reason is safe to log, not to show)."""


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_identity(payload: Dict[str, Any], secret: str, ttl_seconds: int = 3600,
                  now: Optional[float] = None) -> str:
    """A token for `payload` (must hold ``customer_id``), valid for `ttl_seconds`."""
    if not secret:
        raise IdentityError("no signing secret configured")
    if not payload.get("customer_id"):
        raise IdentityError("payload needs a customer_id")
    body = dict(payload)
    body["exp"] = int((now if now is not None else time.time()) + ttl_seconds)
    head = _b64encode(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())
    mac = hmac.new(secret.encode(), head.encode(), hashlib.sha256).digest()
    return f"{head}.{_b64encode(mac)}"


def verify_identity(token: Any, secret: str, now: Optional[float] = None) -> Dict[str, Any]:
    """The verified payload of `token`; raises IdentityError otherwise."""
    if not secret:
        raise IdentityError("no signing secret configured")
    if not isinstance(token, str) or token.count(".") != 1 or len(token) > 4096:
        raise IdentityError("malformed token")
    head, mac = token.split(".")
    try:
        given = _b64decode(mac)
        payload = json.loads(_b64decode(head))
    except (ValueError, UnicodeDecodeError) as error:
        raise IdentityError("malformed token") from error
    expected = hmac.new(secret.encode(), head.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(given, expected):
        raise IdentityError("bad signature")
    if not isinstance(payload, dict) or not isinstance(payload.get("customer_id"), str):
        raise IdentityError("malformed payload")
    exp = payload.get("exp")
    current = now if now is not None else time.time()
    if not isinstance(exp, int) or exp < current or exp > current + MAX_TTL_SECONDS:
        raise IdentityError("expired token")
    return payload
