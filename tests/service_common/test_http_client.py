"""service_common.http against a tiny real aiohttp server that fails on purpose."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Dict, List, Optional

import pytest
from aiohttp import web
from http_helpers import local_server

from service_common.http import (
    IDEMPOTENCY_HEADER,
    HttpClient,
    HttpError,
    RetryPolicy,
    idempotency_key,
)

FAST = RetryPolicy(attempts=3, initial=0.01, maximum=0.05, jitter=0.01)


class Flaky:
    """Answers /thing; the first `failures` requests fail in the way `how` says."""

    def __init__(self, how: str, failures: int = 1) -> None:
        self.how = how
        self.failures = failures
        self.seen: List[Dict[str, Any]] = []
        self.release = asyncio.Event()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append({"method": request.method, "key": request.headers.get(
            IDEMPOTENCY_HEADER), "body": await request.read()})
        if len(self.seen) <= self.failures:
            if self.how == "503":
                return web.json_response({"error": "busy"}, status=503)
            if self.how == "drop":
                assert request.transport is not None
                request.transport.close()  # the connection dies before any answer
                return web.Response()
            if self.how == "hang":
                await self.release.wait()  # answered only after the client gave up
            if self.how == "404":
                return web.json_response({"error": {"code": "not_found"}}, status=404)
        return web.json_response({"ok": True, "attempt": len(self.seen)})


async def serve(flaky: Flaky, use: Callable[[str], Awaitable[Any]]) -> Any:
    async with local_server(flaky.handle) as url:
        try:
            return await use(url)
        finally:
            flaky.release.set()


def call(flaky: Flaky, method: str = "GET", key: Optional[str] = None,
         errors: Any = None, timeout: float = 5.0) -> Any:
    async def use(url: str) -> Any:
        async with HttpClient(url, name="test", retry=FAST, errors=errors,
                              timeout=timeout) as client:
            return await client.request_json(method, "/thing", json={"n": 1},
                                             idempotency_key=key)

    return asyncio.run(serve(flaky, use))


@pytest.mark.parametrize("how", ["503", "drop"])
def test_a_get_is_retried_after_a_server_error_or_a_dropped_connection(how: str) -> None:
    flaky = Flaky(how)
    reply = call(flaky)
    assert reply.status == 200 and reply.data == {"ok": True, "attempt": 2}
    assert len(flaky.seen) == 2


def test_a_get_is_retried_after_a_timeout() -> None:
    flaky = Flaky("hang")
    reply = call(flaky, timeout=0.5)
    assert reply.data["attempt"] == 2


def test_a_post_without_a_key_is_sent_once() -> None:
    flaky = Flaky("503")
    with pytest.raises(HttpError) as error:
        call(flaky, "POST")
    assert error.value.reason == "server_error" and error.value.status == 503
    assert len(flaky.seen) == 1


def test_a_post_with_a_key_is_retried_with_the_same_key_and_body() -> None:
    flaky = Flaky("drop")
    key = idempotency_key("conversation", "message-1", "action_x", "POST", "/thing")
    reply = call(flaky, "POST", key=key)
    assert reply.data["attempt"] == 2
    assert [seen["key"] for seen in flaky.seen] == [key, key]
    assert flaky.seen[0]["body"] == flaky.seen[1]["body"] == b'{"n": 1}'


def test_a_client_error_is_an_answer_not_a_retry() -> None:
    flaky = Flaky("404")
    reply = call(flaky)
    assert reply.status == 404 and reply.data["error"]["code"] == "not_found"
    assert len(flaky.seen) == 1


class ShopDown(Exception):
    pass


def test_attempts_are_bounded_and_the_error_is_the_callers() -> None:
    flaky = Flaky("503", failures=100)
    with pytest.raises(ShopDown, match="server_error"):
        call(flaky, errors=lambda problem: ShopDown(str(problem)))
    assert len(flaky.seen) == FAST.attempts


def test_an_unreachable_service_is_the_callers_error() -> None:
    async def go() -> None:
        async with HttpClient("http://127.0.0.1:9", retry=FAST,
                              errors=lambda problem: ShopDown(problem.reason)) as client:
            await client.request("GET", "/thing")

    with pytest.raises(ShopDown, match="unreachable"):
        asyncio.run(go())


def test_the_same_parts_give_the_same_key() -> None:
    assert idempotency_key("a", 1) == idempotency_key("a", 1) != idempotency_key("a", 2)
