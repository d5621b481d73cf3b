"""The desk's Sanic app: service_common scaffolding, caller authentication, the /api routes,
the agents' web app (desk/web/dist) and the rating follow-up."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path
from typing import Optional

from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, file, html
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from desk import auth, services
from desk.config import Queue
from desk.live import Hub
from desk.models import IDEMPOTENCY_KEYS, Handoff, utcnow
from desk.rasa import ChannelPush, RasaClient, RasaError, rating_after
from desk.routes import api
from service_common.app import create_base_app
from service_common.errors import ApiError, error_response
from service_common.idempotency import Idempotency

logger = logging.getLogger("desk")

OPENAPI_PATH = Path(__file__).with_name("openapi.yaml")
WEB_DIST = Path(__file__).with_name("web") / "dist"
# Packets carry whole transcripts, but anything past 1 MB is a bug or an attack.
MAX_BODY_BYTES = 1024 * 1024
# The bearer token of a laptop demo (DEMO_MODE=1 without DESK_API_TOKEN); refused otherwise.
DEV_TOKEN = "desk-dev-token"
PUBLIC_API = ("/api/auth/login",)
# The built page loads only its own scripts and styles; photos may come from the shop.
CSP = ("default-src 'self'; img-src 'self' data: http: https:; style-src 'self' "
       "'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
       "form-action 'self'")
RATING_WINDOW = timedelta(minutes=30)


def create_app(
    sessions: sessionmaker,
    queues: dict[str, Queue],
    rasa: RasaClient,
    api_token: str,
    name: str = "desk",
    push_token: Optional[str] = None,
    push_channels: Optional[set[str]] = None,
    session_lifetime: timedelta = timedelta(hours=12),
    throttle: Optional[auth.Throttle] = None,
    cookie_secure: bool = False,
    auto_assign: bool = True,
    rating_poll_seconds: float = 5.0,
) -> Sanic:
    app = create_base_app(name, OPENAPI_PATH, MAX_BODY_BYTES)
    app.ctx.sessions = sessions
    app.ctx.queues = queues
    app.ctx.rasa = rasa
    app.ctx.api_token = api_token.encode()
    app.ctx.push = ChannelPush(rasa, push_token, push_channels or {"webchat"})
    app.ctx.hub = Hub()
    app.ctx.tasks = set()
    app.ctx.session_lifetime = session_lifetime
    app.ctx.throttle = throttle or auth.Throttle()
    app.ctx.cookie_secure = cookie_secure
    app.ctx.auto_assign = auto_assign

    @app.before_server_start
    async def open_rasa_client(_app: Sanic, _loop: object) -> None:
        await rasa.start()

    @app.after_server_start
    async def start_rating_watch(app_: Sanic, _loop: object) -> None:
        app_.ctx.rating_task = None
        if rating_poll_seconds > 0:
            app_.ctx.rating_task = asyncio.get_running_loop().create_task(
                watch_ratings(app_, rating_poll_seconds))

    @app.before_server_stop
    async def stop_background(app_: Sanic, _loop: object) -> None:
        tasks = [t for t in [getattr(app_.ctx, "rating_task", None), *app_.ctx.tasks] if t]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @app.after_server_stop
    async def close_clients(_app: Sanic, _loop: object) -> None:
        await rasa.close()
        import sys

        backend_module = sys.modules.get("actions.backend")  # loaded by the first playbook
        backend = getattr(backend_module, "_backend", None) if backend_module else None
        if backend is not None and hasattr(backend, "close"):
            await backend.close()

    @app.on_request
    async def authorize(request: Request) -> Optional[HTTPResponse]:
        if not request.path.startswith("/api") or request.path in PUBLIC_API:
            request.ctx.principal = None
            return None
        try:
            request.ctx.principal = auth.authenticate(request)
        except ApiError as error:
            response = error_response(error.status, error.code, error.message)
            if error.code == "unauthorized":
                response.headers["WWW-Authenticate"] = 'Bearer realm="desk"'
            return response
        return None

    # After authentication: keys are remembered per caller (the service, or one agent).
    Idempotency(IDEMPOTENCY_KEYS, sessions, _caller).install(app)

    @app.on_response
    async def security_headers(request: Request, response: HTTPResponse) -> None:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if not request.path.startswith("/api"):
            response.headers.setdefault("Content-Security-Policy", CSP)
            response.headers.setdefault("X-Frame-Options", "DENY")
        else:
            response.headers.setdefault("Cache-Control", "no-store")

    app.blueprint(api)

    @app.get("/")
    async def index(_request: Request) -> HTTPResponse:
        page = WEB_DIST / "index.html"
        if not page.is_file():
            return html("<!doctype html><meta charset=\"utf-8\"><title>客服工作台</title>"
                        "<p>工作台页面尚未构建：请运行 scripts/setup_web.sh "
                        "（npm ci &amp;&amp; npm run build）。</p>", status=503)
        return await file(page, mime_type="text/html; charset=utf-8",
                          headers={"Cache-Control": "no-cache"})

    if (WEB_DIST / "assets").is_dir():
        app.static("/assets", str(WEB_DIST / "assets"), name="assets")
    return app


def _caller(request: Request) -> Optional[str]:
    principal = getattr(request.ctx, "principal", None)
    if principal is None:
        return None  # the public login: not covered
    return "service" if principal.is_service else f"agent:{principal.agent_id}"


async def watch_ratings(app: Sanic, every: float) -> None:
    """After resolve the bot asks for a rating; when the customer answers, Rasa sets the
    `rating` slot. Recently resolved handoffs are checked until it arrives (CSAT feed)."""
    while True:
        await asyncio.sleep(every)
        try:
            await check_ratings(app)
        except Exception:  # noqa: BLE001 - the watch must outlive a bad round
            logger.exception("rating check failed")


async def check_ratings(app: Sanic) -> None:
    since = utcnow() - RATING_WINDOW
    with app.ctx.sessions() as session:
        pending = session.execute(
            select(Handoff.id, Handoff.conversation_id, Handoff.resolved_at)
            .where(Handoff.status == "resolved", Handoff.rating.is_(None),
                   Handoff.resolved_at >= since).limit(50)).all()
    for handoff_id, conversation_id, resolved_at in pending:
        try:
            tracker = await app.ctx.rasa.tracker(conversation_id)
        except RasaError:
            return  # Rasa is down: try again next round
        score = rating_after(tracker, services.epoch(resolved_at))
        if score is None:
            continue
        with app.ctx.sessions() as session:
            handoff = session.get(Handoff, handoff_id)
            if handoff is None or handoff.rating is not None:
                continue
            handoff.rating = score
            services.record_event(session, "rating", handoff, handoff.agent_id, rating=score,
                                  agent_name=handoff.resolved_by)
            session.commit()
            app.ctx.hub.publish("handoff", handoff=services.summary_json(
                handoff, None, app.ctx.queues.get(handoff.queue)))
        logger.info("handoff %d rated %d", handoff_id, score)
