"""An in-memory shop behind the `ShopBackend` interface: the smallest implementation the
conformance suite (test_conformance.py) accepts, and a fast backend for action tests
(`SHOP_BACKEND=fake_shop:MemoryShopBackend` with tests/contract on the path).

It holds the demo shop's roles (same order ids and phone tails as scenarios.DEMO) and
applies the rules a plugged-in shop must apply. It never imports `shop`: what it knows of
the shop is the contract (contract/).
"""

from __future__ import annotations

import copy
import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Tuple

import contract
from actions.backend import Conflict, InvalidRequest, NotFound, OwnershipRequired
from contract import OrderStatus

JSON = Dict[str, Any]
CST = timezone(timedelta(hours=8))
STATUS_TEXT = {"unpaid": "待付款", "paid": "待发货", "shipped": "已发货", "delivered": "已签收",
               "cancelled": "已取消", "return_requested": "退货中", "refunded": "已退款"}
INVOICE_REFUSALS = {OrderStatus.UNPAID: "订单尚未付款，付款后才能申请发票",
                    OrderStatus.CANCELLED: "订单已取消，无法开具发票",
                    OrderStatus.REFUNDED: "订单已全额退款，无法开具发票",
                    OrderStatus.RETURN_REQUESTED: "订单正在退货处理中，无法开具发票"}
HOTLINES = {"顺丰": "95338", "中通": "95311", "韵达": "95546", "京东物流": "950616"}
PRODUCTS = {"P1001": ("男士轻薄羽绒服", "衣服", 399.0), "P2003": ("20000毫安充电宝", "数码", 129.0),
            "P5002": ("智能电饭煲", "家电", 299.0), "P1003": ("纯棉圆领T恤", "衣服", 79.0)}
# Clothes: the largest height and weight each size fits.
SIZE_CHART = [{"size": size, "height_cm": height, "weight_kg": weight}
              for size, height, weight in (("M", 170, 62), ("L", 175, 70), ("XL", 180, 78),
                                           ("XXL", 185, 88))]
CUSTOMERS = {"C0001": "13812345678", "C0002": "13966668888", "C0061": "13705189966"}
NAMES = {"C0001": ("王伟", "先生", "male", "demo-wang"),
         "C0002": ("李娜", "女士", "female", "demo-li"),
         "C0061": ("赵敏", "女士", "female", "demo-zhao")}
IMAGE_TYPES = {b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg", b"GIF8": "image/gif"}
COUPON_MAX_AMOUNT = 20
TIERS = [(199.0, 20.0), (399.0, 50.0)]  # 满减


def _iso(moment: Optional[datetime]) -> Optional[str]:
    return moment.isoformat(timespec="seconds") if moment else None


class MemoryShopBackend:
    NO_REASON_DAYS = 7
    AFTER_SALE_DAYS = 15
    PRICE_PROTECTION_DAYS = 7

    def __init__(self) -> None:
        self.now = datetime.now(CST).replace(microsecond=0)
        self.orders: Dict[str, JSON] = {}
        self.shipments: Dict[str, JSON] = {}
        self.after_sale_records: Dict[str, List[JSON]] = {}
        self.invoice_records: Dict[str, List[JSON]] = {}
        self.followups: Dict[str, JSON] = {}  # open follow-up per order
        self.uploads: List[JSON] = []
        self.coupon_records: List[JSON] = []
        self.views: List[JSON] = []  # newest last
        self.todo_records = [contract.Todo(
            id=1, todo_no="TD00000001", customer_id="C0001", order_id="361204587712340001",
            kind="callback", kind_text="回电", text="回电确认收货地址", status="open",
            status_text="待处理", created_at=_iso(self.now)).dict()]
        for order_id, customer, status, days, product, courier in [
            ("361204587712340001", "C0001", "shipped", None, "P1001", "顺丰"),
            ("361204587712340002", "C0001", "paid", None, "P2003", None),
            ("361204587712340003", "C0001", "delivered", 3, "P5002", "京东物流"),
            ("361204587712340004", "C0001", "unpaid", None, "P1001", None),
            ("361204587712340014", "C0002", "cancelled", None, "P2003", None),
            ("361204587712340021", "C0061", "delivered", 2, "P1001", "中通"),
            ("361204587712340023", "C0061", "delivered", 21, "P5002", "韵达"),
        ]:
            self._add(order_id, customer, status, days, product, courier)
        # Bought for 349, the price now is 299: 价保 refunds 50.
        self._add("361204587712340022", "C0061", "delivered", 1, "P5002", "顺丰", paid=349.0)

    @classmethod
    def from_env(cls) -> MemoryShopBackend:
        return cls()

    async def close(self) -> None:
        pass

    def _add(self, order_id: str, customer: str, status: str, delivered_days: Optional[int],
             product: str, courier: Optional[str], paid: Optional[float] = None) -> None:
        name, _, price = PRODUCTS[product]
        price = paid or price
        delivered = self.now - timedelta(days=delivered_days) if delivered_days else None
        created = (delivered or self.now) - timedelta(days=3)
        shipped = created + timedelta(days=1) if courier else None
        self.orders[order_id] = contract.Order(
            id=order_id, customer_id=customer, status=status, status_text=STATUS_TEXT[status],
            created_at=_iso(created), paid_at=_iso(created) if status != "unpaid" else None,
            shipped_at=_iso(shipped), delivered_at=_iso(delivered),
            promised_ship_by=_iso(created + timedelta(days=2)), total_amount=price,
            payment_method="alipay" if status != "unpaid" else None,
            items=[{"product_id": product, "name": name, "spec": "默认", "quantity": 1,
                    "price": price}],
            courier=courier, tracking_no=f"T{order_id[-8:]}" if courier else None,
            can_cancel=status in ("unpaid", "paid"),
            can_change_address=status in ("unpaid", "paid"),
            no_reason_until=_iso(delivered + timedelta(days=self.NO_REASON_DAYS))
            if delivered else None,
            after_sale_until=_iso(delivered + timedelta(days=self.AFTER_SALE_DAYS))
            if delivered else None,
            invoice_refusal=INVOICE_REFUSALS.get(OrderStatus(status)),
        ).dict()
        if courier and shipped:
            event = {"time": _iso(delivered or shipped), "location": "杭州",
                     "description": "已签收" if delivered else "运输中"}
            self.shipments[order_id] = {"courier": courier, "events": [event],
                                        "state": "delivered" if delivered else "in_transit"}

    # Ownership: the proof names its order (op1.<order id>.<expiry>.<mac>, what the actions
    # read); here the mac is no secret, the fake trusts its callers.

    async def prove_owner(self, order_id: str, *, phone_tail: Optional[str] = None,
                          customer_id: Optional[str] = None, identity: Optional[str] = None,
                          client: Optional[str] = None) -> Optional[str]:
        owner = self._get(order_id)["customer_id"]
        proven = (phone_tail is not None and CUSTOMERS[owner][-4:] == phone_tail) or \
            (customer_id is not None and customer_id == owner)
        return f"op1.{order_id}.0.memory" if proven else None

    def _get(self, order_id: str) -> JSON:
        if order_id not in self.orders:
            raise NotFound(f"未找到订单 {order_id}，请核对订单号", "order_not_found")
        return self.orders[order_id]

    def _owned(self, order_id: str, proof: Optional[str]) -> JSON:
        if proof != f"op1.{order_id}.0.memory":
            raise OwnershipRequired("需要重新核对订单归属", "proof_invalid")
        return self._get(order_id)

    async def order(self, order_id: str, proof: Optional[str]) -> JSON:
        return copy.deepcopy(self._owned(order_id, proof))

    async def customer_orders(self, customer_id: str, limit: int = 5) -> List[JSON]:
        mine = [o for o in self.orders.values() if o["customer_id"] == customer_id]
        return copy.deepcopy(sorted(mine, key=lambda o: o["created_at"], reverse=True)[:limit])

    async def tracking(self, order_id: str, proof: Optional[str]) -> JSON:
        order = self._owned(order_id, proof)
        shipment = self.shipments.get(order_id)
        events = shipment["events"] if shipment else []
        return contract.Tracking(
            order_id=order_id, order_status=order["status"],
            courier=order["courier"], courier_hotline=HOTLINES.get(order["courier"] or ""),
            tracking_no=order["tracking_no"],
            state=shipment["state"] if shipment else "not_shipped",
            state_text="已签收" if shipment and shipment["state"] == "delivered" else "运输中"
            if shipment else "未发货",
            current_location=events[0]["location"] if events else None,
            latest_event=events[0] if events else None, events=events, delayed=False,
            shipped_at=order["shipped_at"], promised_ship_by=order["promised_ship_by"],
        ).dict()

    async def product(self, product_id: str) -> JSON:
        if product_id not in PRODUCTS:
            raise NotFound(f"未找到商品 {product_id}", "product_not_found")
        name, category, price = PRODUCTS[product_id]
        return contract.Product(
            id=product_id, brand="小蜜", name=name, category=category, category_text=category,
            price=price, stock=10, in_stock=True, description="", options={}, attributes={},
        ).dict()

    async def find_products(self, query: str) -> List[JSON]:
        return [{key: value for key, value in (await self.product(pid)).items()
                 if key in contract.ProductSummary.__fields__}
                for pid, (name, _, _) in PRODUCTS.items() if query in name]

    # After-sales: the windows count from delivery.

    async def create_after_sale(self, order_id: str, request: JSON,
                                proof: Optional[str]) -> JSON:
        order = self._owned(order_id, proof)
        kind = request.get("kind") or request.get("type")
        if kind not in ("return", "exchange", "resend", "refund_only"):
            raise InvalidRequest("售后类型无效", "invalid_value")
        # Per item: while one item is being returned, another of the order may be too.
        if order["status"] not in (OrderStatus.DELIVERED, OrderStatus.RETURN_REQUESTED) and \
                kind in ("return", "exchange"):
            raise Conflict("订单尚未签收或已关闭，暂不能申请退换货", "after_sales_not_allowed")
        items = set(request.get("items") or [])
        if order["status"] == OrderStatus.RETURN_REQUESTED and any(
                record["status"] in ("pending", "processing") and record["type"] == "return"
                and (not items or not record["items"] or items & set(record["items"]))
                for record in self.after_sale_records.get(order_id, [])):
            raise Conflict("该商品正在退货处理中，请等待当前售后完成", "after_sales_not_allowed")
        delivered = datetime.fromisoformat(order["delivered_at"]) \
            if order["delivered_at"] else None
        days = self.NO_REASON_DAYS if request.get("reason_code") == "no_reason_7d" \
            else self.AFTER_SALE_DAYS
        if delivered and self.now - delivered > timedelta(days=days):
            raise Conflict(f"已超过签收后{days}天的期限", "after_sales_expired")
        records = self.after_sale_records.setdefault(order_id, [])
        number = sum(len(r) for r in self.after_sale_records.values()) + 1
        stored = "refund" if kind == "refund_only" else kind
        record = contract.AfterSaleCreated(
            id=number, ticket_no=f"AS{number:08d}", order_id=order_id, type=stored,
            type_text=stored, status="pending", status_text="待审核",
            reason=request.get("reason") or "", items=request.get("items") or [], photos=[],
            created_at=_iso(self.now), kind=kind, reason_code=request.get("reason_code"),
            evidence=request.get("evidence") or [], evidence_urls=[], todos=[],
        ).dict()
        records.append({k: v for k, v in record.items() if k != "todos"})
        if kind == "return":
            order.update(status="return_requested", status_text=STATUS_TEXT["return_requested"],
                         invoice_refusal=INVOICE_REFUSALS[OrderStatus.RETURN_REQUESTED])
        return copy.deepcopy(record)

    async def after_sales(self, order_id: str, proof: Optional[str]) -> List[JSON]:
        self._owned(order_id, proof)
        return copy.deepcopy(self.after_sale_records.get(order_id, [])[::-1])

    def _after_sale(self, after_sale_id: int, proof: Optional[str]) -> Tuple[str, JSON, JSON]:
        """(order id, record, order) of an after-sale, the order's owner proven."""
        found = [(order_id, record) for order_id, records in self.after_sale_records.items()
                 for record in records if record["id"] == after_sale_id]
        if not found:
            raise NotFound(f"未找到售后单 AS{after_sale_id:08d}", "after_sale_not_found")
        [(order_id, record)] = found
        return order_id, record, self._owned(order_id, proof)

    async def return_parcel(self, after_sale_id: int, courier: Optional[str], tracking_no: str,
                            proof: Optional[str]) -> JSON:
        _, record, order = self._after_sale(after_sale_id, proof)
        if record["type"] not in ("return", "exchange"):
            raise Conflict("只有退货或换货的售后单需要寄回商品", "not_returnable")
        if tracking_no == order.get("tracking_no"):
            raise InvalidRequest("这是我们发给您的包裹的单号，请提供您寄回包裹的快递单号",
                                 "outbound_tracking_no")
        duplicate = record.get("return_tracking_no") == tracking_no
        if not duplicate:
            record.update(return_courier=courier, return_tracking_no=tracking_no,
                          return_sent_at=_iso(self.now))
        return copy.deepcopy({**record, "duplicate": duplicate})

    async def withdraw_after_sale(self, after_sale_id: int, proof: Optional[str]) -> JSON:
        order_id, record, order = self._after_sale(after_sale_id, proof)
        if record["status"] == "closed":
            return copy.deepcopy({**record, "closed_todos": [], "duplicate": True})
        if record.get("return_tracking_no"):
            raise Conflict("商品已寄回，售后无法在线撤销", "return_parcel_sent")
        if record["status"] not in ("pending", "processing"):
            raise Conflict("该售后单已结束，无法撤销", "not_withdrawable")
        record.update(status="closed", status_text="已关闭", completed_at=_iso(self.now))
        if record["type"] == "return" and not any(
                other["type"] == "return" and other["status"] in ("pending", "processing")
                for other in self.after_sale_records[order_id]):
            order.update(status="delivered", status_text=STATUS_TEXT["delivered"],
                         invoice_refusal=INVOICE_REFUSALS.get(OrderStatus.DELIVERED))
        return copy.deepcopy({**record, "closed_todos": [], "duplicate": False})

    # Invoices: one per order; refused in the states the shop cannot invoice.

    async def request_invoice(self, order_id: str, request: JSON,
                              proof: Optional[str]) -> JSON:
        order = self._owned(order_id, proof)
        refusal = INVOICE_REFUSALS.get(order["status"])
        if refusal:
            raise Conflict(refusal, "invoice_not_allowed", {"order_status": order["status"]})
        existing = self.invoice_records.setdefault(order_id, [])
        for invoice in existing:
            if (invoice["type"], invoice["title"], invoice["tax_id"]) == \
                    (request.get("type", "normal"), request["title"], request.get("tax_id")):
                return {**copy.deepcopy(invoice), "duplicate": True}
            raise Conflict("该订单已申请过发票", "invoice_exists", {"invoice": invoice})
        number = sum(len(i) for i in self.invoice_records.values()) + 1
        invoice = contract.Invoice(
            id=number, invoice_request_no=f"INV{number:08d}", order_id=order_id,
            type=request.get("type", "normal"), type_text="电子普通发票", title=request["title"],
            tax_id=request.get("tax_id"), email=request["email"], amount=order["total_amount"],
            status="pending", status_text="开具中", created_at=_iso(self.now),
        ).dict()
        existing.append(invoice)
        return {**copy.deepcopy(invoice), "duplicate": False}

    async def invoices(self, order_id: str, proof: Optional[str]) -> List[JSON]:
        self._owned(order_id, proof)
        return copy.deepcopy(self.invoice_records.get(order_id, []))

    async def policy(self) -> JSON:
        return contract.Policy(no_reason_days=self.NO_REASON_DAYS,
                               after_sale_days=self.AFTER_SALE_DAYS,
                               courier_hotlines=HOTLINES).dict()

    # Customers.

    async def customer(self, customer_id: str) -> Optional[JSON]:
        if customer_id not in NAMES:
            return None
        name, title, gender, channel = NAMES[customer_id]
        phone = CUSTOMERS[customer_id]
        return contract.Customer(
            id=customer_id, name=name, surname=name[0], title=title,
            salutation=name[0] + title, gender=gender, phone=f"{phone[:3]}****{phone[-4:]}",
            phone_masked=f"{phone[:3]}****{phone[-4:]}", level="normal", level_text="普通会员",
            channel_user_ids=[channel], created_at=_iso(self.now - timedelta(days=365)),
        ).dict()

    async def customer_by_channel(self, channel_user_id: str) -> Optional[JSON]:
        found = [c for c, names in NAMES.items() if names[3] == channel_user_id]
        return await self.customer(found[0]) if found else None

    # Changing an order: only before shipment; urging only what is on its way.

    async def cancel(self, order_id: str, reason: str, proof: Optional[str]) -> JSON:
        order = self._owned(order_id, proof)
        if not order["can_cancel"]:
            raise Conflict("订单已发货，无法取消", "not_cancellable")
        refund = contract.Refund(
            order_id=order_id, status="processing", status_text="退款处理中",
            amount=order["total_amount"], requested_at=_iso(self.now), method="原路退回",
        ).dict() if order["status"] == OrderStatus.PAID else None
        order.update(status="cancelled", status_text=STATUS_TEXT["cancelled"],
                     cancelled_at=_iso(self.now), cancel_reason=reason, can_cancel=False,
                     can_change_address=False, promised_ship_by=None,
                     invoice_refusal=INVOICE_REFUSALS[OrderStatus.CANCELLED])
        return contract.CancelledOrder(**order, refund=refund).dict()

    async def urge(self, order_id: str, note: str, proof: Optional[str]) -> JSON:
        order = self._owned(order_id, proof)
        if order["status"] not in ("paid", "shipped"):
            raise Conflict("该订单无需催单", "not_urgeable")
        duplicate = order_id in self.followups
        if not duplicate:
            number = len(self.followups) + 1
            self.followups[order_id] = contract.Followup(
                id=number, ticket_no=f"FU{number:08d}", type="urge", order_id=order_id,
                customer_id=order["customer_id"], note=note, status="open",
                created_at=_iso(self.now), respond_by=_iso(self.now + timedelta(hours=24)),
            ).dict()
        return {"followup": copy.deepcopy(self.followups[order_id]), "duplicate": duplicate}

    async def price_protection(self, order_id: str, conversation_id: Optional[str],
                               proof: Optional[str]) -> JSON:
        order = self._owned(order_id, proof)
        if order["status"] not in ("paid", "shipped", "delivered"):
            raise Conflict("该订单不在价保范围内", "not_price_protectable")
        records = self.after_sale_records.setdefault(order_id, [])
        earlier = [r for r in records if r["type"] == "price_protection"]
        delivered = datetime.fromisoformat(order["delivered_at"]) \
            if order["delivered_at"] else None
        until = delivered + timedelta(days=self.PRICE_PROTECTION_DAYS) if delivered else None
        if not earlier and until and self.now > until:
            raise Conflict("已超过签收后7天的价保期", "price_protection_expired")
        items = [{"product_id": item["product_id"], "product_name": item["name"],
                  "quantity": item["quantity"], "paid_price": item["price"],
                  "current_price": PRODUCTS[item["product_id"]][2],
                  "difference": max(item["price"] - PRODUCTS[item["product_id"]][2], 0.0)
                  * item["quantity"]} for item in order["items"]]
        amount = sum(item["difference"] for item in items)
        outcome, record = ("duplicate", earlier[0]) if earlier else \
            ("no_drop", None) if not amount else ("filed", None)
        if outcome == "filed":
            number = sum(len(r) for r in self.after_sale_records.values()) + 1
            record = contract.AfterSale(
                id=number, ticket_no=f"AS{number:08d}", order_id=order_id,
                type="price_protection", type_text="价保退差价", status="processing",
                status_text="处理中", reason="价保", photos=[], created_at=_iso(self.now),
                items=[item["product_id"] for item in items if item["difference"]],
                refund_amount=amount, kind="price_protection", evidence=[], evidence_urls=[],
                conversation_id=conversation_id).dict()
            records.append(record)
        return contract.PriceProtection(
            order_id=order_id, outcome=outcome, days=self.PRICE_PROTECTION_DAYS,
            until=until.date().isoformat() if until else None, items=items,
            amount=record["refund_amount"] if record else 0.0,
            after_sale=copy.deepcopy(record)).dict()

    # Photos: images only, the same bytes again are the same upload.

    async def upload(self, content: bytes, content_type: str, order_id: Optional[str] = None,
                     conversation_id: Optional[str] = None,
                     proof: Optional[str] = None) -> JSON:
        if order_id is not None:
            self._owned(order_id, proof)
        kind = next((kind for magic, kind in IMAGE_TYPES.items() if content.startswith(magic)),
                    None)
        if kind is None:
            raise InvalidRequest("只能上传 JPEG、PNG 或 GIF 图片", "unsupported_media_type")
        sha256 = hashlib.sha256(content).hexdigest()
        for upload in self.uploads:
            if (upload["sha256"], upload["order_id"], upload["conversation_id"]) == \
                    (sha256, order_id, conversation_id):
                return {**copy.deepcopy(upload), "duplicate": True}
        number = len(self.uploads) + 1
        upload = contract.Upload(
            id=number, url=f"/api/uploads/{number}", sha256=sha256, content_type=kind,
            size=len(content), order_id=order_id, conversation_id=conversation_id,
            created_at=_iso(self.now)).dict()
        self.uploads.append(upload)
        return {**copy.deepcopy(upload), "duplicate": False}

    async def todos(self, customer_id: Optional[str] = None,
                    conversation_id: Optional[str] = None,
                    status: Optional[str] = None) -> List[JSON]:
        return [copy.deepcopy(todo) for todo in self.todo_records[::-1]
                if customer_id in (None, todo["customer_id"])
                and conversation_id in (None, todo["conversation_id"])
                and status in (None, todo["status"])]

    # Coupons: capped; one for an order needs the order's proof.

    async def issue_coupon(self, customer_id: str, amount: float, reason: str,
                           valid_days: int = 30, order_id: Optional[str] = None,
                           proof: Optional[str] = None) -> JSON:
        if order_id is not None:
            self._owned(order_id, proof)
        if amount > COUPON_MAX_AMOUNT:
            raise InvalidRequest(f"单张优惠券金额不能超过{COUPON_MAX_AMOUNT}元",
                                 "coupon_amount_too_high")
        number = len(self.coupon_records) + 1
        coupon = contract.Coupon(
            id=number, code=f"CP{number:08d}", customer_id=customer_id,
            title=f"无门槛{amount:g}元", amount=amount, threshold=0, reason=reason,
            issued_at=_iso(self.now), expires_at=_iso(self.now + timedelta(days=valid_days)),
            used=False, status="available", usable=True, expires_in_days=valid_days,
            status_text="可使用").dict()
        self.coupon_records.append(coupon)
        return copy.deepcopy(coupon)

    async def coupons(self, customer_id: str, status: Optional[str] = "available") -> List[JSON]:
        return [copy.deepcopy(c) for c in self.coupon_records[::-1]
                if c["customer_id"] == customer_id and status in (None, c["status"])]

    # Promotions: 满减 tiers on the goods amount, free shipping, no coupons in quotes.

    async def promotions(self) -> List[JSON]:
        tiers = [{"threshold": t, "discount": d, "text": f"满{t:g}减{d:g}"} for t, d in TIERS]
        return [contract.Promotion(
            id="store_full_reduction", kind="full_reduction", title="店铺满减",
            text="全店" + "、".join(t["text"] for t in tiers), tiers=tiers,
            excluded_categories=[], excluded_categories_text=[]).dict()]

    async def promotion_quote(self, amount: float, category: Optional[str] = None,
                              customer_id: Optional[str] = None,
                              province: Optional[str] = None) -> JSON:
        reached = [(t, d) for t, d in TIERS if amount >= t]
        above = [(t, d) for t, d in TIERS if amount < t]
        tier, following = (reached[-1] if reached else None), (above[0] if above else None)
        discount = tier[1] if tier else 0.0
        next_text = f"再买{following[0] - amount:g}元可减{following[1]:g}元" if following else None
        return contract.PromotionQuote(
            date=self.now.date().isoformat(), amount=amount, eligible_amount=amount,
            excluded_amount=0,
            full_reduction={"promotion_id": "store_full_reduction", "threshold": tier[0],
                            "discount": tier[1], "text": f"满{tier[0]:g}减{tier[1]:g}"}
            if tier else None,
            discount=discount,
            next_tier={"threshold": following[0], "discount": following[1],
                       "missing": following[0] - amount, "text": next_text}
            if following else None,
            applied_text=f"满{tier[0]:g}减{tier[1]:g}" if tier else None, next_text=next_text,
            coupon_discount=0, payable=amount - discount, shipping_fee=0, free_shipping=True,
            free_shipping_missing=0, total=amount - discount, notes=[],
            text=f"商品金额{amount:g}元，实付{amount - discount:g}元，包邮。",
            customer_id=customer_id, province=province).dict()

    # Products: sizes from the chart, shipping today, views and what goes with what.

    async def size_advice(self, product_id: str, height_cm: float, weight_kg: float,
                          fit: Optional[str] = None,
                          body_shape: Optional[str] = None) -> JSON:
        product = await self.product(product_id)
        if product["category"] != "衣服":
            raise InvalidRequest(f"{product['name']}不区分尺码", "no_size_chart")
        if not (100 <= height_cm <= 230 and 25 <= weight_kg <= 200):
            raise InvalidRequest("身高或体重不在合理范围", "implausible_measurements")
        row = next((r for r in SIZE_CHART if weight_kg <= r["weight_kg"]), SIZE_CHART[-1])
        return contract.SizeAdvice(
            product_id=product_id, product_name=product["name"], height_cm=height_cm,
            weight_kg=weight_kg, fit=fit or "regular", body_shape=body_shape or "regular",
            size=row["size"], reason=f"体重{weight_kg:g}kg在{row['size']}码范围内",
            alternatives=[], in_chart=weight_kg <= SIZE_CHART[-1]["weight_kg"], size_row=row,
            feedback=[], feedback_summary={"count": 0, "sizes": []}, chart=SIZE_CHART).dict()

    async def ship_promise(self, product_id: str) -> JSON:
        await self.product(product_id)
        return contract.ShipPromise(
            product_id=product_id, in_stock=True, stock=10,
            ships_by=self.now.date().isoformat(), cutoff_hour=16, text="今天16点前付款当天发货",
        ).dict()

    async def _summary(self, product_id: str) -> JSON:
        return {key: value for key, value in (await self.product(product_id)).items()
                if key in contract.ProductSummary.__fields__}

    async def record_view(self, customer_id: str, product_id: str,
                          source: str = "chat_page") -> JSON:
        if customer_id not in CUSTOMERS:
            raise NotFound(f"未找到顾客 {customer_id}", "customer_not_found")
        product = await self._summary(product_id)
        last = next((v for v in self.views[::-1] if v["customer_id"] == customer_id), None)
        if last is not None and last["product_id"] == product_id:
            return {**copy.deepcopy(last), "duplicate": True}
        view = contract.ViewRecorded(
            id=len(self.views) + 1, customer_id=customer_id, product_id=product_id,
            viewed_at=_iso(self.now), source=source, duplicate=False, product=product).dict()
        self.views.append(view)
        return copy.deepcopy(view)

    async def recent_items(self, customer_id: str) -> JSON:
        if customer_id not in CUSTOMERS:
            raise NotFound(f"未找到顾客 {customer_id}", "customer_not_found")
        latest: Dict[str, JSON] = {}
        for view in self.views[::-1]:
            if view["customer_id"] == customer_id:
                latest.setdefault(view["product_id"], view)
        viewed = [{**view["product"], "viewed_at": view["viewed_at"], "source": view["source"],
                   "purchased_after_view": False} for view in list(latest.values())[:5]]
        kept = sorted((o for o in self.orders.values() if o["customer_id"] == customer_id
                       and o["status"] in ("paid", "shipped", "delivered")),
                      key=lambda o: o["created_at"])
        purchased = None
        if kept:
            order, item = kept[-1], kept[-1]["items"][0]
            purchased = {**await self._summary(item["product_id"]), "order_id": order["id"],
                         "ordered_at": order["created_at"], "order_status": order["status"],
                         "order_status_text": order["status_text"], "spec": item["spec"],
                         "quantity": item["quantity"]}
        return contract.RecentItems(
            customer_id=customer_id, last_viewed=viewed[0] if viewed else None,
            last_purchased=purchased, recently_viewed=viewed).dict()

    async def related_products(self, product_id: str, limit: int = 3) -> List[JSON]:
        category = (await self.product(product_id))["category"]
        return [{**await self._summary(other), "reason": "同类热销",
                 "reason_code": "same_category", "co_purchases": 0}
                for other, (_, kind, _) in PRODUCTS.items()
                if kind == category and other != product_id][:limit]
