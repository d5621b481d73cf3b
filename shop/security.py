"""Who may call the shop, and what proves that a caller may see one order.

* API keys: ``SHOP_API_KEY`` (the assistant: every ``/api`` call) and ``SHOP_ADMIN_KEY``
  (back office and the privacy command: ``/api/admin`` and orders without a proof). The shop
  refuses to start without ``SHOP_API_KEY`` unless ``DEMO_MODE=1`` (laptop demo).
* Ownership proofs: ``POST /api/orders/{id}/verify`` answers a proven owner with a short-lived
  HMAC token bound to the order and an expiry; every order-specific endpoint needs it in
  ``X-Order-Proof`` (403 otherwise) unless the caller holds the admin key. The assistant keeps
  the proof in its ``verified_order_id`` slot, so a tracker with a slot value it made up itself
  gets nothing.
* Failed proofs are counted in the shop's database per order and per client (conversation,
  else the caller's address), with a lockout that doubles each time (docs/security-shop.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import Column, Float, Integer, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, declarative_base

from service_common.config import ConfigError
from service_common.idempotency import make_table
from service_common.settings import ENVIRONMENT, demo_mode, env_int, env_str
from shop.errors import ApiError

# Kept apart from shop.models.Base: the daily date rebase shifts every Date/DateTime column
# of that metadata, and a lockout must never move. Times here are epoch seconds.
SecurityBase: Any = declarative_base()  # SQLAlchemy 1.4: a dynamic class

# Answers to POSTs sent with an Idempotency-Key (service_common.idempotency).
IDEMPOTENCY_KEYS = make_table(SecurityBase.metadata, "shop_idempotency_keys")

PROOF_PREFIX = "op1"
PROOF_SECRET_KEY = "proof_secret"


class VerifyAttempts(SecurityBase):
    """Failed ownership proofs of one subject: ``order:<id>``, ``client:<conversation>`` or
    ``caller:<address>``."""

    __tablename__ = "shop_verify_attempts"

    subject = Column(String(200), primary_key=True)
    failures = Column(Integer, nullable=False, default=0)
    lock_level = Column(Integer, nullable=False, default=0)  # lockouts so far (back-off)
    locked_until = Column(Float, nullable=False, default=0.0)
    last_failure = Column(Float, nullable=False, default=0.0)


def _env_amount(name: str, default: Decimal) -> Decimal:
    raw = env_str(name)
    try:
        return Decimal(raw.strip()) if raw else default
    except ArithmeticError:
        raise ConfigError(ENVIRONMENT, f"must be an amount, got {raw!r}", name) from None


@dataclass
class Settings:
    api_key: Optional[str] = None
    admin_key: Optional[str] = None
    demo_mode: bool = False
    proof_secret: Optional[str] = None  # None: generated once and kept in shop_meta
    proof_ttl: int = 7200  # seconds; the assistant's session lasts 120 minutes
    # Signed customer identities (channels/identity.py format) from the shop's own site: when
    # set, a linked-customer proof needs the token too, not only the assistant's word.
    identity_secret: Optional[str] = None
    order_failures: int = 5  # failed proofs per order before a lockout
    client_failures: int = 10  # per conversation (or caller address)
    lock_seconds: int = 900  # first lockout; every further one doubles
    max_lock_seconds: int = 86400
    forget_after: int = 86400  # a subject quiet this long starts again from zero
    coupon_max_amount: Decimal = Decimal("50")
    coupon_daily_amount: Decimal = Decimal("100")  # per customer and day

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            api_key=env_str("SHOP_API_KEY"),
            admin_key=env_str("SHOP_ADMIN_KEY"),
            demo_mode=demo_mode(),
            proof_secret=env_str("SHOP_PROOF_SECRET"),
            proof_ttl=env_int("SHOP_PROOF_TTL_SECONDS", cls.proof_ttl, minimum=0),
            # Opt-in: only where the channel forwards the signed token to the assistant.
            identity_secret=env_str("SHOP_IDENTITY_SECRET"),
            order_failures=env_int("SHOP_VERIFY_MAX_FAILURES", cls.order_failures, minimum=0),
            client_failures=env_int("SHOP_VERIFY_MAX_CLIENT_FAILURES", cls.client_failures,
                                    minimum=0),
            lock_seconds=env_int("SHOP_VERIFY_LOCK_SECONDS", cls.lock_seconds, minimum=0),
            max_lock_seconds=env_int("SHOP_VERIFY_MAX_LOCK_SECONDS", cls.max_lock_seconds,
                                     minimum=0),
            coupon_max_amount=_env_amount("SHOP_COUPON_MAX_AMOUNT", cls.coupon_max_amount),
            coupon_daily_amount=_env_amount("SHOP_COUPON_DAILY_AMOUNT",
                                            cls.coupon_daily_amount),
        )

    def problem(self) -> Optional[str]:
        """Why the shop must not start with these settings, or None."""
        if not self.api_key and not self.demo_mode:
            return ("SHOP_API_KEY is not set: the shop API would be open to anyone. Run the "
                    "set-up (it generates one per installation) or set DEMO_MODE=1 for a "
                    "laptop demo.")
        if self.api_key and self.admin_key and hmac.compare_digest(self.api_key,
                                                                   self.admin_key):
            return "SHOP_ADMIN_KEY must differ from SHOP_API_KEY"
        return None


# ---------------------------------------------------------------- proofs


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _mac(secret: str, order_id: str, expires: int) -> str:
    message = f"{PROOF_PREFIX}.{order_id}.{expires}".encode()
    return _b64(hmac.new(secret.encode(), message, hashlib.sha256).digest())


def issue_proof(secret: str, order_id: str, ttl: int, now: Optional[float] = None) -> tuple[str,
                                                                                         int]:
    """(token, expiry epoch): ``op1.<order id>.<expiry>.<HMAC-SHA256>``; the order id stays
    readable so the assistant can tell which order a stored proof is for."""
    expires = int((now if now is not None else time.time()) + ttl)
    return f"{PROOF_PREFIX}.{order_id}.{expires}.{_mac(secret, order_id, expires)}", expires


def proof_problem(secret: str, token: Optional[str], order_id: str,
                  now: Optional[float] = None) -> Optional[str]:
    """None if `token` proves `order_id` now, else the error code to answer with."""
    if not token:
        return "proof_required"
    parts = token.split(".")
    if len(token) > 200 or len(parts) != 4 or parts[0] != PROOF_PREFIX or \
            not parts[2].isdigit():
        return "proof_invalid"
    _, proven, expires, mac = parts
    if not hmac.compare_digest(mac, _mac(secret, proven, int(expires))):
        return "proof_invalid"
    if proven != order_id:
        return "proof_invalid"
    if int(expires) < (now if now is not None else time.time()):
        return "proof_expired"
    return None


PROOF_MESSAGES = {
    "proof_required": "查询或办理这个订单需要先验证订单归属（请求头 X-Order-Proof）",
    "proof_invalid": "订单验证凭证无效，请重新验证订单归属",
    "proof_expired": "订单验证已过期，请重新验证订单归属",
}


def ensure_proof_secret(session: Session, configured: Optional[str]) -> str:
    """The configured secret, else one generated at the first start and kept in the shop's
    database (so proofs survive restarts and every installation has its own)."""
    if configured:
        return configured
    from shop.models import Meta  # the key/value table the seed date lives in

    row = session.get(Meta, PROOF_SECRET_KEY)
    if row is None:
        row = Meta(key=PROOF_SECRET_KEY, value=secrets.token_urlsafe(32))
        session.add(row)
        session.commit()
    return row.value


# ---------------------------------------------------------------- identity


def verified_customer(secret: Optional[str], token: Any) -> Optional[str]:
    """The customer id a signed identity token (channels/identity.py format) vouches for."""
    if not secret or not isinstance(token, str) or token.count(".") != 1 or len(token) > 4096:
        return None
    head, mac = token.split(".")
    try:
        given = base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4))
        payload = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    expected = hmac.new(secret.encode(), head.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(given, expected) or not isinstance(payload, dict):
        return None
    exp = payload.get("exp")
    if not isinstance(exp, int) or exp < time.time():
        return None
    customer_id = payload.get("customer_id")
    return customer_id if isinstance(customer_id, str) else None


# ---------------------------------------------------------------- lockout


class AttemptLedger:
    """Failed proofs per subject, stored in the shop's database (survives restarts and new
    sender ids). Rules (Settings): `order_failures` failures of one order, or
    `client_failures` of one client, lock that subject for `lock_seconds`, doubled with every
    further lockout up to `max_lock_seconds`; a subject without failures for `forget_after`
    seconds starts again from zero. A success clears the order's failure count but never a
    client's, so proving one's own order does not buy more guesses at another."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _row(self, session: Session, subject: str, now: float) -> VerifyAttempts:
        row = session.get(VerifyAttempts, subject, with_for_update=True)
        if row is None:
            row = VerifyAttempts(subject=subject, failures=0, lock_level=0, locked_until=0.0,
                                 last_failure=0.0)
            try:
                with session.begin_nested():  # a parallel first failure may insert it too
                    session.add(row)
            except IntegrityError:
                row = session.get(VerifyAttempts, subject, with_for_update=True,
                                  populate_existing=True)
        elif row.last_failure and now - row.last_failure > self.settings.forget_after and \
                row.locked_until <= now:
            row.failures, row.lock_level = 0, 0
        return row

    def check(self, session: Session, subjects: list[str], now: Optional[float] = None) -> None:
        """Raise 429 `verification_locked` if any subject is locked."""
        now = now if now is not None else time.time()
        rows = session.execute(
            select(VerifyAttempts).where(VerifyAttempts.subject.in_(subjects))).scalars()
        waits = [row.locked_until - now for row in rows if row.locked_until > now]
        if waits:
            raise locked_error(max(waits))

    def failed(self, session: Session, order_subject: str, client_subject: str,
               now: Optional[float] = None) -> tuple[int, float]:
        """Count one failure: (guesses left for this order before a lockout, seconds until
        the order or the client may try again; 0 while neither is locked)."""
        now = now if now is not None else time.time()
        left, wait = 0, 0.0
        for subject, limit in ((order_subject, self.settings.order_failures),
                               (client_subject, self.settings.client_failures)):
            row = self._row(session, subject, now)
            row.failures += 1
            row.last_failure = now
            if row.failures >= limit:
                row.lock_level += 1
                seconds = min(self.settings.lock_seconds * 2 ** (row.lock_level - 1),
                              self.settings.max_lock_seconds)
                row.locked_until = now + seconds
                row.failures = 0
            if row.locked_until > now:
                wait = max(wait, row.locked_until - now)
            if subject == order_subject:
                left = limit - row.failures if row.locked_until <= now else 0
        return left, wait

    def succeeded(self, session: Session, order_subject: str,
                  now: Optional[float] = None) -> None:
        row = session.get(VerifyAttempts, order_subject)
        if row is not None:
            row.failures = 0


def locked_error(wait_seconds: float) -> ApiError:
    minutes = max(1, int(wait_seconds + 59) // 60)
    return ApiError(429, "verification_locked",
                    f"验证失败次数过多，已暂时锁定，请{minutes}分钟后再试或联系人工客服",
                    retry_after=int(wait_seconds + 0.999))
