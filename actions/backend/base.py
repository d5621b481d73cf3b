"""The interface every shop backend implements, and its errors."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Protocol

JSON = Dict[str, Any]


class BackendError(Exception):
    """Base class: `message` is safe to show to a customer (Chinese, no internals).

    `details`: whatever else the backend said about the refusal, e.g. on a 409
    `invoice_exists` the invoice already requested (`details["invoice"]`).
    """

    def __init__(self, message: str, code: str = "backend_error",
                 details: Optional[JSON] = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.details: JSON = details or {}


class BackendUnavailable(BackendError):
    """The backend is down, slow or answered garbage."""


class NotFound(BackendError):
    """The customer/order/product does not exist."""


class InvalidRequest(BackendError):
    """The backend rejected the input (bad format, missing field)."""


class Conflict(BackendError):
    """The request is valid but the order's state does not allow it."""


class OwnershipRequired(BackendError):
    """The order call carried no valid ownership proof (missing, forged or expired): the
    customer must prove ownership again. Never means "the order does not exist"."""


class VerificationLocked(BackendError):
    """Too many failed ownership proofs for this order or conversation: the backend refuses
    more for a while (`details["retry_after"]`, seconds). The assistant hands over."""


class ShopBackend(Protocol):
    """What the actions need from a shop's order management and logistics systems.

    Ownership proofs (issue 13): the backend, not the assistant, decides who may see or
    change an order. `prove_owner` returns a short-lived proof, `op1.<order id>.<expiry>.<mac>`
    (the assistant reads only which order it names; the rest is the backend's), when the customer
    proved ownership (phone tail, or the signed identity of the linked customer); every
    order-specific method takes that `proof` and the backend re-checks it on each call
    (OwnershipRequired when it is missing, forged, for another order or expired). The
    assistant keeps the proof in the `verified_order_id` slot (actions/ownership.py), so a
    slot value anyone could write proves nothing. Failed proofs are counted by the backend
    per order and per client (`client`: the conversation id) and lead to VerificationLocked.
    """

    async def customer_by_channel(self, channel_user_id: str) -> Optional[JSON]: ...

    async def customer(self, customer_id: str) -> Optional[JSON]: ...

    async def customer_orders(self, customer_id: str, limit: int = 5) -> List[JSON]: ...

    async def prove_owner(self, order_id: str, *, phone_tail: Optional[str] = None,
                          customer_id: Optional[str] = None, identity: Optional[str] = None,
                          client: Optional[str] = None) -> Optional[str]:
        """The proof for `order_id` if `phone_tail` (or the linked `customer_id`, vouched
        for by the signed `identity` token) proves ownership, else None; with neither, None
        after checking the order exists. NotFound: no such order; VerificationLocked: too many
        failures (a failed phone tail counts against the order and the client)."""
        ...

    async def order(self, order_id: str, proof: Optional[str]) -> JSON: ...

    async def tracking(self, order_id: str, proof: Optional[str]) -> JSON: ...

    async def lookup_orders(self, phone: str, product: Optional[str] = None,
                            date: Optional[str] = None,
                            customer_id: Optional[str] = None) -> List[JSON]:
        """Orders of the customer with this phone, narrowed by a product name or an order
        date (YYYY-MM-DD). The backend enforces ownership: without `customer_id` a product
        or date is required (InvalidRequest code `clue_required`)."""
        ...

    async def ship_promise(self, product_id: str) -> JSON: ...

    async def find_products(self, query: str) -> List[JSON]: ...

    async def product(self, product_id: str) -> JSON: ...

    async def cancel(self, order_id: str, reason: str, proof: Optional[str]) -> JSON: ...

    async def change_address(self, order_id: str, address: JSON,
                             proof: Optional[str]) -> JSON: ...

    async def urge(self, order_id: str, note: str, proof: Optional[str]) -> JSON: ...

    async def refund(self, order_id: str, proof: Optional[str]) -> JSON: ...

    async def price_protection(self, order_id: str, conversation_id: Optional[str],
                               proof: Optional[str]) -> JSON: ...

    async def size_advice(self, product_id: str, height_cm: float, weight_kg: float,
                          fit: Optional[str] = None,
                          body_shape: Optional[str] = None) -> JSON: ...

    async def create_after_sale(self, order_id: str, request: JSON,
                                proof: Optional[str]) -> JSON: ...

    async def after_sales(self, order_id: str, proof: Optional[str]) -> List[JSON]: ...

    async def return_parcel(self, after_sale_id: int, courier: Optional[str], tracking_no: str,
                            proof: Optional[str]) -> JSON:
        """The customer's waybill of the goods sent back (return / exchange)."""
        ...

    async def withdraw_after_sale(self, after_sale_id: int, proof: Optional[str]) -> JSON:
        """The customer withdraws an open after-sale (「算了不退了」)."""
        ...

    async def upload(self, content: bytes, content_type: str, order_id: Optional[str] = None,
                     conversation_id: Optional[str] = None,
                     proof: Optional[str] = None) -> JSON:
        """An image; attached to `order_id` only with that order's `proof`."""
        ...

    async def todos(self, customer_id: Optional[str] = None,
                    conversation_id: Optional[str] = None,
                    status: Optional[str] = None) -> List[JSON]: ...

    async def issue_coupon(self, customer_id: str, amount: float, reason: str,
                           valid_days: int = 30, order_id: Optional[str] = None,
                           proof: Optional[str] = None) -> JSON:
        """The backend caps amounts; a coupon for an order needs that order's proof."""
        ...

    # Warmth and cross-sell (docs/demo_data.md: demo customers' last-viewed items).

    async def record_view(self, customer_id: str, product_id: str,
                          source: str = "chat_page") -> JSON: ...

    async def recent_items(self, customer_id: str) -> JSON:
        """{"last_viewed": {...} | None, "last_purchased": {...} | None, "recently_viewed"}"""
        ...

    async def related_products(self, product_id: str, limit: int = 3) -> List[JSON]: ...

    # Promotions and coupons.

    async def promotions(self) -> List[JSON]: ...

    async def promotion_quote(self, amount: float, category: Optional[str] = None,
                              customer_id: Optional[str] = None,
                              province: Optional[str] = None) -> JSON: ...

    async def coupons(self, customer_id: str, status: Optional[str] = "available") -> List[JSON]:
        """`status` None: every coupon; default: usable ones (unused, not expired)."""
        ...

    # Invoices.

    async def request_invoice(self, order_id: str, request: JSON,
                              proof: Optional[str]) -> JSON: ...

    async def invoices(self, order_id: str, proof: Optional[str]) -> List[JSON]: ...

    # The shop's rules (contract.Policy): quoted from the shop, never copied into the bot.

    async def policy(self) -> JSON: ...
