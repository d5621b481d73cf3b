"""The shop client's retry with the turn's Idempotency-Key, against the real demo shop behind
a small proxy that loses the shop's first answer (the shop did the work, the client never
heard): the retry gets the first result, and the shop created one coupon, not two."""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any, Dict, List

import aiohttp
import pytest
import requests
from action_helpers import backend_behind
from aiohttp import web

from actions import turn
from actions.backend import BackendUnavailable
from actions.backend.http import HttpShopBackend

CUSTOMER = "C0007"


@pytest.fixture(scope="module")
def shop(shop_factory) -> str:
    return shop_factory().url


class LosingProxy:
    """Forwards to the shop; the answer to the first POST is dropped after the shop made it."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.posts: List[Dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() in ("x-api-key", "x-order-proof", "idempotency-key",
                                    "content-type")}
        async with aiohttp.ClientSession() as session:
            async with session.request(request.method, self.target + request.path_qs,
                                       data=body, headers=headers) as answer:
                status, payload = answer.status, await answer.read()
                replayed = answer.headers.get("Idempotent-Replayed")
        if request.method == "POST":
            self.posts.append({"key": request.headers.get("Idempotency-Key"),
                               "status": status, "replayed": replayed})
            if len(self.posts) == 1:
                assert request.transport is not None
                request.transport.close()  # the answer is lost on the way back
                return web.Response()
        return web.Response(status=status, body=payload, content_type="application/json")


async def through_proxy(shop: str, use: Any) -> Any:
    proxy = LosingProxy(shop)
    async with backend_behind(proxy.handle, retries=2) as backend:
        return await use(backend), proxy.posts


def coupons(shop: str, reason: str) -> list:
    reply = requests.get(f"{shop}/api/customers/{CUSTOMER}/coupons",
                         headers={"X-Api-Key": os.environ["SHOP_ADMIN_KEY"]}, timeout=10)
    return [c for c in reply.json()["coupons"] if c["reason"] == reason]


def test_a_keyed_post_whose_answer_was_lost_is_retried_and_done_once(shop) -> None:
    reason = f"retry {uuid.uuid4().hex[:8]}"

    async def use(backend: HttpShopBackend) -> Any:
        with turn.running(turn.Turn("conv-retry", "message-1", "action_test")):
            return await backend.issue_coupon(CUSTOMER, 5, reason)

    coupon, posts = asyncio.run(through_proxy(shop, use))
    assert [c["id"] for c in coupons(shop, reason)] == [coupon["id"]]
    assert [(p["status"], p["replayed"]) for p in posts] == [(201, None), (201, "true")]
    assert posts[0]["key"] and posts[0]["key"] == posts[1]["key"]


def test_without_a_turn_the_post_is_sent_once(shop) -> None:
    reason = f"no turn {uuid.uuid4().hex[:8]}"

    async def use(backend: HttpShopBackend) -> Any:
        with pytest.raises(BackendUnavailable):
            await backend.issue_coupon(CUSTOMER, 5, reason)

    _, posts = asyncio.run(through_proxy(shop, use))
    # Not retried: a retry without a key could have issued a second coupon.
    assert [(p["key"], p["status"]) for p in posts] == [(None, 201)]
    assert len(coupons(shop, reason)) == 1
