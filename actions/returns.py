"""The customer's parcel back to the shop (a return or an exchange): 「退货寄回去了 你们收到没」,
「寄回的单号是中通7531…」. The shop's outbound tracking is not this parcel: the answer comes from
the open after-sale — the waybill recorded, the warehouse's receipt, the refund — and a
waybill given in the chat is recorded for it (POST /api/after-sales/{id}/return-parcel).

`action_order_task` hands such a request to `action_return_parcel`; when that asked for the
waybill, the customer's next message comes back to it (data/rules/orders.yml).
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import aftersales, order_lookup
from actions.backend import BackendError, get_backend
from actions.common import money, part, stretch_user_events
from actions.outcomes import RESOLVED, UNRESOLVED, outcome
from actions.ownership import is_proven, proof
from actions.text import day_words, time_words
from contract import AfterSaleStatus, OrderStatus
from escalation import history

JSON = Dict[str, Any]
# The goods on their way back: 「寄回去了」「退货的快递」「我退的东西你们收到没」「回寄单号」.
RETURN_PARCEL = re.compile(
    r"寄回|寄还|回寄|退回去|发回去|寄给你们|寄到你们|给你们寄|退货(已经|都)?寄|"
    r"(退货|退的|退回的|寄回的|我寄的)(的)?(快递|包裹|件|货|东西|物流|单号|商品)|"
    r"退(的)?货.{0,6}(收到|签收|到了)|(收到|签收)(了)?(我)?(的)?(退货|退的货|退回的)|"
    r"(退|换)(的|掉的|回的|货的)[^，,。?？]{0,8}(到了|到没|收到|签收)")
NOT_SENT_YET = re.compile(
    r"(还|暂时|现在)?(没|没有|未)(寄|发|寄出|发出)|等(下|会|一下)(再)?(寄|发)|明天(再)?(寄|发)")
# A waybill: letters then 10-20 digits, or 10-20 digits; not an order id (18 digits) nor a
# mobile number (11 digits from 13x-19x).
WAYBILL = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{0,4}\d{10,20})(?![A-Za-z0-9])")
ORDER_ID = re.compile(r"\d{18}")
MOBILE = re.compile(r"1[3-9]\d{9}")
COURIERS = {"顺丰": "顺丰", "中通": "中通", "圆通": "圆通", "韵达": "韵达", "申通": "申通",
            "京东": "京东物流", "邮政": "邮政EMS", "EMS": "邮政EMS", "极兔": "极兔"}
PREFIXES = {"SF": "顺丰", "YT": "圆通", "JD": "京东物流", "JT": "极兔"}
OPEN = (AfterSaleStatus.PENDING, AfterSaleStatus.PROCESSING)


def recent_texts(tracker: Tracker) -> List[str]:
    """The customer's messages of the request so far (the form may have asked for the order
    number and the phone tail in between), newest first."""
    return [str(event.get("text") or "") for event in stretch_user_events(tracker)[:4]]


def speaks_of_parcel_back(tracker: Tracker) -> bool:
    return any(RETURN_PARCEL.search(text) for text in recent_texts(tracker))


# 「换货进度怎么样了」「我的售后到哪一步了」「退货处理了吗」: how the open one stands.
ASKS_PROGRESS = re.compile(r"进度|到哪一?步|到什么程度|怎么样了|处理(得|的)?怎么样|处理了(吗|没)|"
                           r"有(结果|进展)了?(吗|没)|什么情况了|审核(了|通过)|到哪了")


def about_the_open_one(tracker: Tracker) -> bool:
    """A return or exchange request (read as `request_exchange` and the like) that is about
    the one already open: its parcel back, a waybill, or how it stands (a new session's
    「换货进度怎么样了」 asked for a reason as if to file another; the seventh probe)."""
    texts = [str(event.get("text") or "") for event in order_lookup.task_messages(tracker)]
    return any(speaks_of_a_parcel_back(text) or ASKS_PROGRESS.search(text) for text in texts)


def about_return_parcel(tracker: Tracker) -> bool:
    """The request speaks of the parcel back, or follows this action's answer (「收到了吗」)."""
    return speaks_of_parcel_back(tracker) or answered_before(tracker)


def latest_text(tracker: Tracker) -> str:
    return str((tracker.latest_message or {}).get("text") or "")


def parcel_back_asked(order: JSON, task: str, tracker: Tracker) -> bool:
    """The request is about the parcel back: it says so, or it gives a waybill
    (「中通75312345678901」) or asks for tracking (「快递单号我不是给过了吗」) of an order being
    returned, whose own delivery is long over."""
    return about_return_parcel(tracker) or (
        order.get("status") == OrderStatus.RETURN_REQUESTED
        and (task == "track" or waybill_in(latest_text(tracker)) is not None))


def is_open(record: JSON) -> bool:
    """A return or exchange still open."""
    return record.get("type") in ("return", "exchange") and record.get("status") in OPEN


async def open_return(order: JSON, tracker: Tracker) -> Optional[JSON]:
    """The order's return or exchange still open, if any."""
    return next(filter(is_open, await get_backend().after_sales(order["id"], proof(tracker))),
                None)


def speaks_of_a_parcel_back(text: str) -> bool:
    """「寄回去了」, a waybill: the customer's parcel back."""
    return bool(RETURN_PARCEL.search(text) or waybill_in(text))


async def parcel_back_in_context(tracker: Tracker) -> bool:
    """「已经寄回了」「中通 7531…」 on their own, while the order talked about has a return or
    an exchange open (right after 「换货申请已提交」): its parcel back, not a message the bot
    did not understand."""
    text = latest_text(tracker)
    order_id = tracker.get_slot("order_id")
    if not speaks_of_a_parcel_back(text) or not order_id or \
            not is_proven(tracker, order_id):
        return False
    try:
        return await open_return({"id": order_id}, tracker) is not None
    except BackendError:
        return False


def waybill_in(text: str) -> Optional[Tuple[Optional[str], str]]:
    """(courier or None, number) of a waybill in the text."""
    for match in WAYBILL.finditer(text):
        number = match.group(1).upper()
        if ORDER_ID.fullmatch(number) or MOBILE.fullmatch(number):
            continue
        named = next((courier for word, courier in COURIERS.items() if word in text.upper()),
                     None)
        prefixed = next((courier for prefix, courier in PREFIXES.items()
                         if number.startswith(prefix)), None)
        return named or prefixed, number
    return None


def next_step(record: JSON) -> Any:
    """What happens once the warehouse signs: the refund, or the new goods sent."""
    if record.get("type") == "exchange":
        return part("utter_return_parcel_next_exchange")
    return part("utter_return_parcel_next_return", refund_time=aftersales.policy().refund_time)


def refund_line(record: JSON) -> Any:
    if record.get("type") != "return" or record.get("refund_amount") is None:
        return ""
    if record.get("status") == AfterSaleStatus.COMPLETED:
        return part("utter_refund_completed", amount=money(record["refund_amount"]),
                    done=day_words(record.get("completed_at")))
    return part("utter_refund_processing", amount=money(record["refund_amount"]),
                expected=day_words(record.get("expected_refund_date")))


async def answer(order: JSON, tracker: Tracker,
                 dispatcher: CollectingDispatcher) -> List[EventType]:
    """The parcel back of the order's open return or exchange: record a waybill given,
    else say what the shop knows of it (or ask for the waybill)."""
    order_id = order["id"]
    records = [record for record in await get_backend().after_sales(order_id, proof(tracker))
               if record.get("type") in ("return", "exchange")]
    current = next((record for record in records if record.get("status") in OPEN), None)
    if current is None:
        done = next((record for record in records
                     if record.get("status") == AfterSaleStatus.COMPLETED), None)
        if done:
            dispatcher.utter_message(response="utter_return_parcel_done",
                                     ticket=done.get("ticket_no") or "",
                                     kind=done.get("type_text") or "", refund=refund_line(done))
            return [outcome(RESOLVED, order_id, "return_parcel_done", "return_parcel", tracker)]
        dispatcher.utter_message(response="utter_return_parcel_none")
        return [outcome(UNRESOLVED, order_id, "no_return", "return_parcel", tracker)]
    ticket = current.get("ticket_no") or ""
    # The newest waybill of the request (「退货寄出了 单号SF…」 before the order and its tail).
    given = next(filter(None, map(waybill_in, recent_texts(tracker))), None)
    if given and given[1] != current.get("return_tracking_no") and \
            not current.get("return_received_at"):
        courier, number = given
        recorded = await get_backend().return_parcel(current["id"], courier, number,
                                                     proof(tracker))
        dispatcher.utter_message(response="utter_return_parcel_noted", ticket=ticket,
                                 waybill=" ".join(filter(None, (recorded.get("return_courier"),
                                                                number))),
                                 next=next_step(current))
        return [outcome(RESOLVED, order_id, "return_parcel_noted", "return_parcel", tracker)]
    if current.get("return_received_at"):
        dispatcher.utter_message(response="utter_return_parcel_received", ticket=ticket,
                                 received=time_words(current["return_received_at"]),
                                 refund=refund_line(current))
        return [outcome(RESOLVED, order_id, "return_parcel_received", "return_parcel", tracker)]
    if current.get("return_tracking_no"):
        waybill = " ".join(filter(None, (current.get("return_courier"),
                                         current["return_tracking_no"])))
        dispatcher.utter_message(response="utter_return_parcel_waiting", ticket=ticket,
                                 waybill=waybill, sent=time_words(current.get("return_sent_at")),
                                 next=next_step(current))
        return [outcome(RESOLVED, order_id, "return_parcel_waiting", "return_parcel", tracker)]
    latest = latest_text(tracker)
    if NOT_SENT_YET.search(latest) or answered_before(tracker):
        dispatcher.utter_message(response="utter_return_parcel_later", ticket=ticket)
    else:
        dispatcher.utter_message(response="utter_return_parcel_ask", ticket=ticket,
                                 kind=current.get("type_text") or "",
                                 next=next_step(current))
    return [outcome(UNRESOLVED, order_id, "waybill_missing", "return_parcel", tracker)]


def answered_before(tracker: Tracker) -> bool:
    """This action answered the customer's previous message (it asked for the waybill, and
    this message gives none: no second request in a row)."""
    actions = [event.get("name") for event in history.previous_turn(tracker.events)
               if event.get("event") == "action" and
               event.get("name") not in ("action_listen", "action_extract_slots")]
    return bool(actions) and actions[0] == "action_return_parcel"


class ActionReturnParcel(Action):
    """The order's parcel back: after action_order_task, or the customer's next message
    after this action asked for the waybill."""

    def name(self) -> Text:
        return "action_return_parcel"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        order_id = tracker.get_slot("order_id")
        if not is_proven(tracker, order_id):
            dispatcher.utter_message(response="utter_return_parcel_which_order")
            return []
        latest = latest_text(tracker)
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if intent == "track_logistics" and answered_before(tracker) and \
                not waybill_in(latest) and not RETURN_PARCEL.search(latest):
            # After the waybill was asked for, a tracking question of another kind
            # (「那我另一单到哪了」): the order form, as without this action before it.
            return [FollowupAction("order_form")]
        try:
            order = await get_backend().order(order_id, proof(tracker))
            return await answer(order, tracker, dispatcher)
        except BackendError as error:
            dispatcher.utter_message(response="utter_backend_message",
                                     problem=f"{error.message.rstrip('。')}。")
            return [outcome(UNRESOLVED, order_id, error.code, "return_parcel", tracker)]
