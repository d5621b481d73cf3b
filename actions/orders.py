"""Order and logistics actions: status, tracking, urge, cancel, address change, refund."""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import aftersales, invoices, playbook
from actions.backend import BackendError, Conflict, get_backend
from actions.common import (
    HOTLINE,
    empathy_line,
    items_summary,
    linked_customer_id,
    money,
    recent_emotions,
)
from actions.forms import stored_address
from actions.outcomes import RESOLVED, UNRESOLVED, outcome
from actions.text import day_words, format_address, time_words

logger = logging.getLogger(__name__)

JSON = Dict[str, Any]
TASK_RESET = [SlotSet(slot, None) for slot in (
    "confirmed", "new_address", "invoice_type", "invoice_title", "tax_id", "invoice_email")
] + [SlotSet("failed_attempts", 0.0)]
COURIER_HOTLINES = {"顺丰": "95338", "中通": "95311", "圆通": "95554", "韵达": "95546",
                    "申通": "95543", "京东物流": "950616", "邮政EMS": "11183", "极兔": "956025"}


class ActionOrderTask(Action):
    """Runs after order_form: does what the customer asked for the verified order."""

    def name(self) -> Text:
        return "action_order_task"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        order_id = tracker.get_slot("order_id")
        if not order_id or tracker.get_slot("verified_order_id") != order_id:
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
                order = await get_backend().order(order_id)
            except BackendError as error:
                dispatcher.utter_message(text=f"{error.message},请稍后再试一次哦。")
                return [*TASK_RESET, outcome(UNRESOLVED, order_id, error.code, "order", tracker)]
            return [*TASK_RESET, *await aftersales.handle(order, tracker, dispatcher)]
        handler = getattr(self, f"_{task}", self._status)
        result = outcome(RESOLVED, order_id, task, task, tracker)
        try:
            order = await get_backend().order(order_id)
            text = await handler(order, tracker)
        except BackendError as error:
            logger.warning("order task %s failed: %s", task, error.code)
            text = (
                f"{error.message},请稍后再试一次哦。急的话可以拨打客服热线{HOTLINE}。"
                if not isinstance(error, Conflict) else error.message
            )
            result = outcome(UNRESOLVED, order_id, error.code, task, tracker)
        dispatcher.utter_message(text=text)
        if task in ("track", "status", "urge"):
            await calm_a_delay(order_id, tracker, dispatcher)
        return [*TASK_RESET, result]

    async def _status(self, order: JSON, tracker: Tracker) -> str:
        head = f"订单{order['id']}({items_summary(order)},实付{money(order.get('total_amount'))})"
        status = order.get("status")
        if status == "unpaid":
            return f"{head}还没有付款哦,付款后我们会尽快安排发货。"
        if status == "paid":
            ship_by = day_words(order.get("promised_ship_by"))
            return f"{head}已付款,正在等待仓库发货,预计{ship_by}前发出。"
        if status == "shipped":
            tracking = await get_backend().tracking(order["id"])
            return f"{head}已发货。{tracking_sentence(tracking)}"
        if status == "delivered":
            signed = time_words(order.get("delivered_at"))
            return f"{head}已于{signed}签收。商品有任何问题都可以跟我说哦。"
        if status == "cancelled":
            return f"{head}已取消。如果付过款,款项会原路退回。"
        if status in ("return_requested", "refunded"):
            refund = await get_backend().refund(order["id"])
            return f"{head}当前状态:{order.get('status_text')}。{refund_sentence(refund)}"
        return f"{head}当前状态:{order.get('status_text', status)}。"

    async def _track(self, order: JSON, tracker: Tracker) -> str:
        if order.get("status") in ("unpaid", "paid", "cancelled"):
            return await self._status(order, tracker)
        tracking = await get_backend().tracking(order["id"])
        text = tracking_sentence(tracking)
        if tracking.get("delayed"):
            text += (f"\n{empathy_line('delay', tracker)}"
                     "需要的话跟我说「催一下」,我马上帮您登记加急。")
        return text

    async def _urge(self, order: JSON, tracker: Tracker) -> str:
        status = order.get("status")
        if status == "unpaid":
            return "这个订单还没有付款哦,付款后仓库才会安排发货。"
        if status not in ("paid", "shipped"):
            return f"订单当前状态是{order.get('status_text')},不需要催发货啦。"
        result = await get_backend().urge(order["id"], f"顾客在线催单({status})")
        followup = result.get("followup", {})
        ref = f"(跟进单号{followup['id']})" if followup.get("id") else ""
        if result.get("duplicate"):
            return f"这个订单已经在加急处理中了{ref},有进展会第一时间通知您,请您放心~"
        if status == "paid":
            ship_by = day_words(order.get("promised_ship_by"))
            return f"已帮您催促仓库优先发货{ref},预计{ship_by}前发出,发货后可以随时找我查物流。"
        courier = order.get("courier") or "快递"
        return f"已联系{courier}加急派送{ref},有新动态会第一时间通知您,给您添麻烦了🙏"

    async def _cancel(self, order: JSON, tracker: Tracker) -> str:
        if not order.get("can_cancel"):
            return cannot_cancel_sentence(order)
        if tracker.get_slot("confirmed") is not True:
            return "好的,订单为您保留,没有取消。"
        await get_backend().cancel(order["id"], "顾客在线申请取消")
        if order.get("status") == "unpaid":
            return f"订单{order['id']}已取消。"
        paid = money(order.get("total_amount"))
        return f"订单{order['id']}已取消,实付{paid}会在1-3个工作日内原路退回,请留意到账通知。"

    async def _address(self, order: JSON, tracker: Tracker) -> str:
        if not order.get("can_change_address"):
            courier = order.get("courier") or ""
            hotline = COURIER_HOTLINES.get(courier)
            via = f"拨打{courier}客服{hotline}" if hotline else "联系快递员"
            return (f"包裹已经发出啦,系统里改不了地址了😥 您可以:1) {via}申请改派到新地址;"
                    "2) 拒收后重新下单,拒收的订单会全额退款。")
        address = stored_address(tracker)
        if tracker.get_slot("confirmed") is not True or not address:
            return "好的,收货地址保持不变。"
        updated = await get_backend().change_address(order["id"], address)
        shown = format_address(updated.get("address", address), masked=True)
        return f"地址已修改成功,新的收货信息:{shown}。"

    async def _invoice(self, order: JSON, tracker: Tracker) -> str:
        return await invoices.request(order, tracker)

    async def _refund(self, order: JSON, tracker: Tracker) -> str:
        refund = await get_backend().refund(order["id"])
        return f"订单{order['id']}:{refund_sentence(refund)}"


async def calm_a_delay(order_id: str, tracker: Tracker, dispatcher: CollectingDispatcher) -> bool:
    """The playbook's apology (and coupon) when an upset customer's parcel is late."""
    if not set(recent_emotions(tracker, playbook.RECENT_MESSAGES)) & {"anxious", "angry"}:
        return False  # checked first: most customers are calm, and this saves two calls
    try:
        order = await get_backend().order(order_id)
        if order.get("status") != "shipped" or not (await get_backend().tracking(order_id)
                                                    ).get("delayed"):
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
        try:
            text = await self._answer(tracker)
        except BackendError as error:
            logger.warning("shipping time lookup failed: %s", error.code)
            text = None
        dispatcher.utter_message(text=text or (
            "现货商品16点前付款当天发货,16点后付款次日发出;预售商品以商品页标注的时间为准。"
            "如果您已经下单,把订单号发给我,我帮您查具体发货时间。"))
        return []

    async def _answer(self, tracker: Tracker) -> Optional[str]:
        backend = get_backend()
        order_id = tracker.get_slot("order_id")
        if order_id and tracker.get_slot("verified_order_id") == order_id:
            order = await backend.order(order_id)
            if order.get("status") == "paid":
                return f"您的订单{order_id}预计{day_words(order.get('promised_ship_by'))}前发货。"
            if order.get("status") in ("shipped", "delivered"):
                tracking = await backend.tracking(order_id)
                return f"您的订单{order_id}已经发货啦。{tracking_sentence(tracking)}"
        customer_id = await linked_customer_id(tracker)
        if customer_id:
            for order in await backend.customer_orders(customer_id, limit=10):
                if order.get("status") == "paid":
                    return (f"您的订单{order['id']}({items_summary(order)})预计"
                            f"{day_words(order.get('promised_ship_by'))}前发货,发货后我会及时更新物流。")
        product = tracker.get_slot("product")
        if product:
            matches = await backend.find_products(product)
            if matches:
                promise = await backend.ship_promise(matches[0]["id"])
                return f"{matches[0]['name']}:{promise.get('text')}"
        return None


class ActionAskOrderId(Action):
    """Asks for the order number; linked customers pick from their recent orders."""

    def name(self) -> Text:
        return "action_ask_order_id"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        customer_id = await linked_customer_id(tracker)
        orders: List[JSON] = []
        if customer_id:
            try:
                orders = await get_backend().customer_orders(customer_id, limit=4)
            except BackendError:
                orders = []
        # An invoice question is often asked before anything else: answer it first.
        intro = "可以开的~电子普通发票和增值税专用发票都能开。" \
            if tracker.get_slot("order_task") == "invoice" else ""
        if orders:
            buttons = [
                {"title": f"{o['id']} {items_summary(o)} {o.get('status_text', '')}",
                 "payload": f'/inform{{"order_id":"{o["id"]}"}}'}
                for o in orders
            ]
            dispatcher.utter_message(text=f"{intro}请问是哪个订单呢?点选下面的订单,或直接发订单号给我:",
                                     buttons=buttons)
        else:
            dispatcher.utter_message(
                text=f"{intro}麻烦发一下订单号哦(18位数字,在「我的订单」-订单详情里可以复制)。")
        return []


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
                order = await get_backend().order(order_id)
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
    if state == "not_shipped" or not latest:
        ship_by = day_words(tracking.get("promised_ship_by"))
        return f"包裹还没有发出,预计{ship_by}前发货。" if ship_by else "包裹还没有发出哦。"
    event = f"{time_words(latest.get('time'))} {latest.get('description', '')}".strip()
    if state == "delivered":
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
    if status == "processing":
        return (f"退款{money(amount)}正在处理中,预计{day_words(refund.get('expected_date'))}前"
                "原路退回到您的付款账户。")
    if status == "completed":
        done = day_words(refund.get("completed_at"))
        return f"退款{money(amount)}已于{done}原路退回,请查看付款账户的到账记录。"
    return "这个订单目前没有退款记录哦。"


def cannot_cancel_sentence(order: JSON) -> str:
    status = order.get("status")
    if status == "shipped":
        return ("订单已经发货,没法直接取消了😥 您可以拒收包裹,快递退回后全额退款;"
                "或者签收后7天内申请无理由退货。")
    if status == "delivered":
        return "订单已经签收,没法取消了;签收7天内可以在订单详情页申请退货哦。"
    return f"订单当前状态是{order.get('status_text', status)},不能再取消了。"
