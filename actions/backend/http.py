"""Client for shops speaking the demo shop's HTTP contract (shop/openapi.yaml); every reply
is parsed with the contract's models (contract/)."""

from __future__ import annotations

import logging
import re
from typing import Any, List, Optional, Type
from urllib.parse import quote, urlencode

from pydantic import ValidationError

import contract
from actions import turn
from actions.backend.base import (
    JSON,
    BackendError,
    BackendUnavailable,
    Conflict,
    InvalidRequest,
    NotFound,
    OwnershipRequired,
    VerificationLocked,
)
from service_common.http import HttpClient, HttpError, RetryPolicy
from service_common.settings import env_float, env_int, env_setting, env_str

logger = logging.getLogger(__name__)

UNAVAILABLE_MESSAGE = "订单系统暂时有点忙,没能查到结果"
REVERIFY_MESSAGE = "为了保护您的订单隐私,需要重新核对一下订单归属,请再发一次订单号哦"
LOCKED_MESSAGE = "手机尾号核对失败次数太多,为了保护订单安全已暂时锁定"
# Reads cached for the turn (actions/turn.py): an order, its tracking, the shop's rules.
TURN_CACHED = re.compile(r"/api/orders/[^/?]+(?:/tracking)?|/api/policy")
# A POST under an order's path changes it (cancel, address, urge, after-sale, invoice);
# proving ownership and the lookup do not.
ORDER_CHANGE = re.compile(r"(/api/orders/[^/?]+)/(?!verify\b)")


def _parsed(model: Type[contract.ContractModel], data: Any) -> JSON:
    """The reply as the shop contract defines it (contract/); a reply that does not match
    is the shop's fault, and the customer hears the system is busy."""
    try:
        return model.parse_obj(data).dict()
    except ValidationError as error:
        logger.error("shop reply breaks the contract (%s): %s", model.__name__, error)
        raise BackendUnavailable(UNAVAILABLE_MESSAGE, "contract_violation") from error


def _unavailable(error: HttpError) -> BackendError:
    return BackendUnavailable(UNAVAILABLE_MESSAGE,
                              "server_error" if error.reason == "server_error" else "unreachable")


class HttpShopBackend:
    """The shop's HTTP API through service_common.http: one pool, timeouts, the shared retry
    policy (GETs, and POSTs carrying the turn's Idempotency-Key), and the turn's cache of
    order and tracking reads (actions/turn.py)."""

    def __init__(
        self,
        base_url: str,
        api_key: Optional[str] = None,
        timeout: float = 3.0,
        retries: int = 2,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.http = HttpClient(
            self.base_url, name="shop", headers={"X-Api-Key": api_key} if api_key else {},
            timeout=timeout, retry=RetryPolicy(attempts=1 + max(0, retries)),
            errors=_unavailable)

    @classmethod
    def from_env(cls, key_variable: str = "SHOP_API_KEY") -> HttpShopBackend:
        """`key_variable`: the variable holding the API key (the desk, the shop's back
        office, reads with SHOP_ADMIN_KEY)."""
        return cls(
            base_url=env_setting("SHOP_API_URL"),
            api_key=env_str(key_variable),
            timeout=env_float("SHOP_API_TIMEOUT"),
            retries=env_int("SHOP_API_RETRIES", minimum=0),
        )

    async def close(self) -> None:
        await self.http.close()

    async def _request(self, method: str, path: str, body: Optional[JSON] = None,
                       raw: Optional[tuple] = None, proof: Optional[str] = None,
                       model: Optional[Type[contract.ContractModel]] = None) -> Any:
        """The reply's JSON, parsed with `model` when given (a turn-cached read keeps the
        parsed reply: its path is always read with the same model)."""
        current = turn.current()
        read = (method, path, proof or "")
        # GETs of order facts are asked once per turn (the turn caches them).
        cache = current if method == "GET" and TURN_CACHED.fullmatch(path) else None
        if cache is not None:
            found, value = cache.cached(read)
            if found:
                return value
        headers = {"X-Order-Proof": proof} if proof else {}
        options: dict = {"headers": headers}
        if raw:
            # `raw` is (bytes, content type): uploads go as they are, not as JSON, and
            # without a key (the shop streams them), so they are never retried.
            options["data"] = raw[0]
            headers["Content-Type"] = raw[1]
        else:
            options["json"] = body
        if current is not None and method != "GET":
            if not raw:
                options["idempotency_key"] = current.key(method, path, body)
            changed = ORDER_CHANGE.match(path)
            if changed:
                current.forget(changed.group(1))  # even if the change then fails
        reply = await self.http.request_json(method, path, **options)
        if reply.status >= 400:
            raise _error_for(reply.status, reply.data)
        data = reply.data if model is None else _parsed(model, reply.data)
        if cache is not None:
            cache.remember(read, data)
        return data

    async def customer_by_channel(self, channel_user_id: str) -> Optional[JSON]:
        return await self._customer(f"by-channel/{quote(channel_user_id, safe='')}")

    async def customer(self, customer_id: str) -> Optional[JSON]:
        return await self._customer(quote(customer_id, safe=""))

    async def _customer(self, path: str) -> Optional[JSON]:
        try:
            return _parsed(contract.Customer, await self._request("GET", f"/api/customers/{path}"))
        except NotFound:
            return None

    async def customer_orders(self, customer_id: str, limit: int = 5) -> List[JSON]:
        result = await self._request(
            "GET", f"/api/customers/{quote(customer_id)}/orders?limit={limit}"
        )
        return _parsed(contract.CustomerOrders, result)["orders"]

    async def prove_owner(self, order_id: str, *, phone_tail: Optional[str] = None,
                          customer_id: Optional[str] = None, identity: Optional[str] = None,
                          client: Optional[str] = None) -> Optional[str]:
        body = {key: value for key, value in (
            ("phone_tail", phone_tail), ("customer_id", customer_id), ("identity", identity),
            ("client", client)) if value}
        result = _parsed(contract.Verification, await self._request(
            "POST", f"/api/orders/{quote(order_id)}/verify", body))
        return result["proof"] if result["verified"] else None

    async def order(self, order_id: str, proof: Optional[str]) -> JSON:
        return await self._request("GET", f"/api/orders/{quote(order_id)}", proof=proof,
                                   model=contract.Order)

    async def lookup_orders(self, phone: str, product: Optional[str] = None,
                            date: Optional[str] = None,
                            customer_id: Optional[str] = None) -> List[JSON]:
        body = {key: value for key, value in (("phone", phone), ("product", product),
                                              ("date", date), ("customer_id", customer_id))
                if value}
        result = await self._request("POST", "/api/orders/lookup", body)
        return _parsed(contract.OrderList, result)["orders"]

    async def tracking(self, order_id: str, proof: Optional[str]) -> JSON:
        return await self._request("GET", f"/api/orders/{quote(order_id)}/tracking",
                                   proof=proof, model=contract.Tracking)

    async def ship_promise(self, product_id: str) -> JSON:
        return _parsed(contract.ShipPromise, await self._request(
            "GET", f"/api/products/{quote(product_id)}/ship-promise"))

    async def find_products(self, query: str) -> List[JSON]:
        result = await self._request("GET", f"/api/products?q={quote(query)}")
        return _parsed(contract.ProductList, result)["products"]

    async def product(self, product_id: str) -> JSON:
        return _parsed(contract.Product,
                       await self._request("GET", f"/api/products/{quote(product_id)}"))

    async def cancel(self, order_id: str, reason: str, proof: Optional[str]) -> JSON:
        return _parsed(contract.CancelledOrder, await self._request(
            "POST", f"/api/orders/{quote(order_id)}/cancel", {"reason": reason}, proof=proof))

    async def change_address(self, order_id: str, address: JSON,
                             proof: Optional[str]) -> JSON:
        return _parsed(contract.Order, await self._request(
            "POST", f"/api/orders/{quote(order_id)}/address", address, proof=proof))

    async def urge(self, order_id: str, note: str, proof: Optional[str]) -> JSON:
        return _parsed(contract.Urge, await self._request(
            "POST", f"/api/orders/{quote(order_id)}/urge", {"note": note}, proof=proof))

    async def refund(self, order_id: str, proof: Optional[str]) -> JSON:
        return _parsed(contract.Refund, await self._request(
            "GET", f"/api/orders/{quote(order_id)}/refund", proof=proof))

    async def price_protection(self, order_id: str, conversation_id: Optional[str],
                               proof: Optional[str]) -> JSON:
        return _parsed(contract.PriceProtection, await self._request(
            "POST", f"/api/orders/{quote(order_id)}/price-protection",
            {"conversation_id": conversation_id}, proof=proof))

    async def size_advice(self, product_id: str, height_cm: float, weight_kg: float,
                          fit: Optional[str] = None,
                          body_shape: Optional[str] = None) -> JSON:
        query = urlencode({key: value for key, value in (
            ("height_cm", height_cm), ("weight_kg", weight_kg), ("fit", fit),
            ("body_shape", body_shape)) if value is not None})
        return _parsed(contract.SizeAdvice, await self._request(
            "GET", f"/api/products/{quote(product_id)}/size-advice?{query}"))

    async def create_after_sale(self, order_id: str, request: JSON,
                                proof: Optional[str]) -> JSON:
        return _parsed(contract.AfterSaleCreated, await self._request(
            "POST", f"/api/orders/{quote(order_id)}/after-sales", request, proof=proof))

    async def after_sales(self, order_id: str, proof: Optional[str]) -> List[JSON]:
        result = await self._request("GET", f"/api/orders/{quote(order_id)}/after-sales",
                                     proof=proof)
        return _parsed(contract.AfterSaleList, result)["after_sales"]

    async def return_parcel(self, after_sale_id: int, courier: Optional[str], tracking_no: str,
                            proof: Optional[str]) -> JSON:
        body = {"tracking_no": tracking_no, **({"courier": courier} if courier else {})}
        return _parsed(contract.ReturnParcel, await self._request(
            "POST", f"/api/after-sales/{int(after_sale_id)}/return-parcel", body, proof=proof))

    async def withdraw_after_sale(self, after_sale_id: int, proof: Optional[str]) -> JSON:
        return _parsed(contract.WithdrawnAfterSale, await self._request(
            "POST", f"/api/after-sales/{int(after_sale_id)}/withdraw", {}, proof=proof))

    async def upload(self, content: bytes, content_type: str, order_id: Optional[str] = None,
                     conversation_id: Optional[str] = None,
                     proof: Optional[str] = None) -> JSON:
        query = urlencode({key: value for key, value in (
            ("order_id", order_id), ("conversation_id", conversation_id)) if value})
        return _parsed(contract.UploadCreated, await self._request(
            "POST", f"/api/uploads?{query}", raw=(content, content_type), proof=proof))

    async def todos(self, customer_id: Optional[str] = None,
                    conversation_id: Optional[str] = None,
                    status: Optional[str] = None) -> List[JSON]:
        query = urlencode({key: value for key, value in (
            ("customer_id", customer_id), ("conversation_id", conversation_id),
            ("status", status)) if value})
        result = await self._request("GET", f"/api/todos?{query}")
        return _parsed(contract.TodoList, result)["todos"]

    async def issue_coupon(self, customer_id: str, amount: float, reason: str,
                           valid_days: int = 30, order_id: Optional[str] = None,
                           proof: Optional[str] = None) -> JSON:
        body: JSON = {"amount": amount, "reason": reason, "valid_days": valid_days}
        if order_id:
            body["order_id"] = order_id
        return _parsed(contract.Coupon, await self._request(
            "POST", f"/api/customers/{quote(customer_id)}/coupons", body, proof=proof))

    async def record_view(self, customer_id: str, product_id: str,
                          source: str = "chat_page") -> JSON:
        return _parsed(contract.ViewRecorded, await self._request(
            "POST", f"/api/customers/{quote(customer_id, safe='')}/views",
            {"product_id": product_id, "source": source}))

    async def recent_items(self, customer_id: str) -> JSON:
        return _parsed(contract.RecentItems, await self._request(
            "GET", f"/api/customers/{quote(customer_id, safe='')}/recent"))

    async def related_products(self, product_id: str, limit: int = 3) -> List[JSON]:
        result = await self._request(
            "GET", f"/api/products/{quote(product_id, safe='')}/related?limit={int(limit)}"
        )
        return _parsed(contract.RelatedProducts, result)["products"]

    async def promotions(self) -> List[JSON]:
        result = await self._request("GET", "/api/promotions")
        return _parsed(contract.PromotionList, result)["promotions"]

    async def promotion_quote(self, amount: float, category: Optional[str] = None,
                              customer_id: Optional[str] = None,
                              province: Optional[str] = None) -> JSON:
        query = urlencode({key: value for key, value in (
            ("amount", amount), ("category", category), ("customer_id", customer_id),
            ("province", province)) if value is not None})
        return _parsed(contract.PromotionQuote,
                       await self._request("GET", f"/api/promotions/quote?{query}"))

    async def coupons(self, customer_id: str, status: Optional[str] = "available") -> List[JSON]:
        query = f"?{urlencode({'status': status})}" if status else ""
        result = await self._request(
            "GET", f"/api/customers/{quote(customer_id, safe='')}/coupons{query}"
        )
        return _parsed(contract.CouponList, result)["coupons"]

    async def request_invoice(self, order_id: str, request: JSON,
                              proof: Optional[str]) -> JSON:
        return _parsed(contract.InvoiceCreated, await self._request(
            "POST", f"/api/orders/{quote(order_id)}/invoices", request, proof=proof))

    async def invoices(self, order_id: str, proof: Optional[str]) -> List[JSON]:
        result = await self._request("GET", f"/api/orders/{quote(order_id)}/invoices",
                                     proof=proof)
        return _parsed(contract.InvoiceList, result)["invoices"]

    async def policy(self) -> JSON:
        return await self._request("GET", "/api/policy", model=contract.Policy)


def _error_for(status: int, payload: Any) -> BackendError:
    error = payload.get("error", {}) if isinstance(payload, dict) else {}
    error = error if isinstance(error, dict) else {}
    message = error.get("message") or "请求没有成功"
    code = error.get("code") or f"http_{status}"
    details = {key: value for key, value in error.items() if key not in ("code", "message")}
    if status == 404:
        return NotFound(message, code, details)
    if status == 409:
        return Conflict(message, code, details)
    if status in (400, 413, 415, 422):
        return InvalidRequest(message, code, details)
    if status == 403 and code.startswith(("proof_", "identity_")):
        return OwnershipRequired(REVERIFY_MESSAGE, code, details)
    if status == 429 and code == "verification_locked":
        return VerificationLocked(LOCKED_MESSAGE, code, details)
    # 401/403 are our misconfiguration, not something the customer can fix.
    return BackendUnavailable(UNAVAILABLE_MESSAGE, code)
