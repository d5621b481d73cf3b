"""SQLAlchemy 1.4 ORM models of the demo shop (order management + logistics)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Optional

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import declarative_base, relationship
from sqlalchemy.types import TypeDecorator

from contract import OrderStatus

Base: Any = declarative_base()  # SQLAlchemy 1.4 has no type hints: a dynamic class


class Money(TypeDecorator):
    """Yuan amounts as Decimal in Python, stored as integer fen.

    Integers are exact on every backend (SQLite has no native decimal type).
    """

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value: Optional[Decimal], dialect: Any) -> Optional[int]:
        if value is None:
            return None
        return int((Decimal(value) * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))

    def process_result_value(self, value: Optional[int], dialect: Any) -> Optional[Decimal]:
        return None if value is None else (Decimal(value) / 100).quantize(Decimal("0.01"))


ORDER_STATUSES = tuple(status.value for status in OrderStatus)  # the contract's

STATUS_TEXT = {
    "unpaid": "待付款",
    "paid": "待发货",
    "shipped": "已发货",
    "delivered": "已签收",
    "cancelled": "已取消",
    "return_requested": "退货中",
    "refunded": "已退款",
}


class Meta(Base):
    """Key/value store for bookkeeping such as the seed date."""

    __tablename__ = "shop_meta"

    key = Column(String(64), primary_key=True)
    value = Column(String(255), nullable=False)


class Customer(Base):
    __tablename__ = "customers"

    id = Column(String(16), primary_key=True)
    name = Column(String(32), nullable=False)
    surname = Column(String(8), nullable=False)
    title = Column(String(4), nullable=False)  # 先生 / 女士
    gender = Column(String(8), nullable=False)  # male / female
    phone = Column(String(11), nullable=False, unique=True, index=True)
    level = Column(String(16), nullable=False)
    created_at = Column(DateTime, nullable=False)

    channels = relationship(
        "CustomerChannel",
        back_populates="customer",
        order_by="CustomerChannel.id",
        cascade="all, delete-orphan",
    )


class CustomerChannel(Base):
    __tablename__ = "customer_channels"

    id = Column(Integer, primary_key=True, autoincrement=True)
    customer_id = Column(String(16), ForeignKey("customers.id"), nullable=False, index=True)
    channel_user_id = Column(String(64), nullable=False, unique=True, index=True)
    channel = Column(String(16), nullable=False)  # web / wechat / app
    linked_at = Column(DateTime, nullable=False)

    customer = relationship("Customer", back_populates="channels")


class Product(Base):
    __tablename__ = "products"

    id = Column(String(16), primary_key=True)
    brand = Column(String(32), nullable=False)
    name = Column(String(64), nullable=False)
    category = Column(String(32), nullable=False, index=True)
    price = Column(Money(), nullable=False)
    stock = Column(Integer, nullable=False, default=0)
    restock_date = Column(Date, nullable=True)
    description = Column(Text, nullable=False, default="")
    options = Column(JSON, nullable=False, default=dict)
    attributes = Column(JSON, nullable=False, default=dict)
    size_chart = Column(JSON, nullable=True)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_customer_created", "customer_id", "created_at"),)

    id = Column(String(18), primary_key=True)
    customer_id = Column(String(16), ForeignKey("customers.id"), nullable=False)
    status = Column(String(24), nullable=False, index=True)
    total_amount = Column(Money(), nullable=False)
    payment_method = Column(String(16), nullable=True)  # alipay / wechat / card
    created_at = Column(DateTime, nullable=False)
    paid_at = Column(DateTime, nullable=True)
    promised_ship_by = Column(DateTime, nullable=True)
    shipped_at = Column(DateTime, nullable=True)
    delivered_at = Column(DateTime, nullable=True)
    cancelled_at = Column(DateTime, nullable=True)
    cancel_reason = Column(String(200), nullable=True)

    customer = relationship("Customer")
    items = relationship(
        "OrderItem", order_by="OrderItem.id", cascade="all, delete-orphan", back_populates="order"
    )
    address = relationship(
        "OrderAddress", uselist=False, cascade="all, delete-orphan", back_populates="order"
    )
    shipment = relationship(
        "Shipment", uselist=False, cascade="all, delete-orphan", back_populates="order"
    )


class OrderItem(Base):
    __tablename__ = "order_items"

    id = Column(Integer, primary_key=True, autoincrement=True)
    order_id = Column(String(18), ForeignKey("orders.id"), nullable=False, index=True)
    product_id = Column(String(16), ForeignKey("products.id"), nullable=False)
    # Name snapshot at purchase time, so order reads need no product join.
    product_name = Column(String(96), nullable=False)
    spec = Column(String(96), nullable=False, default="")
    quantity = Column(Integer, nullable=False)
    price = Column(Money(), nullable=False)

    order = relationship("Order", back_populates="items")


class OrderAddress(Base):
    __tablename__ = "order_addresses"

    id = Column(Integer, primary_key=True, autoincrement=True)
    order_id = Column(String(18), ForeignKey("orders.id"), nullable=False, unique=True)
    name = Column(String(32), nullable=False)
    phone = Column(String(11), nullable=False)
    province = Column(String(32), nullable=False)
    city = Column(String(32), nullable=False)
    district = Column(String(32), nullable=False)
    detail = Column(String(200), nullable=False)
    updated_at = Column(DateTime, nullable=True)

    order = relationship("Order", back_populates="address")


class Shipment(Base):
    __tablename__ = "shipments"

    id = Column(Integer, primary_key=True, autoincrement=True)
    order_id = Column(String(18), ForeignKey("orders.id"), nullable=False, unique=True)
    courier = Column(String(16), nullable=False)
    tracking_no = Column(String(32), nullable=False, index=True)
    shipped_at = Column(DateTime, nullable=False)
    eta = Column(Date, nullable=True)
    state = Column(String(24), nullable=False)  # in_transit / out_for_delivery / delivered

    order = relationship("Order", back_populates="shipment")
    events = relationship(
        "TrackingEvent",
        # Newest first, which is how couriers and the API present them.
        order_by="[TrackingEvent.time.desc(), TrackingEvent.id.desc()]",
        cascade="all, delete-orphan",
        back_populates="shipment",
    )


class TrackingEvent(Base):
    __tablename__ = "tracking_events"
    __table_args__ = (Index("ix_tracking_events_shipment_time", "shipment_id", "time"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    shipment_id = Column(Integer, ForeignKey("shipments.id"), nullable=False)
    time = Column(DateTime, nullable=False)
    location = Column(String(64), nullable=False)
    description = Column(String(255), nullable=False)

    shipment = relationship("Shipment", back_populates="events")


class Followup(Base):
    __tablename__ = "followups"

    id = Column(Integer, primary_key=True, autoincrement=True)
    type = Column(String(24), nullable=False)  # urge, callback, complaint
    order_id = Column(String(18), ForeignKey("orders.id"), nullable=True, index=True)
    customer_id = Column(String(16), ForeignKey("customers.id"), nullable=True, index=True)
    note = Column(String(500), nullable=False, default="")
    status = Column(String(16), nullable=False, default="open")  # open / closed
    created_at = Column(DateTime, nullable=False)
    closed_at = Column(DateTime, nullable=True)

    # Declared so the unit of work inserts parents first.
    order = relationship("Order")
    customer = relationship("Customer")


class AfterSale(Base):
    __tablename__ = "after_sales"

    id = Column(Integer, primary_key=True, autoincrement=True)
    order_id = Column(String(18), ForeignKey("orders.id"), nullable=False, index=True)
    type = Column(String(16), nullable=False)  # return / exchange / resend / refund
    status = Column(String(16), nullable=False)  # pending / processing / completed / rejected
    reason = Column(String(500), nullable=False)
    items = Column(JSON, nullable=False, default=list)
    photos = Column(JSON, nullable=False, default=list)
    created_at = Column(DateTime, nullable=False)
    refund_amount = Column(Money(), nullable=True)
    expected_refund_date = Column(Date, nullable=True)
    completed_at = Column(DateTime, nullable=True)
    # Added after the first release: nullable, so `upgrade_schema` can add them in place.
    reason_code = Column(String(24), nullable=True)  # see REASON_CODES
    evidence = Column(JSON, nullable=True, default=list)  # upload ids
    conversation_id = Column(String(128), nullable=True)
    courier = Column(String(16), nullable=True)  # replacement parcel (resend / exchange)
    tracking_no = Column(String(32), nullable=True)
    shipped_at = Column(DateTime, nullable=True)
    # The customer's parcel back to the shop (return / exchange) and the warehouse's receipt.
    return_courier = Column(String(16), nullable=True)
    return_tracking_no = Column(String(32), nullable=True)
    return_sent_at = Column(DateTime, nullable=True)
    return_received_at = Column(DateTime, nullable=True)

    order = relationship("Order")


class Coupon(Base):
    __tablename__ = "coupons"

    id = Column(Integer, primary_key=True, autoincrement=True)
    customer_id = Column(String(16), ForeignKey("customers.id"), nullable=False, index=True)
    amount = Column(Money(), nullable=False)
    threshold = Column(Money(), nullable=False, default=0)
    reason = Column(String(200), nullable=False)
    issued_at = Column(DateTime, nullable=False)
    expires_at = Column(DateTime, nullable=False)
    used = Column(Boolean, nullable=False, default=False)

    customer = relationship("Customer")


class Invoice(Base):
    __tablename__ = "invoices"

    id = Column(Integer, primary_key=True, autoincrement=True)
    order_id = Column(String(18), ForeignKey("orders.id"), nullable=False, index=True)
    type = Column(String(16), nullable=False)  # normal / special
    title = Column(String(100), nullable=False)
    tax_id = Column(String(18), nullable=True)
    email = Column(String(120), nullable=False)
    amount = Column(Money(), nullable=False)
    status = Column(String(16), nullable=False)  # pending / issued
    created_at = Column(DateTime, nullable=False)
    issued_at = Column(DateTime, nullable=True)
    # Optional buyer details printed on the invoice (added after the first release).
    buyer_address = Column(String(100), nullable=True)
    buyer_phone = Column(String(20), nullable=True)
    bank_name = Column(String(60), nullable=True)
    bank_account = Column(String(32), nullable=True)

    order = relationship("Order")


class Upload(Base):
    """An evidence photo; the bytes live on disk, content-addressed by sha256."""

    __tablename__ = "uploads"

    id = Column(Integer, primary_key=True, autoincrement=True)
    sha256 = Column(String(64), nullable=False, index=True)
    content_type = Column(String(32), nullable=False)
    size = Column(Integer, nullable=False)
    width = Column(Integer, nullable=True)
    height = Column(Integer, nullable=True)
    filename = Column(String(120), nullable=True)
    order_id = Column(String(18), ForeignKey("orders.id"), nullable=True, index=True)
    conversation_id = Column(String(128), nullable=True, index=True)
    created_at = Column(DateTime, nullable=False)

    order = relationship("Order")


TODO_KINDS = ("resend_tracking", "damage_photo", "invoice", "refund", "callback", "other")
TODO_STATUSES = ("open", "done", "cancelled")


class Todo(Base):
    """An open follow-up of a conversation (任务清单), shown again when the customer returns."""

    __tablename__ = "todos"
    __table_args__ = (Index("ix_todos_customer_status", "customer_id", "status"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    conversation_id = Column(String(128), nullable=True, index=True)
    customer_id = Column(String(16), ForeignKey("customers.id"), nullable=True)
    order_id = Column(String(18), ForeignKey("orders.id"), nullable=True, index=True)
    after_sale_id = Column(Integer, ForeignKey("after_sales.id"), nullable=True, index=True)
    kind = Column(String(24), nullable=False)
    text = Column(String(200), nullable=False)
    ref = Column(String(64), nullable=True)
    status = Column(String(16), nullable=False, default="open")
    result_text = Column(String(200), nullable=True)
    created_at = Column(DateTime, nullable=False)
    closed_at = Column(DateTime, nullable=True)

    customer = relationship("Customer")
    order = relationship("Order")
    after_sale = relationship("AfterSale")


FIT_RESULTS = ("fits", "too_large", "too_small")
FIT_RESULT_TEXT = {"fits": "合身", "too_large": "偏大", "too_small": "偏小"}


class FitFeedback(Base):
    """Anonymised fit feedback of past buyers: build, size bought, how it fitted."""

    __tablename__ = "fit_feedback"
    __table_args__ = (Index("ix_fit_feedback_product", "product_id", "height_cm"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    product_id = Column(String(16), ForeignKey("products.id"), nullable=False)
    # Provenance only (null for older sales); never exposed by the API.
    order_id = Column(String(18), ForeignKey("orders.id"), nullable=True)
    size = Column(String(8), nullable=False)
    height_cm = Column(Integer, nullable=False)
    weight_kg = Column(Integer, nullable=False)
    fit = Column(String(16), nullable=False)  # fits / too_large / too_small
    created_at = Column(DateTime, nullable=False)

    product = relationship("Product")
    order = relationship("Order")


VIEW_SOURCES = ("product_page", "chat_page", "search", "recommendation", "cart")


class ProductView(Base):
    """A customer looked at a product (shop page, chat widget, ...): the basis for
    "您上次看的那款…还有货哦" when they come back."""

    __tablename__ = "product_views"
    __table_args__ = (Index("ix_product_views_customer_time", "customer_id", "viewed_at"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    customer_id = Column(String(16), ForeignKey("customers.id"), nullable=False)
    product_id = Column(String(16), ForeignKey("products.id"), nullable=False)
    viewed_at = Column(DateTime, nullable=False)
    source = Column(String(24), nullable=False, default="chat_page")

    customer = relationship("Customer")
    product = relationship("Product")
