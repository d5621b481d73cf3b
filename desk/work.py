"""The agents' side of a handoff: capacity, assignment, transfer, messages, to-dos."""

from __future__ import annotations

import logging
from typing import Any, Optional

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from desk import services
from desk.auth import Principal
from desk.models import Agent, Handoff, Message, utcnow
from service_common.errors import ApiError, conflict
from service_common.masking import mask

logger = logging.getLogger("desk.work")


def loads(session: Session) -> dict[int, int]:
    """Agent id -> number of active conversations."""
    rows = session.execute(
        select(Handoff.agent_id, func.count(Handoff.id))
        .where(Handoff.status == "active", Handoff.agent_id.is_not(None))
        .group_by(Handoff.agent_id)
    ).all()
    return {int(agent): int(count) for agent, count in rows}


def get_agent(session: Session, agent_id: int) -> Agent:
    agent = session.get(Agent, agent_id) if 1 <= agent_id <= services.MAX_ID else None
    if agent is None or agent.disabled:
        raise ApiError(404, "agent_not_found", f"未找到客服 {agent_id}")
    return agent


def serves(agent: Agent, queue: str) -> bool:
    return not agent.queues or queue in agent.queues


def check_capacity(session: Session, agent: Agent) -> None:
    active = loads(session).get(agent.id, 0)
    if active >= agent.max_chats:
        raise conflict("capacity_reached",
                       f"客服 {agent.name} 已同时接待 {active} 位客户，达到上限 {agent.max_chats}，"
                       "请先结束一个会话", active=active, max_chats=agent.max_chats)


def claim_by_agent(session: Session, handoff_id: int, agent: Agent) -> Handoff:
    handoff = services.get_handoff(session, handoff_id)
    if handoff.status == "active" and handoff.agent_id == agent.id:
        return handoff
    if handoff.status in ("waiting", "callback"):
        check_capacity(session, agent)
    return services.claim(session, handoff_id, agent.name, agent.id)


def auto_assign(session: Session) -> list[tuple[Handoff, Agent]]:
    """Oldest-first within each queue (most urgent first), to an online agent of the queue
    with free capacity (the least loaded one)."""
    agents = list(session.execute(
        select(Agent).where(Agent.status == "online", Agent.disabled.is_(False))
        .order_by(Agent.id)).scalars())
    if not agents:
        return []
    load = loads(session)
    waiting = session.execute(
        select(Handoff).where(Handoff.status == "waiting").order_by(*services.QUEUE_ORDER)
    ).scalars().all()
    assigned = []
    for handoff in waiting:
        candidates = [a for a in agents if serves(a, handoff.queue)
                      and load.get(a.id, 0) < a.max_chats]
        if not candidates:
            continue
        agent = min(candidates, key=lambda a: (load.get(a.id, 0), a.id))
        now = utcnow()
        result = session.execute(
            update(Handoff).where(Handoff.id == handoff.id, Handoff.status == "waiting")
            .values(status="active", claimed_at=now, claimed_by=agent.name, agent_id=agent.id,
                    updated_at=now)
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            continue  # another instance assigned it
        session.refresh(handoff)
        services.record_event(session, "claimed", handoff, agent.id, agent_name=agent.name,
                              wait_seconds=services.wait_seconds(handoff), auto=True)
        load[agent.id] = load.get(agent.id, 0) + 1
        assigned.append((handoff, agent))
        logger.info("handoff %d assigned to %s", handoff.id, mask(agent.name))
    return assigned


def check_owner(handoff: Handoff, principal: Principal, action: str) -> None:
    """Replies, notes, playbooks and resolve belong to the agent who owns the conversation
    (or a supervisor, or a service)."""
    if principal.is_service or principal.is_supervisor:
        return
    if handoff.status == "resolved":
        raise conflict("already_resolved", f"转人工记录 {handoff.id} 已处理完毕")
    if handoff.agent_id != principal.agent_id:
        owner = handoff.claimed_by or "（未接入）"
        raise ApiError(403, "not_assigned",
                       f"该会话由 {owner} 负责，您不能{action}；如需接手请让主管转给您"
                       if handoff.agent_id else f"请先接入该会话再{action}")


def transfer(session: Session, handoff: Handoff, principal: Principal,
             to_agent: Optional[int], to_queue: Optional[str], note: Optional[str],
             queues: dict[str, Any]) -> tuple[Handoff, Optional[Agent]]:
    if handoff.status == "resolved":
        raise conflict("already_resolved", f"转人工记录 {handoff.id} 已处理完毕")
    if not principal.is_supervisor and not principal.is_service and handoff.status == "active" \
            and handoff.agent_id != principal.agent_id:
        raise ApiError(403, "not_assigned", f"该会话由 {handoff.claimed_by} 负责，您不能转接")
    now = utcnow()
    from_agent = handoff.agent_id
    target: Optional[Agent] = None
    if to_agent is not None:
        target = get_agent(session, to_agent)
        if target.id == handoff.agent_id:
            raise conflict("same_agent", f"该会话已由 {target.name} 负责")
        check_capacity(session, target)
        handoff.status = "active"
        handoff.agent_id = target.id
        handoff.claimed_by = target.name
        handoff.claimed_at = handoff.claimed_at or now
        if to_queue:
            handoff.queue = to_queue
    else:
        if to_queue not in queues:
            raise ApiError(400, "unknown_queue", f"未知的队列 {to_queue}")
        handoff.status = "waiting"
        handoff.queue = to_queue
        handoff.agent_id = None
        handoff.claimed_by = None
    handoff.updated_at = now
    by = principal.name or "service"
    text = (f"{by} 转给 {target.name}" if target else
            f"{by} 转到队列 {queues[handoff.queue].label}") + (f"：{note}" if note else "")
    add_message(session, handoff, "system", text, principal)
    services.record_event(session, "transferred", handoff, principal.agent_id,
                          from_agent=from_agent, to_agent=target.id if target else None,
                          to_queue=handoff.queue, note=note)
    session.flush()
    return handoff, target


def add_message(session: Session, handoff: Handoff, kind: str, text: str,
                principal: Optional[Principal], meta: Optional[dict[str, Any]] = None,
                at: Any = None) -> Message:
    message = Message(handoff_id=handoff.id, kind=kind, text=text,
                      agent_id=principal.agent_id if principal else None,
                      agent_name=principal.name if principal else None, meta=meta or None,
                      created_at=at or utcnow())
    session.add(message)
    session.flush()
    return message


def message_json(message: Message) -> dict[str, Any]:
    return {"id": message.id, "handoff_id": message.handoff_id, "kind": message.kind,
            "text": message.text, "agent_id": message.agent_id,
            "agent_name": message.agent_name, "meta": message.meta or {},
            "time": services.epoch(message.created_at)}


def messages(session: Session, handoff_id: int) -> list[Message]:
    return list(session.execute(select(Message).where(Message.handoff_id == handoff_id)
                                .order_by(Message.created_at, Message.id)).scalars())


def mark_replied(session: Session, handoff: Handoff, principal: Principal) -> None:
    now = utcnow()
    first = handoff.first_reply_at is None
    if first:
        handoff.first_reply_at = now
    handoff.updated_at = now
    services.record_event(session, "agent_replied", handoff, principal.agent_id,
                          agent_name=principal.name, first=first,
                          first_reply_seconds=services.first_reply_seconds(handoff)
                          if first else None, reply_time=services.iso(now))


def agent_json(agent: Agent, load: int, connected: bool = False) -> dict[str, Any]:
    return {"id": agent.id, "name": agent.name, "role": agent.role, "status": agent.status,
            "max_chats": agent.max_chats, "active": load, "queues": agent.queues,
            "connected": connected}
