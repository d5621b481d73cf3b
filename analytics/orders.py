"""Orders for the conversion metric, fetched from the shop's HTTP API.

GET {SHOP_API_URL}/api/customers/{id}/orders (header X-Api-Key: SHOP_API_KEY) for every
customer with a pre-sale inquiry session in the period; the order ids and creation times
land in `an_orders` (no amounts, no addresses). Run by the API's overview, the report and
`python -m analytics orders`; a shop that cannot be reached leaves the cache as it was.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Iterable, Optional
from urllib.parse import quote

from sqlalchemy.engine import Engine

from analytics import store
from service_common.http import HttpClient, HttpError
from service_common.settings import env_optional, env_str

logger = logging.getLogger("analytics.orders")


def _ts(value: str) -> Optional[float]:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except (AttributeError, ValueError):
        return None


async def refresh_orders(engine: Engine, customers: Iterable[str],
                         shop_url: Optional[str] = None, api_key: Optional[str] = None,
                         timeout: float = 5.0) -> int:
    """Caches the customers' orders; the number of new order rows."""
    shop_url = (shop_url or env_optional("SHOP_API_URL") or "").rstrip("/")
    api_key = api_key if api_key is not None else env_str("SHOP_API_KEY")
    if not shop_url:
        return 0
    headers = {"X-Api-Key": api_key} if api_key else {}
    rows = []
    async with HttpClient(shop_url, name="shop", headers=headers, timeout=timeout) as shop:
        for customer in sorted(set(customers)):
            try:
                reply = await shop.request_json(
                    "GET", f"/api/customers/{quote(customer, safe='')}/orders",
                    params={"limit": "100"})
            except HttpError as error:
                logger.warning("shop orders unavailable: %s", error)
                return 0
            if reply.status != 200 or not isinstance(reply.data, dict):
                continue
            for order in reply.data.get("orders") or []:
                created = _ts(order.get("created_at"))
                if order.get("id") and created is not None:
                    rows.append({"customer_id": customer, "order_id": str(order["id"]),
                                 "created_ts": created})
    with engine.begin() as connection:
        return store.insert_ignore(connection, store.orders, rows, ["customer_id", "order_id"])


def presale_customers(sessions) -> set:
    return {s.customer_id for s in sessions if s.customer_id
            and any(m.get("intent_group") == "presale" for m in s.customer_msgs)}
