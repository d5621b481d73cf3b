"""service_common.idempotency on a small real Sanic service (SQLite), for the cases the demo
shop cannot be made to show: a first attempt that failed with a 5xx, a repeat that arrives
while the first request still runs, and a key used again after it expired."""

from __future__ import annotations

import asyncio
import socket
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict

import pytest
from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, json
from sqlalchemy import MetaData

from service_common.db import make_engine, make_session_factory
from service_common.errors import JsonErrorHandler
from service_common.http import NO_RETRY, HttpClient, HttpError
from service_common.idempotency import Idempotency, make_table


@pytest.fixture(autouse=True)
def sanic_test_mode(monkeypatch) -> None:
    # Sanic rewrites its request path once per process unless in test mode, which keeps the
    # original to rewrite again: several apps may start in one test session.
    monkeypatch.setattr(Sanic, "test_mode", True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def serve(tmp_path: Path, use: Callable[[HttpClient, Dict[str, Any]], Awaitable[Any]],
                ttl: timedelta = timedelta(hours=24)) -> Any:
    """A service whose POST /api/things creates a thing, fails with a 500 while `broken`,
    and waits for `release` when asked to be slow."""
    state: Dict[str, Any] = {"created": 0, "broken": True, "release": asyncio.Event(),
                             "started": asyncio.Event()}
    metadata = MetaData()
    table = make_table(metadata, "test_idempotency_keys")
    engine = make_engine(f"sqlite:///{tmp_path / 'keys.sqlite'}")
    metadata.create_all(engine)
    app = Sanic(f"idempotency_{uuid.uuid4().hex[:8]}", error_handler=JsonErrorHandler(),
                configure_logging=False)
    Idempotency(table, make_session_factory(engine), lambda request: "caller",
                ttl=ttl).install(app)

    @app.post("/api/things")
    async def create(request: Request) -> HTTPResponse:
        if (request.json or {}).get("slow"):
            state["started"].set()
            await state["release"].wait()
        if state["broken"]:
            state["broken"] = False
            raise RuntimeError("the database went away")
        state["created"] += 1
        return json({"id": state["created"]}, status=201)

    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
    assert server is not None
    await server.startup()
    try:
        async with HttpClient(f"http://127.0.0.1:{port}", retry=NO_RETRY) as client:
            return await use(client, state)
    finally:
        server.close()
        await server.wait_closed()
        engine.dispose()


def test_a_first_attempt_that_failed_with_a_5xx_is_forgotten(tmp_path) -> None:
    async def use(client: HttpClient, state: Dict[str, Any]) -> Any:
        key = uuid.uuid4().hex
        # NO_RETRY: the client sends each attempt itself, as a caller retrying later would.
        with pytest.raises(HttpError) as failed:
            await client.request("POST", "/api/things", json={}, idempotency_key=key)
        assert failed.value.status == 500
        again = await client.request_json("POST", "/api/things", json={}, idempotency_key=key)
        replay = await client.request_json("POST", "/api/things", json={}, idempotency_key=key)
        return again, replay, state["created"]

    again, replay, created = asyncio.run(serve(tmp_path, use))
    assert (again.status, again.data) == (201, {"id": 1})
    assert "Idempotent-Replayed" not in again.headers
    assert (replay.status, replay.data, replay.headers.get("Idempotent-Replayed")) == \
        (201, {"id": 1}, "true")
    assert created == 1


def test_a_repeat_while_the_first_runs_is_409_and_creates_nothing(tmp_path) -> None:
    async def use(client: HttpClient, state: Dict[str, Any]) -> Any:
        state["broken"] = False
        key = uuid.uuid4().hex
        first = asyncio.ensure_future(client.request_json(
            "POST", "/api/things", json={"slow": True}, idempotency_key=key))
        await state["started"].wait()
        during = await client.request_json("POST", "/api/things", json={"slow": True},
                                           idempotency_key=key)
        state["release"].set()
        return await first, during, state["created"]

    first, during, created = asyncio.run(serve(tmp_path, use))
    assert first.status == 201
    assert (during.status, during.data["error"]["code"]) == (409, "idempotency_in_progress")
    assert during.headers.get("Retry-After") == "1"
    assert created == 1


def test_a_key_used_again_after_it_expired_runs_afresh(tmp_path) -> None:
    async def use(client: HttpClient, state: Dict[str, Any]) -> Any:
        state["broken"] = False
        key = uuid.uuid4().hex
        replies = [await client.request_json("POST", "/api/things", json={"n": 1},
                                             idempotency_key=key)]
        replies.append(await client.request_json("POST", "/api/things", json={"n": 1},
                                                 idempotency_key=key))
        await asyncio.sleep(2.2)  # the key expires (not purged yet: purges are 10 min apart)
        for body in ({"n": 2}, {"n": 2}):  # another body is no reuse once the key expired
            replies.append(await client.request_json("POST", "/api/things", json=body,
                                                     idempotency_key=key))
        return replies, state["created"]

    replies, created = asyncio.run(serve(tmp_path, use, ttl=timedelta(seconds=1)))
    assert [(r.status, r.data, r.headers.get("Idempotent-Replayed")) for r in replies] == [
        (201, {"id": 1}, None), (201, {"id": 1}, "true"),
        (201, {"id": 2}, None), (201, {"id": 2}, "true")]
    assert created == 2
