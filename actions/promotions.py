"""Coupons and promotions: the customer's own usable coupons, the shop's promotion rules,
and what an amount would save ("买258能减多少")."""

from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.backend import BackendError, get_backend
from actions.common import linked_customer_id
from actions.outcomes import RESOLVED, outcome
from actions.text import day_words

logger = logging.getLogger(__name__)

JSON = Dict[str, Any]
# An amount the customer mentions: "258元", "300块", "买了199", "满300".
AMOUNT = re.compile(r"(?:(?:买|花|付|满|凑)了?\s*(\d{2,6}(?:\.\d{1,2})?))|"
                    r"(?:(\d{2,6}(?:\.\d{1,2})?)\s*(?:元|块))")
BARGAIN_WORDS = ("便宜", "少点", "优惠点", "砍价", "打折吗", "能少", "让点", "抹零")


def amount_in(text: str) -> Optional[float]:
    match = AMOUNT.search(text)
    if not match:
        return None
    return float(match.group(1) or match.group(2))


def coupon_text(coupon: JSON) -> str:
    threshold = float(coupon.get("threshold") or 0)
    kind = f"满{threshold:g}减{float(coupon['amount']):g}券" if threshold \
        else f"{float(coupon['amount']):g}元无门槛券"
    expires = day_words(coupon.get("expires_at"))
    return f"{kind}({expires}到期)" if expires else kind


class ActionAskPromotion(Action):
    def name(self) -> Text:
        return "action_ask_promotion"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        text = (tracker.latest_message or {}).get("text") or ""
        lines: List[str] = []
        if any(word in text for word in BARGAIN_WORDS):
            lines.append("价格是系统统一定的,客服这边改不了哦;不过用券和满减能更划算:")
        backend = get_backend()
        customer_id = await linked_customer_id(tracker)
        try:
            lines += await self._coupons(customer_id)
            rules = await backend.promotions()
            if rules:
                lines.append("店铺活动:" + ";".join(
                    str(rule.get("text") or rule.get("name")) for rule in rules) + "。")
            amount = amount_in(text)
            if amount:
                quote = await backend.promotion_quote(amount, customer_id=customer_id)
                lines.append(str(quote.get("text") or ""))
        except BackendError as error:
            logger.warning("promotions unavailable: %s", error.code)
            lines.append("优惠信息暂时查不到,商品页「领券」处可以看到当前可领的券,下单时会自动抵扣哦。")
        dispatcher.utter_message(text="\n".join(lines))
        return [outcome(RESOLVED, "promotion", "promotion_info", "promotions", tracker)]

    @staticmethod
    async def _coupons(customer_id: Optional[str]) -> List[str]:
        if not customer_id:
            return []
        coupons = await get_backend().coupons(customer_id)
        usable = [c for c in coupons if c.get("usable")]
        if not usable:
            return ["您的账户里暂时没有可用的优惠券。"]
        return [f"您的账户里有{len(usable)}张可用优惠券:"
                + "、".join(coupon_text(c) for c in usable[:5]) + ",下单时自动抵扣。"]
