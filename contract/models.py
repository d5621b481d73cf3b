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
    PRICE_PROTECTION = "price_protection"  # 价保: the price difference back, goods kept


class AfterSaleKind(str, Enum):
    """The type with refund spelled refund_only."""

    RETURN = "return"
    EXCHANGE = "exchange"
    RESEND = "resend"
    REFUND_ONLY = "refund_only"
    PRICE_PROTECTION = "price_protection"


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


class Number(float):
    """A JSON number (an integer is fine; a string or a boolean is not)."""

    @classmethod
    def __get_validators__(cls) -> Iterator[Callable[[Any], float]]:
        yield cls.validate

    @classmethod
    def validate(cls, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError("a number is required")
        return value  # an integer stays one (175, not 175.0)

    @classmethod
    def __modify_schema__(cls, schema: Dict[str, Any]) -> None:
        schema.update(type="number")


class Amount(Number):
    """Yuan as a JSON number, read as a float."""

    @classmethod
    def validate(cls, value: Any) -> float:
        return float(super().validate(value))


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
    return_courier: Optional[StrictStr] = None  # the customer's parcel back (return / exchange)
    return_tracking_no: Optional[StrictStr] = None
    return_sent_at: Optional[DateTime] = None  # when the customer gave the number
    return_received_at: Optional[DateTime] = None  # signed for by the warehouse


class AfterSaleCreated(AfterSale):
    todos: List[Todo]  # to-dos opened or closed by the request


class ReturnParcel(AfterSale):
    duplicate: StrictBool  # the same waybill (or receipt) again


class WithdrawnAfterSale(AfterSale):
    closed_todos: List[Todo]
    duplicate: StrictBool  # withdrawn before


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
    price_protection_days: StrictInt = 7  # 价保: a price fall refunded up to days after delivery
    courier_hotlines: Dict[str, StrictStr]  # courier name -> its customer service number


class Customer(ContractModel):
    id: StrictStr
    name: StrictStr
    surname: StrictStr
    title: Literal["先生", "女士"]
    salutation: StrictStr  # 王先生
    gender: Literal["male", "female"]
    phone: StrictStr  # always masked
    phone_masked: StrictStr
    level: Literal["normal", "silver", "gold", "diamond"]
    level_text: StrictStr
    channel_user_ids: List[StrictStr]
    created_at: DateTime


class CancelledOrder(Order):
    refund: Optional[Refund] = None  # paid orders: the refund the cancellation started


class Followup(ContractModel):
    id: StrictInt
    ticket_no: StrictStr
    type: StrictStr  # urge, callback, complaint
    order_id: Optional[StrictStr] = None
    customer_id: Optional[StrictStr] = None
    note: StrictStr
    status: Literal["open", "closed"]
    created_at: DateTime
    respond_by: DateTime  # someone gets back to the customer by then
    closed_at: Optional[DateTime] = None


class Verification(ContractModel):
    """POST /api/orders/{id}/verify: a proven owner gets `proof` (for X-Order-Proof)."""

    order_id: StrictStr
    verified: StrictBool
    method: Optional[Literal["phone_tail", "customer"]] = None
    proof: Optional[StrictStr] = None  # op1.<order id>.<expiry>.<HMAC>
    proof_expires_at: Optional[DateTime] = None
    attempts_left: Optional[StrictInt] = None  # wrong phone tails left before a lockout


class Urge(ContractModel):
    followup: Followup
    duplicate: StrictBool  # urged again within 24 hours: the open follow-up


class PriceCheckItem(ContractModel):
    product_id: StrictStr
    product_name: StrictStr
    quantity: StrictInt
    paid_price: Amount  # per piece, as paid
    current_price: Amount  # per piece, the price in the shop now
    difference: Amount  # (paid - current) x quantity where the price fell, else 0


class PriceProtection(ContractModel):
    """价保 for one order (POST /api/orders/{id}/price-protection): the order's prices
    against today's; a fall within the window files the difference as a refund."""

    order_id: StrictStr
    outcome: Literal["filed", "duplicate", "no_drop"]
    days: StrictInt  # the window: days after delivery (any time before it)
    until: Optional[Date] = None  # the window's last day, once delivered
    items: List[PriceCheckItem]
    amount: Amount  # the difference filed (0 when nothing fell)
    after_sale: Optional[AfterSale] = None  # the claim (filed now or before)


class Upload(ContractModel):
    id: StrictInt
    url: StrictStr
    sha256: StrictStr
    content_type: Literal["image/jpeg", "image/png", "image/webp", "image/gif"]
    size: StrictInt  # bytes
    width: Optional[StrictInt] = None
    height: Optional[StrictInt] = None
    filename: Optional[StrictStr] = None
    order_id: Optional[StrictStr] = None
    conversation_id: Optional[StrictStr] = None
    created_at: DateTime


class UploadCreated(Upload):
    duplicate: StrictBool  # the same bytes again: the first upload


class TodoList(ContractModel):
    count: StrictInt
    todos: List[Todo]


class Coupon(ContractModel):
    id: StrictInt
    code: StrictStr
    customer_id: StrictStr
    title: StrictStr  # 满300减30, 无门槛10元
    amount: Amount
    threshold: Amount
    reason: StrictStr
    issued_at: DateTime
    expires_at: DateTime
    used: StrictBool
    status: Literal["available", "used", "expired"]
    usable: StrictBool  # status == available
    expires_in_days: Optional[StrictInt] = None  # whole days left (0: today); None unless usable
    status_text: StrictStr


class CouponList(ContractModel):
    customer_id: StrictStr
    count: StrictInt
    available_count: StrictInt
    coupons: List[Coupon]


class PromotionTier(ContractModel):
    threshold: Amount
    discount: Amount
    text: StrictStr  # 满199减20


class Promotion(ContractModel):
    """A rule in force; the fields of the other kinds are None."""

    id: StrictStr
    kind: Literal["full_reduction", "new_customer_coupon", "free_shipping", "stacking"]
    title: StrictStr
    text: StrictStr  # the rule in one customer-facing sentence
    starts_on: Optional[Date] = None
    ends_on: Optional[Date] = None
    tiers: Optional[List[PromotionTier]] = None  # full_reduction
    excluded_categories: Optional[List[StrictStr]] = None  # full_reduction
    excluded_categories_text: Optional[List[StrictStr]] = None  # full_reduction
    amount: Optional[Amount] = None  # new_customer_coupon
    threshold: Optional[Amount] = None  # new_customer_coupon, free_shipping
    valid_days: Optional[StrictInt] = None  # new_customer_coupon
    fee: Optional[Amount] = None  # free_shipping
    excluded_regions: Optional[List[StrictStr]] = None  # free_shipping
    coupon_with_full_reduction: Optional[StrictBool] = None  # stacking
    multiple_coupons: Optional[StrictBool] = None  # stacking


class PromotionList(ContractModel):
    date: Date
    count: StrictInt
    promotions: List[Promotion]


class QuoteReduction(ContractModel):
    promotion_id: StrictStr
    threshold: Amount
    discount: Amount
    text: StrictStr


class QuoteNextTier(ContractModel):
    threshold: Amount
    discount: Amount
    missing: Amount  # to buy more
    text: StrictStr  # 再买141元可减50元


class PromotionQuote(ContractModel):
    date: Date
    amount: Amount  # goods
    eligible_amount: Amount  # counts toward 满减
    excluded_amount: Amount
    full_reduction: Optional[QuoteReduction] = None
    discount: Amount  # 满减
    next_tier: Optional[QuoteNextTier] = None
    applied_text: Optional[StrictStr] = None
    next_text: Optional[StrictStr] = None
    coupon: Optional[Coupon] = None
    coupon_discount: Amount
    payable: Amount  # goods after discounts
    shipping_fee: Optional[Amount] = None  # None: by region (remote)
    free_shipping: StrictBool
    free_shipping_missing: Amount
    total: Optional[Amount] = None  # payable + shipping_fee
    notes: List[StrictStr]
    text: StrictStr
    customer_id: Optional[StrictStr] = None
    province: Optional[StrictStr] = None


class SizeAlternative(ContractModel):
    size: StrictStr
    reason: StrictStr


class FitFeedback(ContractModel):
    """A past buyer of a similar build, anonymised."""

    height_cm: StrictInt
    weight_kg: StrictInt
    size: StrictStr
    fit: Literal["合身", "偏大", "偏小"]
    fit_code: Literal["fits", "too_large", "too_small"]
    text: StrictStr


class FeedbackSizeCount(ContractModel):
    size: StrictStr
    count: StrictInt
    fits: StrictInt
    too_large: StrictInt
    too_small: StrictInt


class FeedbackSummary(ContractModel):
    count: StrictInt
    sizes: List[FeedbackSizeCount]
    text: Optional[StrictStr] = None


class SizeAdvice(ContractModel):
    product_id: StrictStr
    product_name: StrictStr
    height_cm: Number
    weight_kg: Number
    fit: Literal["loose", "regular", "fitted"]
    body_shape: Literal["slim", "regular", "heavy"]
    size: StrictStr
    reason: StrictStr
    between: Optional[List[StrictStr]] = None  # the two sizes the build sits between
    alternatives: List[SizeAlternative]
    in_chart: StrictBool
    warning: Optional[StrictStr] = None
    fit_note: Optional[StrictStr] = None  # the product's fit attribute
    size_row: Dict[str, Any]  # the chart row of the recommended size
    feedback: List[FitFeedback]  # up to 3
    feedback_summary: FeedbackSummary
    chart: List[Dict[str, Any]]


class ShipPromise(ContractModel):
    product_id: StrictStr
    in_stock: StrictBool
    stock: StrictInt
    ships_by: Date
    cutoff_hour: StrictInt  # paid before then (China time): ships today
    restock_date: Optional[Date] = None
    text: StrictStr


class StockedProduct(ProductSummary):
    restock_date: Optional[Date] = None  # sold out: expected restock


class ViewedProduct(StockedProduct):
    viewed_at: DateTime
    source: StrictStr
    purchased_after_view: StrictBool


class PurchasedProduct(StockedProduct):
    order_id: StrictStr
    ordered_at: DateTime
    order_status: OrderStatus
    order_status_text: StrictStr
    spec: StrictStr
    quantity: StrictInt


class RecentItems(ContractModel):
    customer_id: StrictStr
    last_viewed: Optional[ViewedProduct] = None
    last_purchased: Optional[PurchasedProduct] = None
    recently_viewed: List[ViewedProduct]  # newest first


class ViewRecorded(ContractModel):
    id: StrictInt
    customer_id: StrictStr
    product_id: StrictStr
    viewed_at: DateTime
    source: StrictStr
    duplicate: StrictBool  # the same product again within 30 minutes
    product: ProductSummary


class RelatedProduct(ProductSummary):
    reason: StrictStr  # 买过这款的顾客也常买, 同类热销
    reason_code: Literal["co_purchase", "same_category"]
    co_purchases: StrictInt


class RelatedProducts(ContractModel):
    product_id: StrictStr
    count: StrictInt
    products: List[RelatedProduct]
