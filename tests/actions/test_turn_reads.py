"""The turn's order and tracking reads (actions/turn.py, actions/backend/http.py) against the
real demo shop behind a small counting proxy: one request per turn, the contract's parsed
reply every time (a copy the caller may change), and a reply off the contract is never kept."""

from __future__ import annotations

import asyncio
import copy
import os
from typing import Any, Dict, List

import aiohttp
import pytest
import requests
from action_helpers import backend_behind
from aiohttp import web

from actions import turn
from actions.backend import BackendUnavailable
from actions.backend.http import HttpShopBackend

ORDER = "361204587712340001"  # shipped, with tracking events


@pytest.fixture(scope="module")
def shop(shop_factory) -> str:
    return shop_factory().url


@pytest.fixture(scope="module")
def proof(shop) -> str:
    reply = requests.post(f"{shop}/api/admin/orders/{ORDER}/proof",
                          headers={"X-Api-Key": os.environ["SHOP_ADMIN_KEY"]}, timeout=10)
    return reply.json()["proof"]


class CountingProxy:
    """Forwards to the shop and counts the requests; `broken` paths get an order without
    its items instead of the shop's answer."""

    def __init__(self, target: str, broken: tuple = ()) -> None:
        self.target = target
        self.broken = broken
        self.requests: List[str] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(f"{request.method} {request.path}")
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() in ("x-api-key", "x-order-proof", "content-type")}
        async with aiohttp.ClientSession() as session:
            async with session.request(request.method, self.target + request.path_qs,
                                       data=await request.read(), headers=headers) as answer:
                status, payload = answer.status, await answer.json()
        if request.path in self.broken:
            payload.pop("items")
        return web.json_response(payload, status=status)


async def with_proxy(proxy: CountingProxy, use: Any) -> Any:
    async with backend_behind(proxy.handle, retries=0) as backend:
        return await use(backend)


def test_a_turn_reads_an_order_once_and_each_caller_gets_its_own_copy(shop, proof) -> None:
    async def use(backend: HttpShopBackend) -> Dict[str, List[Any]]:
        outside = [await backend.order(ORDER, proof), await backend.tracking(ORDER, proof)]
        orders, trackings = [], []
        with turn.running(turn.Turn("conv-reads", "message-1", "action_test")):
            for _ in range(3):
                order = await backend.order(ORDER, proof)
                orders.append(copy.deepcopy(order))
                order["items"].clear()  # a caller changing what it read
                order["status"] = "changed"
                trackings.append(await backend.tracking(ORDER, proof))
        return {"outside": outside, "orders": orders, "trackings": trackings}

    proxy = CountingProxy(shop)
    read = asyncio.run(with_proxy(proxy, use))
    order, tracking = read["outside"]
    assert order["items"] and tracking["events"]
    assert read["trackings"] == [tracking] * 3
    # Each read is the shop's answer, not what the caller before made of it.
    assert read["orders"] == [order] * 3
    path = f"/api/orders/{ORDER}"
    assert proxy.requests == [f"GET {path}", f"GET {path}/tracking"] * 2


def test_a_reply_off_the_contract_is_refused_on_every_read(shop, proof) -> None:
    async def use(backend: HttpShopBackend) -> List[str]:
        codes = []
        with turn.running(turn.Turn("conv-broken", "message-1", "action_test")):
            for _ in range(2):
                with pytest.raises(BackendUnavailable) as refused:
                    await backend.order(ORDER, proof)
                codes.append(refused.value.code)
        return codes

    proxy = CountingProxy(shop, broken=(f"/api/orders/{ORDER}",))
    assert asyncio.run(with_proxy(proxy, use)) == ["contract_violation"] * 2
    assert proxy.requests == [f"GET /api/orders/{ORDER}"] * 2
