"""「算了不退了」: the customer withdraws an after-sale filed earlier (task `withdraw` of the
order form). The order is proven like for any task; the bot names the after-sale and asks
for a yes before the shop closes it (POST /api/after-sales/{id}/withdraw). Not once the
goods are on their way back or the new parcel is out: the shop refuses, and says why.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Dict, List, Optional

from rasa_sdk import Tracker

from actions.backend import get_backend
from actions.common import ORDER_TASK_INTENTS, part, stretch_user_events
from actions.ownership import identity_token, proof
from contract import AfterSaleStatus, OrderStatus

JSON = Dict[str, Any]
# 「算了不退了」「退货不退了」「取消退货」「售后申请撤销」「换货不换了」: a filed after-sale
# withdrawn (not 「不退不换」 of a policy question, nor a cancellation's 「退款」).
WITHDRAW = re.compile(r"(?<![能可会])不(?:想|用|要)?(?:退|换)(?:货|款)?了|"
                      r"(?<![别不没])(?<!不要)(?<!不用)(?:取消|撤销|撤回|撤掉)(?:一下|掉)?(?:这个|那个)?(?:退货|"
                      r"换货|售后|退款申请|退换货?|申请)|(?:退货|换货|售后|退款)(?:申请)?(?:不要了|不用了|"
                      r"撤销|撤回|取消)")
OPEN = (AfterSaleStatus.PENDING, AfterSaleStatus.PROCESSING)
KINDS = ("return", "exchange", "resend", "refund")


def asks_to_withdraw(tracker: Tracker, turns: int = 3) -> bool:
    """One of the customer's last messages says so (the order number may have followed),
    and no newer request came after it (「那我现在又想退了」)."""
    for event in stretch_user_events(tracker)[:turns]:
        if WITHDRAW.search(str(event.get("text") or "")):
            return True
        if ((event.get("parse_data") or {}).get("intent") or {}).get("name") \
                in ORDER_TASK_INTENTS:
            return False
    return False


def open_record(record: JSON) -> bool:
    """Open, the goods not sent back, no new parcel out."""
    return record.get("type") in KINDS and record.get("status") in OPEN and \
        not record.get("return_tracking_no") and not record.get("tracking_no")


async def withdrawable(order: JSON, tracker: Tracker) -> Optional[JSON]:
    """The order's latest after-sale that can still be withdrawn (not a refund that
    cancelled the order)."""
    if order.get("status") == OrderStatus.CANCELLED:
        return None
    records = await get_backend().after_sales(order["id"], proof(tracker))
    return next((record for record in records if open_record(record)), None)


async def with_open_after_sale(orders: List[JSON], customer_id: str, tracker: Tracker,
                               which: Callable[[JSON], bool] = open_record) -> List[JSON]:
    """Of a signed-in customer's orders, those with an after-sale she can still withdraw, or
    another `which` (an exchange leaves its order delivered: the state alone does not tell)."""
    backend = get_backend()
    found = []
    for order in orders:
        if order.get("status") not in (OrderStatus.SHIPPED, OrderStatus.DELIVERED,
                                       OrderStatus.RETURN_REQUESTED):
            continue
        proven = await backend.prove_owner(order["id"], customer_id=customer_id,
                                           identity=identity_token(tracker),
                                           client=tracker.sender_id)
        if proven and any(map(which, await backend.after_sales(order["id"], proven))):
            found.append(order)
    return found


def described(record: JSON) -> JSON:
    """「退货退款申请(售后单号AS00000007)」"""
    return part("utter_withdraw_what", kind=record.get("type_text") or "",
                ticket=record.get("ticket_no") or "")


async def withdraw(order: JSON, tracker: Tracker) -> JSON:
    """The answer of task `withdraw`, after the customer's yes (or no)."""
    record = await withdrawable(order, tracker)
    if record is None:
        return part("utter_withdraw_nothing_open", order_id=order["id"])
    if tracker.get_slot("confirmed") is not True:
        return part("utter_withdraw_kept", what=described(record))
    await get_backend().withdraw_after_sale(int(record["id"]), proof(tracker))
    return part("utter_withdraw_done", what=described(record))
