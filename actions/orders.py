"""Order and logistics actions: status, tracking, urge, cancel, address change, refund."""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import aftersales, invoices, order_lookup, playbook
from actions.backend import BackendError, Conflict, OwnershipRequired, get_backend
from actions.common import (
    HOTLINE,
    empathy_line,
    items_summary,
    linked_customer_id,
    money,
    recent_emotions,
)
from actions.forms import LOCKED_ATTEMPTS, stored_address
from actions.outcomes import RESOLVED, UNRESOLVED, outcome
from actions.ownership import is_proven, proof
from actions.text import day_words, format_address, time_words
from contract import OrderStatus, RefundStatus, TrackingState

logger = logging.getLogger(__name__)

JSON = Dict[str, Any]
TASK_RESET = [SlotSet(slot, None) for slot in (
    "confirmed", "new_address", "invoice_type", "invoice_title", "tax_id", "invoice_email")
] + [SlotSet("failed_attempts", 0.0)]


class ActionOrderTask(Action):
    """Runs after order_form: does what the customer asked for the verified order."""

    def name(self) -> Text:
        return "action_order_task"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        order_id = tracker.get_slot("order_id")
        if not is_proven(tracker, order_id):
            if float(tracker.get_slot("failed_attempts") or 0) >= LOCKED_ATTEMPTS:
                # The shop locked the order: a person checks the customer's identity.
                return [SlotSet("order_id", None), SlotSet("phone_tail", None), *TASK_RESET,
                        FollowupAction("action_escalate")]
            # Never reveal an order whose ownership was not proven in this conversation.
            dispatcher.utter_message(
                text="抱歉,多次核对都没有成功,为了保护订单隐私,我这边没法继续查询了。"
                f"您可以登录下单账号后再来咨询,或拨打客服热线{HOTLINE}。"
            )
            return [SlotSet("order_id", None), SlotSet("phone_tail", None), *TASK_RESET,
                    outcome(UNRESOLVED, order_id, "verification_failed", "verify", tracker)]
        task = tracker.get_slot("order_task") or "status"
        if task in aftersales.TASKS:
            try:
                order = await get_backend().order(order_id, proof(tracker))
            except BackendError as error:
                dispatcher.utter_message(text=f"{error.message},请稍后再试一次哦。")
                return [*TASK_RESET, *_forget_proof(error),
                        outcome(UNRESOLVED, order_id, error.code, "order", tracker)]
            return [*TASK_RESET, *await aftersales.handle(order, tracker, dispatcher)]
        handler = getattr(self, f"_{task}", self._status)
        forget: List[EventType] = []
        result = outcome(RESOLVED, order_id, task, task, tracker)
        try:
            order = await get_backend().order(order_id, proof(tracker))
            text = await handler(order, tracker)
        except BackendError as error:
            logger.warning("order task %s failed: %s", task, error.code)
            text = (
                f"{error.message},请稍后再试一次哦。急的话可以拨打客服热线{HOTLINE}。"
                if not isinstance(error, Conflict | OwnershipRequired) else error.message
            )
            forget = _forget_proof(error)
            result = outcome(UNRESOLVED, order_id, error.code, task, tracker)
        dispatcher.utter_message(text=text)
        if forget:
            # An ownership or conflict failure still counts as an unresolved issue.
            return [*TASK_RESET, *forget, result]
        if task in ("track", "status", "urge"):
            await calm_a_delay(order_id, tracker, dispatcher)
        return [*TASK_RESET, result]

    async def _status(self, order: JSON, tracker: Tracker) -> str:
        head = f"订单{order['id']}({items_summary(order)},实付{money(order.get('total_amount'))})"
        status = order.get("status")
        if status == OrderStatus.UNPAID:
            return f"{head}还没有付款哦,付款后我们会尽快安排发货。"
        if status == OrderStatus.PAID:
            ship_by = day_words(order.get("promised_ship_by"))
            return f"{head}已付款,正在等待仓库发货,预计{ship_by}前发出。"
        if status == OrderStatus.SHIPPED:
            tracking = await get_backend().tracking(order["id"], proof(tracker))
            return f"{head}已发货。{tracking_sentence(tracking)}"
        if status == OrderStatus.DELIVERED:
            signed = time_words(order.get("delivered_at"))
            return f"{head}已于{signed}签收。商品有任何问题都可以跟我说哦。"
        if status == OrderStatus.CANCELLED:
            return f"{head}已取消。如果付过款,款项会原路退回。"
        if status in (OrderStatus.RETURN_REQUESTED, OrderStatus.REFUNDED):
            refund = await get_backend().refund(order["id"], proof(tracker))
            return f"{head}当前状态:{order.get('status_text')}。{refund_sentence(refund)}"
        return f"{head}当前状态:{order.get('status_text', status)}。"

    async def _track(self, order: JSON, tracker: Tracker) -> str:
        if order.get("status") in (OrderStatus.UNPAID, OrderStatus.PAID, OrderStatus.CANCELLED):
            return await self._status(order, tracker)
        tracking = await get_backend().tracking(order["id"], proof(tracker))
        text = tracking_sentence(tracking)
        if tracking.get("delayed"):
            text += (f"\n{empathy_line('delay', tracker)}"
                     "需要的话跟我说「催一下」,我马上帮您登记加急。")
        return text

    async def _urge(self, order: JSON, tracker: Tracker) -> str:
        status = order.get("status")
        if status == OrderStatus.UNPAID:
            return "这个订单还没有付款哦,付款后仓库才会安排发货。"
        if status not in (OrderStatus.PAID, OrderStatus.SHIPPED):
            return f"订单当前状态是{order.get('status_text')},不需要催发货啦。"
        result = await get_backend().urge(order["id"], f"顾客在线催单({status})",
                                          proof(tracker))
        followup = result.get("followup", {})
        ref = f"(跟进单号{followup['id']})" if followup.get("id") else ""
        if result.get("duplicate"):
            return f"这个订单已经在加急处理中了{ref},有进展会第一时间通知您,请您放心~"
        if status == OrderStatus.PAID:
            ship_by = day_words(order.get("promised_ship_by"))
            return f"已帮您催促仓库优先发货{ref},预计{ship_by}前发出,发货后可以随时找我查物流。"
        courier = order.get("courier") or "快递"
        return f"已联系{courier}加急派送{ref},有新动态会第一时间通知您,给您添麻烦了🙏"

    async def _cancel(self, order: JSON, tracker: Tracker) -> str:
        if not order.get("can_cancel"):
            return cannot_cancel_sentence(order, (await get_backend().policy())["no_reason_days"])
        if tracker.get_slot("confirmed") is not True:
            return "好的,订单为您保留,没有取消。"
        await get_backend().cancel(order["id"], "顾客在线申请取消", proof(tracker))
        if order.get("status") == OrderStatus.UNPAID:
            return f"订单{order['id']}已取消。"
        paid = money(order.get("total_amount"))
        return f"订单{order['id']}已取消,实付{paid}会在1-3个工作日内原路退回,请留意到账通知。"

    async def _address(self, order: JSON, tracker: Tracker) -> str:
        if not order.get("can_change_address"):
            courier = order.get("courier") or ""
            hotline = (await get_backend().policy())["courier_hotlines"].get(courier)
            via = f"拨打{courier}客服{hotline}" if hotline else "联系快递员"
            return (f"包裹已经发出啦,系统里改不了地址了😥 您可以:1) {via}申请改派到新地址;"
                    "2) 拒收后重新下单,拒收的订单会全额退款。")
        address = stored_address(tracker)
        if tracker.get_slot("confirmed") is not True or not address:
            return "好的,收货地址保持不变。"
        updated = await get_backend().change_address(order["id"], address, proof(tracker))
        shown = format_address(updated.get("address", address), masked=True)
        return f"地址已修改成功,新的收货信息:{shown}。"

    async def _invoice(self, order: JSON, tracker: Tracker) -> str:
        return await invoices.request(order, tracker)

    async def _refund(self, order: JSON, tracker: Tracker) -> str:
        refund = await get_backend().refund(order["id"], proof(tracker))
        return f"订单{order['id']}:{refund_sentence(refund)}"


def _forget_proof(error: BackendError) -> List[EventType]:
    """An expired or refused proof is dropped, so the next question proves ownership again."""
    if isinstance(error, OwnershipRequired):
        return [SlotSet("verified_order_id", None), SlotSet("order_id", None)]
    return []


async def calm_a_delay(order_id: str, tracker: Tracker, dispatcher: CollectingDispatcher) -> bool:
    """The playbook's apology (and coupon) when an upset customer's parcel is late."""
    if not set(recent_emotions(tracker, playbook.RECENT_MESSAGES)) & {"anxious", "angry"}:
        return False  # checked first: most customers are calm, and this saves two calls
    try:
        order = await get_backend().order(order_id, proof(tracker))
        if order.get("status") != OrderStatus.SHIPPED or not (
                await get_backend().tracking(order_id, proof(tracker))).get("delayed"):
            return False
    except BackendError:
        return False
    return await playbook.apply("delayed_parcel", order, tracker, dispatcher)


class ActionAskShippingTime(Action):
    """"什么时候发货": the customer's own order if there is one, else the shop promise."""

    def name(self) -> Text:
        return "action_ask_shipping_time"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        # The issue key: `shipping_time:<order id>` for an order's own date, else
        # `shipping_time:promise` (a product's or the shop's general promise).
        try:
            text, order_id, operation = await self._answer(tracker)
        except BackendError as error:
            logger.warning("shipping time lookup failed: %s", error.code)
            dispatcher.utter_message(text=GENERAL_SHIP_PROMISE)
            return [outcome(UNRESOLVED, "shipping_time:promise", error.code, "shipping_time",
                            tracker)]
        dispatcher.utter_message(text=text or GENERAL_SHIP_PROMISE)
        key = f"shipping_time:{order_id or 'promise'}"
        return [outcome(RESOLVED, key, "shipping_time", operation, tracker)]

    async def _answer(self, tracker: Tracker) -> Tuple[Optional[str], Optional[str], str]:
        """The answer (None: the general promise), the order it is about, the backend call."""
        backend = get_backend()
        order_id = tracker.get_slot("order_id")
        if is_proven(tracker, order_id):
            order = await backend.order(order_id, proof(tracker))
            if order.get("status") == OrderStatus.PAID:
                return (f"您的订单{order_id}预计{day_words(order.get('promised_ship_by'))}前发货。",
                        order_id, "order")
            if order.get("status") in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
                tracking = await backend.tracking(order_id, proof(tracker))
                return (f"您的订单{order_id}已经发货啦。{tracking_sentence(tracking)}",
                        order_id, "tracking")
        customer_id = await linked_customer_id(tracker)
        if customer_id:
            for order in await backend.customer_orders(customer_id, limit=10):
                if order.get("status") == OrderStatus.PAID:
                    return (f"您的订单{order['id']}({items_summary(order)})预计"
                            f"{day_words(order.get('promised_ship_by'))}前发货,发货后我会及时更新物流。",
                            order["id"], "customer_orders")
        product = tracker.get_slot("product")
        if product:
            matches = await backend.find_products(product)
            if matches:
                promise = await backend.ship_promise(matches[0]["id"])
                return f"{matches[0]['name']}:{promise.get('text')}", None, "ship_promise"
        return None, None, "none"


GENERAL_SHIP_PROMISE = (
    "现货商品16点前付款当天发货,16点后付款次日发出;预售商品以商品页标注的时间为准。"
    "如果您已经下单,把订单号发给我,我帮您查具体发货时间。")


# An invoice question is often asked before anything else: answered once, then the order.
INVOICE_INTRO = "可以开的~电子普通发票和增值税专用发票都能开。"


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
        intro = INVOICE_INTRO if tracker.get_slot("order_task") == "invoice" and \
            not failures and not said_in_session(tracker, INVOICE_INTRO) else ""
        if customer_id:
            text, shown = await self._linked(customer_id, failures, product, day)
        else:
            text, shown = await self._anonymous(failures, phone, product, day)
        if said_twice_in_a_row(tracker, intro + text):
            text = ANONYMOUS_ASKS[-1] if not customer_id else LINKED_ASKS[-1]
        # Channels that draw cards (the web chat) show the cards instead of the buttons.
        dispatcher.utter_message(text=out_of_scope_note(tracker) + intro + text,
                                 buttons=order_lookup.order_buttons(shown) or None,
                                 json_message={"cards": order_lookup.order_cards(shown)}
                                 if shown else None)
        return []

    @staticmethod
    async def _linked(customer_id: str, failures: int, product: Optional[str],
                      day: Optional[Any]) -> Tuple[str, List[JSON]]:
        try:
            orders = await get_backend().customer_orders(customer_id, limit=10)
        except BackendError:
            orders = []
        matches = order_lookup.narrow(orders, product, day) if product or day else []
        if len(matches) == 1:
            return (f"是这个{order_lookup.clue_words(product, day)}的订单吗?点一下确认,"
                    "或者直接发订单号给我:", matches)
        if matches:
            return (f"找到{len(matches)}个{order_lookup.clue_words(product, day)}的订单,"
                    "是哪一个呢?点选一下就好:", matches[:4])
        if not orders:
            return ANONYMOUS_ASKS[min(failures, 2)], []
        if product or day:
            return (f"没找到{order_lookup.clue_words(product, day)}的订单哦,您最近的订单在下面,"
                    "点选一下,或者直接发订单号给我:", orders[:4])
        return LINKED_ASKS[min(failures, 2)], orders[:4]

    @staticmethod
    async def _anonymous(failures: int, phone: Optional[str], product: Optional[str],
                         day: Optional[Any]) -> Tuple[str, List[JSON]]:
        if phone and not (product or day):
            return ("收到手机号~ 再告诉我买的是什么商品,或者大概哪天下的单,我帮您查。", [])
        if phone:
            try:
                found = await get_backend().lookup_orders(
                    phone, product, day.isoformat() if day else None)
            except BackendError:
                found = []
            clue = order_lookup.clue_words(product, day)
            if found:
                return f"这个手机号下有{len(found)}个{clue}的订单,是哪一个呢?", found[:4]
            return (f"这个手机号下没有查到{clue}的订单😥 请确认是下单时用的手机号,"
                    "或者换个商品名/下单日期试试,也可以直接发18位订单号。", [])
        return ANONYMOUS_ASKS[min(failures, 2)], []


class ActionAskPhoneTail(Action):
    """The ownership question, worded differently on each retry."""

    def name(self) -> Text:
        return "action_ask_order_form_phone_tail"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        failures = int(tracker.get_slot("failed_attempts") or 0)
        if not failures:
            dispatcher.utter_message(response="utter_ask_order_form_phone_tail")
        else:
            dispatcher.utter_message(
                text=out_of_scope_note(tracker) + PHONE_TAIL_ASKS[min(failures, 2) - 1])
        return []


PHONE_TAIL_ASKS = (
    "还需要核对一下下单手机号的后4位哦,就是下单时填的手机号最后4个数字,比如 5678。",
    "最后再核对一次:请发下单手机号的后4位数字;还对不上的话我就请人工客服帮您。",
)
ANONYMOUS_ASKS = (
    "麻烦发一下订单号哦(18位数字,在「我的订单」-订单详情里可以复制)。",
    "没有订单号也没关系~ 发一下下单用的手机号(11位),再告诉我买的是什么商品或者大概哪天下的单,"
    "我帮您查。",
    "抱歉还是没能确定是哪个订单😥 可以发18位订单号,或者「下单手机号+商品名」,"
    "比如「13812345678 羽绒服」;再不行我就请人工客服帮您。",
)
LINKED_ASKS = (
    "请问是哪个订单呢?点选下面的订单,或直接发订单号给我:",
    "还没确定是哪个订单哦~ 点选下面的订单,或者告诉我买的是什么商品、大概哪天下的单:",
    "抱歉还是没对上是哪个订单😥 请点选下面的订单或发18位订单号;再不行我就请人工客服帮您。",
)


def out_of_scope_note(tracker: Tracker) -> str:
    """Inside a form an out-of-scope question is a failed turn (no rule answers it
    there), but the customer still learns that the bot cannot answer it."""
    intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
    return "这个问题小蜜暂时回答不了哦😅 " if intent == "out_of_scope" else ""


def said_in_session(tracker: Tracker, text: str) -> bool:
    """Whether a bot message of this session contained this text (as it was sent)."""
    from actions import _polish

    sent = _polish(text)
    for event in reversed(tracker.events):
        if event.get("event") == "session_started":
            return False
        if event.get("event") == "bot" and sent in (event.get("text") or ""):
            return True
    return False


def said_twice_in_a_row(tracker: Tracker, text: str) -> bool:
    """Whether the bot's replies to each of the customer's last two messages already
    contained this text (after the brand tone, as it was sent)."""
    from actions import _polish

    sent = _polish(text)
    turns: List[set] = []  # the bot's texts after each customer message, newest first
    for event in reversed(tracker.events):
        if event.get("event") == "session_started":
            break
        if event.get("event") == "user":
            turns.append(set())
            if len(turns) > 2:
                break
        elif event.get("event") == "bot" and turns:
            turns[-1].add(event.get("text"))
    # turns[0]: the replies to the message before the latest, turns[1]: the one before.
    return len(turns) >= 2 and all(sent in replies for replies in turns[:2])


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
            text = f"确认把订单{order_id}的收货地址改为:{format_address(address)} 吗?"
        else:
            try:
                order = await get_backend().order(order_id, proof(tracker))
                what = f"({items_summary(order)},实付{money(order.get('total_amount'))})"
            except BackendError:
                what = ""
            text = f"确认取消订单{order_id}{what}吗?取消后无法恢复,已付款项会原路退回。"
        dispatcher.utter_message(
            text=text,
            buttons=[{"title": "确认", "payload": "/affirm"},
                     {"title": "再想想", "payload": "/deny"}],
        )
        return []


def tracking_sentence(tracking: JSON) -> str:
    state = tracking.get("state")
    courier = " ".join(filter(None, [tracking.get("courier"), tracking.get("tracking_no")]))
    latest = tracking.get("latest_event") or (tracking.get("events") or [None])[0]
    if state == TrackingState.NOT_SHIPPED or not latest:
        ship_by = day_words(tracking.get("promised_ship_by"))
        return f"包裹还没有发出,预计{ship_by}前发货。" if ship_by else "包裹还没有发出哦。"
    event = f"{time_words(latest.get('time'))} {latest.get('description', '')}".strip()
    if state == TrackingState.DELIVERED:
        return f"{courier}显示已签收:{event}。"
    where = tracking.get("current_location") or latest.get("location") or ""
    text = f"{courier}最新动态:{event}。"
    if where:
        text = f"您的包裹({courier})目前在{where}。最新动态:{event}。"
    eta = tracking.get("eta")
    if eta and not tracking.get("delayed"):
        text += f"预计{day_words(eta)}送达。"
    elif eta:
        text += f"原预计{day_words(eta)}送达,目前已经晚了。"
    return text


def refund_sentence(refund: JSON) -> str:
    status = refund.get("status")
    amount = refund.get("amount")
    if status == RefundStatus.PROCESSING:
        return (f"退款{money(amount)}正在处理中,预计{day_words(refund.get('expected_date'))}前"
                "原路退回到您的付款账户。")
    if status == RefundStatus.COMPLETED:
        done = day_words(refund.get("completed_at"))
        return f"退款{money(amount)}已于{done}原路退回,请查看付款账户的到账记录。"
    return "这个订单目前没有退款记录哦。"


def cannot_cancel_sentence(order: JSON, no_reason_days: int) -> str:
    """`no_reason_days`: the shop's window for returns without a reason."""
    status = order.get("status")
    if status == OrderStatus.SHIPPED:
        return ("订单已经发货,没法直接取消了😥 您可以拒收包裹,快递退回后全额退款;"
                f"或者签收后{no_reason_days}天内申请无理由退货。")
    if status == OrderStatus.DELIVERED:
        return f"订单已经签收,没法取消了;签收{no_reason_days}天内可以在订单详情页申请退货哦。"
    return f"订单当前状态是{order.get('status_text', status)},不能再取消了。"
