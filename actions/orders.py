"""Order and logistics actions: status, tracking, urge, cancel, address change, refund."""

from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import aftersales, invoices, more, order_lookup, playbook, returns, withdrawal
from actions.backend import BackendError, Conflict, OwnershipRequired, get_backend
from actions.common import (
    HOTLINE,
    empathy_line,
    items_summary,
    joined,
    linked_customer_id,
    money,
    part,
    recent_emotions,
    said_in_session,
    stretch_user_events,
)
from actions.forms import LOCKED_ATTEMPTS, asks_where_sent, stored_address, values_before_this_turn
from actions.outcomes import RESOLVED, UNRESOLVED, outcome
from actions.ownership import identity_token, is_proven, proof
from actions.text import day_words, format_address, mask_phone, time_words
from contract import AfterSaleStatus, OrderStatus, RefundStatus, TrackingState
from escalation import history

logger = logging.getLogger(__name__)

JSON = Dict[str, Any]
TASK_RESET = [SlotSet(slot, None) for slot in (
    "confirmed", "new_address", "invoice_type", "invoice_title", "tax_id", "invoice_email")
] + [SlotSet("failed_attempts", 0.0)]
RETURN_PARCEL_TASKS = ("track", "status", "refund", "urge")


class ActionOrderTask(Action):
    """Runs after order_form: does what the customer asked for the verified order."""

    def name(self) -> Text:
        return "action_order_task"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        events = await self.do_task(dispatcher, tracker)
        if any(isinstance(event, dict) and event.get("event") == "followup" for event in events):
            return events  # another action answers (the parcel back, a handoff)
        # 「耳机到哪了 顺便帮我开个发票」: the tracking, kept while the invoice form ran.
        return [*events, *more.offer_pending(tracker, dispatcher)]

    async def do_task(self, dispatcher: CollectingDispatcher,
                      tracker: Tracker) -> List[EventType]:
        order_id = tracker.get_slot("order_id")
        if not is_proven(tracker, order_id):
            if float(tracker.get_slot("failed_attempts") or 0) >= LOCKED_ATTEMPTS:
                # The shop locked the order: a person checks the customer's identity.
                return [SlotSet("order_id", None), SlotSet("phone_tail", None), *TASK_RESET,
                        FollowupAction("action_escalate")]
            # Never reveal an order whose ownership was not proven in this conversation.
            dispatcher.utter_message(response="utter_order_not_verified", hotline=HOTLINE)
            return [SlotSet("order_id", None), SlotSet("phone_tail", None), *TASK_RESET,
                    outcome(UNRESOLVED, order_id, "verification_failed", "verify", tracker)]
        task = tracker.get_slot("order_task") or "status"
        if task in aftersales.TASKS:
            try:
                order = await get_backend().order(order_id, proof(tracker))
                # 「退货已经寄回去了 单号…」「换货的羽绒服我寄回去了」「换货进度怎么样了」 read as
                # a new return or exchange: the one filed.
                back = returns.about_the_open_one(tracker) and \
                    bool(await returns.open_return(order, tracker))
            except BackendError as error:
                dispatcher.utter_message(response="utter_backend_retry", problem=error.message)
                return [*TASK_RESET, *_forget_proof(error),
                        outcome(UNRESOLVED, order_id, error.code, "order", tracker)]
            if back:
                return [*TASK_RESET, FollowupAction("action_return_parcel")]
            return [*TASK_RESET, *await aftersales.handle(order, tracker, dispatcher)]
        handler = getattr(self, f"_{task}", self._status)
        forget: List[EventType] = []
        result = outcome(RESOLVED, order_id, task, task, tracker)
        try:
            order = await get_backend().order(order_id, proof(tracker))
            if task in RETURN_PARCEL_TASKS and returns.parcel_back_asked(order, task, tracker):
                # The customer's parcel back, not the shop's parcel to them.
                return [*TASK_RESET, FollowupAction("action_return_parcel")]
            reply = await handler(order, tracker)
        except BackendError as error:
            logger.warning("order task %s failed: %s", task, error.code)
            reply = (
                part("utter_order_backend_error", problem=error.message, hotline=HOTLINE)
                if not isinstance(error, Conflict | OwnershipRequired)
                else part("utter_backend_message", problem=error.message)
            )
            forget = _forget_proof(error)
            result = outcome(UNRESOLVED, order_id, error.code, task, tracker)
        dispatcher.utter_message(**reply)
        pending = unconfirmed_before(tracker)
        if pending and pending != task:
            # 「改好了没」「退款多久到」 asked instead of the yes: the change was not made.
            dispatcher.utter_message(response=f"utter_{pending}_not_confirmed")
        if forget:
            # An ownership or conflict failure still counts as an unresolved issue.
            return [*TASK_RESET, *forget, result]
        if task in ("track", "status", "urge"):
            await calm_a_delay(order_id, tracker, dispatcher, urge=task != "urge")
        offer = order_lookup.other_orders_offer(tracker, task)
        if offer:
            dispatcher.utter_message(**offer)
        return [*TASK_RESET, result]

    async def _status(self, order: JSON, tracker: Tracker) -> JSON:
        head = part("utter_order_head", order_id=order["id"], items=items_summary(order),
                    amount=money(order.get("total_amount")))
        status = order.get("status")
        if status == OrderStatus.UNPAID:
            return part("utter_order_unpaid", head=head)
        if status == OrderStatus.PAID:
            ship_by = day_words(order.get("promised_ship_by"))
            return part("utter_order_paid", head=head, ship_by=ship_by)
        if status == OrderStatus.SHIPPED:
            tracking = await get_backend().tracking(order["id"], proof(tracker))
            return part("utter_order_shipped", head=head, tracking=tracking_sentence(tracking))
        if status == OrderStatus.DELIVERED:
            if says_not_received(tracker):
                return await self._track(order, tracker)
            # An item short in it with a resend open (the form filed none): where that is.
            resent = await resend_sentence(order, tracker) if aftersales.missing_item_reason(
                [str(event.get("text") or "") for event in stretch_user_events(tracker)[:3]]
            ) else None
            if resent:
                return resent
            signed = time_words(order.get("delivered_at"))
            return part("utter_order_delivered", head=head, signed=signed)
        if status == OrderStatus.CANCELLED:
            return part("utter_order_cancelled", head=head)
        if status in (OrderStatus.RETURN_REQUESTED, OrderStatus.REFUNDED):
            refund = await get_backend().refund(order["id"], proof(tracker))
            return part("utter_order_state_refund", head=head,
                        state=order.get("status_text"), refund=refund_sentence(refund))
        return part("utter_order_state", head=head, state=order.get("status_text", status))

    async def _track(self, order: JSON, tracker: Tracker) -> JSON:
        if order.get("status") in (OrderStatus.UNPAID, OrderStatus.PAID, OrderStatus.CANCELLED):
            return await self._status(order, tracker)
        resent = await resend_sentence(order, tracker)
        if resent:
            return resent
        tracking = await get_backend().tracking(order["id"], proof(tracker))
        if COURIER_PHONE.search(str((tracker.latest_message or {}).get("text") or "")):
            # 「快递员电话多少」: not the tracking again (the sixth probe) but where to find it.
            courier = tracking.get("courier") or order.get("courier") or ""
            hotline = (await get_backend().policy())["courier_hotlines"].get(courier)
            return part("utter_courier_phone", courier=courier, hotline=part(
                "utter_via_courier_hotline", courier=courier, hotline=hotline) if hotline
                else part("utter_courier_phone_no_hotline", courier=courier))
        if order.get("status") == OrderStatus.DELIVERED and says_not_received(tracker):
            return part("utter_signed_not_received", tracking=tracking_sentence(tracking))
        if tracking.get("delayed") and not upset(tracker):
            return part("utter_track_delayed", tracking=tracking_sentence(tracking),
                        empathy=empathy_line("delay", tracker))
        # Upset about a late parcel: calm_a_delay urges it at once (「跟我说催一下」, then the
        # playbook's 「我们也在催」, contradicted each other).
        return tracking_sentence(tracking)

    async def _urge(self, order: JSON, tracker: Tracker) -> JSON:
        status = order.get("status")
        if status == OrderStatus.UNPAID:
            return part("utter_urge_unpaid")
        if status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED) and \
                NOT_SHIPPED_YET.search(str((tracker.latest_message or {}).get("text") or "")):
            # 「怎么还没发货」 of a parcel on its way (or there): where it is, not an urge.
            return await self._status(order, tracker)
        if status not in (OrderStatus.PAID, OrderStatus.SHIPPED):
            return part("utter_urge_not_needed", state=order.get("status_text"))
        # Read before the urge (a write ends the turn's cache of reads).
        tracking = await get_backend().tracking(order["id"], proof(tracker)) \
            if status == OrderStatus.SHIPPED else {}
        result = await get_backend().urge(order["id"], f"顾客在线催单({status})",
                                          proof(tracker))
        followup = result.get("followup", {})
        ref = part("utter_followup_ref", followup_id=followup["id"]) \
            if followup.get("id") else ""
        if result.get("duplicate"):
            return part("utter_urge_duplicate", ref=ref)
        if status == OrderStatus.PAID:
            ship_by = day_words(order.get("promised_ship_by"))
            return part("utter_urge_warehouse", ref=ref, ship_by=ship_by)
        if tracking.get("eta") and not tracking.get("delayed"):
            # 「能不能快点 急用」 of a parcel on time: when it comes, asked to hurry, no
            # apology for a delay there is not (the sixth probe).
            return part("utter_urge_on_time", ref=ref, courier=order.get("courier") or "快递",
                        eta=day_words(tracking["eta"]))
        if order.get("courier"):
            return part("utter_urge_courier", ref=ref, courier=order["courier"])
        return part("utter_urge_parcel", ref=ref)

    async def _cancel(self, order: JSON, tracker: Tracker) -> JSON:
        if not order.get("can_cancel"):
            return cannot_cancel_sentence(order, (await get_backend().policy())["no_reason_days"])
        if tracker.get_slot("confirmed") is not True:
            return part("utter_cancel_kept")
        await get_backend().cancel(order["id"], "顾客在线申请取消", proof(tracker))
        if order.get("status") == OrderStatus.UNPAID:
            return part("utter_cancel_done", order_id=order["id"])
        paid = money(order.get("total_amount"))
        return part("utter_cancel_done_refund", order_id=order["id"], amount=paid)

    async def _withdraw(self, order: JSON, tracker: Tracker) -> JSON:
        return await withdrawal.withdraw(order, tracker)

    async def _address(self, order: JSON, tracker: Tracker) -> JSON:
        if asks_where_sent(tracker) and not stored_address(tracker):
            return part("utter_order_address",
                        address=format_address(order.get("address") or {}, masked=True),
                        note=part("utter_order_address_can_change")
                        if order.get("can_change_address") else "")
        if not order.get("can_change_address"):
            courier = order.get("courier") or ""
            hotline = (await get_backend().policy())["courier_hotlines"].get(courier)
            via = part("utter_via_courier_hotline", courier=courier, hotline=hotline) \
                if hotline else part("utter_via_courier")
            return part("utter_address_too_late", via=via)
        address = stored_address(tracker)
        if tracker.get_slot("confirmed") is not True or not address:
            return part("utter_address_kept")
        updated = await get_backend().change_address(order["id"], address, proof(tracker))
        shown = format_address(updated.get("address", address), masked=True)
        return part("utter_address_changed", address=shown)

    async def _invoice(self, order: JSON, tracker: Tracker) -> JSON:
        if invoices.asks_status(aftersales.customer_texts(tracker)):
            earlier = await invoices.requested_before(order, tracker)
            if earlier:
                return invoices.status(earlier)
        return await invoices.request(order, tracker)

    async def _refund(self, order: JSON, tracker: Tracker) -> JSON:
        refund = await get_backend().refund(order["id"], proof(tracker))
        if order.get("status") in (OrderStatus.CANCELLED, OrderStatus.UNPAID) and \
                refund.get("status") == RefundStatus.NONE:
            # 「取消了吗 钱退了没」: cancelled (or never paid), so nothing to refund: say so.
            head = part("utter_order_head", order_id=order["id"], items=items_summary(order),
                        amount=money(order.get("total_amount")))
            return part("utter_order_state_refund", head=head, state=order.get("status_text"),
                        refund=refund_sentence(refund))
        return part("utter_order_refund", order_id=order["id"], refund=refund_sentence(refund))

    async def _price(self, order: JSON, tracker: Tracker) -> JSON:
        """价保: the shop compares the order's prices with today's and files a fall."""
        check = await get_backend().price_protection(order["id"], tracker.sender_id,
                                                     proof(tracker))
        claim = check.get("after_sale") or {}
        fallen = [item for item in check["items"] if item["difference"]]
        prices = joined([part("utter_price_fall", name=item["product_name"],
                              paid=money(item["paid_price"]), now=money(item["current_price"]))
                         for item in fallen or check["items"]], "utter_separator_clause")
        if check["outcome"] == "filed":
            return part("utter_price_protection_filed", prices=prices,
                        amount=money(check["amount"]), ticket=claim.get("ticket_no", ""),
                        expected=day_words(claim.get("expected_refund_date")))
        if check["outcome"] == "duplicate":
            return part("utter_price_protection_duplicate", ticket=claim.get("ticket_no", ""),
                        amount=money(check["amount"]), state=claim.get("status_text", ""))
        until = day_words(check.get("until"))
        return part("utter_price_protection_no_drop", prices=prices, days=check["days"],
                    window=part("utter_price_protection_until", until=until) if until
                    else part("utter_price_protection_before_delivery", days=check["days"]))


def _forget_proof(error: BackendError) -> List[EventType]:
    """An expired or refused proof is dropped, so the next question proves ownership again."""
    if isinstance(error, OwnershipRequired):
        return [SlotSet("verified_order_id", None), SlotSet("order_id", None)]
    return []


def upset(tracker: Tracker) -> bool:
    """Anxious or angry in one of the last messages the playbook looks at."""
    return bool(set(recent_emotions(tracker, playbook.RECENT_MESSAGES)) & {"anxious", "angry"})


async def calm_a_delay(order_id: str, tracker: Tracker, dispatcher: CollectingDispatcher,
                       urge: bool = False) -> bool:
    """The playbook's apology (and coupon) when an upset customer's parcel is late; with
    `urge`, the parcel is urged first (the tracking answer offered no 「催一下」)."""
    if not upset(tracker):
        return False  # checked first: most customers are calm, and this saves two calls
    try:
        order = await get_backend().order(order_id, proof(tracker))
        if order.get("status") != OrderStatus.SHIPPED or not (
                await get_backend().tracking(order_id, proof(tracker))).get("delayed"):
            return False
        if urge:
            dispatcher.utter_message(**await ActionOrderTask()._urge(order, tracker))
    except BackendError:
        return False
    return await playbook.apply("delayed_parcel", order, tracker, dispatcher)


# 「多久到账」「钱什么时候退回来」: the money of a refund, not a parcel.
MONEY_BACK = re.compile(r"到账|退回|退款|退钱|钱.{0,6}(?:到|回|退)")
# 「要多久能到」「几天能收到」: the customer asks when it arrives, not when it leaves.
ASKS_ARRIVAL = re.compile(
    r"(多久|几天|多少天|多长时间|什么时候|啥时候|哪天|几号).{0,4}(到|收到|送达)|到货|能到吗|送到.{0,2}要")


class ActionAskShippingTime(Action):
    """"什么时候发货": the customer's own order if there is one, else the shop promise;
    「要多久能到」 also gets how long the parcel travels once it leaves (unless it has left:
    then the tracking says)."""

    def name(self) -> Text:
        return "action_ask_shipping_time"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        # The issue key: `shipping_time:<order id>` for an order's own date, else
        # `shipping_time:promise` (a product's or the shop's general promise).
        try:
            reply, order_id, operation = await self._answer(tracker)
        except BackendError as error:
            logger.warning("shipping time lookup failed: %s", error.code)
            dispatcher.utter_message(response="utter_ship_promise")
            return [outcome(UNRESOLVED, "shipping_time:promise", error.code, "shipping_time",
                            tracker)]
        dispatcher.utter_message(**(reply or part("utter_ship_promise")))
        if operation not in ("tracking", "refund") and \
                ASKS_ARRIVAL.search(str((tracker.latest_message or {}).get("text") or "")):
            dispatcher.utter_message(response="utter_delivery_days")
        key = f"shipping_time:{order_id or 'promise'}"
        return [outcome(RESOLVED, key, "shipping_time", operation, tracker)]

    async def _answer(self, tracker: Tracker) -> Tuple[Optional[JSON], Optional[str], str]:
        """The answer (None: the general promise), the order it is about, the backend call."""
        backend = get_backend()
        order_id = tracker.get_slot("order_id")
        text = str((tracker.latest_message or {}).get("text") or "")
        if is_proven(tracker, order_id) and MONEY_BACK.search(text):
            # 「多久到账」 after a refund or 价保 was filed: the money, not the parcel.
            refund = await backend.refund(order_id, proof(tracker))
            return (part("utter_order_refund", order_id=order_id, refund=refund_sentence(refund)),
                    order_id, "refund")
        if is_proven(tracker, order_id):
            order = await backend.order(order_id, proof(tracker))
            if order.get("status") == OrderStatus.PAID:
                return (part("utter_ship_time_order", order_id=order_id,
                             ship_by=day_words(order.get("promised_ship_by"))), order_id, "order")
            resent = await resend_sentence(order, tracker)
            if resent:  # 「多久能收到新的」 after an exchange: the new goods, not the order's
                return resent, order_id, "after_sales"
            if order.get("status") in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
                tracking = await backend.tracking(order_id, proof(tracker))
                return (part("utter_ship_time_shipped", order_id=order_id,
                             tracking=tracking_sentence(tracking)), order_id, "tracking")
        customer_id = await linked_customer_id(tracker)
        if customer_id:
            orders = await backend.customer_orders(customer_id, limit=10)
            # 「耳机今天能到吗」: the order with the goods named (not the newest unshipped
            # one, a keyboard: the fifth probe), proven as the order form proves it.
            named = order_lookup.the_one_named(orders, tracker.latest_message or {})
            if named and named.get("status") in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
                proven = await backend.prove_owner(
                    named["id"], customer_id=customer_id, identity=identity_token(tracker),
                    client=tracker.sender_id)
                if proven:
                    tracking = await backend.tracking(named["id"], proven)
                    return (part("utter_ship_time_shipped", order_id=named["id"],
                                 tracking=tracking_sentence(tracking)), named["id"], "tracking")
            for order in [named] if named else orders:  # never another order than named
                if order.get("status") == OrderStatus.PAID:
                    return (part("utter_ship_time_customer_order", order_id=order["id"],
                                 items=items_summary(order),
                                 ship_by=day_words(order.get("promised_ship_by"))),
                            order["id"], "customer_orders")
        product = tracker.get_slot("product")
        if product:
            matches = await backend.find_products(product)
            if matches:
                promise = await backend.ship_promise(matches[0]["id"])
                return (part("utter_ship_time_product", product=matches[0]["name"],
                             promise=promise.get("text")), None, "ship_promise")
        return None, None, "none"


class ActionAskOrderId(Action):
    """Asks for the order number, each time differently (never the same request three
    times in a row): linked customers pick from their recent orders (narrowed by the
    product or date they named); anyone can instead give the phone used for the order
    plus the product or the order date (actions/order_lookup.py)."""

    def name(self) -> Text:
        return "action_ask_order_id"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        failures = int(tracker.get_slot("failed_attempts") or 0)
        phone, product, day = order_lookup.clues(tracker)
        customer_id = await linked_customer_id(tracker)
        # An invoice or refund-time question is often asked before anything else: its
        # general answer once, then the order.
        intro = (opener(tracker) or upset_opener(tracker)) if not failures else ""
        if customer_id:
            task = tracker.get_slot("order_task") if not failures else None
            if task in ("cancel", *aftersales.TASKS) and withdrawal.asks_to_withdraw(tracker):
                task = "withdraw"  # 「算了不退了」: the order being returned, not a paid one
            elif task in aftersales.TASKS and returns.about_the_open_one(tracker):
                task = "open"  # 「换货进度怎么样了」: the orders with a return or exchange open
            ask, shown = await self._linked(customer_id, failures, product, day, task, tracker)
        else:
            # 「订单号忘了」 as the first word: no point asking for the number first.
            step = max(failures, 1) if order_lookup.says_no_number(tracker) else failures
            ask, shown = await self._anonymous(step, phone, product, day)
        if said_twice_in_a_row(tracker, ask["response"]):
            # Worded differently the third time: back to the order after questions the
            # bot answered, the last request only after failed turns.
            asks, resume = (LINKED_ASKS, "utter_ask_order_pick_resume") if customer_id else \
                (ANONYMOUS_ASKS, "utter_ask_order_id_resume")
            ask = part(resume if failures < 2 and not said_twice_in_a_row(tracker, resume)
                       else asks[-1])
        # Channels that draw cards (the web chat) show the cards instead of the buttons.
        dispatcher.utter_message(response="utter_ask_in_context", note=out_of_scope_note(tracker),
                                 intro=intro, ask=ask,
                                 buttons=order_lookup.order_buttons(shown) or None,
                                 json_message={"cards": order_lookup.order_cards(shown)}
                                 if shown else None)
        return []

    @staticmethod
    async def _linked(customer_id: str, failures: int, product: Optional[str],
                      day: Optional[Any], task: Optional[str] = None,
                      tracker: Optional[Tracker] = None) -> Tuple[JSON, List[JSON]]:
        try:
            orders = await get_backend().customer_orders(customer_id, limit=10)
        except BackendError:
            orders = []
        matches = order_lookup.narrow(orders, product, day) if product or day else []
        clue = order_lookup.clue_words(product, day) if product or day else ""
        if not (product or day) and (task in TASK_STATES or task in ("withdraw", "open")):
            # 「退款到哪了」 with one order being returned: that one, to confirm; the orders
            # the task fits come first in any list. 「换货不换了」: the orders with an
            # after-sale open; 「换货进度怎么样了」: those with a return or exchange open.
            fitting = [order for order in orders
                       if order.get("status") in TASK_STATES.get(task or "", ())]
            if task in ("withdraw", "open") and tracker is not None:
                try:
                    fitting = await withdrawal.with_open_after_sale(
                        orders, customer_id, tracker,
                        withdrawal.open_record if task == "withdraw" else returns.is_open)
                except BackendError:
                    fitting = []
            # Several fit (「怎么还不发货」 with two paid orders): those only, not the unpaid
            # ones that cannot be urged.
            orders = fitting if len(fitting) > 1 else \
                fitting + [order for order in orders if order not in fitting]
            if len(fitting) == 1:
                matches = fitting
                clue = part("utter_clue_state", state=fitting[0].get("status_text", ""))
        if len(matches) == 1:
            return part("utter_ask_order_is_it", clue=clue), matches
        if matches:
            return part("utter_ask_order_which", count=len(matches), clue=clue), matches[:4]
        if not orders:
            return part(ANONYMOUS_ASKS[min(failures, 2)]), []
        if product or day:
            return part("utter_ask_order_none_like", clue=clue), orders[:4]
        return part(LINKED_ASKS[min(failures, 2)]), orders[:4]

    @staticmethod
    async def _anonymous(failures: int, phone: Optional[str], product: Optional[str],
                         day: Optional[Any]) -> Tuple[JSON, List[JSON]]:
        if phone and not (product or day):
            return part("utter_ask_order_phone_received"), []
        if phone:
            try:
                found = await get_backend().lookup_orders(
                    phone, product, day.isoformat() if day else None)
            except BackendError:
                found = []
            clue = order_lookup.clue_words(product, day)
            if found:
                return part("utter_ask_order_phone_which", count=len(found), clue=clue), \
                    found[:4]
            return part("utter_ask_order_phone_none", clue=clue), []
        return part(ANONYMOUS_ASKS[min(failures, 2)]), []


class ActionAskPhoneTail(Action):
    """The ownership question, worded differently on each retry."""

    def name(self) -> Text:
        return "action_ask_order_form_phone_tail"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        failures = int(tracker.get_slot("failed_attempts") or 0)
        if failures < 2 and rejected_this_turn(tracker) & PHONE_TAIL_REJECTIONS:
            return []  # the rejection just said what is needed: no second request
        if not failures:
            dispatcher.utter_message(response="utter_ask_order_form_phone_tail")
        else:
            dispatcher.utter_message(response="utter_ask_in_context", intro="",
                                     note=out_of_scope_note(tracker),
                                     ask=part(PHONE_TAIL_ASKS[min(failures, 2) - 1]))
        return []


PHONE_TAIL_REJECTIONS = {"utter_reject_phone_tail", "utter_reject_phone_tail_unknown",
                         "utter_reject_phone_tail_mismatch"}


def rejected_this_turn(tracker: Tracker) -> set:
    """The responses the bot has sent since the customer's latest message."""
    said: set = set()
    for event in reversed(tracker.events):
        if history.kind(event) == "user":
            break
        if history.kind(event) == "bot":
            said |= history.responses_in(event)
    return said


# The states of the orders a task is usually about (a linked customer's first question).
TASK_STATES = {"refund": (OrderStatus.RETURN_REQUESTED,), "track": (OrderStatus.SHIPPED,),
               "urge": (OrderStatus.PAID,), "cancel": (OrderStatus.UNPAID, OrderStatus.PAID),
               "address": (OrderStatus.UNPAID, OrderStatus.PAID)}
# Each retry asks differently (domain.yml: the questions after failed attempts).
PHONE_TAIL_ASKS = ("utter_ask_phone_tail_again", "utter_ask_phone_tail_last")
ANONYMOUS_ASKS = ("utter_ask_order_id", "utter_ask_order_id_without_number",
                  "utter_ask_order_id_last")
LINKED_ASKS = ("utter_ask_order_pick", "utter_ask_order_pick_again", "utter_ask_order_pick_last")


def out_of_scope_note(tracker: Tracker) -> Any:
    """Inside a form an out-of-scope question is a failed turn (no rule answers it
    there), but the customer still learns that the bot cannot answer it."""
    intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
    return part("utter_out_of_scope_note") if intent == "out_of_scope" else ""


ASKS_RETURN_ADDRESS = re.compile(r"(退货|退回|寄回|退换货?)地址|寄回?到?哪|退到哪")
ASKS_RETURN_POLICY = re.compile(r"无理由|(能|可以|能不能|可不可以|支持)退[吗么嘛]?|退得了")


def opener(tracker: Tracker) -> Any:
    """The general answer said before the first request for the order, once a session:
    invoices can be issued; refunds arrive within the policy's time (「退款多久到账」);
    a parcel signed for but not received is looked up (「显示签收了但我没收到」), one without
    tracking yet explained (「物流没信息」); the shop's own
    fault (「发错货了」「少了个充电器」) is owned, with the postage on the shop;
    where returns go (「退货地址是哪里」) and the return policy (「七天无理由能退吗」)."""
    task = tracker.get_slot("order_task")
    text = str((tracker.latest_message or {}).get("text") or "")
    if task == "invoice" and not said_in_session(tracker, "utter_invoice_intro"):
        # 「发票开好了吗」 asks after an invoice, not whether there can be one.
        return "" if invoices.asks_status([text]) else part("utter_invoice_intro")
    if task == "refund" and not said_in_session(tracker, "utter_refund_intro"):
        return part("utter_refund_intro", refund_time=aftersales.policy().refund_time)
    if task in ("track", "status") and SIGNED.search(text) and \
            aftersales.parcel_news(text) == aftersales.PARCEL_NOT_RECEIVED and \
            not said_in_session(tracker, "utter_not_received_intro"):
        return part("utter_not_received_intro")
    if task in ("track", "status") and NO_TRACKING_YET.search(text) and \
            not said_in_session(tracker, "utter_no_tracking_yet_intro"):
        return part("utter_no_tracking_yet_intro")
    # 「收到了但是少了一件」 read as a status or tracking question is the missing item too.
    reason = aftersales.policy().reason_in([text]) if task in aftersales.TASKS else \
        aftersales.missing_item_reason([text]) if task in ("track", "status") else None
    if reason and reason.shipping == "seller" and \
            not said_in_session(tracker, "utter_seller_fault_intro"):
        cost = "resend" if reason.kind == "resend" else "return"
        return part("utter_seller_fault_intro", reason=reason.label,
                    cost=part(f"utter_seller_fault_cost_{cost}"))
    if task in ("return", "exchange"):
        rules = aftersales.policy()
        if ASKS_RETURN_ADDRESS.search(text) and \
                not said_in_session(tracker, "utter_return_address_intro"):
            return part("utter_return_address_intro", address=rules.return_address,
                        days=rules.send_back_days)
        # Asked later inside the form, 「能退吗」 is answered by the form's validation.
        started_here = ((tracker.active_loop or {}).get("trigger_message") or {}).get("text") \
            in (None, text)
        if ASKS_RETURN_POLICY.search(text) and started_here and \
                not said_in_session(tracker, "utter_faq/seven_day_return"):
            return part("utter_faq/seven_day_return")
    return ""


# 「快递员电话多少」「派送员电话」: the courier's phone, which the shop does not have.
COURIER_PHONE = re.compile(r"(快递员|快递小哥|派件员|派送员|配送员|送货员|快递)(的)?"
                           r"(电话|手机|联系方式)")
# The parcel the shop sends again: a resend's, or an exchange's new goods (「多久能收到新的」).
RESEND = re.compile(r"补发|补寄|重发|重新发|新的|换的|换货的|换好的|换过的")
NOT_SHIPPED_YET = re.compile(r"(没|不|没有)(发货|发出|发)(呢|啊|吗)?|发货了[吗没]")
SIGNED = re.compile(r"签收|已签|签了")
# 「显示已发货但是物流没信息」: a parcel the courier has not scanned yet.
NO_TRACKING_YET = re.compile(r"(物流|快递|单号).{0,4}(没信息|没有信息|查不到|没记录|没有记录)"
                             r"|没有物流|没物流")


def says_not_received(tracker: Tracker, messages: int = 3) -> bool:
    """Whether the customer's last messages say the parcel never reached them
    (「快递显示签收了但是我没收到」「不是我签的」; the newest that says anything about it
    decides). An item short in a parcel that came (「收到了但是少了一件」「只收到一个
    另一个没收到」) is not that: the order form takes it as the missing item's after-sale."""
    return aftersales.news_of_the_parcel(
        [str(event.get("text") or "") for event in stretch_user_events(tracker)[:messages]]
    ) == aftersales.PARCEL_NOT_RECEIVED


UPSET_SITUATIONS = {"urge": "not_shipped", "track": "delay", "status": "delay",
                    "quality": "quality"}


def upset_opener(tracker: Tracker) -> Any:
    """「为什么还不发货 都三天了」: an anxious or angry customer hears the brand's empathic line
    before the request for the order (once a session), not the bare request."""
    situation = UPSET_SITUATIONS.get(tracker.get_slot("order_task") or "")
    if situation is None or recent_emotions(tracker, messages=1) not in (["anxious"], ["angry"]) \
            or said_in_session(tracker, "utter_empathy_first"):
        return ""
    return part("utter_empathy_first", line=empathy_line(situation, tracker))


class ActionAskInvoiceType(Action):
    """The order form's question for the invoice type, with a button per type.
    「发票开好了吗」 about an order the shop has no invoice of goes on to a new request
    (`invoices.slots_needed`): that is said first, once a session, instead of asking as if
    nothing had been asked."""

    def name(self) -> Text:
        return "action_ask_order_form_invoice_type"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        if invoices.asks_status(aftersales.customer_texts(tracker)) and \
                not said_in_session(tracker, "utter_invoice_none_yet"):
            try:
                if not await invoices.requested_before({"id": tracker.get_slot("order_id")},
                                                       tracker):
                    dispatcher.utter_message(response="utter_invoice_none_yet")
            except BackendError:
                pass  # unknown: nothing said about it
        # 「公司的 南京…有限公司 税号…」 before the type: what was taken, then the type again
        # in other words (not 「这个问题刚才已经回复过了」: the sixth probe).
        before = values_before_this_turn(tracker)
        noted = [part(f"utter_invoice_noted_{name}", title=tracker.get_slot(name))
                 for name in ("invoice_title", "tax_id", "invoice_email")
                 if tracker.get_slot(name) and tracker.get_slot(name) != before.get(name)]
        if noted:
            dispatcher.utter_message(response="utter_invoice_details_noted",
                                     details=joined(noted, "utter_separator_list"))
        again = said_twice_in_a_row(tracker, "utter_ask_order_form_invoice_type")
        dispatcher.utter_message(
            response="utter_ask_invoice_type_again" if again else
            "utter_ask_order_form_invoice_type", buttons=[
                {"title": part(f"utter_invoice_type_{kind}"),
                 "payload": f'/inform{{"invoice_type": "{kind}"}}'}
                for kind in invoices.INVOICE_TYPES])
        return []


CONFIRMATIONS = {"utter_ask_confirm_address": "address", "utter_ask_confirm_cancel": "cancel",
                 "utter_ask_confirm_cancel_unpaid": "cancel",
                 "utter_ask_confirm_withdraw": "withdraw"}


def unconfirmed_before(tracker: Tracker) -> Optional[str]:
    """The task (address, cancel) whose confirmation the bot asked for just before the
    latest message, when the customer did not say yes."""
    if tracker.get_slot("confirmed") is True:
        return None
    for event in history.previous_turn(tracker.events):
        if history.kind(event) == "bot":
            for response in history.responses_in(event):
                if response in CONFIRMATIONS:
                    return CONFIRMATIONS[response]
    return None


def said_twice_in_a_row(tracker: Tracker, response: str) -> bool:
    """Whether the bot's replies to each of the customer's last two messages (since the
    session started or an agent handed it back) already contained this domain response."""
    return history.said_in_last_turns(history.stretch(tracker.events), response)


class ActionAskConfirmed(Action):
    """Spells out what will happen before an order is changed."""

    def name(self) -> Text:
        return "action_ask_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        order_id = tracker.get_slot("order_id")
        if tracker.get_slot("order_task") == "address":
            address = stored_address(tracker) or {}
            # The street in full, for the customer to check; the phone masked as everywhere
            # the bot writes one (transcripts reach the desk and the data radar).
            shown = {**address, "phone": mask_phone(address.get("phone"))}
            dispatcher.utter_message(response="utter_ask_confirm_address", order_id=order_id,
                                     address=format_address(shown))
            return []
        if tracker.get_slot("order_task") == "withdraw":  # 「算了不退了」: which one, and yes?
            try:
                record = await withdrawal.withdrawable(
                    await get_backend().order(order_id, proof(tracker)), tracker)
            except BackendError:
                record = None
            dispatcher.utter_message(response="utter_ask_confirm_withdraw", order_id=order_id,
                                     what=withdrawal.described(record) if record else "")
            return []
        if tracker.get_slot("order_task") in aftersales.TASKS:  # 「…能退吗」: how, and yes?
            dispatcher.utter_message(response="utter_ask_confirm_aftersale",
                                     how=aftersales.how_it_is_handled(tracker))
            return []
        response = "utter_ask_confirm_cancel"
        try:
            order = await get_backend().order(order_id, proof(tracker))
            unpaid = order.get("status") == OrderStatus.UNPAID  # nothing paid or refunded
            what: Any = part("utter_order_what_unpaid" if unpaid else "utter_order_what",
                             items=items_summary(order), amount=money(order.get("total_amount")))
            if unpaid:
                response = "utter_ask_confirm_cancel_unpaid"
        except BackendError:
            what = ""
        dispatcher.utter_message(response=response, order_id=order_id, what=what)
        return []


async def resend_sentence(order: JSON, tracker: Tracker) -> Optional[JSON]:
    """Where the shop's new parcel is (a resend of missing or broken goods, an exchange's
    new goods): when the customer asks about it (「补发的单号多少」「多久能收到新的」), or when
    the order itself was delivered and a resend or exchange is still open."""
    asked = any(RESEND.search(str(event.get("text") or ""))
                for event in stretch_user_events(tracker)[:3])
    if not asked and order.get("status") != OrderStatus.DELIVERED:
        return None
    wanted = (AfterSaleStatus.PENDING, AfterSaleStatus.PROCESSING) + \
        ((AfterSaleStatus.COMPLETED,) if asked else ())
    resends = [record for record in await get_backend().after_sales(order["id"], proof(tracker))
               if record.get("type") in ("resend", "exchange") and record.get("status") in wanted]
    if not resends:
        return None
    latest = resends[-1]
    what = latest.get("type_text") or ""
    if latest.get("tracking_no"):
        return part("utter_resend_shipped", what=what, courier=latest.get("courier") or "",
                    tracking_no=latest["tracking_no"], ticket=latest.get("ticket_no") or "",
                    shipped=time_words(latest.get("shipped_at")))
    if latest.get("type") == "exchange" and not latest.get("return_received_at"):
        return part("utter_exchange_awaits_return", ticket=latest.get("ticket_no") or "")
    return part("utter_resend_waiting", what=what, ticket=latest.get("ticket_no") or "")


def tracking_sentence(tracking: JSON) -> JSON:
    state = tracking.get("state")
    courier = " ".join(filter(None, [tracking.get("courier"), tracking.get("tracking_no")]))
    latest = tracking.get("latest_event") or (tracking.get("events") or [None])[0]
    if state == TrackingState.NOT_SHIPPED or not latest:
        ship_by = day_words(tracking.get("promised_ship_by"))
        return part("utter_tracking_not_shipped_by", ship_by=ship_by) if ship_by \
            else part("utter_tracking_not_shipped")
    event = f"{time_words(latest.get('time'))} {latest.get('description', '')}".strip()
    if state == TrackingState.DELIVERED:
        return part("utter_tracking_signed", courier=courier, event=event)
    where = tracking.get("current_location") or latest.get("location") or ""
    eta = tracking.get("eta")
    eta_note: Any = ""
    if eta and not tracking.get("delayed"):
        eta_note = part("utter_tracking_eta", eta=day_words(eta))
    elif eta:
        eta_note = part("utter_tracking_eta_passed", eta=day_words(eta))
    if where:
        return part("utter_tracking_at", courier=courier, where=where, event=event,
                    eta_note=eta_note)
    return part("utter_tracking_latest", courier=courier, event=event, eta_note=eta_note)


def refund_sentence(refund: JSON) -> JSON:
    status = refund.get("status")
    amount = refund.get("amount")
    if status == RefundStatus.PROCESSING:
        return part("utter_refund_processing", amount=money(amount),
                    expected=day_words(refund.get("expected_date")))
    if status == RefundStatus.COMPLETED:
        done = day_words(refund.get("completed_at"))
        return part("utter_refund_completed", amount=money(amount), done=done)
    return part("utter_refund_none")


def cannot_cancel_sentence(order: JSON, no_reason_days: int) -> JSON:
    """`no_reason_days`: the shop's window for returns without a reason."""
    status = order.get("status")
    if status == OrderStatus.SHIPPED:
        return part("utter_cancel_too_late_shipped", days=no_reason_days)
    if status == OrderStatus.DELIVERED:
        return part("utter_cancel_too_late_delivered", days=no_reason_days)
    return part("utter_cancel_not_allowed", state=order.get("status_text", status))
