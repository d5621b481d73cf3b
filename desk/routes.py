"""The /api endpoints of the desk. Each request gets its own session (commit on success).

Callers: services with the bearer token (action server, web-chat channel, analytics) and
agents with the session cookie (the web app). See desk/openapi.yaml and docs/desk.md.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from datetime import timedelta
from typing import Any, Optional

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, json
from sqlalchemy import select

from desk import assist, auth, services, work
from desk import validation as v
from desk.auth import Principal
from desk.models import AGENT_STATUSES, OPEN_STATUSES, STATUSES, Agent, DeskEvent, Handoff, utcnow
from desk.rasa import RasaError, customer_messages_since
from service_common.db import db
from service_common.errors import ApiError
from service_common.masking import mask

logger = logging.getLogger("desk.api")

api = Blueprint("desk_api", url_prefix="/api")

# One resolve at a time per handoff: a double click must not make Rasa ask for two ratings.
_resolve_locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
VIEWS = ("mine", "waiting", "all")


def _resolve_lock(handoff_id: int) -> asyncio.Lock:
    lock = _resolve_locks.get(handoff_id)
    if lock is None:
        lock = asyncio.Lock()
        _resolve_locks[handoff_id] = lock
    return lock


def who(request: Request) -> Principal:
    return request.ctx.principal


def _spawn(request: Request, coro: Any) -> None:
    """Work the caller need not wait for (queue updates to customers)."""
    task = asyncio.get_running_loop().create_task(coro)
    request.app.ctx.tasks.add(task)
    task.add_done_callback(request.app.ctx.tasks.discard)


# ---------------------------------------------------------------- customer notifications


async def notify(app: Any, channel: str, conversation_id: str, kind: str,
                 agent: Optional[dict[str, Any]] = None, **fields: Any) -> dict[str, Any]:
    try:
        return await app.ctx.push.send(channel, conversation_id, kind, agent, **fields)
    except RasaError as error:
        logger.warning("push %s to %s failed: %s", kind, mask(conversation_id), error.message)
        return {"recorded": False, "delivered": 0, "via": "error", "error": error.message}


async def queue_updates(app: Any) -> None:
    """Every waiting customer on a push channel hears their new place and wait."""
    with app.ctx.sessions() as session:
        rows = session.execute(select(Handoff).where(Handoff.status == "waiting")
                               .order_by(*services.QUEUE_ORDER)).scalars().all()
        places = services.positions(session, {h.queue for h in rows})
        targets = [(h.channel, h.conversation_id, places.get(h.id),
                    services.expected_wait(places.get(h.id), app.ctx.queues.get(h.queue)))
                   for h in rows if app.ctx.push.can_push(h.channel)]
    for channel, conversation_id, place, wait in targets:
        await notify(app, channel, conversation_id, "queue", position=place,
                     wait_minutes=int(round(wait or 0)))


async def after_assignment(app: Any, assigned: list[tuple[Handoff, Agent]]) -> None:
    for handoff, agent in assigned:
        await announce_join(app, handoff, agent.id, agent.name)
    await queue_updates(app)


async def announce_join(app: Any, handoff: Handoff, agent_id: Optional[int],
                        agent_name: str) -> None:
    text = f"人工客服 {agent_name} 已接入，请问有什么可以帮您？"
    result = await notify(app, handoff.channel, handoff.conversation_id, "agent_joined",
                          {"id": str(agent_id or agent_name), "name": agent_name}, text=text)
    logger.info("handoff %d: join notice %s", handoff.id, result.get("via"))


def publish_handoff(request: Request, handoff: Handoff) -> None:
    request.app.ctx.hub.publish("handoff", handoff=services.summary_json(
        handoff, None, request.app.ctx.queues.get(handoff.queue)))


def run_auto_assign(request: Request) -> None:
    if not request.app.ctx.auto_assign:
        return
    with db(request) as session:
        assigned = work.auto_assign(session)
        for handoff, _agent in assigned:
            publish_handoff(request, handoff)
    _spawn(request, after_assignment(request.app, assigned))


# ---------------------------------------------------------------- login


@api.post("/auth/login")
async def login(request: Request) -> HTTPResponse:
    body = v.read_json(request)
    v.only_keys(body, {"name", "password"})
    name = v.text_field(body, "name", "name", max_len=64)
    password = body.get("password")
    if not isinstance(password, str) or not password or len(password) > 256:
        raise v.bad("invalid_value", "字段 password 必须是 1-256 个字符的字符串")
    client = request.remote_addr or request.ip or "-"
    ctx = request.app.ctx
    with db(request) as session:
        agent, token, row = auth.login(session, ctx.throttle, name, password, client,
                                       ctx.session_lifetime)
        if agent.status == "offline":
            agent.status = "away"  # online (auto-assignment) is the agent's own choice
        body_out = {"agent": work.agent_json(agent, work.loads(session).get(agent.id, 0)),
                    "csrf_token": row.csrf_token,
                    "expires_at": services.iso(row.expires_at)}
    logger.info("agent %s logged in", mask(agent.name))
    response = json(body_out)
    secure = ctx.cookie_secure or request.headers.get("x-forwarded-proto") == "https"
    response.cookies[auth.COOKIE] = token
    cookie = response.cookies[auth.COOKIE]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["path"] = "/"
    cookie["max-age"] = int(ctx.session_lifetime.total_seconds())
    if secure:
        cookie["secure"] = True
    return response


@api.post("/auth/logout")
async def logout(request: Request) -> HTTPResponse:
    principal = who(request)
    with db(request) as session:
        auth.logout(session, request.cookies.get(auth.COOKIE))
        if principal.agent_id:
            agent = session.get(Agent, principal.agent_id)
            if agent is not None:
                agent.status = "offline"
    response = json({"logged_out": True})
    response.cookies[auth.COOKIE] = ""
    response.cookies[auth.COOKIE]["max-age"] = 0
    response.cookies[auth.COOKIE]["path"] = "/"
    return response


@api.get("/me")
async def me(request: Request) -> HTTPResponse:
    principal = who(request)
    auth.require_agent(principal)
    with db(request) as session:
        agent = work.get_agent(session, principal.agent_id or 0)
        body = work.agent_json(agent, work.loads(session).get(agent.id, 0))
    return json({"agent": body, "csrf_token": principal.csrf,
                 "queues": [{"name": q.name, "label": q.label}
                            for q in request.app.ctx.queues.values()]})


@api.post("/me/status")
async def set_status(request: Request) -> HTTPResponse:
    principal = who(request)
    auth.require_agent(principal)
    body = v.read_json(request)
    v.only_keys(body, {"status"})
    status = v.choice_field(body, "status", "status", ("online", "away"))
    with db(request) as session:
        agent = work.get_agent(session, principal.agent_id or 0)
        agent.status = status
        body_out = work.agent_json(agent, work.loads(session).get(agent.id, 0))
    request.app.ctx.hub.publish("agent", agent=body_out)
    if status == "online":
        run_auto_assign(request)
    return json({"agent": body_out})


@api.get("/agents")
async def list_agents(request: Request) -> HTTPResponse:
    principal = who(request)
    connected = request.app.ctx.hub.connected_agents
    with db(request) as session:
        load = work.loads(session)
        agents = session.execute(select(Agent).where(Agent.disabled.is_(False))
                                 .order_by(Agent.id)).scalars().all()
        rows = [work.agent_json(a, load.get(a.id, 0), a.id in connected) for a in agents]
    if not (principal.is_service or principal.is_supervisor):
        # Agents see colleagues to transfer to, not their settings.
        rows = [{k: r[k] for k in ("id", "name", "role", "status", "active", "max_chats")}
                for r in rows]
    return json({"agents": rows})


# ---------------------------------------------------------------- live stream


@api.get("/stream")
async def stream(request: Request) -> HTTPResponse:
    principal = who(request)
    auth.require_agent(principal)
    hub = request.app.ctx.hub
    key, queue = hub.subscribe(principal.agent_id or 0)
    response = await request.respond(
        content_type="text/event-stream; charset=utf-8",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    try:
        await response.send("retry: 2000\n\nevent: hello\ndata: {}\n\n")
        while True:
            try:
                frame = await asyncio.wait_for(queue.get(), timeout=15)
            except asyncio.TimeoutError:
                frame = ": keep-alive\n\n"  # proxies close idle streams
            await response.send(frame)
    finally:
        hub.unsubscribe(key)
    return response


# ---------------------------------------------------------------- handoffs


@api.post("/handoffs")
async def create_handoff(request: Request) -> HTTPResponse:
    auth.require_service(who(request))
    queues = request.app.ctx.queues
    packet = v.handoff_packet(v.read_json(request), queues)
    with db(request) as session:
        handoff, created = services.submit(session, packet)
        place = services.position(session, handoff)
        body = services.placement_json(handoff, place, queues.get(handoff.queue))
        body["updated"] = not created
        publish_handoff(request, handoff)
    run_auto_assign(request)
    if created:
        _spawn(request, queue_updates(request.app))
    return json(body, status=201 if created else 200)


@api.get("/handoffs")
async def list_handoffs(request: Request) -> HTTPResponse:
    principal = who(request)
    queues = request.app.ctx.queues
    v.only_query(request, {"status", "queue", "limit", "view"})
    view = v.query_choice(request, "view", VIEWS)
    statuses = v.query_choices(request, "status", STATUSES) or list(OPEN_STATUSES)
    queue_filter = v.query_choices(request, "queue", list(queues))
    limit = v.query_limit(request)
    agent_id = None
    if view == "mine":
        auth.require_agent(principal)
        agent_id = principal.agent_id
        statuses = ["active"]
    elif view == "waiting":
        statuses = ["waiting", "callback"]
    with db(request) as session:
        handoffs = services.list_handoffs(session, statuses, queue_filter, limit, agent_id)
        places = services.positions(session, {h.queue for h in handoffs})
        rows = [services.summary_json(h, places.get(h.id), queues.get(h.queue))
                for h in handoffs]
    return json({"count": len(rows), "handoffs": rows})


def _timeline(body: dict[str, Any], desk_messages: list[dict[str, Any]],
              live: Optional[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The packet transcript, what Rasa logged since, and the desk's own lines, by time."""
    lines = [{**m, "kind": m["role"], "source": "packet"} for m in body["transcript"]]
    for m in live or []:
        lines.append({"role": "customer", "kind": "customer", "text": m["text"],
                      "time": m["time"], "intent": m.get("intent"),
                      "emotion": m.get("emotion"), "source": "rasa"})
    tracked = [(line["text"], line["time"]) for line in lines if line["kind"] == "customer"]
    for m in desk_messages:
        if m["kind"] == "customer" and any(
                text == m["text"] and abs(at - m["time"]) < 30 for text, at in tracked):
            continue  # the channel told us and Rasa logged it: show it once
        lines.append({"role": "agent" if m["kind"] == "agent" else m["kind"],
                      "kind": m["kind"], "text": m["text"], "time": m["time"],
                      "agent_name": m["agent_name"], "meta": m["meta"], "source": "desk"})
    lines.sort(key=lambda line: line["time"])
    return lines


@api.get("/handoffs/<handoff_id:int>")
async def get_handoff(request: Request, handoff_id: int) -> HTTPResponse:
    principal = who(request)
    queues = request.app.ctx.queues
    v.only_query(request, set())
    with db(request) as session:
        handoff = services.get_handoff(session, handoff_id)
        body = services.detail_json(
            handoff, services.position(session, handoff), queues.get(handoff.queue)
        )
        desk_messages = [work.message_json(m) for m in work.messages(session, handoff_id)]
        conversation_id = handoff.conversation_id
        since = services.epoch(handoff.created_at)
        until = services.epoch(handoff.resolved_at) if handoff.resolved_at else None
    # Outside the DB session: Rasa may be slow, the packet alone is still worth showing.
    live: Optional[list[dict[str, Any]]] = None
    try:
        tracker = await request.app.ctx.rasa.tracker(conversation_id)
    except RasaError as error:
        logger.info("handoff %d: live messages unavailable (%s)", handoff_id, error.message)
        body.update(live=False, live_error=error.message, messages_since_handoff=None)
    else:
        live = customer_messages_since(tracker, since, body["transcript"])
        if until is not None:
            live = [m for m in live if m["time"] <= until]
        body.update(live=True, live_error=None, messages_since_handoff=live,
                    bot_paused=bool(tracker.get("paused")))
    body["messages"] = desk_messages
    body["timeline"] = _timeline(body, desk_messages, live)
    mine = principal.is_service or principal.is_supervisor or (
        body["agent_id"] is not None and body["agent_id"] == principal.agent_id)
    body["can_reply"] = bool(mine and body["status"] == "active")
    body["read_only_reason"] = None if body["can_reply"] else (
        "会话已结束" if body["status"] == "resolved" else
        f"该会话由 {body['claimed_by']} 负责，您只能查看" if body["status"] == "active"
        else "接入后才能回复")
    if live and _upset_live(live) and not body["upset"]:
        # The mood turned while the customer waited: highlight them in the list from now on.
        with db(request) as session:
            services.get_handoff(session, handoff_id).upset = True
        body["upset"] = True
    body["alert"] = "当前客户情绪波动,建议使用安抚话术并优先处理" if body["upset"] else None
    return json(body)


def _load_for_agent(session: Any, principal: Principal) -> Agent:
    return work.get_agent(session, principal.agent_id or 0)


@api.post("/handoffs/<handoff_id:int>/claim")
async def claim_handoff(request: Request, handoff_id: int) -> HTTPResponse:
    principal = who(request)
    body = v.read_json(request)
    queues = request.app.ctx.queues
    with db(request) as session:
        if principal.is_service:
            v.only_keys(body, {"agent"})
            name = v.agent_request(body)["agent"] or ""
            handoff = services.claim(session, handoff_id, name)
            agent_id = None
        else:
            v.only_keys(body, set())
            agent = _load_for_agent(session, principal)
            was_mine = services.get_handoff(session, handoff_id).agent_id == agent.id
            handoff = work.claim_by_agent(session, handoff_id, agent)
            name, agent_id = agent.name, agent.id
            if was_mine:
                name = ""  # a repeated click: no second join notice
        result = services.summary_json(handoff, None, queues.get(handoff.queue))
        publish_handoff(request, handoff)
    if name:
        await announce_join(request.app, handoff, agent_id, name)
        _spawn(request, queue_updates(request.app))
    return json(result)


@api.post("/handoffs/<handoff_id:int>/transfer")
async def transfer_handoff(request: Request, handoff_id: int) -> HTTPResponse:
    principal = who(request)
    body = v.read_json(request)
    v.only_keys(body, {"to_agent", "to_queue", "note"})
    queues = request.app.ctx.queues
    to_agent = body.get("to_agent")
    if to_agent is not None and (isinstance(to_agent, bool) or not isinstance(to_agent, int)):
        raise v.bad("invalid_type", "字段 to_agent 必须是客服编号（整数）")
    to_queue = None if body.get("to_queue") is None else v.queue_field(body, "to_queue", queues)
    if to_agent is None and to_queue is None:
        raise v.bad("missing_field", "缺少必填字段：to_agent 或 to_queue")
    note = v.text_field(body, "note", "note", required=False, max_len=2000)
    with db(request) as session:
        handoff = services.get_handoff(session, handoff_id)
        handoff, target = work.transfer(session, handoff, principal, to_agent, to_queue, note,
                                        queues)
        result = services.summary_json(handoff, services.position(session, handoff),
                                       queues.get(handoff.queue))
        publish_handoff(request, handoff)
    if target is not None:
        await announce_join(request.app, handoff, target.id, target.name)
    else:
        run_auto_assign(request)
    _spawn(request, queue_updates(request.app))
    return json(result)


async def _send_to_customer(request: Request, handoff_id: int, text: str,
                            image: Optional[str], meta: dict[str, Any]) -> dict[str, Any]:
    principal = who(request)
    with db(request) as session:
        handoff = services.get_handoff(session, handoff_id)
        work.check_owner(handoff, principal, "回复")
        if handoff.status != "active":
            raise ApiError(409, "not_active", "请先接入该会话再回复")
        channel, conversation_id = handoff.channel, handoff.conversation_id
    agent = {"id": str(principal.agent_id or "service"), "name": principal.name or "客服"}
    delivery = await notify(request.app, channel, conversation_id, "agent_message", agent,
                            text=text, image=image)
    if not delivery.get("recorded") and not delivery.get("delivered"):
        raise ApiError(502, "delivery_failed",
                       f"消息没有送达客户：{delivery.get('error') or '通道未确认'}，请重试")
    with db(request) as session:
        handoff = services.get_handoff(session, handoff_id)
        message = work.add_message(session, handoff, "agent", text, principal,
                                   {**meta, "delivery": delivery,
                                    **({"image": image} if image else {})})
        work.mark_replied(session, handoff, principal)
        body = work.message_json(message)
        request.app.ctx.hub.publish("message", message=body)
        publish_handoff(request, handoff)
    return body


@api.post("/handoffs/<handoff_id:int>/messages")
async def send_message(request: Request, handoff_id: int) -> HTTPResponse:
    body = v.read_json(request)
    v.only_keys(body, {"text", "image", "accept_rewrite"})
    text = v.text_field(body, "text", "text", max_len=2000) or ""
    image = v.url_field(body, "image")
    accept = body.get("accept_rewrite", False)
    if not isinstance(accept, bool):
        raise v.bad("invalid_type", "字段 accept_rewrite 必须是布尔值 true/false")
    text, verdict = assist.guard_outgoing(text, accept)
    meta = {"compliance": "rewritten"} if verdict["hits"] else {}
    return json(await _send_to_customer(request, handoff_id, text, image, meta), status=201)


@api.post("/handoffs/<handoff_id:int>/notes")
async def add_note(request: Request, handoff_id: int) -> HTTPResponse:
    principal = who(request)
    body = v.read_json(request)
    v.only_keys(body, {"text"})
    text = v.text_field(body, "text", "text", max_len=4000) or ""
    with db(request) as session:
        handoff = services.get_handoff(session, handoff_id)
        if handoff.status == "resolved" and not principal.is_supervisor:
            raise ApiError(409, "already_resolved", "会话已结束")
        message = work.add_message(session, handoff, "note", text, principal)
        services.record_event(session, "note_added", handoff, principal.agent_id)
        result = work.message_json(message)
    request.app.ctx.hub.publish("message", message=result)
    return json(result, status=201)


@api.post("/handoffs/<handoff_id:int>/typing")
async def agent_typing(request: Request, handoff_id: int) -> HTTPResponse:
    principal = who(request)
    v.only_keys(v.read_json(request), set())
    with db(request) as session:
        handoff = services.get_handoff(session, handoff_id)
        work.check_owner(handoff, principal, "回复")
        channel, conversation_id = handoff.channel, handoff.conversation_id
    agent = {"id": str(principal.agent_id or "service"), "name": principal.name or "客服"}
    _spawn(request, notify(request.app, channel, conversation_id, "typing", agent))
    return json({"sent": request.app.ctx.push.can_push(channel)})


@api.post("/handoffs/<handoff_id:int>/todos")
async def tick_todo(request: Request, handoff_id: int) -> HTTPResponse:
    principal = who(request)
    body = v.read_json(request)
    v.only_keys(body, {"key", "done"})
    key = v.text_field(body, "key", "key", max_len=255) or ""
    done = body.get("done")
    if not isinstance(done, bool):
        raise v.bad("invalid_type", "字段 done 必须是布尔值 true/false")
    with db(request) as session:
        handoff = services.get_handoff(session, handoff_id)
        work.check_owner(handoff, principal, "修改待办")
        ticked = [k for k in (handoff.todo_done or []) if k != key]
        if done:
            ticked.append(key)
        handoff.todo_done = ticked
        result = {"todo_done": ticked}
    return json(result)


async def _live_messages(request: Request, handoff: Handoff) -> list[dict[str, Any]]:
    """What the customer wrote since the handoff, with intents and moods (best effort)."""
    try:
        tracker = await request.app.ctx.rasa.tracker(handoff.conversation_id)
    except RasaError:
        return []
    return customer_messages_since(tracker, services.epoch(handoff.created_at),
                                   (handoff.packet or {}).get("transcript") or [])


def _upset_live(live: list[dict[str, Any]]) -> bool:
    return any((m.get("emotion") or {}).get("label") in services.UPSET_LABELS
               and ((m.get("emotion") or {}).get("intensity") or 0) >= services.UPSET_INTENSITY
               for m in live[-3:])


@api.get("/handoffs/<handoff_id:int>/assist")
async def assist_handoff(request: Request, handoff_id: int) -> HTTPResponse:
    principal = who(request)
    v.only_query(request, set())
    with db(request) as session:
        handoff = services.get_handoff(session, handoff_id)
    live = await _live_messages(request, handoff)
    with db(request) as session:
        handoff = services.get_handoff(session, handoff_id)
        packet = dict(handoff.packet or {})
        result = assist.suggestions(handoff, packet, live, principal.name)
        result["playbook"] = assist.playbook_options(
            principal.role or "supervisor", packet, live, assist.customer_id(handoff, packet))
    return json(result)


@api.post("/handoffs/<handoff_id:int>/playbook/<play_id:str>")
async def run_playbook(request: Request, handoff_id: int, play_id: str) -> HTTPResponse:
    principal = who(request)
    v.only_keys(v.read_json(request), set())
    with db(request) as session:
        handoff = services.get_handoff(session, handoff_id)
        work.check_owner(handoff, principal, "执行补救操作")
        packet = dict(handoff.packet or {})
    live = await _live_messages(request, handoff)
    result = await assist.run_play(play_id, principal.role or "supervisor", handoff, packet,
                                   live)
    if result["ok"]:
        text = assist.check(result["say"])["text"]
        if not assist.check(text)["blocked"]:
            result["message_sent"] = await _send_to_customer(
                request, handoff_id, text, None, {"playbook": play_id})
    with db(request) as session:
        handoff = services.get_handoff(session, handoff_id)
        services.record_event(session, "playbook_run", handoff, principal.agent_id,
                              play_id=play_id, ok=result["ok"], amount=result.get("amount"),
                              coupon_id=result.get("coupon_id"))
        note = work.add_message(session, handoff, "system",
                                f"补救操作 {play_id}：{result['message']}", principal,
                                {"playbook": result})
        request.app.ctx.hub.publish("message", message=work.message_json(note))
    return json(result)


@api.post("/handoffs/<handoff_id:int>/resolve")
async def resolve_handoff(request: Request, handoff_id: int) -> HTTPResponse:
    principal = who(request)
    body_in = v.read_json(request)
    queues = request.app.ctx.queues
    if principal.is_service:
        v.only_keys(body_in, {"agent", "note"})
        fields = v.agent_request(body_in, with_note=True)
        agent_name, agent_id = fields["agent"] or "", None
    else:
        v.only_keys(body_in, {"note"})
        fields = {"note": v.text_field(body_in, "note", "note", required=False,
                                       max_len=v.MAX_TEXT)}
        agent_name, agent_id = principal.name or "", principal.agent_id
    async with _resolve_lock(handoff_id):
        with db(request) as session:
            handoff = services.get_handoff(session, handoff_id)
            services.check_resolvable(handoff)
            work.check_owner(handoff, principal, "结束会话")
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
            handoff = services.mark_resolved(session, handoff_id, agent_name, fields["note"],
                                             agent_id)
            body: dict[str, Any] = services.summary_json(handoff, None,
                                                         queues.get(handoff.queue))
            publish_handoff(request, handoff)
    body["note"] = handoff.note
    body["bot_messages"] = bot_messages
    run_auto_assign(request)
    _spawn(request, queue_updates(request.app))
    return json(body)


# ---------------------------------------------------------------- channel events


@api.post("/channel-events")
async def channel_event(request: Request) -> HTTPResponse:
    auth.require_service(who(request))
    event = v.channel_event(v.read_json(request))
    with db(request) as session:
        handoff = services.open_handoff(session, event["conversation_id"])
        if handoff is None:
            return json({"accepted": False, "reason": "no_open_handoff"})
        if event["kind"] == "customer_typing":
            request.app.ctx.hub.publish("typing", handoff_id=handoff.id, who="customer")
            return json({"accepted": True, "handoff_id": handoff.id})
        meta = {"attachments": event["attachments"]} if event["attachments"] else None
        message = work.add_message(session, handoff, "customer", event["text"], None, meta,
                                   at=event["time"])
        handoff.last_customer_at = utcnow()
        result = work.message_json(message)
        request.app.ctx.hub.publish("message", message=result)
        publish_handoff(request, handoff)
    return json({"accepted": True, "handoff_id": result["handoff_id"]})


# ---------------------------------------------------------------- analytics feed


@api.get("/events")
async def list_events(request: Request) -> HTTPResponse:
    auth.require_supervisor_or_service(who(request))
    v.only_query(request, {"after", "limit"})
    after = v.query_int(request, "after", 0, 0, services.MAX_ID)
    limit = v.query_limit(request, default=100, maximum=1000)
    with db(request) as session:
        rows = session.execute(select(DeskEvent).where(DeskEvent.id > after)
                               .order_by(DeskEvent.id).limit(limit)).scalars().all()
        events = [services.event_json(e) for e in rows]
    return json({"events": events, "next_after": events[-1]["id"] if events else after})


@api.get("/queues")
async def list_queues(request: Request) -> HTTPResponse:
    queues = request.app.ctx.queues
    v.only_query(request, set())
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


__all__ = ["api", "notify", "queue_updates", "AGENT_STATUSES", "timedelta"]
