"""Rasa's action calls over kept-open connections, with the domain's JSON written once
(components/rasa_fixes.py, fix 4), against a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Dict, List

import pytest
from aiohttp import web
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

import components  # noqa: F401  (applies the fixes)
from components import rasa_fixes
from service_common.http import close_pooled_sessions


class ActionServer:
    """Answers every action call with no events; records each body and the connection
    (client port) it came on. `keepalive` is its idle timeout, as Sanic's 5 s."""

    def __init__(self, keepalive: float = 75.0, close_each: bool = False) -> None:
        self.keepalive = keepalive
        self.close_each = close_each
        self.bodies: List[bytes] = []
        self.connections: List[int] = []
        self.port = 0
        self._runner: Any = None

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.read())
        self.connections.append(request.transport.get_extra_info("peername")[1])
        headers = {"Connection": "close"} if self.close_each else {}
        return web.json_response({"events": [], "responses": []}, headers=headers)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/webhook", self.handle)
        self._runner = web.AppRunner(app, keepalive_timeout=self.keepalive)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{self.port}/webhook"

    async def stop(self) -> None:
        await self._runner.cleanup()


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load("domain.yml")


def _tracker(domain: Domain) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("pool-test", [
        ActionExecuted("action_listen"),
        UserUttered("我的订单到哪了", {"name": "track_logistics", "confidence": 0.9}),
    ], domain.slots)


async def _call(domain: Domain, url: str, name: str = "validate_order_form") -> List[Any]:
    # As endpoints.yml: the domain only to actions marked send_domain.
    action = RemoteAction(name, EndpointConfig(url, enable_selective_domain=True))
    return await action.run(CollectingOutputChannel(),
                            TemplatedNaturalLanguageGenerator(domain.responses),
                            _tracker(domain), domain)


def test_action_calls_share_one_connection_and_send_what_json_dumps_writes(
        domain: Domain) -> None:
    server = ActionServer()

    async def scenario() -> None:
        url = await server.start()
        try:
            for _ in range(3):
                assert await _call(domain, url) == []
            assert await _call(domain, url, "action_order_task") == []  # no domain sent
        finally:
            await close_pooled_sessions()
            await server.stop()

    asyncio.run(scenario())
    assert len(server.bodies) == 4
    assert len(set(server.connections)) == 1, "every call opened a new connection"
    action = RemoteAction("validate_order_form", EndpointConfig("http://unused"))  # domain sent
    expected = action._action_call_format(_tracker(domain), domain)
    first = json.loads(server.bodies[0])
    # The domain without its responses (rasa_fixes fix 7).
    assert first["domain"] == {key: value for key, value in domain.as_dict().items()
                               if key != "responses"}
    assert {key: value for key, value in first.items() if key != "tracker"} == \
        {key: value for key, value in expected.items() if key != "tracker"}
    # Byte for byte what aiohttp's own json.dumps writes (the action server reads the domain
    # member by its text: actions/calls.py).
    assert server.bodies[1] == json.dumps(json.loads(server.bodies[1])).encode()
    assert "domain" not in json.loads(server.bodies[3])


def test_an_idle_connection_is_dropped_before_the_server_drops_it(
        domain: Domain, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rasa_fixes, "KEEPALIVE_SECONDS", 0.2)
    server = ActionServer(keepalive=0.5)

    async def scenario() -> None:
        url = await server.start()
        try:
            await _call(domain, url)
            await _call(domain, url)
            await asyncio.sleep(0.35)  # idle longer than the pool keeps a connection
            await _call(domain, url)
            await asyncio.sleep(0.8)  # longer than the server keeps it too
            await _call(domain, url)
        finally:
            await close_pooled_sessions()
            await server.stop()

    asyncio.run(scenario())
    first, second, third, fourth = server.connections
    assert first == second
    assert len({first, third, fourth}) == 3


def test_calls_go_on_when_the_server_closes_connections_or_restarts(domain: Domain) -> None:
    closing = ActionServer(close_each=True)
    restarted = ActionServer()

    async def scenario() -> None:
        url = await closing.start()
        for _ in range(3):
            assert await _call(domain, url) == []
        await closing.stop()
        url = await restarted.start()
        assert await _call(domain, url) == []
        await restarted.stop()  # a rolling restart: same port, connections gone
        assert await restarted.start() == url
        for _ in range(2):
            assert await _call(domain, url) == []
        await close_pooled_sessions()
        await restarted.stop()

    asyncio.run(scenario())
    assert len(closing.bodies) == 3 and len(set(closing.connections)) == 3
    assert len(restarted.bodies) == 3


def test_the_domain_text_is_written_once_per_domain_object(
        domain: Domain, monkeypatch: pytest.MonkeyPatch) -> None:
    dumped: List[Any] = []
    real_dumps = json.dumps

    def counting(value: Any, **options: Any) -> str:
        dumped.append(value)
        return real_dumps(value, **options)

    monkeypatch.setattr(rasa_fixes.json, "dumps", counting)
    monkeypatch.setattr(rasa_fixes, "_domain_text", [None, ""])
    call = RemoteAction("validate_order_form", EndpointConfig("http://unused")) \
        ._action_call_format(_tracker(domain), domain)
    assert list(call)[-1] == "domain"
    texts = [rasa_fixes.dumps_sharing_domain(call) for _ in range(3)]
    assert texts == [real_dumps(call)] * 3
    assert sum(value is call["domain"] for value in dumped) == 1

    other: Dict[str, Any] = json.loads(real_dumps(domain.as_dict()))
    other["responses"]["utter_greet"] = [{"text": "换了一个欢迎语"}]
    changed = {**call, "domain": other}
    assert rasa_fixes.dumps_sharing_domain(changed) == real_dumps(changed)

    # Not an action call laid out as Rasa writes it: plain json.dumps.
    for value in ({"domain": other, "next_action": "x"}, {"domain": other}, [1, "二"],
                  {"domain": "text", "x": 1}, "文本"):
        assert rasa_fixes.dumps_sharing_domain(value) == real_dumps(value)
