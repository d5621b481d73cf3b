"""The desk's clients on service_common.http: the web-chat channel's forwarder against a real
desk, the desk's Rasa client against a small server standing in for Rasa (no Rasa runs in
the desk tests) that fails the first time."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable, Dict, List

import pytest
from aiohttp import web
from desk_helpers import TEST_TOKEN, get, packet, post
from http_helpers import local_server

from channels.webchat import DeskForwarder
from desk.rasa import RasaClient, RasaError


@pytest.fixture(scope="module")
def desk(desk_factory) -> str:
    return desk_factory().url


def test_the_webchat_forwarder_delivers_a_customer_message(desk) -> None:
    sent = packet()
    handoff = post(desk, "/api/handoffs", sent, status=201)

    async def forward() -> None:
        forwarder = DeskForwarder(desk, TEST_TOKEN)
        try:
            await forwarder._post({"kind": "customer_message", "text": "还在吗?",
                                   "conversation_id": sent["conversation_id"],
                                   "time": time.time()})
        finally:
            await forwarder.http.close()

    asyncio.run(forward())
    messages = get(desk, f"/api/handoffs/{handoff['id']}")["messages"]
    assert [(m["kind"], m["text"]) for m in messages] == [("customer", "还在吗?")]


async def with_rasa(use: Callable[[str, List[str]], Awaitable[Any]]) -> Any:
    """A stand-in for Rasa's HTTP API: every route answers 503 the first time."""
    seen: List[str] = []
    answered: Dict[str, int] = {}

    async def handle(request: web.Request) -> web.Response:
        route = f"{request.method} {request.path}"
        seen.append(route)
        answered[route] = answered.get(route, 0) + 1
        if answered[route] == 1 or request.method == "POST":
            return web.json_response({"error": "busy"}, status=503)
        return web.json_response({"sender_id": "c1", "events": []})

    async with local_server(handle) as url:
        return await use(url, seen)


def test_the_rasa_client_retries_the_tracker_read_but_not_a_post() -> None:
    async def use(url: str, seen: List[str]) -> Any:
        rasa = RasaClient(url, token="t0k", timeout=5)
        try:
            tracker = await rasa.tracker("c1")
            with pytest.raises(RasaError) as error:
                await rasa.record_bot_message("c1", "您好", {"id": 1, "name": "小王"})
            return tracker, error.value, list(seen)
        finally:
            await rasa.close()

    tracker, error, seen = asyncio.run(with_rasa(use))
    assert tracker["sender_id"] == "c1"
    assert seen == ["GET /conversations/c1/tracker"] * 2 + \
        ["POST /conversations/c1/tracker/events"]
    assert (error.step, error.message) == ("record", "Rasa 返回错误（HTTP 503）")


def test_an_unreachable_rasa_is_named_without_the_token() -> None:
    async def go() -> RasaError:
        rasa = RasaClient("http://127.0.0.1:9", token="secret-t0k", timeout=2)
        try:
            with pytest.raises(RasaError) as error:
                await rasa.tracker("c1")
            return error.value
        finally:
            await rasa.close()

    error = asyncio.run(go())
    assert error.message == "无法连接 Rasa 服务（http://127.0.0.1:9）"
    assert "secret" not in error.message
