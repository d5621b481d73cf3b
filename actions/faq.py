"""FAQ answers that know the conversation (rules: faq -> action_answer_faq).

The response selector picks the topic from the message alone. Two topics depend on what the
conversation is about, which only the tracker knows:

- `faq/restock_notice` 「什么时候补货」 while a sold-out product is the one talked about (the
  `product_id` slot, or the product page the customer writes from): that product's restock
  day (`products.stock_answer`). A product in stock, or none known: the general answer.
- `faq/price_protection` 「有价保吗」: the policy, then, for a logged-in customer, 「请问是哪个
  订单呢?」 with her orders that are still within it as buttons (not yet delivered, or
  delivered within the shop's window, GET /api/policy); for anyone else 「把订单号发给我…」.
  Picking an order or sending its number gets it checked for a price fall (task `price`,
  `forms.price_protection_task`).

Every topic is also answered with its own response, as `utter_faq` would, so the data radar
counts it resolved like any FAQ answer (analytics/facts.py reads the response name).
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.backend import BackendError, get_backend
from actions.common import linked_customer_id, part
from actions.order_lookup import order_buttons
from actions.outcomes import RESOLVED, outcome
from actions.products import JSON, attributes, product_in_context, product_label, stock_answer
from actions.text import parse_day, today
from contract import OrderStatus
from escalation import history

logger = logging.getLogger(__name__)
MAX_ORDERS = 3
# 「到货能通知我吗」: to be told, not when (「什么时候补货」 gets the restock day again).
NOTIFY = re.compile(r"通知|提醒|告诉我|说一声")
BEFORE_DELIVERY = (OrderStatus.PAID, OrderStatus.SHIPPED)


def faq_topic(tracker: Tracker) -> Optional[str]:
    """`faq/restock_notice` etc.: the response selector's pick for the latest message."""
    selector = (tracker.latest_message.get("response_selector") or {}).get("faq") or {}
    key = (selector.get("response") or {}).get("intent_response_key")
    return str(key) if key else None


async def sold_out_product(tracker: Tracker) -> Optional[JSON]:
    """The product the conversation is about (`products.product_in_context`), when it is
    sold out."""
    try:
        product = await product_in_context(tracker)
    except BackendError as error:
        logger.info("restock answer without the product: %s", error)
        return None
    return product if product is not None and product.get("stock", 0) <= 0 else None


def within_price_protection(order: JSON, days: int) -> bool:
    if order.get("status") in BEFORE_DELIVERY:
        return True
    delivered = parse_day(order.get("delivered_at"))
    return order.get("status") == OrderStatus.DELIVERED and delivered is not None and \
        today() - delivered <= timedelta(days=days)


async def price_protection_orders(tracker: Tracker) -> List[JSON]:
    customer_id = await linked_customer_id(tracker)
    if not customer_id:
        return []
    backend = get_backend()
    try:
        orders = await backend.customer_orders(customer_id, limit=10)
        days = int((await backend.policy())["price_protection_days"])
    except BackendError as error:
        logger.info("price protection without the customer's orders: %s", error.code)
        return []
    return [order for order in orders if within_price_protection(order, days)][:MAX_ORDERS]


# Topics a product's own catalogue fact answers better than the shop's general text: the
# charger's 「18个月质保」, not the FAQ's 「数码和家电类商品享受1年质保」 (the fifth probe).
PRODUCT_FACTS = {"faq/warranty": "warranty"}


async def product_fact(tracker: Tracker, dispatcher: CollectingDispatcher,
                       key: str) -> Optional[List[EventType]]:
    """The fact of the product the conversation is about, when it has one; None otherwise."""
    try:
        product = await product_in_context(tracker)
    except BackendError as error:
        logger.info("FAQ answer without the product: %s", error)
        return None
    value = ((product or {}).get("attributes") or {}).get(key)
    if product is None or not value:
        return None
    label = next((attr.label for attr in attributes() if attr.key == key), key)
    dispatcher.utter_message(response="utter_product_attribute", product=product_label(product),
                             attribute=label, value=value)
    return [outcome(RESOLVED, f"product:{product['id']}", key, "product", tracker)]


class ActionAnswerFaq(Action):
    def name(self) -> Text:
        return "action_answer_faq"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        topic = faq_topic(tracker)
        if topic is None:  # a faq intent without a selection (never seen): ask again
            dispatcher.utter_message(response="utter_not_understood")
            return []
        if topic == "faq/restock_notice":
            product = await sold_out_product(tracker)
            if product is not None:  # not an FAQ text: its outcome is recorded here
                answer = stock_answer(product)
                if NOTIFY.search(str(tracker.latest_message.get("text") or "")) and \
                        history.said_in_last_turns(tracker.events, answer["response"], turns=1):
                    # 「啥时候补货」 then 「到货能通知我吗」: yes, and how (not the same text
                    # again, nor 「这个问题刚才已经回复过了」: the fifth probe).
                    answer = part("utter_restock_notice_yes", product=product["name"])
                dispatcher.utter_message(**answer)
                return [outcome(RESOLVED, f"product:{product['id']}", "restock", "product",
                                tracker)]
        if topic in PRODUCT_FACTS:
            events = await product_fact(tracker, dispatcher, PRODUCT_FACTS[topic])
            if events is not None:
                return events
        dispatcher.utter_message(response=f"utter_{topic}")
        if topic == "faq/price_protection":
            orders = await price_protection_orders(tracker)
            if orders:  # 「请问是哪个订单呢?点选下面的订单,或直接发订单号给我:」
                dispatcher.utter_message(response="utter_ask_order_pick",
                                         buttons=order_buttons(orders))
            else:
                dispatcher.utter_message(response="utter_price_protection_ask_order")
        return []
