"""Sanic application factory: bearer-token auth, request log, health, OpenAPI, routes."""

from __future__ import annotations

import hmac
import json as jsonlib
import logging
import time
from functools import partial
from pathlib import Path
from typing import Optional

from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, json, raw
from sqlalchemy.orm import sessionmaker

from desk.config import Queue
from desk.logs import mask
from desk.rasa import RasaClient
from desk.routes import api
from shop.errors import JsonErrorHandler, error_response

logger = logging.getLogger("desk.access")

OPENAPI_PATH = Path(__file__).with_name("openapi.yaml")
# Packets carry whole transcripts, but anything past 1 MB is a bug or an attack.
MAX_BODY_BYTES = 1024 * 1024
DEV_TOKEN = "desk-dev-token"


def _token_matches(header: str, expected: bytes) -> bool:
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    # Constant-time, so response timing does not leak how much of a guess was right.
    return hmac.compare_digest(given.strip().encode(), expected)


def create_app(
    sessions: sessionmaker,
    queues: dict[str, Queue],
    rasa: RasaClient,
    api_token: str = DEV_TOKEN,
    name: str = "desk",
) -> Sanic:
    app = Sanic(
        name,
        error_handler=JsonErrorHandler(),
        configure_logging=False,
        dumps=partial(jsonlib.dumps, ensure_ascii=False, separators=(",", ":")),
    )
    app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES
    app.ctx.sessions = sessions
    app.ctx.queues = queues
    app.ctx.rasa = rasa
    app.ctx.api_token = api_token.encode()
    app.ctx.openapi = OPENAPI_PATH.read_bytes()

    @app.before_server_start
    async def open_rasa_client(_app: Sanic, _loop: object) -> None:
        await rasa.start()

    @app.after_server_stop
    async def close_rasa_client(_app: Sanic, _loop: object) -> None:
        await rasa.close()

    @app.on_request
    async def start_timer_and_authorize(request: Request) -> Optional[HTTPResponse]:
        request.ctx.started = time.perf_counter()
        if request.path.startswith("/api"):
            header = request.headers.get("authorization", "")
            if not _token_matches(header, request.app.ctx.api_token):
                response = error_response(
                    401, "unauthorized",
                    "缺少或错误的访问令牌（请求头 Authorization: Bearer <令牌>）",
                )
                response.headers["WWW-Authenticate"] = 'Bearer realm="desk"'
                return response
        return None

    @app.on_response
    async def log_request(request: Request, response: HTTPResponse) -> None:
        started = getattr(request.ctx, "started", None)
        elapsed = (time.perf_counter() - started) * 1000 if started else 0.0
        # The query string is left out: filters are harmless, but it is free text.
        logger.info("%s %s %s %.1fms", request.method, mask(request.path), response.status,
                    elapsed)

    @app.get("/health")
    async def health(_request: Request) -> HTTPResponse:
        return json({"status": "ok"})

    @app.get("/openapi.yaml")
    async def openapi(request: Request) -> HTTPResponse:
        return raw(request.app.ctx.openapi, content_type="application/yaml; charset=utf-8")

    app.blueprint(api)
    return app
