"""Sanic application factory: middleware (API key, request log), health, OpenAPI, routes."""

from __future__ import annotations

import hmac
import json as jsonlib
import logging
import re
import time
from functools import partial
from pathlib import Path
from typing import Optional

from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, json, raw
from sqlalchemy.orm import sessionmaker

from service_common.idempotency import Idempotency
from shop import clock, policy
from shop.db import rebase_dates, world_day
from shop.errors import JsonErrorHandler, error_response
from shop.promotions import DEFAULT_PATH as DEFAULT_PROMOTIONS_PATH
from shop.promotions import PromotionBook
from shop.routes import api
from shop.security import IDEMPOTENCY_KEYS, AttemptLedger, Settings, ensure_proof_secret
from shop.site import site

logger = logging.getLogger("shop.access")

OPENAPI_PATH = Path(__file__).with_name("openapi.yaml")
# Bodies are small JSON documents; anything bigger is refused with 413 early.
# (POST /api/uploads streams its body and applies its own 10 MB limit.)
MAX_BODY_BYTES = 64 * 1024
# 11-digit mobile numbers inside URLs (not parts of 18-digit order ids).
PHONE_IN_TEXT = re.compile(r"(?<!\d)(1\d{2})\d{4}(\d{4})(?!\d)")


def mask_phones(text: str) -> str:
    return PHONE_IN_TEXT.sub(r"\1****\2", text)


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def create_app(
    sessions: sessionmaker,
    api_key: Optional[str] = None,
    name: str = "shop",
    upload_dir: Optional[Path] = None,
    promotions_path: Optional[Path] = None,
    settings: Optional[Settings] = None,
    policy_path: Optional[Path] = None,
) -> Sanic:
    """``upload_dir``: where evidence photos are stored (default ./var/uploads);
    ``promotions_path``: the promotion rules (default shop/promotions.yml). A broken rules
    file raises service_common.config.ConfigError here, before the server starts.
    ``settings``: keys, proofs, lockout and coupon limits (shop.security; default: from the
    environment); ``api_key`` overrides its API key. ``policy_path``: the after-sales
    windows (default policy/aftersales.yml; service_common.config.ConfigError when broken)."""
    app = Sanic(
        name,
        error_handler=JsonErrorHandler(),
        configure_logging=False,
        dumps=partial(jsonlib.dumps, ensure_ascii=False, separators=(",", ":")),
    )
    app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES
    app.ctx.sessions = sessions
    settings = settings or Settings.from_env()
    if api_key:
        settings.api_key = api_key
    app.ctx.settings = settings
    app.ctx.api_key = settings.api_key
    app.ctx.admin_key = settings.admin_key
    app.ctx.ledger = AttemptLedger(settings)
    with sessions() as session:
        app.ctx.proof_secret = ensure_proof_secret(session, settings.proof_secret)
        app.ctx.world_day = world_day(session)
    app.ctx.openapi = OPENAPI_PATH.read_bytes()
    # Created on the first upload (shop.images.store), not at start-up.
    app.ctx.upload_dir = Path(upload_dir or "var/uploads").resolve()
    app.ctx.promotions = PromotionBook(promotions_path or DEFAULT_PROMOTIONS_PATH)
    policy.configure(policy_path)

    @app.on_request
    async def keep_the_demo_world_current(request: Request) -> None:
        """At the first request of a new day, shift the stored dates by the days passed (as
        a start-up does), so a shop left running over midnight does not answer 'yesterday'
        for an order placed 'today'. Once per day and process; the seed date, read under a
        row lock, keeps shop processes sharing one PostgreSQL database from shifting twice."""
        today = clock.today()
        if today != request.app.ctx.world_day:
            with request.app.ctx.sessions() as session:
                rebase_dates(session, today)
            request.app.ctx.world_day = today

    @app.on_request
    async def start_timer_and_authorize(request: Request) -> Optional[HTTPResponse]:
        request.ctx.started = time.perf_counter()
        if not request.path.startswith("/api"):
            return None
        given = request.headers.get("x-api-key", "")
        admin = request.app.ctx.admin_key
        request.ctx.admin = bool(admin) and _same(given, admin)
        if request.path.startswith("/api/admin"):
            if not request.ctx.admin:
                return error_response(
                    401, "unauthorized", "管理接口需要管理员 API Key（请求头 X-Api-Key）"
                )
            return None
        expected = request.app.ctx.api_key
        if expected and not request.ctx.admin and not _same(given, expected):
            return error_response(
                401, "unauthorized", "缺少或错误的 API Key（请求头 X-Api-Key）"
            )
        return None

    # After the key check: only authorized requests are remembered, per caller.
    Idempotency(IDEMPOTENCY_KEYS, sessions,
                lambda request: "admin" if getattr(request.ctx, "admin", False)
                else "assistant", invalid_status=422).install(app)

    @app.on_response
    async def log_request(request: Request, response: HTTPResponse) -> None:
        started = getattr(request.ctx, "started", None)
        elapsed = (time.perf_counter() - started) * 1000 if started else 0.0
        target = request.path + (f"?{request.query_string}" if request.query_string else "")
        logger.info(
            "%s %s %s %.1fms", request.method, mask_phones(target), response.status, elapsed
        )

    @app.get("/health")
    async def health(_request: Request) -> HTTPResponse:
        return json({"status": "ok"})

    @app.get("/openapi.yaml")
    async def openapi(request: Request) -> HTTPResponse:
        return raw(request.app.ctx.openapi, content_type="application/yaml; charset=utf-8")

    app.blueprint(api)
    app.blueprint(site)  # demo storefront with the web chat widget (shop/site.py)
    return app
