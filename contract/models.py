"""The shop API's response objects as pydantic (v1) models: the wire format, exactly.

The demo shop serialises with them (shop/serializers.py), the assistant's HTTP backend
parses with them (actions/backend/http.py), tests/contract/test_openapi.py checks
shop/openapi.yaml against them and tests/contract/test_conformance.py checks any
`ShopBackend`. Timestamps stay ISO 8601 strings (with their offset) and amounts yuan numbers,
so `.dict()` is the JSON the shop sends. Unknown fields a real shop adds are dropped.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any, Callable, Dict, Iterator, List, Literal, Optional

from pydantic import BaseModel, StrictBool, StrictInt, StrictStr


class OrderStatus(str, Enum):
    """待付款, 待发货, 已发货, 已签收, 已取消, 退货中, 已退款."""

    UNPAID = "unpaid"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURN_REQUESTED = "return_requested"
    REFUNDED = "refunded"


class TrackingState(str, Enum):
    NOT_SHIPPED = "not_shipped"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"


class PaymentMethod(str, Enum):
    ALIPAY = "alipay"
    WECHAT = "wechat"
    CARD = "card"


class AfterSaleType(str, Enum):
    RETURN = "return"
    EXCHANGE = "exchange"
    RESEND = "resend"
    REFUND = "refund"


class AfterSaleKind(str, Enum):
    """The type with refund spelled refund_only."""

    RETURN = "return"
    EXCHANGE = "exchange"
    RESEND = "resend"
    REFUND_ONLY = "refund_only"


class AfterSaleStatus(str, Enum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CLOSED = "closed"


class ReasonCode(str, Enum):
    """七天无理由, 质量问题, 运输破损, 发错货, 少件/漏发, 尺码不合适, 与描述不符, 未收到货,
    其他原因."""

    NO_REASON_7D = "no_reason_7d"
    QUALITY = "quality"
    DAMAGED = "damaged"
    WRONG_ITEM = "wrong_item"
    MISSING_ITEM = "missing_item"
    SIZE = "size"
    NOT_AS_DESCRIBED = "not_as_described"
    NOT_RECEIVED = "not_received"
    OTHER = "other"


class TodoKind(str, Enum):
    RESEND_TRACKING = "resend_tracking"
    DAMAGE_PHOTO = "damage_photo"
    INVOICE = "invoice"
    REFUND = "refund"
    CALLBACK = "callback"
    OTHER = "other"


class TodoStatus(str, Enum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class InvoiceType(str, Enum):
    NORMAL = "normal"
    SPECIAL = "special"


class InvoiceStatus(str, Enum):
    PENDING = "pending"
    ISSUED = "issued"


class RefundStatus(str, Enum):
    NONE = "none"
    PROCESSING = "processing"
    COMPLETED = "completed"


class _IsoString(str):
    """An ISO 8601 string checked by `parse`; kept as the string the wire carried."""

    wire_format = ""
    parse: Callable[[str], Any]

    @classmethod
    def __get_validators__(cls) -> Iterator[Callable[[Any], str]]:
        yield cls.validate

    @classmethod
    def validate(cls, value: Any) -> str:
        if not isinstance(value, str):
            raise TypeError(f"an ISO 8601 {cls.wire_format} string is required")
        try:
            cls.parse(value)
        except ValueError as error:
            raise ValueError(f"not an ISO 8601 {cls.wire_format}: {value!r}") from error
        return value

    @classmethod
    def __modify_schema__(cls, schema: Dict[str, Any]) -> None:
        schema.update(type="string", format=cls.wire_format)


def _aware(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("the UTC offset is missing")
    return parsed


class DateTime(_IsoString):
    """A moment with its UTC offset, e.g. 2026-12-05T10:30:00+08:00."""

    wire_format = "date-time"
    parse = staticmethod(_aware)


class Date(_IsoString):
    """A calendar day, e.g. 2026-12-05."""

    wire_format = "date"
    parse = staticmethod(date.fromisoformat)


class Amount(float):
    """Yuan as a JSON number (an integer is fine; a string or a boolean is not)."""

    @classmethod
    def __get_validators__(cls) -> Iterator[Callable[[Any], float]]:
        yield cls.validate

    @classmethod
    def validate(cls, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError("a number is required")
        return float(value)

    @classmethod
    def __modify_schema__(cls, schema: Dict[str, Any]) -> None:
        schema.update(type="number")


class ContractModel(BaseModel):
    class Config:
        use_enum_values = True  # `.dict()` is plain JSON; OrderStatus members equal their value


class Address(ContractModel):
    name: StrictStr
    phone: StrictStr  # always masked
    province: StrictStr
    city: StrictStr
    district: StrictStr
    detail: StrictStr


class OrderItem(ContractModel):
    product_id: StrictStr
    name: StrictStr
    spec: StrictStr
    quantity: StrictInt
    price: Amount  # unit price


class Order(ContractModel):
    id: StrictStr
    customer_id: StrictStr
    status: OrderStatus
    status_text: StrictStr
    created_at: DateTime
    paid_at: Optional[DateTime] = None
    shipped_at: Optional[DateTime] = None
    delivered_at: Optional[DateTime] = None
    cancelled_at: Optional[DateTime] = None
    cancel_reason: Optional[StrictStr] = None
    promised_ship_by: Optional[DateTime] = None
    total_amount: Amount
    payment_method: Optional[PaymentMethod] = None
    items: List[OrderItem]
    address: Optional[Address] = None
    courier: Optional[StrictStr] = None
    tracking_no: Optional[StrictStr] = None
    # What the shop allows now (its rules, not the assistant's copy of them).
    can_cancel: StrictBool
    can_change_address: StrictBool
    no_reason_until: Optional[DateTime] = None  # 无理由退换 possible until then (delivered)
    after_sale_until: Optional[DateTime] = None  # any after-sale possible until then
    invoice_refusal: Optional[StrictStr] = None  # why no invoice now; None: invoiceable


class OrderList(ContractModel):
    count: StrictInt
    orders: List[Order]


class CustomerOrders(OrderList):
    customer_id: StrictStr


class TrackingEvent(ContractModel):
    time: DateTime
    location: StrictStr
    description: StrictStr


class Tracking(ContractModel):
    order_id: StrictStr
    order_status: OrderStatus
    courier: Optional[StrictStr] = None
    courier_hotline: Optional[StrictStr] = None
    tracking_no: Optional[StrictStr] = None
    state: TrackingState
    state_text: StrictStr
    current_location: Optional[StrictStr] = None
    latest_event: Optional[TrackingEvent] = None
    events: List[TrackingEvent]  # newest first
    eta: Optional[Date] = None
    delayed: StrictBool  # not delivered and (ETA passed or no scan for 48 hours)
    shipped_at: Optional[DateTime] = None
    promised_ship_by: Optional[DateTime] = None


class ProductSummary(ContractModel):
    id: StrictStr
    brand: StrictStr
    name: StrictStr
    category: StrictStr
    category_text: StrictStr
    price: Amount
    stock: StrictInt
    in_stock: StrictBool


class ProductList(ContractModel):
    count: StrictInt
    products: List[ProductSummary]


class Product(ProductSummary):
    description: StrictStr
    options: Dict[str, List[StrictStr]]
    attributes: Dict[str, StrictStr]
    size_chart: Optional[List[Dict[str, Any]]] = None
    restock_date: Optional[Date] = None


class Todo(ContractModel):
    id: StrictInt
    todo_no: StrictStr
    conversation_id: Optional[StrictStr] = None
    customer_id: Optional[StrictStr] = None
    order_id: Optional[StrictStr] = None
    after_sale_id: Optional[StrictInt] = None
    kind: TodoKind
    kind_text: StrictStr
    text: StrictStr
    ref: Optional[StrictStr] = None
    status: TodoStatus
    status_text: StrictStr
    result_text: Optional[StrictStr] = None
    created_at: DateTime
    closed_at: Optional[DateTime] = None


class AfterSale(ContractModel):
    id: StrictInt
    ticket_no: StrictStr
    order_id: StrictStr
    type: AfterSaleType
    type_text: StrictStr
    status: AfterSaleStatus
    status_text: StrictStr
    reason: StrictStr
    items: List[StrictStr]  # product ids; empty: the whole order
    photos: List[StrictStr]
    created_at: DateTime
    refund_amount: Optional[Amount] = None
    expected_refund_date: Optional[Date] = None
    completed_at: Optional[DateTime] = None
    kind: AfterSaleKind
    reason_code: Optional[ReasonCode] = None
    reason_code_text: Optional[StrictStr] = None
    return_shipping_paid_by: Optional[Literal["seller", "buyer"]] = None
    evidence: List[StrictInt]  # upload ids
    evidence_urls: List[StrictStr]
    conversation_id: Optional[StrictStr] = None
    courier: Optional[StrictStr] = None  # replacement parcel
    tracking_no: Optional[StrictStr] = None
    shipped_at: Optional[DateTime] = None


class AfterSaleCreated(AfterSale):
    todos: List[Todo]  # to-dos opened or closed by the request


class AfterSaleList(ContractModel):
    order_id: StrictStr
    after_sales: List[AfterSale]


class Refund(ContractModel):
    order_id: StrictStr
    status: RefundStatus
    status_text: StrictStr
    amount: Optional[Amount] = None
    requested_at: Optional[DateTime] = None
    expected_date: Optional[Date] = None
    completed_at: Optional[DateTime] = None
    method: Optional[StrictStr] = None
    after_sale_id: Optional[StrictInt] = None


class Invoice(ContractModel):
    id: StrictInt
    invoice_request_no: StrictStr
    order_id: StrictStr
    type: InvoiceType
    type_text: StrictStr
    title: StrictStr
    tax_id: Optional[StrictStr] = None
    email: StrictStr
    amount: Amount
    status: InvoiceStatus
    status_text: StrictStr
    created_at: DateTime
    issued_at: Optional[DateTime] = None
    buyer_address: Optional[StrictStr] = None
    buyer_phone: Optional[StrictStr] = None  # masked
    bank_name: Optional[StrictStr] = None
    bank_account: Optional[StrictStr] = None


class InvoiceCreated(Invoice):
    duplicate: StrictBool  # the same request again: the existing invoice


class InvoiceList(ContractModel):
    order_id: StrictStr
    invoices: List[Invoice]



class Policy(ContractModel):
    """The shop's rules the assistant quotes (GET /api/policy); what they mean for one order
    comes with the order (can_cancel, no_reason_until, invoice_refusal ...)."""

    no_reason_days: StrictInt  # 无理由退换: days after delivery
    after_sale_days: StrictInt  # any after-sale: days after delivery
    courier_hotlines: Dict[str, StrictStr]  # courier name -> its customer service number
