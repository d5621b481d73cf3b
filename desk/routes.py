"""The /api endpoints of the handoff desk. Each request gets its own session (commit on success)."""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, json

from desk import services
from desk import validation as v
from desk.logs import mask
from desk.models import OPEN_STATUSES, STATUSES
from desk.rasa import RasaError, customer_messages_since
from shop.errors import ApiError
from shop.routes import db

logger = logging.getLogger("desk.api")

api = Blueprint("desk_api", url_prefix="/api")

# One resolve at a time per handoff: a double click must not make Rasa ask for two ratings.
# Weak values: a lock disappears once no request holds it.
_resolve_locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()


def _resolve_lock(handoff_id: int) -> asyncio.Lock:
    lock = _resolve_locks.get(handoff_id)
    if lock is None:
        lock = asyncio.Lock()
        _resolve_locks[handoff_id] = lock
    return lock


@api.post("/handoffs")
async def create_handoff(request: Request) -> HTTPResponse:
    queues = request.app.ctx.queues
    packet = v.handoff_packet(v.read_json(request), queues)
    with db(request) as session:
        handoff, created = services.submit(session, packet)
        place = services.position(session, handoff)
        body = services.placement_json(handoff, place, queues.get(handoff.queue))
        body["updated"] = not created
    return json(body, status=201 if created else 200)


@api.get("/handoffs")
async def list_handoffs(request: Request) -> HTTPResponse:
    queues = request.app.ctx.queues
    statuses = v.query_choices(request, "status", STATUSES) or list(OPEN_STATUSES)
    queue_filter = v.query_choices(request, "queue", list(queues))
    limit = v.query_limit(request)
    with db(request) as session:
        handoffs = services.list_handoffs(session, statuses, queue_filter, limit)
        places = services.positions(session, {h.queue for h in handoffs})
        rows = [services.summary_json(h, places.get(h.id), queues.get(h.queue))
                for h in handoffs]
    return json({"count": len(rows), "handoffs": rows})


@api.get("/handoffs/<handoff_id:int>")
async def get_handoff(request: Request, handoff_id: int) -> HTTPResponse:
    queues = request.app.ctx.queues
    with db(request) as session:
        handoff = services.get_handoff(session, handoff_id)
        body = services.detail_json(
            handoff, services.position(session, handoff), queues.get(handoff.queue)
        )
        conversation_id = handoff.conversation_id
        since = services.epoch(handoff.created_at)
        until = services.epoch(handoff.resolved_at) if handoff.resolved_at else None
    # Outside the DB session: Rasa may be slow, the packet alone is still worth showing.
    try:
        tracker = await request.app.ctx.rasa.tracker(conversation_id)
    except RasaError as error:
        logger.info("handoff %d: live messages unavailable (%s)", handoff_id, error.message)
        body.update(live=False, live_error=error.message, messages_since_handoff=None)
    else:
        messages = customer_messages_since(tracker, since, body["transcript"])
        if until is not None:
            messages = [m for m in messages if m["time"] <= until]
        body.update(live=True, live_error=None, messages_since_handoff=messages,
                    bot_paused=bool(tracker.get("paused")))
    return json(body)


@api.post("/handoffs/<handoff_id:int>/claim")
async def claim_handoff(request: Request, handoff_id: int) -> HTTPResponse:
    agent = v.agent_request(v.read_json(request))["agent"]
    queues = request.app.ctx.queues
    with db(request) as session:
        handoff = services.claim(session, handoff_id, agent)
        return json(services.summary_json(handoff, None, queues.get(handoff.queue)))


@api.post("/handoffs/<handoff_id:int>/resolve")
async def resolve_handoff(request: Request, handoff_id: int) -> HTTPResponse:
    fields = v.agent_request(v.read_json(request), with_note=True)
    queues = request.app.ctx.queues
    async with _resolve_lock(handoff_id):
        with db(request) as session:
            handoff = services.get_handoff(session, handoff_id)
            services.check_resolvable(handoff)
            conversation_id = handoff.conversation_id
        try:
            bot_messages = await request.app.ctx.rasa.hand_back(conversation_id)
        except RasaError as error:
            logger.warning(
                "handoff %d: handing conversation %s back to the bot failed at %s: %s",
                handoff_id, mask(conversation_id), error.step, error.message,
            )
            raise ApiError(
                502, "rasa_unavailable",
                f"无法把对话交还机器人（{error.step}）：{error.message}。"
                "转人工状态未改变，请稍后重试",
            ) from None
        with db(request) as session:
            handoff = services.mark_resolved(session, handoff_id, fields["agent"],
                                             fields["note"])
            body: dict[str, Any] = services.summary_json(handoff, None,
                                                         queues.get(handoff.queue))
    body["note"] = handoff.note
    body["bot_messages"] = bot_messages
    return json(body)


@api.get("/queues")
async def list_queues(request: Request) -> HTTPResponse:
    queues = request.app.ctx.queues
    with db(request) as session:
        counts = services.queue_counts(session)
    rows = []
    for name, queue in queues.items():
        waiting = counts.get((name, "waiting"), 0)
        rows.append({
            "name": name,
            "label": queue.label,
            "avg_handling_minutes": queue.avg_handling_minutes,
            "waiting": waiting,
            "callback": counts.get((name, "callback"), 0),
            "active": counts.get((name, "active"), 0),
            # A new arrival at the lowest priority queues up behind everyone waiting.
            "expected_wait_minutes": services.expected_wait(waiting + 1, queue),
        })
    return json({"queues": rows})
