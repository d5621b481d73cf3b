"""An in-memory shop behind the `ShopBackend` interface: the smallest implementation the
conformance suite (test_conformance.py) accepts, and a fast backend for action tests
(`SHOP_BACKEND=fake_shop:MemoryShopBackend` with tests/contract on the path).

It holds the demo shop's roles (same order ids and phone tails as scenarios.DEMO) and
applies the rules a plugged-in shop must apply. It never imports `shop`: what it knows of
the shop is the contract (contract/).
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional

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
            "P5002": ("智能电饭煲", "家电", 299.0)}
CUSTOMERS = {"C0001": "13812345678", "C0002": "13966668888", "C0061": "13705189966"}


def _iso(moment: Optional[datetime]) -> Optional[str]:
    return moment.isoformat(timespec="seconds") if moment else None


class MemoryShopBackend:
    NO_REASON_DAYS = 7
    AFTER_SALE_DAYS = 15

    def __init__(self) -> None:
        self.now = datetime.now(CST).replace(microsecond=0)
        self.orders: Dict[str, JSON] = {}
        self.shipments: Dict[str, JSON] = {}
        self.after_sale_records: Dict[str, List[JSON]] = {}
        self.invoice_records: Dict[str, List[JSON]] = {}
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

    @classmethod
    def from_env(cls) -> MemoryShopBackend:
        return cls()

    async def close(self) -> None:
        pass

    def _add(self, order_id: str, customer: str, status: str, delivered_days: Optional[int],
             product: str, courier: Optional[str]) -> None:
        name, _, price = PRODUCTS[product]
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
        if order["status"] != OrderStatus.DELIVERED and kind in ("return", "exchange"):
            raise Conflict("订单尚未签收或已关闭，暂不能申请退换货", "after_sales_not_allowed")
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
