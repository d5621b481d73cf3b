"""Guards inside the Rasa server process, installed by our input channel (channels.rest):

1. Masked logs (security.logs): Rasa logs raw customer text on webhook failures and for
   `/`-messages.
2. Model replacement over HTTP is off: `PUT /model` (and unloading, training, testing over
   HTTP) answers 403 unless RASA_ALLOW_MODEL_REPLACEMENT=1. With a leaked token, replacing the
   model left every customer without an answer for minutes.
3. Bounded work per turn: a session longer than SESSION_MAX_MESSAGES customer messages
   (default 40) rolls over to a new session, as an expired one does; action_session_start
   carries the dialogue state over. Rasa replays, featurises and sends the action server
   the whole session on every turn, so without a bound replies slowed from 0.13 s to
   5-13 s in a 150-message conversation.
4. An honest answer when the action server is down or fails: instead of silence (Rasa logs
   the error and its circuit breaker ends the turn with `[]`), the customer hears
   FALLBACK_TEXT, the conversation gets a ticket (the desk's handoff API, reason
   `action_server_down` / `action_failed`; a local file when the desk is down too), and the
   message stays in the tracker as always.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import aiohttp
from rasa.core.actions.action import ActionExecutionRejection, ActionSessionStart, RemoteAction
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import (
    BotUttered,
    Event,
    FollowupAction,
    SessionStarted,
    UserUttered,
)
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from security import logs
from service_common.config import ConfigError
from service_common.http import HttpClient, HttpError, close_pooled_sessions, idempotency_key
from service_common.settings import (
    check_environment,
    env_bool,
    env_int,
    env_optional,
    env_setting,
    env_str,
)

logger = logging.getLogger(__name__)

FALLBACK_TEXT = "系统有点忙,您的消息已收到,稍后客服会联系您。"
FALLBACK_MARK = "action_server_down"
# HTTP routes that change or load what every customer talks to.
MODEL_ROUTES = {("PUT", "/model"), ("DELETE", "/model"), ("POST", "/model/train"),
                ("POST", "/model/test/stories"), ("POST", "/model/test/intents")}
TICKET_EVERY_SECONDS = 30 * 60  # one ticket per conversation while the outage lasts
MAX_TICKET_TEXT = 2000

_tickets: Dict[str, float] = {}
_installed = False


def install(extra_ints: Sequence[str] = (), extra_numbers: Sequence[str] = ()) -> None:
    """Idempotent; called when the channel module is imported by Rasa (with the channels'
    own settings). A bad setting stops the Rasa server at start with one line naming it."""
    global _installed
    if _installed:
        return
    _installed = True
    logs.install()
    try:
        check_environment(extra_ints, extra_numbers)
    except ConfigError as error:
        print(f"rasa: {error}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    RemoteAction.run = _run_with_fallback
    MessageProcessor._has_session_expired = _session_over


def session_max_messages() -> int:
    # A typo used to fall back to 40 silently; now it stops the server at start.
    return env_int("SESSION_MAX_MESSAGES")


_has_session_expired = MessageProcessor._has_session_expired


def _session_over(self: MessageProcessor, tracker: Any) -> bool:
    """Expired by time (Rasa's rule) or too long (ours; 0 turns the bound off)."""
    if _has_session_expired(self, tracker):
        return True
    limit = session_max_messages()
    if limit <= 0 or not self.domain.session_config.are_sessions_enabled():
        return False
    messages = 0
    for event in reversed(tracker.events):
        if isinstance(event, SessionStarted):
            break
        if isinstance(event, UserUttered):
            messages += 1
            if messages >= limit:
                logger.info("session of %s reached %s messages: a new session carries "
                            "the state over", tracker.sender_id, limit)
                return True
    return False


def attach(blueprint: Blueprint) -> None:
    """Adds the server-wide request guard when the blueprint's app starts."""

    @blueprint.listener("before_server_start")
    async def add_guard(app: Sanic, _: Any) -> None:
        if not getattr(app.ctx, "security_guard", False):
            app.ctx.security_guard = True
            app.register_middleware(guard_model_routes, "request")

    @blueprint.listener("after_server_stop")
    async def close_action_sessions(app: Sanic, _: Any) -> None:
        await close_pooled_sessions()  # the connections to the action server


def model_replacement_allowed() -> bool:
    return env_bool("RASA_ALLOW_MODEL_REPLACEMENT")


async def guard_model_routes(request: Request) -> Optional[HTTPResponse]:
    if (request.method, request.path.rstrip("/")) in MODEL_ROUTES \
            and not model_replacement_allowed():
        logger.warning("refused %s %s from %s (RASA_ALLOW_MODEL_REPLACEMENT is off)",
                       request.method, request.path, request.ip)
        return response.json({"error": "forbidden",
                              "message": "model changes over HTTP are disabled on this server"},
                             status=403)
    return None


_original_run = RemoteAction.run


async def _run_with_fallback(self: RemoteAction, output_channel: Any, nlg: Any,
                             tracker: Any, domain: Any) -> List[Event]:
    try:
        return await _original_run(self, output_channel, nlg, tracker, domain)
    except ActionExecutionRejection:
        raise
    except RasaException as problem:
        down = isinstance(problem.__cause__, aiohttp.ClientConnectionError) \
            or "Couldn't connect" in str(problem)
        reason = FALLBACK_MARK if down else "action_failed"
        logger.error("custom action %s could not run (%s): answering the fallback",
                     self.name(), reason)
    if self.name() == "action_session_start":
        # Rasa's own session start, so the conversation goes on; the next custom action
        # (if still down) gives the honest answer.
        return await ActionSessionStart().run(output_channel, nlg, tracker, domain)
    events: List[Event] = [FollowupAction("action_listen")]
    if _answered_this_turn(tracker):
        return events
    asyncio.ensure_future(record_ticket(tracker, reason))
    return [BotUttered(FALLBACK_TEXT, metadata={"fallback": reason})] + events


def _answered_this_turn(tracker: Any) -> bool:
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return False
        if isinstance(event, BotUttered) and (event.metadata or {}).get("fallback"):
            return True
    return False


def _transcript(tracker: Any) -> List[Dict[str, Any]]:
    lines = []
    for event in tracker.events:
        if isinstance(event, UserUttered):
            lines.append({"role": "customer", "text": (event.text or "")[:MAX_TICKET_TEXT],
                          "time": event.timestamp, "intent": None, "emotion": None})
        elif isinstance(event, BotUttered) and event.text:
            lines.append({"role": "bot", "text": event.text[:MAX_TICKET_TEXT],
                          "time": event.timestamp, "intent": None, "emotion": None})
    return lines[-20:]


def _office_hours_open() -> bool:
    try:
        from escalation.rules import load_rules

        return load_rules().office_hours.is_open()
    except Exception:  # noqa: BLE001 - the ticket matters more than the exact flag
        return True


async def record_ticket(tracker: Any, reason: str) -> None:
    """A handoff ticket so a human follows up; a local file when the desk is down too."""
    now = time.time()
    if now - _tickets.get(tracker.sender_id, 0) < TICKET_EVERY_SECONDS:
        return
    _tickets[tracker.sender_id] = now
    packet = {
        "conversation_id": tracker.sender_id,
        "channel": tracker.get_latest_input_channel() or "rest",
        "rule": {"id": reason, "reason": "助手的业务动作暂时无法执行,客户的消息已收到"},
        "queue": "general", "priority": 2,
        "transcript": _transcript(tracker),
        "office_hours": _office_hours_open(),
    }
    url = (env_optional("DESK_URL") or "").rstrip("/")
    token = env_str("DESK_API_TOKEN") or ""
    if url:
        # Keyed by the conversation, its message and the reason: a retry is placed once.
        latest = getattr(tracker, "latest_message", None)
        key = idempotency_key("ticket", tracker.sender_id,
                              getattr(latest, "message_id", None) or now, reason)
        try:
            async with HttpClient(url, name="desk", timeout=5,
                                  headers={"Authorization": f"Bearer {token}"}) as desk:
                reply = await desk.request("POST", "/api/handoffs", json=packet,
                                           idempotency_key=key)
            if reply.status < 400:
                logger.info("ticket for %s recorded at the desk (%s)", tracker.sender_id,
                            reason)
                return
            logger.warning("desk refused the %s ticket: %s", reason, reply.status)
        except HttpError as problem:
            logger.warning("desk unreachable for the %s ticket: %s", reason, problem)
    _write_local_ticket(packet)


def tickets_file() -> Path:
    return Path(env_setting("OFFLINE_TICKETS_FILE"))


def _write_local_ticket(packet: Dict[str, Any]) -> None:
    path = tickets_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"recorded_at": time.time(), **packet}, ensure_ascii=False)
                     + "\n")
    logger.warning("ticket for %s written to %s (desk unavailable)", packet["conversation_id"],
                   path)
