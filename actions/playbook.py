"""Fire-fighting playbook: apologise and compensate within limits the shop sets.

Plays live in escalation/playbook.yml. Every use is reserved in a ledger table before
the coupon is issued, so the limits (once per customer per N days, a daily budget) hold
even when two messages of an upset customer arrive at the same time.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Literal, Optional

import sqlalchemy as sa
from pydantic import conint, conlist, validator
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import migrate
from actions.backend import BackendError, get_backend
from actions.common import recent_emotions
from actions.ownership import is_proven, proof
from service_common.config import At, Count, Model, Text, load_yaml, number
from service_common.settings import env_str

logger = logging.getLogger(__name__)

PLAYBOOK_FILE = Path(__file__).resolve().parent.parent / "escalation" / "playbook.yml"
CHINA = timezone(timedelta(hours=8))
RECENT_MESSAGES = 5  # the mood that counts: any of the customer's last few messages

metadata = sa.MetaData()
uses = sa.Table(
    "playbook_uses", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("play_id", sa.String(64), nullable=False, index=True),
    sa.Column("customer_id", sa.String(32), nullable=False, index=True),
    sa.Column("conversation_id", sa.String(128), nullable=False),
    sa.Column("reason", sa.String(200), nullable=False),
    sa.Column("amount", sa.Numeric(10, 2), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # reserved / issued / failed
    sa.Column("coupon_id", sa.String(32)),
    sa.Column("day", sa.String(10), nullable=False, index=True),  # China date
    sa.Column("created_at", sa.DateTime, nullable=False),  # UTC
)


@dataclass(frozen=True)
class Play:
    id: str
    situation: str
    emotions: tuple
    say: str
    amount: float
    valid_days: int
    per_customer_days: int
    daily_budget: float


class CouponSpec(Model):
    amount: number(gt=0)  # type: ignore[valid-type]
    valid_days: Count = 30


class LimitsSpec(Model):
    per_customer_days: conint(strict=True, ge=0)  # type: ignore[valid-type]
    daily_budget: number(gt=0)  # type: ignore[valid-type]


class PlaySpec(Model):
    id: Text
    situation: Literal["delayed_parcel"]
    emotions: conlist(Literal["calm", "anxious", "angry"], min_items=1)  # type: ignore
    say: Text  # may name {amount} and {valid_days}
    coupon: CouponSpec
    limits: LimitsSpec

    @validator("say")
    def _placeholders(cls, say: str) -> str:
        try:  # the text is sent after the coupon is issued: it must not fail then
            say.format(amount=1, valid_days=1)
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(f"only {{amount}} and {{valid_days}} can be filled in ({error!r})"
                             ) from None
        return say

    @validator("limits")
    def _within_budget(cls, limits: LimitsSpec, values: Dict[str, Any]) -> LimitsSpec:
        if "coupon" in values and values["coupon"].amount > limits.daily_budget:
            raise At(("daily_budget",), "must be at least the coupon amount")
        return limits


class PlaybookFile(Model):
    """escalation/playbook.yml"""

    plays: List[PlaySpec] = []


def load_plays(path: Path = PLAYBOOK_FILE) -> List[Play]:
    return [Play(id=raw.id, situation=raw.situation, emotions=tuple(raw.emotions), say=raw.say,
                 amount=float(raw.coupon.amount), valid_days=raw.coupon.valid_days,
                 per_customer_days=raw.limits.per_customer_days,
                 daily_budget=float(raw.limits.daily_budget))
            for raw in load_yaml(path, PlaybookFile).plays]


class Ledger:
    """Reservations of playbook uses in the assistant's own database."""

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///"):
            Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        self.engine = sa.create_engine(url, future=True)
        migrate.upgrade(self.engine)  # the schema is Alembic's (actions/migrations)
        self._lock = threading.Lock()  # one action server process: serialise reservations

    def reserve(self, play: Play, customer_id: str, conversation_id: str, reason: str,
                now: Optional[datetime] = None) -> Optional[int]:
        """A new reserved use, or None when a limit forbids it."""
        now = now or datetime.now(timezone.utc)
        day = now.astimezone(CHINA).date().isoformat()
        since = (now - timedelta(days=play.per_customer_days)).replace(tzinfo=None)
        counted = uses.c.status.in_(("reserved", "issued"))
        with self._lock, self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Several action servers may share the database.
                connection.execute(sa.text("LOCK TABLE playbook_uses IN EXCLUSIVE MODE"))
            recent = connection.execute(sa.select(sa.func.count()).where(
                uses.c.play_id == play.id, uses.c.customer_id == customer_id, counted,
                uses.c.created_at >= since)).scalar_one()
            if recent:
                logger.info("playbook %s: customer %s already compensated", play.id, customer_id)
                return None
            spent = connection.execute(sa.select(sa.func.coalesce(sa.func.sum(uses.c.amount), 0))
                                       .where(uses.c.play_id == play.id, uses.c.day == day,
                                              counted)).scalar_one()
            if float(spent) + play.amount > play.daily_budget:
                logger.warning("playbook %s: daily budget %.2f used up", play.id, play.daily_budget)
                return None
            return connection.execute(uses.insert().values(
                play_id=play.id, customer_id=customer_id, conversation_id=conversation_id,
                reason=reason, amount=play.amount, status="reserved", day=day,
                created_at=now.replace(tzinfo=None))).inserted_primary_key[0]

    def settle(self, use_id: int, coupon_id: Optional[str]) -> None:
        status = "issued" if coupon_id else "failed"
        with self.engine.begin() as connection:
            connection.execute(uses.update().where(uses.c.id == use_id)
                               .values(status=status, coupon_id=coupon_id))

    def history(self, customer_id: Optional[str] = None) -> List[Dict[str, Any]]:
        query = sa.select(uses).order_by(uses.c.id)
        if customer_id:
            query = query.where(uses.c.customer_id == customer_id)
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]


@lru_cache(maxsize=1)
def ledger() -> Ledger:
    return Ledger(env_str("ACTIONS_DB_URL") or "")


@lru_cache(maxsize=1)
def plays() -> List[Play]:
    return load_plays()


plays()  # validated when the action server starts


async def apply(situation: str, order: Dict[str, Any], tracker: Tracker,
                dispatcher: CollectingDispatcher) -> bool:
    """Run the play for this situation if the mood and the limits allow; True if it ran."""
    moods = set(recent_emotions(tracker, RECENT_MESSAGES))
    customer_id = order.get("customer_id")
    order_proof = proof(tracker) if is_proven(tracker, order.get("id")) else None
    for play in plays():
        if play.situation != situation or not customer_id or not moods & set(play.emotions):
            continue
        reason = f"playbook:{play.id} order {order.get('id')}"
        use_id = await asyncio.to_thread(ledger().reserve, play, customer_id,
                                         tracker.sender_id, reason)
        if use_id is None:
            return False
        coupon_id = None
        try:
            # For this order: the shop checks the order's proof and caps the amount.
            coupon = await get_backend().issue_coupon(
                customer_id, play.amount, reason, play.valid_days,
                order_id=order.get("id") if order_proof else None, proof=order_proof)
            coupon_id = str(coupon.get("id"))
        except BackendError as error:
            logger.warning("playbook %s: coupon not issued: %s", play.id, error.code)
        finally:
            await asyncio.to_thread(ledger().settle, use_id, coupon_id)
        if coupon_id:
            logger.info("playbook %s used: customer %s, %.2f yuan, %s", play.id, customer_id,
                        play.amount, reason)
            dispatcher.utter_message(response="utter_playbook_apology",
                                     apology=play.say.format(amount=f"{play.amount:g}",
                                                             valid_days=play.valid_days))
            return True
    return False
