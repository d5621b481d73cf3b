"""Pre-sale product questions: facts from the catalogue and the shop's documents, usage
help with a clarifying question, and one related-product suggestion per session.

The product in context ("这个/它/这款") is, in this order: the product named in the latest
message, the product page the chat was opened on (metadata.product_id), the product the
conversation was last about (slot `product_id`). A question comparing products
(「羽绒服和冲锋衣哪个保暖」「A跟B有什么区别」) gets each one's facts side by side.
"""

from __future__ import annotations

import logging
import re
from abc import abstractmethod
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Text, Tuple

from pydantic import conlist, constr
from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import aftersales, documents
from actions.backend import BackendError, NotFound, get_backend
from actions.common import (
    PRODUCT_ID,
    joined,
    linked_customer_id,
    money,
    part,
    session_user_events,
    stretch_user_events,
)
from actions.outcomes import RESOLVED, UNRESOLVED, outcome
from actions.sizing import garments_named, page_product, size_follow_up
from actions.text import day_words
from escalation import history
from service_common.config import Model, load_yaml
from service_common.config import Text as NonBlank

logger = logging.getLogger(__name__)

JSON = Dict[str, Any]
ATTRIBUTES_FILE = Path(__file__).resolve().parent.parent / "policy" / "product_attributes.yml"
# Usage topics: the clarifying buttons, the words that pick one, and the document query.
USAGE_TOPICS = {
    "install": ("安装步骤", ("安装", "组装", "装上", "装好", "拆装", "配对", "连接")),
    "caution": ("使用注意事项",
                ("注意", "第一次用", "首次使用", "初次使用", "禁忌", "能不能", "安全")),
    "cleaning": ("清洁保养", ("清洗", "清理", "洗", "清洁", "保养", "除垢")),
}
# No cross-selling to a customer who is upset or in an after-sales matter.
NO_SELLING_INTENTS = {"complain", "request_return", "request_refund", "request_exchange",
                      "report_quality_issue", "urge_delivery", "cancel_order", "request_human",
                      "query_refund_progress"}


@dataclass(frozen=True)
class Answer:
    """What an answer did: `status` RESOLVED (answered), UNRESOLVED (no information; `reason`
    says why) or None (a clarifying question: the issue is neither closed nor given up)."""

    status: Optional[str]
    reason: str
    events: List[EventType] = field(default_factory=list)


ANSWERED, NO_INFO = "answered", "no_info"


def clarifying(events: Optional[List[EventType]] = None) -> Answer:
    return Answer(None, "clarify", events or [])


@dataclass(frozen=True)
class Attribute:
    key: str
    label: str
    keywords: Tuple[str, ...]


class AttributeSpec(Model):
    label: NonBlank
    keywords: conlist(NonBlank, min_items=1)  # type: ignore[valid-type]


class AttributesFile(Model):
    """policy/product_attributes.yml"""

    attributes: Dict[constr(strict=True, regex=r"^[a-z][a-z0-9_]*$"),  # type: ignore[valid-type]
                     AttributeSpec]


@lru_cache(maxsize=1)
def attributes(path: Path = ATTRIBUTES_FILE) -> Tuple[Attribute, ...]:
    return tuple(Attribute(key, spec.label, tuple(word.lower() for word in spec.keywords))
                 for key, spec in load_yaml(path, AttributesFile).attributes.items())


attributes()  # validated when the action server starts


def keyword_spans(text: str, attribute: Attribute) -> List[Tuple[int, int]]:
    return [(match.start(), match.end()) for word in attribute.keywords
            for match in re.finditer(re.escape(word), text)]


def asked_attributes(question: str, product: JSON) -> List[Attribute]:
    """Every attribute the question asks for that this product has (「防水吗 续航多久」),
    in the file's order; words an earlier attribute took count once (「充电多久」 is the
    charging time, not the charging too)."""
    text = question.lower()
    have = product.get("attributes") or {}
    taken: List[Tuple[int, int]] = []
    found = []
    for attr in attributes():
        spans = keyword_spans(text, attr) if attr.key in have else []
        if any(all(end <= start or begin >= stop for start, stop in taken)
               for begin, end in spans):
            found.append(attr)
            taken += spans
    return found


def asked_attribute(question: str, product: JSON) -> Optional[Attribute]:
    """The first attribute the question asks for that this product has."""
    return next(iter(asked_attributes(question, product)), None)


# People a question may ask about (「孕妇能用吗」「小孩能吃吗」): the catalogue's fact answers
# it only when it names them.
GROUPS = {"孕妇": ("孕妇", "孕期", "怀孕"), "哺乳": ("哺乳", "喂奶"),
          "儿童": ("儿童", "小孩", "宝宝", "婴儿", "孩子"), "老人": ("老人",),
          "糖尿病": ("糖尿病", "血糖"), "过敏": ("过敏",)}


def unanswered_group(question: str, value: str) -> bool:
    """The question asks about a group of people that the fact does not mention."""
    return any(any(word in question for word in words) and
               not any(word in value for word in words) for words in GROUPS.values())


# 「键盘是机械的吗」「这件是纯棉的吗」「是不是无线的」: a yes/no question about a word
YES_NO_IS = re.compile(r"是不是(?P<a>[^,，。?？!！\s]{2,8}?)的?[吗嘛么呢]?[?？]*$"
                       r"|是(?P<b>[^,，。?？!！\s]{2,8}?)的?[吗嘛么][?？]*$")


def named_in_product(question: str, product: JSON) -> Optional[str]:
    """The word a yes/no question asks about when the product's own name says it
    (「K87机械键盘」: 「是机械的吗」 → 机械); None otherwise."""
    match = YES_NO_IS.search(question.strip().lower())
    word = match and (match.group("a") or match.group("b"))
    name = str(product.get("name") or "").lower()
    return word if word and word in name else None


# 「一盒几片」「一包多少粒」: a count, found as a number with that measure (「一盒10片」).
COUNT_QUESTION = re.compile(r"(?:几|多少)(片|粒|包|袋|支|瓶|块|双|只|条|根|颗|卷|张|件)")
# Model numbers and measures written in Latin letters: 「65W」「4K」「5kg」「type-c」.
LATIN_TERM = re.compile(r"[0-9]+(?:\.[0-9]+)?[a-z]+|[a-z]+-?[0-9]+[a-z0-9]*")
CLAUSE_END = re.compile(r"[,，。;；!！]")


def product_facts(product: JSON) -> List[Tuple[Optional[str], str]]:
    """What the catalogue says of a product: (attribute key, value) for its attributes,
    (None, clause) for the clauses of its description."""
    facts: List[Tuple[Optional[str], str]] = [
        (key, str(value)) for key, value in (product.get("attributes") or {}).items()]
    facts += [(None, clause.strip()) for clause in
              CLAUSE_END.split(str(product.get("description") or "")) if clause.strip()]
    return facts


def asked_terms(question: str, product: JSON) -> List[re.Pattern]:
    """What a question asks about when no attribute of the product answers it by its
    keywords: a keyword of an attribute the product lacks (「防水吗」 of a jacket whose
    coating says 防水), the word of a yes/no question (「是新米吗」), a Latin term (「65W」),
    a count (「一盒几片」)."""
    text = question.lower()
    have = product.get("attributes") or {}
    missing = [attr for attr in attributes() if attr.key not in have
               and any(word in text for word in attr.keywords)]
    # The words asked and what the attribute is called (「下暴雨行不行」: 暴雨, 防水).
    words = {word for attr in missing
             for word in (*(key for key in attr.keywords if key in text), *attr.label.split("/"))
             if len(word) > 1}
    match = YES_NO_IS.search(text.strip())
    if match:
        words.add(match.group("a") or match.group("b"))
    words.update(LATIN_TERM.findall(text))
    terms = [re.compile(re.escape(word)) for word in sorted(words, key=len, reverse=True)]
    terms += [re.compile(rf"\d+\s*{unit}") for unit in COUNT_QUESTION.findall(text)]
    return terms


def facts_mentioning(question: str, product: JSON) -> List[Tuple[Optional[str], str]]:
    """The catalogue's facts that mention what the question asks about, attributes first."""
    terms = asked_terms(question, product)
    return [(key, value) for key, value in product_facts(product)
            if any(term.search(value.lower()) for term in terms)]


# 「这个多少钱」: the product's price; 「优惠后多少钱」「到手价」 are promotion questions.
ASKS_PRICE = re.compile(r"多少钱|什么价|价格|价钱|几块钱|售价|卖多少")
PROMOTION_WORDS = re.compile(r"优惠|活动|券|满减|到手|折|便宜|包邮|运费|满\d")


def asks_a_products_price(text: str) -> bool:
    return bool(ASKS_PRICE.search(text)) and not PROMOTION_WORDS.search(text)


# 「还有货吗」「什么时候补货」「到货了能通知我吗」: whether it can be bought now, or when.
ASKS_STOCK = re.compile(r"有货|有没有货|没货|缺货|断货|现货|库存|补货|卖完|售罄|还有吗|还有没有|"
                        r"什么时候有|到货(?:了|提醒|通知)|有货了")


def stock_answer(product: JSON) -> JSON:
    """In stock, or sold out with the shop's expected restock day."""
    if product.get("stock", 0) > 0:
        return part("utter_product_in_stock", product=product_label(product),
                    price=money(product.get("price")))
    restock = day_words(product.get("restock_date"))
    return part("utter_product_sold_out", product=product_label(product),
                restock=part("utter_restock_on", day=restock) if restock else
                part("utter_restock_unknown"))


# Words that ask which options there are (GET /api/products/{id} -> options: 颜色, 尺码);
# not a bare 色 or 码 (「会掉色吗」「二维码」).
OPTION_WORDS = {"颜色": ("颜色", "什么色", "哪些色", "几个色", "几种色", "几色", "款式"),
                "尺码": ("尺码", "码数", "哪些码", "几个码", "什么码")}
# 「有粉色的吗」「有没有红色」: a colour the product may not come in (not 「有色差吗」).
ASKS_A_COLOUR = re.compile(r"有.{0,4}色(?!差)")
# 「你们卖手机吗」「有没有卖猫粮的」: whether the shop sells a kind of goods at all.
SELLS = re.compile(r"(?:有没有在?卖|有卖|卖不卖|在卖|卖)(?!的|什么|啥|这个|那个|东西)"
                   r"([\u4e00-\u9fffA-Za-z]{1,8}?)(?:的?(?:吗|么|嘛|没|不|呀|啊|[?？])|的?\s*$)")
# What follows 卖 in 「卖多少钱」「卖得好吗」「卖完了吗」「卖断货了」「还卖吗」: no goods.
NOT_GOODS = re.compile(r"多少|钱|价|贵|便宜|几|得|完|光|断|了|过|着|快|慢|好|吗|么|嘛|呢|不")


def option_value_pattern(value: str) -> re.Pattern:
    """「L」 matches 「L码」 but not 「XL」 or 「mac」; 「白色」 also matches 「白的」「白款」."""
    if value.isascii():
        return re.compile(rf"(?<![a-z]){re.escape(value.lower())}(?![a-z])")
    if value.endswith("色") and len(value) > 1:
        return re.compile(rf"{re.escape(value[:-1])}(?:色|的|款)")
    return re.compile(re.escape(value))


def asked_options(question: str, product: JSON) -> Optional[JSON]:
    """「有白色的吗」「L码有吗」「有哪些颜色」: the product's options the question names or
    asks about, as the parts of `utter_product_options`; None when it asks about none."""
    options: Dict[str, List[str]] = product.get("options") or {}
    text = question.lower()
    named = [value for values in options.values() for value in values
             if option_value_pattern(value).search(text)]
    asked = [name for name in options
             if any(word in text for word in OPTION_WORDS.get(name, (name,)))
             or (name == "颜色" and ASKS_A_COLOUR.search(text))]
    if not named and not asked:
        return None
    listed = ";".join(f"{name}:{'/'.join(values)}" for name, values in options.items())
    stock = part("utter_in_stock" if product.get("stock", 0) > 0 else "utter_out_of_stock")
    return part("utter_product_options", product=product_label(product),
                has=part("utter_product_has", values="、".join(named)) if named else "",
                options=listed, stock=stock)


def named_product_entity(tracker: Tracker) -> Optional[str]:
    return next((entity.get("value") for entity in
                 (tracker.latest_message or {}).get("entities", [])
                 if entity.get("entity") == "product" and entity.get("value")), None)


async def product_in_context(tracker: Tracker) -> Optional[JSON]:
    """The full product record the customer means, or None when it is not clear."""
    named = named_product_entity(tracker)
    if named:
        found = await products_called(str(named))
        if len(found) == 1:
            return await _product_or_none(found[0]["id"])
    return await product_talked_about(tracker)


async def products_called(word: str) -> List[JSON]:
    """The products a product entity's value means: the one of that id or name, else
    every product whose name has the word (「羽绒服」: both down jackets)."""
    if PRODUCT_ID.fullmatch(word):
        return [{"id": word}]
    found = await get_backend().find_products(word[:50])
    return [p for p in found if p.get("name") == word] or found


async def product_talked_about(tracker: Tracker) -> Optional[JSON]:
    """The product of the page, else the one the conversation was last about."""
    # A size question's product counts too ("这件什么材质" while asked for the weight).
    for product_id in (page_product(tracker), tracker.get_slot("product_id"),
                       tracker.get_slot("size_product")):
        if product_id:
            product = await _product_or_none(product_id)
            if product:
                return product
    return None


async def _product_or_none(product_id: str) -> Optional[JSON]:
    try:
        return await get_backend().product(product_id)
    except NotFound:
        return None


def latest_question(tracker: Tracker) -> str:
    """The question being answered: the latest message, or, when the customer just
    named the product the bot asked about, the question before it."""
    texts = [event.get("text") or "" for event in session_user_events(tracker)]
    latest = texts[0] if texts and not texts[0].startswith("/") else ""  # not a button payload
    pending = tracker.get_slot("pending_question")
    if pending and named_product_entity(tracker):
        return f"{pending} {latest}".strip()
    return latest


def product_label(product: JSON) -> str:
    return f"「{product.get('brand', '')} {product.get('name', '')}」".replace("「 ", "「")


MAX_PRODUCT_BUTTONS = 6


async def not_sold(question: str, dispatcher: CollectingDispatcher) -> bool:
    """「你们卖手机吗」 with no such goods in the catalogue: said so (True), instead of asking
    which product was meant."""
    asked = SELLS.search(question)
    if not asked or NOT_GOODS.search(asked.group(1)):
        return False
    try:
        if await get_backend().find_products(asked.group(1)):
            return False
    except BackendError:
        return False
    dispatcher.utter_message(response="utter_product_not_sold", goods=asked.group(1))
    return True


async def ask_which_product(tracker: Tracker, dispatcher: CollectingDispatcher,
                            question: str) -> List[EventType]:
    """Offers as buttons the catalogue products the customer's word covers (「这个羽绒服…」:
    both down jackets) and the customer's recent items; the question is kept for the
    answer."""
    buttons: List[Dict[str, Any]] = []
    named = named_product_entity(tracker) or (
        earlier_product_word(tracker) if tracker.get_slot("pending_question") else None)
    if named and not PRODUCT_ID.fullmatch(str(named)):
        try:
            found = await get_backend().find_products(str(named)[:50])
        except BackendError:
            found = []
    elif not named:
        # 「这个衣服会缩水吗」: no product word, but a garment one: the clothing it covers.
        _, found = await garments_named([question], unnamed=False)
    else:
        found = []
    buttons += [{"title": product.get("name", product["id"]),
                 "payload": f'/inform{{"product": "{product["id"]}"}}'}
                for product in found[:MAX_PRODUCT_BUTTONS] if product.get("id")]
    customer_id = await linked_customer_id(tracker)
    if customer_id:
        try:
            recent = await get_backend().recent_items(customer_id)
        except BackendError:
            recent = {}
        for key in ("last_viewed", "last_purchased"):
            item = recent.get(key) or {}
            if item.get("id") and all(item["id"] not in b["payload"] for b in buttons):
                buttons.append({"title": item.get("name", item["id"]),
                                "payload": f'/inform{{"product": "{item["id"]}"}}'})
    # The third time in a row the question changes (never the same request three times).
    again = history.said_in_last_turns(history.stretch(tracker.events), "utter_ask_which_product")
    dispatcher.utter_message(response="utter_ask_which_product_again" if again
                             else "utter_ask_which_product", buttons=buttons or None)
    return [SlotSet("pending_question", question)]


def earlier_product_word(tracker: Tracker, turns: int = 3) -> Optional[str]:
    """The product word of a recent message (「这个耳机降噪效果怎么样」, then 「续航多久」
    while the bot still asks which earphones): its buttons are offered again."""
    for event in session_user_events(tracker)[1:turns + 1]:
        for entity in (event.get("parse_data") or {}).get("entities") or []:
            if entity.get("entity") == "product" and entity.get("value"):
                return str(entity["value"])
    return None


class ProductAction(Action):
    """Both product actions: find the product in context (or ask which one, keeping the
    question), remember it, then `answer`."""

    @abstractmethod
    def name(self) -> Text:
        """Abstract, so the action server does not register the base class itself."""

    @abstractmethod
    async def answer(self, product: JSON, question: str, tracker: Tracker,
                     dispatcher: CollectingDispatcher) -> Answer:
        """Says the answer; returns its status and the events beyond remembering the product."""

    async def compare(self, question: str, tracker: Tracker,
                      dispatcher: CollectingDispatcher) -> Optional[List[EventType]]:
        """Answers a question comparing products (its events), or None when it is none."""
        return None

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        if aftersales.asks_how_it_is_handled(tracker):
            # 「东西收到是坏的」 → 「怎么处理」: not a product question; the form asks on.
            dispatcher.utter_message(**aftersales.how_it_is_handled(tracker))
            return []
        question = latest_question(tracker)
        try:
            compared = await self.compare(question, tracker, dispatcher)
            if compared is not None:
                return [SlotSet("pending_question", None), *compared]
            product = await product_in_context(tracker)
        except BackendError as error:
            dispatcher.utter_message(response="utter_backend_ask_later", problem=error.message)
            return [outcome(UNRESOLVED, "product", error.code, "product", tracker)]
        if product is None:
            if await not_sold(question, dispatcher):
                return [outcome(RESOLVED, "product", "not_sold", "product", tracker)]
            return await ask_which_product(tracker, dispatcher, question)
        answer = await self.answer(product, question, tracker, dispatcher)
        events: List[EventType] = [
            SlotSet("product_id", product["id"]), SlotSet("product", product.get("name")),
            SlotSet("pending_question", None), *answer.events]
        if answer.status is not None:
            # reason: the action when answered, the failure (e.g. no_info) otherwise
            reason = self.name() if answer.status == RESOLVED else answer.reason
            events.append(outcome(answer.status, f"product:{product['id']}", reason, "product",
                                  tracker))
        return events


class ActionProductQuestion(ProductAction):
    """"这个空气炸锅涂层耐刮吗" / "能连手机吗": catalogue facts, then documents, never guesses."""

    def name(self) -> Text:
        return "action_product_question"

    async def compare(self, question: str, tracker: Tracker,
                      dispatcher: CollectingDispatcher) -> Optional[List[EventType]]:
        """「羽绒服和冲锋衣哪个保暖」: what each one's catalogue says of it, side by side;
        「蓝牙耳机Pro和降噪头戴耳机有什么区别」 (nothing asked): the prices and what the
        products differ in."""
        compared = await comparison_in_context(tracker)
        if not compared:
            return None
        products = [await get_backend().product(summary["id"]) for summary in compared]
        # The names' words ask nothing (「蓝牙耳机Pro」 does not ask about 蓝牙).
        asked = without_words(question, [word for product in products
                                         for word in name_words(str(product.get("name") or ""))])
        facts = [compared_facts(asked, product, bool(ASKS_PRICES.search(asked)))
                 for product in products]
        key = "product:" + "+".join(product["id"] for product in products)
        if any(facts):
            dispatcher.utter_message(response="utter_product_comparison",
                                     lines=compared_lines(products, facts))
        elif asked_terms(asked, {}):  # asked about something no catalogue here says
            dispatcher.utter_message(response="utter_product_no_info", product=joined(
                [product_label(product) for product in products], "utter_separator_list"))
            return [outcome(UNRESOLVED, key, NO_INFO, "product", tracker)]
        else:
            dispatcher.utter_message(response="utter_product_differences",
                                     lines=compared_lines(products, differences(products)))
        return [outcome(RESOLVED, key, self.name(), "product", tracker)]

    async def answer(self, product: JSON, question: str, tracker: Tracker,
                     dispatcher: CollectingDispatcher) -> Answer:
        follow_up = await size_follow_up(tracker) \
            if product["id"] == tracker.get_slot("size_product") else None
        if follow_up:  # 「那XL会不会太大」 after the size advice: that size against it
            dispatcher.utter_message(**follow_up)
            return Answer(RESOLVED, ANSWERED)
        replies = catalogue_answers(question, product)
        if replies is None:
            # 「孕妇能用吗」 when the cautions do not mention pregnancy: no guess (advertising
            # law, and the customer's health).
            dispatcher.utter_message(response="utter_product_no_info",
                                     product=product_label(product))
            return Answer(UNRESOLVED, NO_INFO)
        for reply in replies:
            dispatcher.utter_message(**reply)
        if not replies and \
                not cite_documents(f"{product.get('name', '')} {question}", product, dispatcher):
            if question.strip() in ("", str(named_product_entity(tracker) or "").strip()):
                # Only a product name: say what it is and what can be asked; no question
                # was answered yet, so no outcome.
                dispatcher.utter_message(**product_overview(product))
                return clarifying(await maybe_recommend(tracker, dispatcher, product))
            dispatcher.utter_message(response="utter_product_no_info",
                                     product=product_label(product))
            return Answer(UNRESOLVED, NO_INFO)
        return Answer(RESOLVED, ANSWERED, await maybe_recommend(tracker, dispatcher, product))


MAX_FACTS = 2


@dataclass(frozen=True)
class Facts:
    """The catalogue's facts for a question: `asked` the attributes it asks for that the
    product has, `told` those whose value answers it (not one silent about the people
    asked about), `mentioned` the facts mentioning what those leave unasked (「能带上飞机吗
    多重」: the weight is told; the capacity's 民航 rule and the description's 「可带上飞机」
    are mentioned)."""

    asked: List[Attribute]
    told: List[Attribute]
    mentioned: List[Tuple[Optional[str], str]]
    rest: str = ""  # the questions no attribute answers


# Where one question of a message ends: 「能带上飞机吗 多重」「防水吗,续航多久」.
QUESTION_END = re.compile(r"[,，。;；!！?？\s]+|(?<=[吗呢嘛])")


def asked_facts(question: str, product: JSON) -> Facts:
    """What the catalogue says of the product about each question of the message."""
    asked = asked_attributes(question, product)
    values = product.get("attributes") or {}
    told = [attr for attr in asked if not unanswered_group(question, values[attr.key])]
    # The questions no attribute answers: 「哪个能无线充电」 is one question, the
    # charging's, not the connection's too.
    rest = " ".join(clause for clause in QUESTION_END.split(question)
                    if not asked_attributes(clause, product))
    keys = {attr.key for attr in asked}
    mentioned = [(key, value) for key, value in facts_mentioning(rest, product)
                 if key not in keys]
    return Facts(asked, told, mentioned[:MAX_FACTS], rest)


def without_words(text: str, words: List[str]) -> str:
    text = text.lower()
    for word in sorted({word.lower() for word in words if word}, key=len, reverse=True):
        text = text.replace(word, " ")
    return text


def catalogue_answers(question: str, product: JSON) -> Optional[List[JSON]]:
    """What the catalogue answers of a question, one reply for each thing it asks
    (「耳机防水吗 续航多久 多少钱」: the price, the waterproofing, the battery); [] when it
    answers nothing; None when the only fact asked for does not mention the people the
    question is about."""
    # The product's name asks nothing (「蓝牙耳机Pro有几种颜色」 is no 蓝牙 question, the
    # 「65W」 of 「65W氮化镓充电器多少钱」 no 65W one).
    question = without_words(question, name_words(str(product.get("name") or "")))
    replies: List[JSON] = []
    if asks_a_products_price(question):
        replies.append(product_overview(product))
    facts = asked_facts(question, product)
    if facts.asked and not facts.told and not replies:
        return None
    # The options asked in the questions no attribute answers (「是什么面料 能机洗吗 有什么颜色」).
    options = asked_options(facts.rest if facts.asked else question, product)
    if options:
        replies.append(options)
    elif not facts.asked and not replies and ASKS_STOCK.search(question):
        replies.append(stock_answer(product))
    values = product.get("attributes") or {}
    replies += [attribute_reply(product, attr.label, values[attr.key]) for attr in facts.told]
    named = None if replies else named_in_product(question, product)
    if named:
        return [part("utter_product_name_says", product=product_label(product), word=named)]
    labels = {attr.key: attr.label for attr in attributes()}
    return replies + [
        attribute_reply(product, labels.get(key, key), value) if key else
        part("utter_product_fact", product=product_label(product), fact=value)
        for key, value in facts.mentioned]


def attribute_reply(product: JSON, label: str, value: str) -> JSON:
    return part("utter_product_attribute", product=product_label(product), attribute=label,
                value=value)


def product_overview(product: JSON) -> JSON:
    stock = part("utter_in_stock" if product.get("stock", 0) > 0 else "utter_out_of_stock")
    return part("utter_product_overview", product=product_label(product),
                price=money(product.get("price")), stock=stock,
                description=product.get("description", ""))


# 「A和B哪个保暖」「A跟B有什么区别」「这两个耳机有什么不同」「跟A比呢」: a comparison.
COMPARES = re.compile(r"哪(?:一)?[个款种件]|区别|差别|差异|不同|不一样|对比|比较|相比|比起|"
                      r"比一下|比呢|vs", re.IGNORECASE)
# What joins two products named in one question: 「A和B」「A跟B」「A还是B」「A比B」.
JOINS = re.compile(r"和|跟|与|还是|比|、|vs", re.IGNORECASE)
# 「哪个便宜」「差多少钱」: the prices side by side.
ASKS_PRICES = re.compile(ASKS_PRICE.pattern + r"|便宜|贵|差多少|性价比")
MAX_COMPARED = 4
MAX_DIFFERENCES = 3


def name_words(name: str) -> List[str]:
    """What a product's name is called by in a message: the name, the name without a
    trailing model or size (「蓝牙耳机Pro」 → 蓝牙耳机, 「五常大米5kg」 → 五常大米) and that
    one's endings of two characters or more (冲锋衣, 耳机)."""
    name = name.lower()
    core = re.sub(r"[a-z0-9.\s]+$", "", name)
    return list(dict.fromkeys([name, *(core[start:] for start in range(len(core) - 1))]))


def products_in_text(text: str, catalogue: List[JSON]) -> List[List[JSON]]:
    """The products a message names, one list per word, in the message's order; the longest
    words first, so 「降噪头戴耳机」 is not also the 「耳机」 of both earphones."""
    called: Dict[str, List[JSON]] = {}
    for product in catalogue:
        for word in name_words(str(product.get("name") or "")):
            called.setdefault(word, []).append(product)
    text = text.lower()
    taken: List[Tuple[int, int]] = []
    for word in sorted(called, key=len, reverse=True):
        for match in re.finditer(re.escape(word), text):
            if all(match.end() <= start or match.start() >= end for start, end in taken):
                taken.append(match.span())
    return [called[text[start:end]] for start, end in sorted(taken)]


async def products_compared(text: str, entities: List[JSON],
                            tracker: Tracker) -> List[JSON]:
    """The products (summaries) a message compares; [] when it compares none. Each product
    word counts (the NLU's entities, and the catalogue's names in the text); a word for
    several products compares them when the message asks 「哪个」「区别」; one product named
    with 「跟…比」 is compared with the product talked about."""
    if not (COMPARES.search(text) or JOINS.search(text)):
        return []
    words = [await products_called(str(entity["value"])) for entity in entities
             if entity.get("entity") == "product" and entity.get("value")]
    words += products_in_text(text, await get_backend().find_products(""))
    products: List[JSON] = []
    groups = 0
    for found in words:
        new = [p for p in found if all(p["id"] != known["id"] for known in products)]
        if new:  # not a word for products already named
            products += new
            groups += 1
    if groups < 2:
        if not COMPARES.search(text):
            return []
        talked_about = await product_talked_about(tracker) if JOINS.search(text) else None
        if talked_about and all(p["id"] != talked_about["id"] for p in products):
            products.insert(0, talked_about)
    return products if 2 <= len(products) <= MAX_COMPARED else []


async def comparison_in_context(tracker: Tracker) -> List[JSON]:
    """The products the latest message compares, or, for 「哪个更轻」 right after a
    comparison, the products compared then."""
    latest = tracker.latest_message or {}
    text = str(latest.get("text") or "")
    if text.startswith("/"):  # a button's payload
        return []
    compared = await products_compared(text, latest.get("entities") or [], tracker)
    if compared or not COMPARES.search(text) or named_product_entity(tracker):
        return compared
    session = history.session(tracker.events)
    if not any(history.said_in_last_turns(session, response, turns=1) for response in
               ("utter_product_comparison", "utter_product_differences")):
        return []
    before = session_user_events(tracker)[1:2]
    return [product for event in before for product in await products_compared(
        str(event.get("text") or ""), (event.get("parse_data") or {}).get("entities") or [],
        tracker)]


def compared_facts(question: str, product: JSON, prices: bool) -> List[Any]:
    """What the catalogue says of one product about what a comparison asks."""
    facts = asked_facts(question, product)
    values = product.get("attributes") or {}
    labels = {attr.key: attr.label for attr in attributes()}
    said: List[Any] = [part("utter_product_compared_price", price=money(product.get("price")))
                       ] if prices else []
    if not facts.asked and asked_options(question, product):
        said += [part("utter_product_compared_fact", attribute=name, value="/".join(options))
                 for name, options in (product.get("options") or {}).items()]
    said += [part("utter_product_compared_fact", attribute=attr.label, value=values[attr.key])
             for attr in facts.told]
    said += [part("utter_product_compared_fact", attribute=labels.get(key, key), value=value)
             if key else part("utter_product_compared_description", fact=value)
             for key, value in facts.mentioned]
    return said


def differences(products: List[JSON]) -> List[List[Any]]:
    """For 「有什么区别」: each product's price, what it is (its description's first
    clause) and the attributes they all have but differ in, in the catalogue's order."""
    labels = {attr.key: attr.label for attr in attributes()}
    values = [product.get("attributes") or {} for product in products]
    differ = [key for key in values[0] if all(key in have for have in values[1:])
              and len({str(have[key]) for have in values}) > 1][:MAX_DIFFERENCES]
    return [[part("utter_product_compared_price", price=money(product.get("price"))),
             *CLAUSE_END.split(str(product.get("description") or ""))[:1],
             *(part("utter_product_compared_fact", attribute=labels.get(key, key),
                    value=have[key]) for key in differ)]
            for product, have in zip(products, values, strict=True)]


def compared_lines(products: List[JSON], facts: List[List[Any]]) -> List[Any]:
    return joined([part("utter_product_compared", product=product_label(product),
                        facts=joined([fact for fact in said if fact], "utter_separator_clause")
                        if said else part("utter_product_compared_unknown"))
                   for product, said in zip(products, facts, strict=True)], "utter_separator_line")


def cite_documents(query: str, product: JSON, dispatcher: CollectingDispatcher) -> bool:
    """Answers with the best passage of the shop's documents and names its source."""
    hit = documents.answer(query.strip(), product.get("id"))
    if hit is None:
        return False
    dispatcher.utter_message(response="utter_document_answer", passage=hit.text,
                             source=hit.title)
    return True


# The catalogue's facts a usage answer is made of when the shop has no page for it.
USAGE_FACTS = ("usage", "caution", "care")


class ActionAskUsage(ProductAction):
    """"这个怎么用?": which product, then which kind of help (a clarifying question with
    buttons when the question does not say), answered from the shop's documents."""

    def name(self) -> Text:
        return "action_ask_usage"

    async def answer(self, product: JSON, question: str, tracker: Tracker,
                     dispatcher: CollectingDispatcher) -> Answer:
        attribute = asked_attribute(question, product)
        if attribute and attribute.key not in USAGE_FACTS:
            # 「那怎么保存」 about the coffee: its storage, a catalogue fact, not a manual.
            dispatcher.utter_message(response="utter_product_attribute",
                                     product=product_label(product), attribute=attribute.label,
                                     value=product["attributes"][attribute.key])
            return Answer(RESOLVED, ANSWERED)
        topic = usage_topic(tracker, question)
        if topic is None:
            offered = [key for key, (label, _) in USAGE_TOPICS.items()
                       if label in documents.topics(product["id"])]
            if offered:
                dispatcher.utter_message(
                    response="utter_ask_usage_topic", product=product_label(product),
                    buttons=[{"title": USAGE_TOPICS[key][0],
                              "payload": f'/ask_usage{{"usage_topic": "{key}"}}'}
                             for key in offered])
                return clarifying()
        elif cite_documents(f"{USAGE_TOPICS[topic][0]} {question}", product, dispatcher):
            return Answer(RESOLVED, ANSWERED)
        facts = [product.get("attributes", {}).get(key) for key in USAGE_FACTS]
        facts = [fact for fact in facts if fact]
        if facts:
            dispatcher.utter_message(response="utter_product_usage", product=product_label(product),
                                     facts=";".join(facts))
            return Answer(RESOLVED, ANSWERED)
        dispatcher.utter_message(response="utter_usage_no_info", product=product_label(product))
        return Answer(UNRESOLVED, NO_INFO)


def usage_topic(tracker: Tracker, question: str) -> Optional[str]:
    chosen = next((entity.get("value") for entity in
                   (tracker.latest_message or {}).get("entities", [])
                   if entity.get("entity") == "usage_topic"), None)
    if chosen in USAGE_TOPICS:
        return chosen
    return next((key for key, (_, words) in USAGE_TOPICS.items()
                 if any(word in question for word in words)), None)


def handed_over_in_stretch(tracker: Tracker) -> bool:
    return any(event.get("event") == "slot" and event.get("name") == "handoff" and
               event.get("value") for event in history.stretch(tracker.events))


async def maybe_recommend(tracker: Tracker, dispatcher: CollectingDispatcher,
                          product: JSON) -> List[EventType]:
    """One related product after a pre-sale answer: at most once per session, never to
    an upset customer, during an after-sales matter or a handoff (since an agent handed
    the conversation back, only what the customer said since counts)."""
    if tracker.get_slot("recommended") or tracker.active_loop.get("name") or \
            handed_over_in_stretch(tracker):
        return []
    for event in stretch_user_events(tracker):
        parse = event.get("parse_data") or {}
        if (parse.get("intent") or {}).get("name") in NO_SELLING_INTENTS or \
                (parse.get("emotion") or {}).get("label") in ("anxious", "angry"):
            return []
    try:
        related = await get_backend().related_products(product["id"], limit=1)
    except BackendError as error:
        logger.info("no recommendation: %s", error.code)
        return []
    if not related:
        return []
    item = related[0]
    reason = item.get("reason") or part("utter_recommend_reason")
    payload = f'/product_question{{"product": "{item["id"]}"}}'
    card = {"kind": "product", "id": item["id"], "title": item.get("name"), "subtitle": reason,
            "amount": money(item.get("price")), "image": item.get("image"),
            "payload": payload, "action": part("utter_card_learn_more")}
    dispatcher.utter_message(
        response="utter_recommend", reason=reason, name=item.get("name"),
        price=money(item.get("price")),
        buttons=[{"title": part("utter_button_learn_about", name=item.get("name")),
                  "payload": payload}],
        json_message={"cards": [card]})
    return [SlotSet("recommended", True)]
