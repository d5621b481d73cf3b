"""Sanic app factory: JSON errors, body limit, masked request log, /health, /openapi.yaml."""

from __future__ import annotations

import json as jsonlib
import logging
import time
from functools import partial
from pathlib import Path
from typing import Optional

from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, json, raw

from service_common.errors import JsonErrorHandler
from service_common.masking import mask_phones


def create_base_app(
    name: str,
    openapi_path: Optional[Path] = None,
    max_body_bytes: int = 64 * 1024,
    log_query: bool = False,
) -> Sanic:
    """A Sanic app with the project's conventions; the caller adds auth and routes.

    `log_query`: also log the query string (masked). Off when queries may hold free text.
    """
    app = Sanic(
        name,
        error_handler=JsonErrorHandler(),
        configure_logging=False,
        dumps=partial(jsonlib.dumps, ensure_ascii=False, separators=(",", ":")),
    )
    app.config.REQUEST_MAX_SIZE = max_body_bytes
    access = logging.getLogger(f"{name}.access")

    @app.on_request
    async def start_timer(request: Request) -> None:
        request.ctx.started = time.perf_counter()

    @app.on_response
    async def log_request(request: Request, response: HTTPResponse) -> None:
        started = getattr(request.ctx, "started", None)
        elapsed = (time.perf_counter() - started) * 1000 if started else 0.0
        target = request.path
        if log_query and request.query_string:
            target += f"?{request.query_string}"
        access.info("%s %s %s %.1fms", request.method, mask_phones(target), response.status,
                    elapsed)

    @app.get("/health")
    async def health(_request: Request) -> HTTPResponse:
        return json({"status": "ok"})

    if openapi_path is not None:
        spec = Path(openapi_path).read_bytes()

        @app.get("/openapi.yaml")
        async def openapi(_request: Request) -> HTTPResponse:
            return raw(spec, content_type="application/yaml; charset=utf-8")

    return app
