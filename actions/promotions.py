"""Coupons and promotions: the customer's own usable coupons, the shop's promotion rules,
and what an amount would save ("买258能减多少")."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.backend import BackendError, NotFound, get_backend
from actions.common import PRODUCT_ID, joined, linked_customer_id, part, session_user_events
from actions.outcomes import RESOLVED, outcome
from actions.products import MAX_PRODUCT_BUTTONS, ActionProductQuestion, asks_a_products_price
from actions.sizing import page_product
from actions.text import CN_DIGITS, day_words
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


def prices_in(text: str) -> List[float]:
    """The prices of a basket (「买了299 再加个79的」), else the one amount named (「买258」)."""
    prices = [float(price) for price in PRICE.findall(text)]
    if len(prices) > 1 and BASKET_JOIN.search(text):
        return prices
    match = AMOUNT.search(text)
    return [float(match.group(1) or match.group(2))] if match else []


# --- A basket over several messages: 「羽绒服多少钱」, 「再加一件T恤呢」, 「两件T恤 能减多少」 ---

# How many of a product: 「两件T恤」「3盒面膜」「十二支」「T恤x2」 (not 「第二件」).
QUANTITY = re.compile(r"[x×X*]\s*(\d{1,3})(?!\d)|(?<![\d.第])(\d{1,3}|[一两二三四五六七八九]?十"
                      r"[一二三四五六七八九]?|[一两二三四五六七八九])\s*(?:件|个|盒|支|瓶|条|双|只|台|"
                      r"套|包|袋|份|箱|副|罐|桶)")
# Goods added to what was talked about before: 「再加一件T恤呢」「还有3盒面膜」「那加上一袋大米」.
ADDS = re.compile(r"^\s*(?:那|那么|然后|如果|要是|我)?\s*(?:再|还有|还要|加上?|另外|外加|另加)")
# The goods talked about so far: 「一共多少钱」「一起能减多少」; 「能减多少」「最后付多少」 with
# nothing named after a basket was quoted (the seventh probe got the rules alone).
SUMS = re.compile(r"一共|总共|一起|合计|加起来|总价|算下来|减多少|最后(?:要)?付|实付多少|付多少|"
                  r"到手")


def count_of(match: re.Match) -> int:
    word = match.group(1) or match.group(2)
    if word.isdigit():
        return int(word)
    tens, ten, ones = word.partition("十")
    return CN_DIGITS.get(tens, 1) * 10 + CN_DIGITS.get(ones, 0) if ten else CN_DIGITS[word]


def yuan(amount: float) -> str:
    """499, 69.9, 139.8: yuan as the shop writes them."""
    return f"{amount:.2f}".rstrip("0").rstrip(".")


@dataclass
class Item:
    """A line of a basket: 「两件T恤」, 「羽绒服499」, or a bare price (「79的」)."""

    word: str = ""  # the product as the customer named it (its entity value); "" for a price
    price: Optional[float] = None  # the price the customer named with it
    quantity: int = 1
    product: Optional[JSON] = None  # the shop's product, once known
    choices: List[JSON] = field(default_factory=list)  # 「羽绒服」: the products it may be

    @property
    def unit(self) -> Optional[float]:
        """The price of one: the shop's; the customer's for goods the shop cannot find."""
        if self.product:
            return float(self.product["price"])
        return None if self.choices else self.price


@dataclass
class Said:
    """What one message says about a basket."""

    items: List[Item]
    quantity: Optional[int] = None  # a count of no product named: 「再来两个」「买两件能减多少」
    adds: bool = False  # 「再加…」「还有…」
    sums: bool = False  # 「一共多少钱」
    picks: bool = False  # a product picked from buttons (or named alone: which one it was)

    @property
    def goes_on(self) -> bool:
        """It goes on from the goods named before in the session."""
        return self.picks or (self.adds and bool(self.items or self.quantity)) or (
            self.sums and not self.items)

    @property
    def sums_up(self) -> bool:
        """More than one piece, or the goods so far: a quote, not one product's price."""
        return self.goes_on or len(self.items) > 1 or bool(self.quantity) or any(
            item.quantity > 1 for item in self.items)


def _blank(text: str, spans: List[Tuple[int, int]]) -> str:
    for start, end in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def said_in(text: str, entities: List[JSON], intent: Optional[str] = None) -> Said:
    """The goods a message names with their counts and prices (「羽绒服499 再加两件T恤」):
    the product entities, and the counts and prices right next to them."""
    products = sorted((entity for entity in entities if entity.get("entity") == "product"
                       and entity.get("value")), key=lambda entity: entity.get("start") or 0)
    items = [Item(str(entity["value"])) for entity in products]
    if text.startswith("/"):  # a button's payload: the product picked
        return Said(items, picks=bool(items))
    plain = RULE_QUOTED_FULL.sub(lambda rule: " " * len(rule.group()), text)
    counts = list(QUANTITY.finditer(plain))
    prices = list(PRICE.finditer(_blank(plain, [count.span() for count in counts])))
    placed = [(item, entity["start"], entity["end"])
              for item, entity in zip(items, products, strict=True)
              if isinstance(entity.get("start"), int) and isinstance(entity.get("end"), int)]
    taken: List[re.Match] = []

    def next_to(found: List[re.Match], start: int, end: int, after: str, before: str
                ) -> Optional[re.Match]:
        """The first of `found` right after the product (`after` between them) or right
        before it (`before` between them)."""
        for match in found:
            if match not in taken and (
                    (match.start() >= end and re.fullmatch(after, plain[end:match.start()]))
                    or (match.end() <= start and re.fullmatch(before, plain[match.end():start]))):
                taken.append(match)
                return match
        return None

    for item, start, end in placed:  # 「羽绒服499」「79的T恤」
        price = next_to(prices, start, end, r"\s*", r"\s*(?:元|块)?\s*的")
        item.price = float(price.group(1)) if price else None
    # 「两件T恤」 first, then 「T恤x2」「面膜 3盒」「T恤要两件」.
    for after, before in (("(?!)", "的?"), (r"\s*(?:要|买|来|拿)?\s*", "(?!)")):
        for item, start, end in placed:
            count = next_to(counts, start, end, after, before) if item.quantity == 1 else None
            item.quantity = max(count_of(count), 1) if count else item.quantity
    rest = _blank(plain, [match.span() for match in counts + [p for p in prices if p in taken]])
    items += [Item(price=price) for price in prices_in(rest)]  # 「买了299 再加个79的」
    loose = [count_of(count) for count in counts if count not in taken and count_of(count)]
    adds = bool(ADDS.search(text))
    alone = len(items) == 1 and bool(items[0].word) and items[0].price is None and not counts
    return Said(items, quantity=loose[0] if loose else None, adds=adds,
                sums=bool(SUMS.search(text)), picks=intent == "inform" and not adds and alone)


def said_of(event: JSON) -> Said:
    """What an earlier message of the session said."""
    parsed = event.get("parse_data") or {}
    return said_in(event.get("text") or "", parsed.get("entities") or [],
                   (parsed.get("intent") or {}).get("name"))


async def resolve(item: Item) -> Item:
    """The shop's product for the customer's word; a price named with it (「羽绒服499」)
    picks among several; a word that covers several keeps them as choices."""
    if item.product or not item.word:
        return item
    backend = get_backend()
    if PRODUCT_ID.fullmatch(item.word):
        try:
            item.product = await backend.product(item.word)
        except NotFound:
            pass
        return item
    found = [product for product in await backend.find_products(item.word[:50])
             if product.get("price")]
    exact = [product for product in found if product.get("name") == item.word]
    priced = [product for product in found if float(product["price"]) == item.price]
    chosen = exact or priced or (found if len(found) == 1 else [])
    if chosen:
        item.product = chosen[0]
    else:
        item.choices = found[:MAX_PRODUCT_BUTTONS]
    return item


async def product_in_view(tracker: Tracker) -> Optional[Item]:
    """The product of the page the chat is on, else the one the conversation is about."""
    product_id = page_product(tracker) or tracker.get_slot("product_id")
    return await resolve(Item(str(product_id))) if product_id else None


@dataclass
class Basket:
    items: List[Item]
    earlier: bool = False  # it holds goods of earlier messages (「再加一件T恤呢」)


async def basket_asked(tracker: Tracker, said: Said) -> Basket:
    """The goods a promotion question is about: what the latest message names and, when it
    goes on (「再加…」「还有…」「一共…」), what the customer named before in this session,
    back to the message that began the basket; a product picked from the buttons settles
    which one a word like 「羽绒服」 meant."""
    told = [said]
    if said.goes_on:
        for event in session_user_events(tracker)[1:]:
            told.append(said_of(event))
            if told[-1].items and not (told[-1].adds or told[-1].picks):
                break
    items: List[Item] = []
    earlier = False
    for message in reversed(told):
        named = [await resolve(item) for item in message.items]
        if message is said:
            earlier = bool(items)
            if said.adds and not items:
                # 「再加一件T恤」 on the fryer's page: the fryer and a T-shirt.
                items += [item for item in [await product_in_view(tracker)] if item]
        if message.quantity and not named and items:
            # 「再来两个」: two more of the last one; 「买两件呢」: two of it.
            items[-1].quantity = message.quantity + (items[-1].quantity if message.adds else 0)
        elif message.quantity and not named:
            # 「买两件能减多少」: two of the one in view.
            in_view = await product_in_view(tracker)
            if in_view:
                in_view.quantity = message.quantity
                items.append(in_view)
        for item in named:
            product_id = (item.product or {}).get("id")
            asked = next((other for other in items if message.picks and product_id in
                          [choice["id"] for choice in other.choices]), None)
            same = next((other for other in items
                         if product_id and (other.product or {}).get("id") == product_id), None)
            if asked:  # the jacket picked from the buttons is the 「羽绒服」 asked about
                asked.product, asked.choices = item.product, []
            elif same and not message.picks:  # 「再加一件T恤」 after the T-shirt: two
                same.quantity += item.quantity
            elif not same:
                items.append(item)
    return Basket(items, earlier=earlier)


def coupon_part(coupon: JSON) -> JSON:
    """One coupon in words (a response, actions.common.part)."""
    threshold = float(coupon.get("threshold") or 0)
    expires = day_words(coupon.get("expires_at"))
    values = {"amount": f"{float(coupon['amount']):g}",
              "expires": part("utter_coupon_expires", day=expires) if expires else ""}
    if threshold:
        return part("utter_coupon_threshold", threshold=f"{threshold:g}", **values)
    return part("utter_coupon_no_threshold", **values)


def asked_before(tracker: Tracker) -> bool:
    """Whether a promotion question was answered earlier in this session."""
    events = history.session(tracker.events)
    latest = max((index for index, event in enumerate(events) if history.kind(event) == "user"),
                 default=len(events))
    return any(history.kind(event) == "action" and event.get("name") == "action_ask_promotion"
               for event in events[:latest])


def item_part(item: Item) -> JSON:
    """「纯棉圆领T恤」79元×2 (a response, actions.common.part)."""
    name = str((item.product or {}).get("name") or item.word)
    price = yuan(item.unit or 0)
    if not name:
        return part("utter_basket_price", price=price)
    if item.quantity > 1:
        return part("utter_basket_item_times", name=name, price=price, quantity=item.quantity)
    return part("utter_basket_item", name=name, price=price)


async def basket_quote(items: List[Item], promotions: List[JSON], customer_id: Optional[str]
                       ) -> Tuple[List[Any], List[JSON]]:
    """The shop's quote for the goods whose price is known, those outside 满减 (food) beside
    others on their own line, and which one a word like 「羽绒服」 meant (asked, with buttons):
    no price is guessed. Returns the lines and the buttons."""
    excluded = {category for rule in promotions if rule.get("kind") == "full_reduction"
                for category in rule.get("excluded_categories") or []}
    known = [item for item in items if item.unit is not None]
    counted = [item for item in known if (item.product or {}).get("category") not in excluded]
    apart = [item for item in known if item not in counted]
    if not counted:  # only food: the shop's own quote says it is left out
        counted, apart = apart, []
    lines: List[Any] = []
    if counted:
        categories = {(item.product or {}).get("category") for item in counted}
        quote = await get_backend().promotion_quote(
            round(sum((item.unit or 0) * item.quantity for item in counted), 2),
            category=categories.pop() if len(categories) == 1 else None,
            customer_id=customer_id)
        text = str(quote.get("text") or "")
        # 「买258能减多少」: the shop's sentence says it all; goods are listed before it.
        listed = len(items) > 1 or counted[0].word or counted[0].product or \
            counted[0].quantity > 1
        lines.append(part("utter_promotion_basket", quote=text, items=joined(
            [item_part(item) for item in counted], "utter_separator_list")) if listed else text)
    if apart:
        lines.append(part(
            "utter_promotion_basket_apart",
            items=joined([item_part(item) for item in apart], "utter_separator_list"),
            category="、".join(sorted({str((item.product or {}).get("category_text"))
                                      for item in apart})),
            amount=yuan(sum((item.unit or 0) * item.quantity for item in apart))))
    buttons: List[JSON] = []
    for item in items:
        if item.unit is not None:
            continue
        if not item.choices:
            lines.append(part("utter_promotion_basket_unknown", word=item.word))
            continue
        lines.append(part("utter_promotion_basket_which", word=item.word, choices=joined(
            [item_part(Item(product=choice)) for choice in item.choices], "utter_separator_or")))
        buttons = buttons or [{"title": choice["name"],
                               "payload": f'/inform{{"product": "{choice["id"]}"}}'}
                              for choice in item.choices]
    return lines, buttons


class ActionAskPromotion(Action):
    def name(self) -> Text:
        return "action_ask_promotion"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        message = tracker.latest_message or {}
        text = message.get("text") or ""
        said = said_in(text, message.get("entities") or [],
                       (message.get("intent") or {}).get("name"))
        if asks_a_products_price(text) and amount_in(text) is None and not said.sums_up:
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
        buttons: List[JSON] = []
        try:
            promotions = await backend.promotions()
            basket = await basket_asked(tracker, said)
            amount = amount_in(text)
            if not basket.items and page_product(tracker) and (
                    amount is None or RULE_QUOTED.search(text)):
                # 「满减能用吗」「满199减20能用吗」 on the rice's page: its price, not the rule's
                # 199, and its category, which 满减 leaves out (food).
                basket.items = [item for item in [await product_in_view(tracker)] if item]
            if not basket.items and amount:
                basket.items = [Item(price=amount)]  # 「满399减50怎么算」: 399
            # A quote after an earlier promotion question of the session (「再加一件T恤呢」):
            # the basket's line is enough, the rules and coupons were there before.
            follow_up = bool(basket.items) and (basket.earlier or asked_before(tracker))
            if not follow_up:
                lines += await self._coupons(customer_id)
            rules = [str(rule.get("text") or rule.get("name")) for rule in promotions]
            if GIFT_QUESTION.search(text) and not any("赠" in rule or "送" in rule
                                                      for rule in rules):
                lines.append(part("utter_promotion_no_gift"))
            # 「满399减50怎么算」 right after the rules were listed: the quote, not the list again.
            replied = " ".join(history.last_replies(tracker.events))
            if rules and not (basket.items and (follow_up or all(rule in replied
                                                                 for rule in rules))):
                lines.append(part("utter_promotion_rules", rules=joined(
                    rules, "utter_separator_clause")))
            if basket.items:
                quoted, buttons = await basket_quote(basket.items, promotions, customer_id)
                lines += quoted
        except BackendError as error:
            logger.warning("promotions unavailable: %s", error.code)
            lines.append(part("utter_promotion_unavailable"))
        dispatcher.utter_message(response="utter_promotions", buttons=buttons or None,
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
