"""The shop contract: typed models of the shop API (docs/shop_contract.md).

Neutral ground: the demo shop and the assistant both import it, it imports neither.
"""

from contract.models import (
    Address,
    AfterSale,
    AfterSaleCreated,
    AfterSaleKind,
    AfterSaleList,
    AfterSaleStatus,
    AfterSaleType,
    Amount,
    ContractModel,
    CustomerOrders,
    Date,
    DateTime,
    Invoice,
    InvoiceCreated,
    InvoiceList,
    InvoiceStatus,
    InvoiceType,
    Order,
    OrderItem,
    OrderList,
    OrderStatus,
    PaymentMethod,
    Policy,
    Product,
    ProductList,
    ProductSummary,
    ReasonCode,
    Refund,
    RefundStatus,
    Todo,
    TodoKind,
    TodoStatus,
    Tracking,
    TrackingEvent,
    TrackingState,
)

__all__ = [
    "Address", "AfterSale", "AfterSaleCreated", "AfterSaleKind", "AfterSaleList",
    "AfterSaleStatus", "AfterSaleType", "Amount", "ContractModel", "CustomerOrders", "Date",
    "DateTime", "Invoice", "InvoiceCreated", "InvoiceList", "InvoiceStatus", "InvoiceType",
    "Order", "OrderItem", "OrderList", "OrderStatus", "PaymentMethod", "Policy", "Product",
    "ProductList", "ProductSummary", "ReasonCode", "Refund", "RefundStatus", "Todo", "TodoKind",
    "TodoStatus", "Tracking", "TrackingEvent", "TrackingState",
]
