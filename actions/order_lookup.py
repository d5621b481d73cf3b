"""Finding the order when the customer has no order number.

Asked for the number, customers often answer 「没有订单号」, 「我买的羽绒服」, 「就昨天下的单」
or a phone number. Instead of asking for the number again (a loop), the order form:
- shows a linked customer's recent orders, narrowed by the product or date they named;
- looks an anonymous customer's order up by the phone they give plus a product name or
  an order date (the backend's `lookup_orders` applies the ownership rule: the phone must
  be the ordering customer's, and a phone alone lists nothing);
- and otherwise counts a failed attempt, so the third one hands over (`repeated_failure`).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any, Dict, List, Optional, Set, Tuple

from rasa_sdk import Tracker

from actions.common import items_summary, money, part, session_user_events
from actions.text import address_in, parse_day, today

JSON = Dict[str, Any]

PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
NO_NUMBER = re.compile(
    r"(没有|没|不知道|找不到|忘了|忘记|记不得|记不清|不记得|查不到|看不到|不清楚|哪里有|在哪)"
    r".{0,4}(订单号|单号|订单编号|编号)|(订单号|单号).{0,4}(没有|找不到|不知道|哪知道|不晓得|"
    r"哪晓得|忘了|在哪|哪里)|手机号.{0,3}(查|找)|用手机|没有单|不会查|你们自己(查|看)|你们(查|看)不到")
# 「我买的羽绒服什么时候到」 -> 羽绒服: what follows 买的/买了/订的 up to a particle or verb.
BOUGHT = re.compile(r"(?:买的|买了|订的|下单的|拍的|拍了)(?:一[个件台双条只套])?"
                    r"(?!什么|怎么|啥|咋|还|到|呢|吗|啊|呀|的|了)"
                    r"([\u4e00-\u9fffA-Za-z0-9]{2,10}?)"
                    r"(?=什么|怎么|啥|咋|还|到|呢|吗|啊|呀|的|了|，|,|。|！|!|？|\?|\s|$)")
# 「我买的东西咋还没到」: bought, but no product named.
GENERIC_GOODS = {"东西", "宝贝", "商品", "货物", "快递", "包裹", "那个", "这个", "订单", "单子"}
# 「对 就是这个」「嗯」: yes to the one order the bot offered.
YES_THIS_ONE = re.compile(r"(?:对|是|嗯+|恩|没错|就是|确认|好)[的啊呀哦]?\s*"
                          r"(?:就是)?(?:这个|这单|它)?[的啊呀哦!！~。.\s]*")
# 「好的 那大概还要几天呢」「对 就是这个,什么时候到」: yes to it first, then more about it.
YES_THEN_MORE = re.compile(r"(?:对|是的?|嗯+|恩|没错|就是(?:这个|它)|确认|好的?)(?:就是)?"
                           r"(?:这个|这单|它)?[的啊呀哦]?[\s,，。.!！~]+\S")
NOT_THIS_ONE = re.compile(r"不是|不对|别的|另一|另外|其他|其它")
ORDER_IN_PAYLOAD = re.compile(r'"order_id"\s*:\s*"(\d{18})"')
# 「第二个」「最后那个」: an order by its place in the list the bot showed.
ORDINAL = re.compile(r"(?:第(?P<n>[一二三四1-4])|(?P<top>最上面)|(?P<last>最后|最下面))"
                     r"(?:个|单|那|一个|条|\s*$)")
# 「没付款那个」: an order by its state, as the shop names it in the button (status_text).
STATE_WORDS = ((r"(没|未|还没)付款?|待付款|没付钱", "待付款"),
               (r"(没|未|还没)发货|待发货", "待发货"), (r"已经?发货|在路上", "已发货"),
               (r"已经?签收|收到了的|已收到", "已签收"), (r"退款中|退货中", "退货中"))
MONTH_DAY = re.compile(r"(?:(\d{4})[年./-])?(\d{1,2})\s*(?:月|[./-])\s*(\d{1,2})\s*(?:日|号)?")
RELATIVE_DAYS = {"今天": 0, "昨天": 1, "前天": 2, "大前天": 3}
RELATIVE_DAY = re.compile("|".join(sorted(RELATIVE_DAYS, key=len, reverse=True)))
RECENT_MESSAGES = 4


# 「那另一个单0012的退款呢」「尾号0012的订单」「0012那单」: an order by its last digits.
ORDER_SUFFIX = re.compile(r"(?:单号?|订单号?|尾号)\s*(?:是|为)?\s*(\d{4,6})(?!\d)"
                          r"|(?<!\d)(\d{4,6})\s*(?:的|那个?|这个?)?(?:订单|单子|单)")
PHONE_WORDS = re.compile(r"手机|电话|号码")


def suffix_in(text: str) -> Optional[str]:
    """The last digits of an order number the message names it by, or None."""
    if PHONE_WORDS.search(text):
        return None
    found = ORDER_SUFFIX.search(text)
    return (found.group(1) or found.group(2)) if found else None


def phone_in(texts: List[str]) -> Optional[str]:
    """A mobile number to look orders up by; not the one written in a new address
    (「改地址 张伟浙江省…90号 13812345678」: the recipient's phone)."""
    for text in texts:
        found = PHONE.search(text.replace(" ", "").replace("-", ""))
        if found and address_in([text]) is None:
            return found.group(0)
    return None


# A day is the order's date when the words around it say so (「昨天下的单」「订单是前天的」)
# or when it is the whole answer (「昨天」「11月20号」): 「昨天刚收到的」「今天一看降价了」 are not.
ORDERED_AFTER = re.compile(r"^.{0,4}?(?:下单|下的单|买的|买了|拍的|拍了|订的|付的款|付款|购买|"
                           r"的单|的订单|那单|那个单)")
ORDERED_BEFORE = re.compile(r"(?:下单|订单|单子|买|拍|订)[^，,。!?！？\s]{0,4}$")
BARE_DAY = re.compile(r"[\s,，。.!！?？~]|是|在|的|吧|啊|呀|大概|应该|好像|左右|下单|那天")


def names_order_day(text: str, start: int, end: int) -> bool:
    return bool(ORDERED_AFTER.match(text[end:]) or ORDERED_BEFORE.search(text[:start])) or \
        not BARE_DAY.sub("", text[:start] + text[end:])


def date_in(texts: List[str], reference: Optional[date] = None) -> Optional[date]:
    """The order date the customer's messages name (newest first), or None."""
    reference = reference or today()
    for text in texts:
        for word in RELATIVE_DAY.finditer(text):
            if names_order_day(text, word.start(), word.end()):
                return reference - timedelta(days=RELATIVE_DAYS[word.group(0)])
        found = MONTH_DAY.search(text)
        if found and not PHONE.search(text[max(found.start() - 11, 0):found.end()]) and \
                names_order_day(text, found.start(), found.end()):
            year = int(found.group(1) or reference.year)
            try:
                day = date(year, int(found.group(2)), int(found.group(3)))
            except ValueError:
                continue
            if day > reference and not found.group(1):
                day = day.replace(year=year - 1)  # 「12月20号」 in January: last year
            return day
    return None


def product_in(events: List[JSON]) -> Optional[str]:
    """A product the customer named: the NLU's product entity, else 「买的X」."""
    for event in events:
        for entity in (event.get("parse_data") or {}).get("entities") or []:
            if entity.get("entity") == "product" and entity.get("value"):
                return str(entity["value"])[:30]
        for found in BOUGHT.finditer(event.get("text") or ""):
            if found.group(1) not in GENERIC_GOODS:
                return found.group(1)
    return None


def offered_orders(tracker: Tracker) -> List[Tuple[str, str]]:
    """(order id, button title) of each order the bot's last message offered, before the
    customer's latest message."""
    seen_latest = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_latest:
                return []
            seen_latest = True
        elif event.get("event") == "bot" and seen_latest:
            offered: List[Tuple[str, str]] = []
            for button in (event.get("data") or {}).get("buttons") or []:
                found = ORDER_IN_PAYLOAD.search(str(button.get("payload") or ""))
                if found and found.group(1) not in dict(offered):
                    offered.append((found.group(1), str(button.get("title") or "")))
            return offered
    return []


def picked_order(tracker: Tracker, text: str, affirmed: bool = False,
                 goes_on: bool = False) -> Optional[str]:
    """The offered order the customer's words pick, as a click would: yes to the only one
    (「对 就是这个」), its place in the list (「第二个」「最后那个」) or its state
    (「没付款那个」「已经发货的」) when exactly one offered order has it. `goes_on`: the
    message carries on with the request (「换M」「寄回去了 什么时候退钱」), which about the
    only order offered is a yes unless it says no or names another order or product."""
    offered = offered_orders(tracker)
    if not offered:
        return None
    text = text.strip()
    if len(offered) == 1 and (affirmed or YES_THIS_ONE.fullmatch(text) or (
            YES_THEN_MORE.match(text) and not NOT_THIS_ONE.search(text))):
        return offered[0][0]
    if len(offered) == 1 and goes_on and not NOT_THIS_ONE.search(text) and \
            not suffix_in(text) and not names_other_goods(tracker, offered[0][1]):
        return offered[0][0]
    place = ORDINAL.search(text)
    if place:
        number = place.group("n")
        index = (int(number) if number.isdigit() else "_一二三四".index(number)) - 1 \
            if number else 0 if place.group("top") else -1
        return offered[index][0] if -len(offered) <= index < len(offered) else None
    states = {state for words, state in STATE_WORDS if re.search(words, text)}
    chosen = [order for order, title in offered if any(state in title for state in states)]
    return chosen[0][0] if len(chosen) == 1 else None


def names_other_goods(tracker: Tracker, title: str) -> bool:
    """The latest message names a product (NLU entity) that the order's button title does
    not show."""
    named = [str(entity.get("value") or "") for entity in
             (tracker.latest_message or {}).get("entities") or []
             if entity.get("entity") == "product"]
    return bool(named) and not any(name in title or title_item(title) in name
                                   for name in named if name)


def title_item(title: str) -> str:
    """「361204587712340021 男士轻薄羽绒服等2件商品 已签收」 -> 男士轻薄羽绒服."""
    words = title.split()
    return re.sub(r"等\d+件商品$", "", words[1]) if len(words) > 1 else title


def recent(tracker: Tracker) -> List[JSON]:
    """The customer's last few messages (newest first), without button payloads."""
    return [event for event in session_user_events(tracker)[:RECENT_MESSAGES]
            if not (event.get("text") or "").startswith("/")]


FILLER = re.compile(r"下单|手机号?码?|电话|号码|我的|我是|用的|是|买的|买了|东西|订单号?|单号|没有|"
                    r"不知道|查一?下|帮我|麻烦|谢谢|的|了|吗|呢|啊|哦|[\s\d,，。.!！?？:：、~]")


def rest_beside_phone(text: str) -> Optional[str]:
    """「13812345678 牛仔裤」: the words sent with a phone number name the product."""
    if not PHONE.search(text.replace(" ", "")) or date_in([text]):
        return None
    rest = FILLER.sub("", text)
    return rest if 2 <= len(rest) <= 12 else None


# A product named in a question about it (「等下 先问下 耳机是不是支持降噪的」 while the bot
# asks which order to cancel) does not say which order: it had turned a cancellation of the
# unpaid order to the shipped earphones' order.
PRODUCT_QUESTIONS = {"product_question", "ask_usage", "ask_size", "ask_promotion"}


def clues(tracker: Tracker) -> Tuple[Optional[str], Optional[str], Optional[date]]:
    """(phone, product, order date) from the customer's recent messages."""
    events = recent(tracker)
    texts = [event.get("text") or "" for event in events]
    about_orders = [event for event in events
                    if ((event.get("parse_data") or {}).get("intent") or {}).get("name")
                    not in PRODUCT_QUESTIONS]
    product = product_in(about_orders) or \
        next(filter(None, map(rest_beside_phone, texts)), None)
    return phone_in(texts), product, date_in(texts)


def says_no_number(tracker: Tracker) -> bool:
    latest = (recent(tracker) or [{}])[0].get("text") or ""
    return bool(NO_NUMBER.search(latest))


def item_matches(order: JSON, product: str) -> bool:
    for item in order.get("items") or []:
        name = str(item.get("name") or "")
        noun = re.sub(r"[A-Za-z0-9 ]+$", "", name)  # 蓝牙耳机Pro -> 蓝牙耳机
        if name and (product in name or name in product or
                     any(len(noun) >= size and noun[-size:] in product for size in (4, 3, 2))):
            return True
    return False


def narrow(orders: List[JSON], product: Optional[str], day: Optional[date]) -> List[JSON]:
    if product:
        orders = [order for order in orders if item_matches(order, product)]
    if day:
        orders = [order for order in orders
                  if (created := parse_day(order.get("created_at"))) and
                  abs((created - day).days) <= 1]
    return orders


# 「没付款那个订单能取消吗」「已经签收的那单」: the state points at an order (「怎么还没发货」
# only says what is wrong with it).
STATE_POINTED = r"(?:的)?(?:那个|那单|那笔|那一单|订单|单子)"


def states_pointed(text: str) -> Set[str]:
    """The states (status_text) the message points at an order by."""
    return {state for words, state in STATE_WORDS
            if re.search(f"(?:{words}){STATE_POINTED}", text)}


def the_one_named(orders: List[JSON], latest: JSON) -> Optional[JSON]:
    """The one order (of a signed-in customer's own) that the message itself names without
    doubt: one product (「我的空气炸锅到哪了」), state (「没付款那个订单能取消吗」) or order
    date, and exactly one order has it. None for a message with no such clue, a product
    question, two products, a 「不是…」/「另一个」, or none or several orders fitting: those
    are offered to pick (a guess is confirmed, never acted on)."""
    text = str(latest.get("text") or "")
    intent = (latest.get("intent") or {}).get("name")
    if not text or text.startswith("/") or intent in PRODUCT_QUESTIONS or \
            NOT_THIS_ONE.search(text) or suffix_in(text):
        return None
    named = {str(entity.get("value")) for entity in latest.get("entities") or []
             if entity.get("entity") == "product" and entity.get("value")}
    if len(named) > 1:
        return None  # 「耳机那个到哪了 还有键盘…」: more than one order is meant
    product = product_in([{"text": text, "parse_data": latest}])
    states = states_pointed(text)
    day = date_in([text])
    if not (product or states or day):
        return None
    fitting = narrow(orders, product, day)
    if states:
        fitting = [order for order in fitting if order.get("status_text") in states]
    return fitting[0] if len(fitting) == 1 else None


def order_buttons(orders: List[JSON]) -> List[Dict[str, str]]:
    return [{"title": f"{order['id']} {items_summary(order)} {order.get('status_text', '')}",
             "payload": f'/inform{{"order_id":"{order["id"]}"}}'} for order in orders]


def order_cards(orders: List[JSON]) -> List[JSON]:
    """The same orders as cards, for channels that draw them (the web chat)."""
    return [{"kind": "order", "id": order["id"], "title": items_summary(order),
             "subtitle": order.get("status_text", ""), "amount": money(order.get("total_amount")),
             "image": None, "payload": f'/inform{{"order_id":"{order["id"]}"}}',
             "action": part("utter_card_pick_order")} for order in orders]


def clue_words(product: Optional[str], day: Optional[date]) -> JSON:
    """What the customer said about the order, as the {clue} of the order questions (a
    response, actions.common.part)."""
    if not product and not day:
        return part("utter_clue_any")
    return part("utter_clue", day=part("utter_clue_day", month=day.month, day=day.day)
                if day else "", product=part("utter_clue_product", product=product)
                if product else "")


# The order form acts on one order (the last number of a message). 「0001和0002都到哪了」:
# the other numbers named since the previous task get a button each that asks the same for
# them, which runs the form again (ownership checked as for any order).
OTHER_ORDER_TASKS = {"status": ("query_order_status", "查订单"),
                     "track": ("track_logistics", "查物流"),
                     "urge": ("urge_delivery", "催发货"),
                     "refund": ("query_refund_progress", "查退款"),
                     "invoice": ("ask_invoice", "开发票"),
                     "cancel": ("cancel_order", "取消订单")}
MAX_OTHER_ORDERS = 3


def task_messages(tracker: Tracker) -> List[JSON]:
    """The customer's messages since the previous order task (those of this one), newest
    first."""
    found: List[JSON] = []
    for event in reversed(tracker.events):
        if event.get("event") == "action" and event.get("name") == "action_order_task":
            break
        if event.get("event") == "user":
            found.append(event)
    return found


def other_orders_named(tracker: Tracker, order_id: Optional[str]) -> List[str]:
    """Order numbers of this task's messages other than the order it acted on, in the order
    they were written."""
    named = [re.sub(r"\D", "", str(entity.get("value") or ""))
             for event in reversed(task_messages(tracker))
             for entity in (event.get("parse_data") or {}).get("entities") or []
             if entity.get("entity") == "order_id"]
    return list(dict.fromkeys(value for value in named
                              if len(value) == 18 and value != order_id))[:MAX_OTHER_ORDERS]


def other_orders_offer(tracker: Tracker, task: str) -> Optional[JSON]:
    """「您还提到了订单尾号0002…」 with a button per other order, for a task that takes any
    order (not the after-sales ones, which ask about the goods)."""
    intent, verb = OTHER_ORDER_TASKS.get(task, (None, ""))
    others = other_orders_named(tracker, tracker.get_slot("order_id")) if intent else []
    if not others:
        return None
    return {"response": "utter_other_orders_offer",
            "orders": "、".join(f"尾号{order_id[-4:]}" for order_id in others),
            "buttons": [{"title": f"{verb} 尾号{order_id[-4:]}",
                         "payload": f'/{intent}{{"order_id":"{order_id}"}}'}
                        for order_id in others]}
