"""The HTTP client holds a shop to the contract: a reply of the wrong shape is
BackendUnavailable `contract_violation` (the customer hears the system is busy), never a
KeyError deep in an action. The shop here is a real HTTP server answering off-contract JSON."""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterator, Tuple

import pytest

from actions.backend import BackendUnavailable
from actions.backend.http import HttpShopBackend

ORDER, PROOF = "361204587712340001", "op1.361204587712340001.0.x"
# Every method returning shop JSON, with arguments.
CALLS: Dict[str, Tuple[Any, ...]] = {
    "customer_by_channel": ("demo-wang",), "customer": ("C0001",),
    "customer_orders": ("C0001",), "order": (ORDER, PROOF), "tracking": (ORDER, PROOF),
    "lookup_orders": ("13812345678", "羽绒服"), "ship_promise": ("P1001",),
    "find_products": ("羽绒服",), "product": ("P1001",), "cancel": (ORDER, "不要了", PROOF),
    "change_address": (ORDER, {"name": "王伟"}, PROOF), "urge": (ORDER, "催", PROOF),
    "refund": (ORDER, PROOF), "price_protection": (ORDER, None, PROOF),
    "size_advice": ("P1001", 175, 70),
    "create_after_sale": (ORDER, {"kind": "return"}, PROOF), "after_sales": (ORDER, PROOF),
    "return_parcel": (1, "中通", "75300000000009", PROOF),
    "withdraw_after_sale": (1, PROOF),
    "upload": (b"\x89PNG", "image/png"), "todos": ("C0001",),
    "issue_coupon": ("C0001", 5, "补偿"), "record_view": ("C0001", "P1001"),
    "recent_items": ("C0001",), "related_products": ("P1001",), "promotions": (),
    "promotion_quote": (258,), "coupons": ("C0001",),
    "request_invoice": (ORDER, {"title": "个人"}, PROOF), "invoices": (ORDER, PROOF),
    "policy": (), "prove_owner": (ORDER,),
}


class OffContract(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"id": 1, "orders": [{"id": 1}], "todos": [{"id": "1"}],
                           "products": [{}], "coupons": [None], "promotions": [{}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def off_contract_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), OffContract)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_every_shop_reply_is_parsed() -> None:
    interface = {name for name in vars(HttpShopBackend)
                 if not name.startswith("_") and name not in ("from_env", "close")}
    assert interface == set(CALLS)


@pytest.mark.parametrize("method", sorted(CALLS))
def test_a_reply_off_the_contract_is_a_busy_system(off_contract_url: str, method: str) -> None:
    async def call() -> Any:
        backend = HttpShopBackend(off_contract_url, retries=0)
        try:
            return await getattr(backend, method)(*CALLS[method])
        finally:
            await backend.close()

    with pytest.raises(BackendUnavailable) as unavailable:
        asyncio.run(call())
    assert unavailable.value.code == "contract_violation"
