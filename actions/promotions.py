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
from actions.common import joined, linked_customer_id, part
from actions.outcomes import RESOLVED, outcome
from actions.products import (
    ActionProductQuestion,
    asks_a_products_price,
    named_product_entity,
    product_in_context,
)
from actions.sizing import page_product
from actions.text import day_words
from escalation import history

logger = logging.getLogger(__name__)

JSON = Dict[str, Any]
# An amount the customer mentions: "258元", "300块", "买了199", "满300".
AMOUNT = re.compile(r"(?:(?:买|花|付|满|凑)了?\s*(\d{2,6}(?:\.\d{1,2})?))|"
                    r"(?:(\d{2,6}(?:\.\d{1,2})?)\s*(?:元|块))")
BARGAIN_WORDS = ("便宜", "少点", "优惠点", "砍价", "打折吗", "能少", "让点", "抹零")
# 「优惠券怎么用不了」: why a coupon does not apply comes before the rules to check it against.
COUPON_TROUBLE = re.compile(r"(券|优惠|满减).{0,6}(用不了|不能用|用不上|无法使用|使用不了|不可用|"
                            r"抵扣不了|没抵扣|没减|减不了|不减)")

# 「优惠券领不到」: why a coupon cannot be claimed.
COUPON_CLAIM_TROUBLE = re.compile(r"(券|红包).{0,8}(领不到|领不了|领不上|抢不到|没领到|领取不了|"
                                  r"领取失败|怎么领)")

# 「多买几件能送个小礼品吗」「有赠品吗」「买一送一吗」: a gift, not a delivery (送到/送货).
GIFT_QUESTION = re.compile(r"赠品|赠送|小样|礼品|礼物|送(?:什么|啥|点|个|些|的)|"
                           r"买[一二两三四五\d]+送[一二两三四五\d]")

# 「好评返现吗」: paying for reviews is against the platforms' rules and 《电子商务法》 (false
# reviews); the shop says so and asks for an honest review instead.
REVIEW_CASHBACK = re.compile(r"(好评|晒图|评价|五星|追评).{0,4}(返现|返钱|返红包|有红包|送红包)")


# 「满199减20」: a rule the customer quotes, not what the basket is worth.
RULE_QUOTED = re.compile(r"满\s*\d+\s*(?:元|块)?\s*减")
RULE_QUOTED_FULL = re.compile(r"满\s*\d+\s*(?:元|块)?\s*减\s*\d*\s*(?:元|块)?")


async def named_product(tracker: Tracker) -> Optional[JSON]:
    """The product (with a price) the latest message names or is sent from (its page)."""
    if not (named_product_entity(tracker) or page_product(tracker)):
        return None
    try:
        product = await product_in_context(tracker)
    except BackendError:
        return None
    return product if product and product.get("price") else None


# A price in a basket the customer describes: 「羽绒服499 再加个T恤79 能减多少」; not a
# measure (「175 70公斤」「27寸」), a share or a part of a longer number.
PRICE = re.compile(r"(?<![\d.])(\d{2,5}(?:\.\d{1,2})?)(?![\d.])(?!\s*(?:斤|公斤|kg|cm|厘米|码|号|"
                   r"件|个|天|小时|分钟|%|折|ml|毫升|g|克|w|寸|升|l|毫安|mah|片|米|岁|年|月|人|"
                   r"楼|单元|室))", re.IGNORECASE)
BASKET_JOIN = re.compile(r"加|再|和|还有|一起|跟|\+|＋")


def basket_in(text: str) -> Optional[float]:
    """A basket's prices added up (「羽绒服499 再加个T恤79」), if the text describes one."""
    unquoted = RULE_QUOTED_FULL.sub(" ", text)
    prices = [float(price) for price in PRICE.findall(unquoted)]
    return sum(prices) if len(prices) > 1 and BASKET_JOIN.search(unquoted) else None


def amount_in(text: str) -> Optional[float]:
    """The amount a promotion question is about: a basket's prices added up, else the one
    amount named (「买258能减多少」)."""
    basket = basket_in(text)
    if basket:
        return basket
    match = AMOUNT.search(text)
    if not match:
        return None
    return float(match.group(1) or match.group(2))


def coupon_part(coupon: JSON) -> JSON:
    """One coupon in words (a response, actions.common.part)."""
    threshold = float(coupon.get("threshold") or 0)
    expires = day_words(coupon.get("expires_at"))
    values = {"amount": f"{float(coupon['amount']):g}",
              "expires": part("utter_coupon_expires", day=expires) if expires else ""}
    if threshold:
        return part("utter_coupon_threshold", threshold=f"{threshold:g}", **values)
    return part("utter_coupon_no_threshold", **values)


class ActionAskPromotion(Action):
    def name(self) -> Text:
        return "action_ask_promotion"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        text = (tracker.latest_message or {}).get("text") or ""
        if asks_a_products_price(text) and amount_in(text) is None:
            # 「这个多少钱」: the product's price (the product answer asks which one if needed).
            return await ActionProductQuestion().run(dispatcher, tracker, domain)
        lines: List[Any] = []
        if REVIEW_CASHBACK.search(text):
            # The answer to what was asked; the promotion list would read as a lure.
            dispatcher.utter_message(response="utter_no_review_cashback")
            return [outcome(RESOLVED, "promotion", "review_cashback", "promotions", tracker)]
        if COUPON_TROUBLE.search(text):
            lines.append(part("utter_coupon_trouble"))
        elif COUPON_CLAIM_TROUBLE.search(text):
            lines.append(part("utter_coupon_claim_trouble"))
        elif any(word in text for word in BARGAIN_WORDS):
            lines.append(part("utter_promotion_no_bargain"))
        backend = get_backend()
        customer_id = await linked_customer_id(tracker)
        try:
            lines += await self._coupons(customer_id)
            rules = [str(rule.get("text") or rule.get("name")) for rule in
                     await backend.promotions()]
            if GIFT_QUESTION.search(text) and not any("赠" in rule or "送" in rule
                                                      for rule in rules):
                lines.append(part("utter_promotion_no_gift"))
            amount, category = amount_in(text), None
            if amount is None or (RULE_QUOTED.search(text) and not basket_in(text)):
                # 「那个空气炸锅 满199减20能用吗」: the product's price, not the rule's 199;
                # its category, which 满减 may leave out (「大米满减能用吗」: food).
                product = await named_product(tracker)
                if product:
                    amount, category = float(product["price"]), product.get("category")
            # 「满399减50怎么算」 right after the rules were listed: the quote, not the list again.
            replied = " ".join(history.last_replies(tracker.events))
            if rules and not (amount and all(rule in replied for rule in rules)):
                lines.append(part("utter_promotion_rules", rules=joined(
                    rules, "utter_separator_clause")))
            if amount:
                # The shop's own sentence: what the amount saves.
                quote = await backend.promotion_quote(amount, category=category,
                                                      customer_id=customer_id)
                lines.append(str(quote.get("text") or ""))
        except BackendError as error:
            logger.warning("promotions unavailable: %s", error.code)
            lines.append(part("utter_promotion_unavailable"))
        dispatcher.utter_message(response="utter_promotions",
                                 lines=joined(lines, "utter_separator_line"))
        return [outcome(RESOLVED, "promotion", "promotion_info", "promotions", tracker)]

    @staticmethod
    async def _coupons(customer_id: Optional[str]) -> List[JSON]:
        if not customer_id:
            return []
        coupons = await get_backend().coupons(customer_id)
        usable = [c for c in coupons if c.get("usable")]
        if not usable:
            return [part("utter_coupons_none")]
        return [part("utter_coupons", count=len(usable), coupons=joined(
            [coupon_part(c) for c in usable[:5]], "utter_separator_list"))]
