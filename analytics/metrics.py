"""PRODUCT.md metrics from the analytics store, exactly as defined there.

A session is a Rasa session (session_started .. next session_started) of one conversation;
it counts in a period when its first customer message falls in it. An issue is an
outcome's key (order id or topic) per customer; sessions of the same customer about the
same key, each within the re-contact window (48 h) of the previous one, are one issue.

- FRT: first customer message of a session -> first reply (bot or human).
- handoff wait: handoff -> first human reply; a handoff no human answered is unserved.
- AHT: first customer message -> the desk's resolve, else the session's last event.
- FCR: issues closed in their first session (last outcome `resolved`, or a human resolved
  the handoff) with no re-contact about the same key within the window.
- AI resolution rate: sessions closed without a human (no handoff, no agent message, no
  request for a human), every issue's last outcome `resolved`, no negative rating, no
  re-contact on any of its issues within the window.
- CSAT: ratings 4-5 among rated sessions; rating response rate: rated / asked sessions.
- conversion: pre-sale inquiry sessions (intent group presale, customer known) followed by
  an order of the same customer within 24 h (orders fetched from the shop's API).
- 2-/3-minute reply rate: customer messages answered (bot or human) within 2 / 3 minutes,
  queue time included; a message never answered counts as not answered.
- compliance rate: bot texts that passed the compliance guard unchanged.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from analytics import store
from analytics.config import local, recontact_hours, targets_config

HUMAN_KINDS = ("agent_msg", "desk_agent_replied")
UNKNOWN_KEY = "unknown"


@dataclass
class Session:
    session_id: str
    conversation_id: str
    started_ts: float
    channel: Optional[str]
    customer_id: Optional[str]
    facts: List[Dict[str, Any]] = field(default_factory=list)
    # derived
    first_msg_ts: Optional[float] = None
    first_reply_ts: Optional[float] = None
    close_ts: Optional[float] = None
    handoffs: List[Dict[str, Any]] = field(default_factory=list)
    human_replies: List[float] = field(default_factory=list)
    replies: List[float] = field(default_factory=list)
    customer_msgs: List[Dict[str, Any]] = field(default_factory=list)
    outcomes: List[Dict[str, Any]] = field(default_factory=list)
    rating: Optional[float] = None
    rating_asked: bool = False
    rated_after_ask: bool = False
    desk_resolved_ts: Optional[float] = None
    resumed_ts: Optional[float] = None
    agents: List[str] = field(default_factory=list)
    requested_human: bool = False
    intent_group: Optional[str] = None
    recontacted_keys: set = field(default_factory=set)

    @property
    def contact_ts(self) -> float:
        """When the customer first wrote (the session's start if they never did)."""
        return self.started_ts if self.first_msg_ts is None else self.first_msg_ts

    @property
    def customer(self) -> str:
        return self.customer_id or self.conversation_id

    @property
    def human(self) -> bool:
        return bool(self.handoffs or self.human_replies or self.requested_human
                    or any(o["status"] == "handed_over" for o in self.outcomes))

    @property
    def queue(self) -> str:
        return next((h["queue"] for h in self.handoffs if h.get("queue")), "机器人")

    @property
    def agent(self) -> str:
        return self.agents[0] if self.agents else "-"

    def issues(self) -> Dict[str, str]:
        """Issue key -> its last status in this session; `unknown` (a clarification)
        only when the session has no other issue."""
        last: Dict[str, str] = {}
        for outcome in self.outcomes:
            last[outcome["issue_key"] or UNKNOWN_KEY] = outcome["status"]
        if len(last) > 1:
            last.pop(UNKNOWN_KEY, None)
        return last

    def closed(self, status: str) -> bool:
        return status == "resolved" or (status == "handed_over" and (
            self.desk_resolved_ts is not None or self.resumed_ts is not None))


def _derive(session: Session) -> None:
    facts = sorted(session.facts, key=lambda f: f["ts"])
    ratings: List[Tuple[float, float, str]] = []
    ask_ts: Optional[float] = None
    desk_handoffs: Dict[str, Dict[str, Any]] = {}
    last_ts = session.started_ts
    for fact in facts:
        kind, ts = fact["kind"], fact["ts"]
        if kind == "customer_msg":
            session.customer_msgs.append(fact)
            if session.first_msg_ts is None:
                session.first_msg_ts = ts
            if fact.get("intent") == "request_human":
                session.requested_human = True
            if session.intent_group in (None, "chitchat", "other") and fact.get("intent_group") \
                    and fact["intent_group"] not in ("chitchat",):
                session.intent_group = fact["intent_group"]
        elif kind in ("bot_msg", "agent_msg"):
            session.replies.append(ts)
            if kind == "agent_msg":
                session.human_replies.append(ts)
                if fact.get("agent_id") and fact["agent_id"] not in session.agents:
                    session.agents.append(fact["agent_id"])
            if kind == "bot_msg" and fact.get("action") == "utter_ask_rating":
                ask_ts = ask_ts or ts
        elif kind == "desk_agent_replied":
            session.human_replies.append(ts)
            session.replies.append(ts)
            if fact.get("agent_id") and fact["agent_id"] not in session.agents:
                session.agents.append(fact["agent_id"])
        elif kind in ("desk_claimed", "desk_transferred"):
            if fact.get("agent_id") and fact["agent_id"] not in session.agents:
                session.agents.append(fact["agent_id"])
        elif kind == "outcome":
            session.outcomes.append(fact)
        elif kind == "handoff":
            session.handoffs.append({"ts": ts, "handoff_id": fact.get("handoff_id"),
                                     "queue": fact.get("queue"), "reason": fact.get("reason")})
        elif kind == "desk_handoff_created":
            desk_handoffs[fact.get("handoff_id") or fact["key"]] = {
                "ts": ts, "handoff_id": fact.get("handoff_id"), "queue": fact.get("queue"),
                "reason": fact.get("reason")}
        elif kind == "desk_resolved":
            session.desk_resolved_ts = ts
        elif kind == "resumed" and session.handoffs:
            # The desk gives the conversation back when the agent resolves it.
            session.resumed_ts = session.resumed_ts or ts
        elif kind == "rating":
            ratings.append((ts, fact["score"], "rasa"))
        elif kind == "desk_rating" and fact.get("score") is not None:
            ratings.append((ts, fact["score"], "desk"))
        elif kind == "rating_asked":
            ask_ts = ask_ts or ts
        if kind not in ("desk_note_added",):
            last_ts = max(last_ts, ts)
    known = {h["handoff_id"] for h in session.handoffs if h.get("handoff_id")}
    for handoff_id, handoff in desk_handoffs.items():
        if handoff_id not in known:  # a handoff the tracker did not record (desk-made)
            session.handoffs.append(handoff)
        else:
            for own in session.handoffs:
                if own["handoff_id"] == handoff_id and not own.get("queue"):
                    own["queue"] = handoff["queue"]
    session.handoffs.sort(key=lambda h: h["ts"])
    session.human_replies.sort()
    session.replies.sort()
    if session.first_msg_ts is not None:
        session.first_reply_ts = next((t for t in session.replies
                                       if t >= session.first_msg_ts), None)
    own_ratings = [r for r in ratings if r[2] == "rasa"] or ratings
    if own_ratings:
        session.rating = own_ratings[-1][1]
        session.rated_after_ask = ask_ts is not None and own_ratings[-1][0] >= ask_ts
    session.rating_asked = ask_ts is not None
    session.close_ts = session.desk_resolved_ts or session.resumed_ts or last_ts


class Dataset:
    """Sessions of a time range (plus the re-contact window around it), derived once."""

    def __init__(self, engine: Engine, start: float, end: float,
                 window_hours: Optional[float] = None):
        self.engine = engine
        self.start, self.end = start, end
        self.window = (window_hours if window_hours is not None else recontact_hours()) * 3600
        self.sessions = self._load(start - self.window - 86400, end + self.window)
        self._link_issues()
        self.orders = self._orders()

    def _load(self, lo: float, hi: float) -> List[Session]:
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(store.sessions).where(
                store.sessions.c.started_ts >= lo, store.sessions.c.started_ts < hi)).all()
            by_id = {row.session_id: Session(row.session_id, row.conversation_id,
                                             row.started_ts, row.channel, row.customer_id)
                     for row in rows}
            if by_id:
                facts = connection.execute(sa.select(store.facts).where(
                    store.facts.c.ts >= lo, store.facts.c.ts < hi + 86400)).mappings().all()
                for fact in facts:
                    session = by_id.get(fact["session_id"])
                    if session is not None:
                        session.facts.append(dict(fact))
        for session in by_id.values():
            _derive(session)
        return sorted(by_id.values(), key=lambda s: s.started_ts)

    def _link_issues(self) -> None:
        """Marks keys a customer came back about within the window (re-contact)."""
        history: Dict[Tuple[str, str], Tuple[Session, float]] = {}
        for session in sorted(self.sessions, key=lambda s: s.first_msg_ts or s.started_ts):
            contact = session.first_msg_ts or session.started_ts
            for key in session.issues():
                if key == UNKNOWN_KEY:
                    continue
                previous = history.get((session.customer, key))
                if previous and contact - previous[1] <= self.window:
                    previous[0].recontacted_keys.add(key)
                    session.recontact_of = True  # type: ignore[attr-defined]
                last = max(o["ts"] for o in session.outcomes
                           if (o["issue_key"] or UNKNOWN_KEY) == key)
                history[(session.customer, key)] = (session, last)

    def _orders(self) -> Dict[str, List[float]]:
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(store.orders.c.customer_id,
                                                store.orders.c.created_ts)).all()
        found: Dict[str, List[float]] = defaultdict(list)
        for customer, created in rows:
            found[customer].append(created)
        return found

    def in_period(self, start: Optional[float] = None, end: Optional[float] = None,
                  where: Optional[Callable[[Session], bool]] = None) -> List[Session]:
        lo, hi = (start if start is not None else self.start), \
            (end if end is not None else self.end)
        return [s for s in self.sessions if s.first_msg_ts is not None
                and lo <= s.first_msg_ts < hi and (where is None or where(s))]


def _ratio(numerator: int, denominator: int) -> Optional[float]:
    return numerator / denominator if denominator else None


def _mean(values: List[float]) -> Optional[float]:
    return statistics.fmean(values) if values else None


def _percentile(values: List[float], q: float) -> Optional[float]:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[index]


def negative_rating_max() -> float:
    """A rating at or below this is negative (targets.yml `negative_rating_max`)."""
    return float(targets_config().negative_rating_max)


def rated_negative(session: Session, negative: Optional[float] = None) -> bool:
    negative = negative_rating_max() if negative is None else negative
    return session.rating is not None and session.rating <= negative


def ai_resolved(session: Session, negative: Optional[float] = None) -> bool:
    """The AI resolution predicate, shared by the rate and its drill-down: no human, every
    issue's last outcome resolved, no negative rating, no re-contact on its issues."""
    issues = session.issues()
    return (not session.human and bool(issues)
            and all(status == "resolved" for status in issues.values())
            and not rated_negative(session, negative)
            and not (set(issues) & session.recontacted_keys))


def compute(sessions: List[Session], orders: Optional[Dict[str, List[float]]] = None,
            conversion_hours: Optional[float] = None) -> Dict[str, Any]:
    """Every metric over the given sessions (already filtered to a period)."""
    config = targets_config()
    negative = negative_rating_max()
    conversion_window = (conversion_hours or float(config.conversion_hours)) * 3600
    frts = [s.first_reply_ts - s.contact_ts for s in sessions if s.first_reply_ts is not None]
    ahts = [s.close_ts - s.contact_ts for s in sessions if s.close_ts is not None]
    waits: List[float] = []
    unserved: List[Tuple[Session, Dict[str, Any]]] = []
    reasons: Counter = Counter()
    for session in sessions:
        for handoff in session.handoffs:
            reasons[handoff.get("reason") or "-"] += 1
            reply = next((t for t in session.human_replies if t >= handoff["ts"]), None)
            if reply is None:
                unserved.append((session, handoff))
            else:
                waits.append(reply - handoff["ts"])
    issues_total = issues_fcr = 0
    ai_total = ai_resolved_count = 0
    for session in sessions:
        issues = session.issues()
        first_contact = not getattr(session, "recontact_of", False)
        for key, status in issues.items():
            if not first_contact and key != UNKNOWN_KEY:
                continue  # a re-contact continues an issue counted in its first session
            issues_total += 1
            if session.closed(status) and key not in session.recontacted_keys:
                issues_fcr += 1
        if issues or session.human:
            ai_total += 1
            if ai_resolved(session, negative):
                ai_resolved_count += 1
    ratings = [s.rating for s in sessions if s.rating is not None]
    asked = [s for s in sessions if s.rating_asked]
    presale = [s for s in sessions if s.customer_id
               and any(m.get("intent_group") == "presale" for m in s.customer_msgs)]
    converted = [s for s in presale
                 if any(s.contact_ts <= t <= s.contact_ts + conversion_window
                        for t in (orders or {}).get(s.customer, []))]
    emotions = Counter(m.get("emotion") or "unknown" for s in sessions for m in s.customer_msgs)
    turning = Counter(f.get("reason") or "-" for s in sessions for f in s.facts
                      if f["kind"] == "turning_point")
    compliance = Counter(f.get("compliance") for s in sessions for f in s.facts
                         if f["kind"] == "bot_msg" and f.get("compliance"))
    waits_per_message: List[Optional[float]] = []
    for session in sessions:
        for message in session.customer_msgs:
            reply = next((t for t in session.replies if t >= message["ts"]), None)
            waits_per_message.append(None if reply is None else reply - message["ts"])
    messages = len(waits_per_message)

    def within(limit: float) -> int:
        return sum(1 for w in waits_per_message if w is not None and w <= limit)

    all_msgs = sum(emotions.values())
    return {
        "sessions": len(sessions),
        "customer_messages": messages,
        "frt": _mean(frts), "frt_median": _percentile(frts, 0.5), "frt_p90": _percentile(frts, 0.9),
        "handoff_wait": _mean(waits), "handoff_wait_p90": _percentile(waits, 0.9),
        "aht": _mean(ahts),
        "issues": issues_total, "fcr": _ratio(issues_fcr, issues_total),
        "ai_sessions": ai_total, "ai_resolution": _ratio(ai_resolved_count, ai_total),
        "handoffs": sum(len(s.handoffs) for s in sessions),
        "handoff_rate": _ratio(sum(1 for s in sessions if s.handoffs), len(sessions)),
        "handoff_reasons": dict(reasons.most_common()),
        "rated": len(ratings),
        "csat": _ratio(sum(1 for r in ratings if r >= 4), len(ratings)),
        "rating_response": _ratio(sum(1 for s in asked if s.rated_after_ask), len(asked)),
        "presale_sessions": len(presale),
        "conversion": _ratio(len(converted), len(presale)),
        "emotions": dict(emotions),
        "angry_share": _ratio(emotions.get("angry", 0), all_msgs),
        "turning_points": dict(turning), "turning_point_count": sum(turning.values()),
        "compliance": _ratio(compliance.get("pass", 0), sum(compliance.values())),
        "reply_2min": _ratio(within(120), messages),
        "reply_3min": _ratio(within(180), messages),
        "unserved_handoffs": len(unserved),
        "peak_concurrent": peak_concurrent(sessions),
    }


def peak_concurrent(sessions: Iterable[Session]) -> int:
    points = []
    for session in sessions:
        if session.first_msg_ts is None:
            continue
        points.append((session.first_msg_ts, 1))
        points.append((max(session.close_ts or session.first_msg_ts, session.first_msg_ts), -1))
    peak = current = 0
    for _, step in sorted(points, key=lambda p: (p[0], -p[1])):
        current += step
        peak = max(peak, current)
    return peak


# ---- views over a period -------------------------------------------------------------

TILE_METRICS = ("frt", "handoff_wait", "aht", "fcr", "ai_resolution", "handoff_rate", "csat",
                "rating_response", "conversion", "compliance", "reply_2min", "reply_3min",
                "unserved_handoffs", "angry_share", "peak_concurrent")


def status_of(name: str, value: Optional[float]) -> str:
    spec = targets_config().metrics.get(name)
    if spec is None or value is None:
        return "none"
    better = (lambda a, b: a >= b) if spec.direction == "higher" else (lambda a, b: a <= b)
    if spec.alert is not None and not better(value, spec.alert) and value != spec.alert:
        return "alert"
    if spec.target is not None and not better(value, spec.target):
        return "warn"
    return "ok"


def tiles(current: Dict[str, Any], previous: Dict[str, Any]) -> List[Dict[str, Any]]:
    specs = targets_config().metrics
    found = []
    for name in TILE_METRICS:
        spec = specs.get(name)
        value, before = current.get(name), previous.get(name)
        delta = None if value is None or before is None else value - before
        found.append({"metric": name, "label": spec.label if spec else name,
                      "unit": spec.unit if spec else "",
                      "direction": spec.direction if spec else None,
                      "value": value, "previous": before, "delta": delta,
                      "target": spec.target if spec else None,
                      "alert": spec.alert if spec else None,
                      "status": status_of(name, value)})
    return found


def period_report(engine: Engine, start: float, end: float) -> Dict[str, Any]:
    """Metrics of [start, end) and of the period of the same length before it."""
    length = end - start
    data = Dataset(engine, start - length, end)
    current = compute(data.in_period(start, end), data.orders)
    previous = compute(data.in_period(start - length, start), data.orders)
    return {"start": start, "end": end, "current": current, "previous": previous,
            "tiles": tiles(current, previous), "dataset": data}


DIMENSIONS: Dict[str, Callable[[Session], str]] = {
    "hour": lambda s: f"{local(s.contact_ts).hour:02d}",
    "day": lambda s: local(s.contact_ts).date().isoformat(),
    "weekday": lambda s: "一二三四五六日"[local(s.contact_ts).weekday()],
    "channel": lambda s: s.channel or "-",
    "queue": lambda s: s.queue,
    "agent": lambda s: s.agent,
    "intent_group": lambda s: s.intent_group or "other",
}
BREAKDOWN_METRICS = ("sessions", "frt", "aht", "fcr", "ai_resolution", "handoff_rate", "csat",
                     "reply_2min", "reply_3min", "conversion", "unserved_handoffs")


def _grouped(sessions: List[Session], key: Callable[[Session], str]
             ) -> Dict[str, List[Session]]:
    groups: Dict[str, List[Session]] = defaultdict(list)
    for session in sessions:
        groups[key(session)].append(session)
    return groups


def breakdown(data: Dataset, dimension: str, start: Optional[float] = None,
              end: Optional[float] = None, compare: bool = False) -> List[Dict[str, Any]]:
    """One row per value of the dimension. `compare`: each row also holds `previous`, the
    same metrics for that value in the period of the same length before (the dataset must
    hold it); a day is compared with the day one period earlier, every other dimension
    with the same value (hour 10 with hour 10, agent with agent). A value seen only in the
    previous period gets a row with 0 sessions."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    start = data.start if start is None else start
    end = data.end if end is None else end
    key = DIMENSIONS[dimension]
    groups = _grouped(data.in_period(start, end), key)
    previous: Dict[str, List[Session]] = {}
    if compare:
        length = end - start
        aligned = (lambda s: local(s.contact_ts + length).date().isoformat()) \
            if dimension == "day" else key
        previous = _grouped(data.in_period(start - length, start), aligned)
    rows = []
    for value in sorted(set(groups) | set(previous)):
        result = compute(groups.get(value, []), data.orders)
        row: Dict[str, Any] = {dimension: value, **{m: result[m] for m in BREAKDOWN_METRICS}}
        if compare:
            before = compute(previous.get(value, []), data.orders)
            row["previous"] = {m: before[m] for m in BREAKDOWN_METRICS}
        rows.append(row)
    return rows


def heatmap(data: Dataset) -> List[List[int]]:
    """[weekday 0-6, hour 0-23, sessions] for the day x hour heatmap."""
    counts: Counter = Counter()
    for session in data.in_period():
        when = local(session.contact_ts)
        counts[(when.weekday(), when.hour)] += 1
    return [[d, h, counts[(d, h)]] for d in range(7) for h in range(24)]


DRILLS: Dict[str, Callable[[Session], bool]] = {
    "all": lambda s: True,
    "handoff": lambda s: bool(s.handoffs),
    "unserved": lambda s: any(not any(t >= h["ts"] for t in s.human_replies)
                              for h in s.handoffs),
    # the same predicates as compute(): a drill lists exactly the sessions a figure counts
    "ai_resolved": lambda s: ai_resolved(s),
    "not_ai_resolved": lambda s: bool(s.issues() or s.human) and not ai_resolved(s),
    "recontact": lambda s: bool(s.recontacted_keys),
    "rated_low": lambda s: rated_negative(s),
    "rated": lambda s: s.rating is not None,
    "slow_frt": lambda s: s.first_reply_ts is None or s.first_reply_ts - s.contact_ts > 30,
    "angry": lambda s: any(m.get("emotion") == "angry" for m in s.customer_msgs),
    "compliance_changed": lambda s: any(f.get("compliance") == "changed" for f in s.facts),
}


def session_summary(session: Session) -> Dict[str, Any]:
    first = session.customer_msgs[0] if session.customer_msgs else {}
    return {
        "session_id": session.session_id, "conversation_id": session.conversation_id,
        "started": local(session.contact_ts).isoformat(),
        "channel": session.channel, "queue": session.queue, "agent": session.agent,
        "intent_group": session.intent_group,
        "first_message": first.get("text", ""),
        "frt": None if session.first_reply_ts is None
        else session.first_reply_ts - session.contact_ts,
        "handoffs": len(session.handoffs), "rating": session.rating,
        "issues": session.issues(), "messages": len(session.customer_msgs),
    }


def transcript(session: Session) -> List[Dict[str, Any]]:
    """The session's messages, already masked in the store."""
    role = {"customer_msg": "顾客", "bot_msg": "机器人", "agent_msg": "客服"}
    return [{"time": local(f["ts"]).isoformat(), "role": role[f["kind"]], "text": f.get("text"),
             "intent": f.get("intent"), "emotion": f.get("emotion")}
            for f in sorted(session.facts, key=lambda f: f["ts"]) if f["kind"] in role]
