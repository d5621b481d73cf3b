"""Handoff queue logic: open/merge, queue positions, claim and resolve bookkeeping."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any, Optional

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desk.config import Queue
from desk.models import OPEN_STATUSES, DeskEvent, Handoff, utcnow
from service_common.errors import conflict, not_found
from service_common.masking import mask

logger = logging.getLogger("desk.handoffs")

# The order agents work a queue in: most urgent first, then longest waiting.
QUEUE_ORDER = (Handoff.priority, Handoff.created_at, Handoff.id)
# The agents' list follows the queue (most urgent, then longest waiting), so the place shown
# is the order work is assigned in; upset customers are highlighted, not moved (the
# escalation rules already raise their priority).
LIST_ORDER = QUEUE_ORDER
UPSET_LABELS = ("angry", "anxious")
UPSET_INTENSITY = 0.5
# Ids are 32-bit on PostgreSQL; a bigger number must be a 404, not a database error.
MAX_ID = 2**31 - 1


def get_handoff(session: Session, handoff_id: int) -> Handoff:
    handoff = session.get(Handoff, handoff_id) if 1 <= handoff_id <= MAX_ID else None
    if handoff is None:
        raise not_found("handoff_not_found", f"未找到转人工记录 {handoff_id}")
    return handoff


def open_handoff(session: Session, conversation_id: str) -> Optional[Handoff]:
    return session.execute(
        select(Handoff).where(
            Handoff.conversation_id == conversation_id, Handoff.status.in_(OPEN_STATUSES)
        )
    ).scalars().first()


def submit(session: Session, packet: dict[str, Any]) -> tuple[Handoff, bool]:
    """Open a handoff for the packet, or merge it into the open one. Returns (handoff, created)."""
    existing = open_handoff(session, packet["conversation_id"])
    if existing is not None:
        _merge(existing, packet)
        session.flush()
        return existing, False
    now = utcnow()
    handoff = Handoff(
        conversation_id=packet["conversation_id"],
        channel=packet["channel"],
        queue=packet["queue"],
        priority=packet["priority"],
        status="waiting" if packet["office_hours"] else "callback",
        rule_id=packet["rule"]["id"],
        rule_reason=packet["rule"]["reason"],
        customer_id=packet["customer"]["id"],
        customer_name=packet["customer"]["name"],
        office_hours=packet["office_hours"],
        callback_at=packet["callback_at"],
        packet={
            "rule": packet["rule"],
            "rules": [_rule_entry(packet, now)],
            "customer": packet["customer"],
            "transcript": sorted(packet["transcript"], key=lambda m: m["time"]),
            "slots": packet["slots"],
            "verified_order": packet["verified_order"],
            "orders": packet["orders"],
            "todos": packet["todos"],
            "emotion": packet["emotion"],
        },
        updates=0,
        created_at=now,
        updated_at=now,
        upset=is_upset(packet["emotion"]),
    )
    # A savepoint: if another instance opened one for this conversation in the meantime, the
    # partial unique index refuses ours and we merge into theirs instead.
    try:
        with session.begin_nested():
            session.add(handoff)
            session.flush()
    except IntegrityError:
        existing = open_handoff(session, packet["conversation_id"])
        if existing is None:
            raise
        _merge(existing, packet)
        session.flush()
        return existing, False
    record_event(session, "handoff_created", handoff, None, priority=handoff.priority,
                 rule=handoff.rule_id, channel=handoff.channel)
    logger.info(
        "handoff %d opened: conversation=%s queue=%s priority=%d status=%s rule=%s",
        handoff.id, mask(handoff.conversation_id), handoff.queue, handoff.priority,
        handoff.status, mask(handoff.rule_id),
    )
    return handoff, True


def _rule_entry(packet: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {**packet["rule"], "queue": packet["queue"], "priority": packet["priority"],
            "at": iso(now)}


def _key(item: dict[str, Any], *fields: str) -> str:
    """Identity of a list entry: its first id-like field, else its whole content."""
    for field in fields:
        if item.get(field) not in (None, ""):
            return f"{field}={item[field]}"
    return json.dumps(item, sort_keys=True, ensure_ascii=False, default=str)


def _union(old: list[dict], new: list[dict], *fields: str) -> list[dict]:
    """Entries of both lists, newer versions replacing older ones, first-seen order kept."""
    merged = {_key(item, *fields): item for item in old}
    for item in new:
        merged[_key(item, *fields)] = item
    return list(merged.values())


def _merge(handoff: Handoff, packet: dict[str, Any]) -> None:
    """A repeated escalation: add what is new, never lose what the agent already had."""
    now = utcnow()
    stored = dict(handoff.packet)
    transcript = {
        (m["role"], m["text"], round(m["time"], 3)): m
        for m in [*stored.get("transcript", []), *packet["transcript"]]
    }
    emotion_old = stored.get("emotion") or {"history": [], "turning_point": None}
    history = {
        (e["label"], e["intensity"], round(e["time"], 3)): e
        for e in [*emotion_old.get("history", []), *packet["emotion"]["history"]]
    }
    customer = dict(stored.get("customer") or {})
    customer.update({k: v for k, v in packet["customer"].items() if v is not None})
    stored.update({
        "rule": packet["rule"],
        "rules": [*stored.get("rules", []), _rule_entry(packet, now)],
        "customer": customer,
        "transcript": sorted(transcript.values(), key=lambda m: m["time"]),
        "slots": {**(stored.get("slots") or {}), **packet["slots"]},
        "verified_order": packet["verified_order"] or stored.get("verified_order"),
        "orders": _union(stored.get("orders") or [], packet["orders"], "id", "order_id"),
        "todos": _union(stored.get("todos") or [], packet["todos"], "id", "text", "title"),
        "emotion": {
            "history": sorted(history.values(), key=lambda e: e["time"]),
            "turning_point": packet["emotion"]["turning_point"]
            or emotion_old.get("turning_point"),
        },
    })
    # A new dict, so SQLAlchemy sees the JSON column change.
    handoff.packet = stored
    handoff.upset = bool(handoff.upset) or is_upset(stored["emotion"])
    handoff.priority = min(handoff.priority, packet["priority"])
    handoff.rule_id = packet["rule"]["id"]
    handoff.rule_reason = packet["rule"]["reason"]
    handoff.channel = packet["channel"]
    handoff.customer_id = customer.get("id")
    handoff.customer_name = customer.get("name")
    if packet["callback_at"] is not None:
        handoff.callback_at = packet["callback_at"]
    # The queue stays: moving a customer who already waited would reset their place.
    if handoff.status == "callback" and packet["office_hours"]:
        handoff.status = "waiting"  # the desk opened meanwhile: queue them now
    handoff.office_hours = packet["office_hours"] or handoff.office_hours
    handoff.updates = (handoff.updates or 0) + 1
    handoff.updated_at = now
    logger.info(
        "handoff %d updated (#%d): conversation=%s priority=%d status=%s rule=%s",
        handoff.id, handoff.updates, mask(handoff.conversation_id), handoff.priority,
        handoff.status, mask(handoff.rule_id),
    )


# ---------------------------------------------------------------- queue positions


def position(session: Session, handoff: Handoff) -> Optional[int]:
    """1-based place among the waiting handoffs of its queue; None unless waiting."""
    if handoff.status != "waiting":
        return None
    ahead = session.execute(
        select(func.count(Handoff.id)).where(
            Handoff.status == "waiting",
            Handoff.queue == handoff.queue,
            or_(
                Handoff.priority < handoff.priority,
                and_(Handoff.priority == handoff.priority,
                     or_(Handoff.created_at < handoff.created_at,
                         and_(Handoff.created_at == handoff.created_at,
                              Handoff.id < handoff.id))),
            ),
        )
    ).scalar_one()
    return int(ahead) + 1


def positions(session: Session, queues: Iterable[str]) -> dict[int, int]:
    """Handoff id -> place, for every waiting handoff of the given queues (one query)."""
    names = list(set(queues))
    if not names:
        return {}
    rows = session.execute(
        select(Handoff.id, Handoff.queue)
        .where(Handoff.status == "waiting", Handoff.queue.in_(names))
        .order_by(*QUEUE_ORDER)
    ).all()
    places: Counter[str] = Counter()
    result = {}
    for handoff_id, queue in rows:
        places[queue] += 1
        result[handoff_id] = places[queue]
    return result


def expected_wait(place: Optional[int], queue: Optional[Queue]) -> Optional[float]:
    if place is None or queue is None:
        return None
    return round(place * queue.avg_handling_minutes, 1)


def list_handoffs(
    session: Session, statuses: list[str], queues: Optional[list[str]], limit: int,
    agent_id: Optional[int] = None,
) -> list[Handoff]:
    query = select(Handoff).where(Handoff.status.in_(statuses)).order_by(*LIST_ORDER)
    if queues:
        query = query.where(Handoff.queue.in_(queues))
    if agent_id is not None:
        query = query.where(Handoff.agent_id == agent_id)
    return list(session.execute(query.limit(limit)).scalars())


def queue_counts(session: Session) -> dict[tuple[str, str], int]:
    rows = session.execute(
        select(Handoff.queue, Handoff.status, func.count(Handoff.id))
        .where(Handoff.status.in_(OPEN_STATUSES))
        .group_by(Handoff.queue, Handoff.status)
    ).all()
    return {(queue, status): int(count) for queue, status, count in rows}


# ---------------------------------------------------------------- claim / resolve


def claim(session: Session, handoff_id: int, agent: str,
          agent_id: Optional[int] = None) -> Handoff:
    handoff = get_handoff(session, handoff_id)
    if handoff.status == "resolved":
        raise conflict("already_resolved", f"转人工记录 {handoff_id} 已处理完毕，无法再接入")
    if handoff.status == "active":
        if handoff.claimed_by == agent:
            return handoff  # a repeated click by the same agent changes nothing
        raise conflict(
            "already_claimed", f"转人工记录 {handoff_id} 已由客服 {handoff.claimed_by} 接入"
        )
    now = utcnow()
    # Conditional update: of two agents clicking at once (even on two instances) one wins.
    result = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.status.in_(("waiting", "callback")))
        .values(status="active", claimed_at=now, claimed_by=agent, agent_id=agent_id,
                updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(handoff)
    if result.rowcount != 1:  # someone else got there first
        if handoff.status == "resolved":
            raise conflict("already_resolved", f"转人工记录 {handoff_id} 已处理完毕，无法再接入")
        if handoff.claimed_by != agent:
            raise conflict("already_claimed", f"转人工记录 {handoff_id} 刚刚已被其他客服接入")
    else:
        record_event(session, "claimed", handoff, agent_id, agent_name=agent,
                     wait_seconds=wait_seconds(handoff))
    logger.info("handoff %d claimed by %s after %.1fs in queue %s", handoff.id, mask(agent),
                wait_seconds(handoff) or 0.0, handoff.queue)
    return handoff


def check_resolvable(handoff: Handoff) -> None:
    if handoff.status == "resolved":
        raise conflict(
            "already_resolved",
            f"转人工记录 {handoff.id} 已于 {iso(handoff.resolved_at)} 由 {handoff.resolved_by} "
            "处理完毕，无需重复提交",
        )


def mark_resolved(session: Session, handoff_id: int, agent: str, note: Optional[str],
                  agent_id: Optional[int] = None) -> Handoff:
    """Record the resolution after Rasa took the conversation back."""
    now = utcnow()
    handoff = get_handoff(session, handoff_id)
    check_resolvable(handoff)
    values: dict[str, Any] = {"status": "resolved", "resolved_at": now, "resolved_by": agent,
                              "note": note, "updated_at": now}
    if handoff.claimed_at is None:
        # Resolved straight from the queue: the customer's wait ended now.
        values.update(claimed_at=now, claimed_by=agent)
    result = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.status != "resolved")
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(handoff)
    if result.rowcount != 1:
        check_resolvable(handoff)
    record_event(session, "resolved", handoff, agent_id if agent_id is not None else
                 handoff.agent_id, agent_name=agent, handle_seconds=handle_seconds(handoff),
                 first_reply_seconds=first_reply_seconds(handoff))
    logger.info("handoff %d resolved by %s; conversation %s handed back to the bot",
                handoff.id, mask(agent), mask(handoff.conversation_id))
    return handoff


# ---------------------------------------------------------------- JSON


def iso(value: Optional[datetime]) -> Optional[str]:
    """Naive UTC -> ISO 8601 with an explicit +00:00 offset."""
    if value is None:
        return None
    return value.isoformat(timespec="seconds") + "+00:00"


def epoch(value: datetime) -> float:
    """Naive UTC -> unix time, to compare with Rasa's event timestamps."""
    return value.replace(tzinfo=timezone.utc).timestamp()


def wait_seconds(handoff: Handoff) -> Optional[float]:
    """The handoff wait metric: claimed_at - created_at."""
    if handoff.claimed_at is None:
        return None
    return round((handoff.claimed_at - handoff.created_at).total_seconds(), 3)


def handle_seconds(handoff: Handoff) -> Optional[float]:
    """Agent handle time: claimed (or first reply) until resolved."""
    start = handoff.claimed_at or handoff.first_reply_at
    if start is None or handoff.resolved_at is None:
        return None
    return round((handoff.resolved_at - start).total_seconds(), 3)


def first_reply_seconds(handoff: Handoff) -> Optional[float]:
    """The handoff wait as the customer feels it: handoff until the first agent reply."""
    if handoff.first_reply_at is None:
        return None
    return round((handoff.first_reply_at - handoff.created_at).total_seconds(), 3)


def is_upset(emotion: dict[str, Any]) -> bool:
    history = emotion.get("history") or []
    latest = history[-1] if history else None
    return bool(emotion.get("turning_point")) or bool(
        latest and latest.get("label") in UPSET_LABELS
        and (latest.get("intensity") or 0) >= UPSET_INTENSITY)


def record_event(session: Session, kind: str, handoff: Handoff, agent_id: Optional[int],
                 **data: Any) -> DeskEvent:
    """One entry of the analytics feed (GET /api/events)."""
    event = DeskEvent(kind=kind, handoff_id=handoff.id, conversation_id=handoff.conversation_id,
                      queue=handoff.queue, agent_id=agent_id,
                      data={k: v for k, v in data.items() if v is not None},
                      created_at=utcnow())
    session.add(event)
    return event


def event_json(event: DeskEvent) -> dict[str, Any]:
    return {"id": event.id, "kind": event.kind, "handoff_id": event.handoff_id,
            "conversation_id": event.conversation_id, "queue": event.queue,
            "agent_id": event.agent_id, "time": iso(event.created_at),
            "timestamp": epoch(event.created_at), "data": event.data or {}}


def placement_json(
    handoff: Handoff, place: Optional[int], queue: Optional[Queue]
) -> dict[str, Any]:
    return {
        "id": handoff.id,
        "conversation_id": handoff.conversation_id,
        "status": handoff.status,
        "queue": handoff.queue,
        "priority": handoff.priority,
        "position": place,
        "expected_wait_minutes": expected_wait(place, queue),
        "created_at": iso(handoff.created_at),
        "callback_at": iso(handoff.callback_at),
    }


def summary_json(
    handoff: Handoff, place: Optional[int], queue: Optional[Queue]
) -> dict[str, Any]:
    """A list row for the desk: who, why, how urgent, the latest words and mood."""
    packet = handoff.packet or {}
    customer_lines = [m for m in packet.get("transcript", []) if m["role"] == "customer"]
    history = (packet.get("emotion") or {}).get("history") or []
    return {
        **placement_json(handoff, place, queue),
        "channel": handoff.channel,
        "rule": {"id": handoff.rule_id, "reason": handoff.rule_reason},
        "customer": packet.get("customer") or {"id": handoff.customer_id,
                                               "name": handoff.customer_name},
        "last_customer_message": customer_lines[-1]["text"] if customer_lines else None,
        "current_emotion": history[-1] if history else None,
        "open_todos": len(packet.get("todos") or []),
        "office_hours": handoff.office_hours,
        "updated_at": iso(handoff.updated_at),
        "claimed_at": iso(handoff.claimed_at),
        "claimed_by": handoff.claimed_by,
        "resolved_at": iso(handoff.resolved_at),
        "resolved_by": handoff.resolved_by,
        "wait_seconds": wait_seconds(handoff),
        "agent_id": handoff.agent_id,
        "upset": bool(handoff.upset),
        "first_reply_at": iso(handoff.first_reply_at),
        "first_reply_seconds": first_reply_seconds(handoff),
        "handle_seconds": handle_seconds(handoff),
        "rating": handoff.rating,
        "last_customer_at": iso(handoff.last_customer_at),
    }


def detail_json(
    handoff: Handoff, place: Optional[int], queue: Optional[Queue]
) -> dict[str, Any]:
    """The full packet the agent works from."""
    packet = handoff.packet or {}
    result = summary_json(handoff, place, queue)
    result.update({
        "rules": packet.get("rules", []),
        "transcript": packet.get("transcript", []),
        "slots": packet.get("slots", {}),
        "verified_order": packet.get("verified_order"),
        "orders": packet.get("orders", []),
        "todos": packet.get("todos", []),
        "emotion": packet.get("emotion") or {"history": [], "turning_point": None},
        "note": handoff.note,
        "updates": handoff.updates,
        "todo_done": list(handoff.todo_done or []),
    })
    return result
