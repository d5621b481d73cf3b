"""The analytics HTTP API and the dashboard page, as a Sanic blueprint.

`register(app, auth_check)` mounts it into a Sanic app (the desk app: `auth_check` is the
desk's supervisor check); every /api/analytics route is refused with 401 unless
`auth_check(request)` is true (it may be async). `/dashboard/` serves the built page
(analytics/web/dist); the page holds no data, it asks the API.

`python -m analytics serve` runs it alone with a bearer token (ANALYTICS_API_TOKEN).
"""

from __future__ import annotations

import csv
import hmac
import inspect
import io
import time
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Optional, Tuple, Union
from urllib.parse import unquote

import sqlalchemy as sa
from sanic import Blueprint, Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, file, json, raw

from analytics import store
from analytics.config import local, promotions_between, tz
from analytics.metrics import (
    DIMENSIONS,
    DRILLS,
    Dataset,
    breakdown,
    compute,
    heatmap,
    session_summary,
    tiles,
    transcript,
)

WEB_DIST = Path(__file__).resolve().parent / "web" / "dist"
AuthCheck = Callable[[Request], Union[bool, Awaitable[bool]]]
CACHE_SECONDS = 30.0
_cache: Dict[Tuple, Tuple[float, Any]] = {}


def _error(status: int, code: str, message: str) -> HTTPResponse:
    return json({"error": {"code": code, "message": message}}, status=status)


def _day_ts(day: date) -> float:
    return datetime.combine(day, dtime(), tz()).timestamp()


def latest_day(engine) -> date:
    with engine.connect() as connection:
        latest = connection.execute(sa.select(sa.func.max(store.facts.c.ts))).scalar()
    return local(latest).date() if latest else datetime.now(tz()).date()


def period(request: Request, engine) -> Tuple[float, float]:
    """start/end from ?start=YYYY-MM-DD&end=YYYY-MM-DD (end inclusive); default: the last
    seven days that have data."""
    try:
        end_day = date.fromisoformat(request.args.get("end")) if request.args.get("end") \
            else latest_day(engine)
        start_day = date.fromisoformat(request.args.get("start")) if request.args.get("start") \
            else end_day - timedelta(days=6)
    except ValueError as error:
        raise ValueError("日期格式应为 YYYY-MM-DD") from error
    if start_day > end_day or (end_day - start_day).days > 92:
        raise ValueError("时间范围无效(最长92天)")
    return _day_ts(start_day), _day_ts(end_day + timedelta(days=1))


def dataset(engine, start: float, end: float) -> Dataset:
    """The period and the one before it (for comparisons); cached briefly."""
    key = (str(engine.url), start, end)
    hit = _cache.get(key)
    if hit and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    data = Dataset(engine, start - (end - start), end)
    data.start, data.end = start, end
    if len(_cache) > 32:
        _cache.clear()
    _cache[key] = (time.monotonic(), data)
    return data


def _clean(metrics: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in metrics.items() if not isinstance(v, dict)}


def overview(data: Dataset) -> Dict[str, Any]:
    length = data.end - data.start
    current = compute(data.in_period(), data.orders)
    previous = compute(data.in_period(data.start - length, data.start), data.orders)
    return {"start": local(data.start).date().isoformat(),
            "end": local(data.end - 1).date().isoformat(),
            "tiles": tiles(current, previous), "current": _clean(current),
            "previous": _clean(previous), "handoff_reasons": current["handoff_reasons"],
            "emotions": current["emotions"], "turning_points": current["turning_points"]}


SERIES_METRICS = ("sessions", "frt", "ai_resolution", "fcr", "handoff_rate", "csat",
                  "reply_2min", "reply_3min", "unserved_handoffs", "peak_concurrent")


def series(data: Dataset, bucket: str) -> list:
    """One row per day or hour of the period; `previous`: the same bucket one period
    earlier (`previous_bucket`), e.g. the same weekday last week for a 7-day period."""
    step = 3600 if bucket == "hour" else 86400
    length = data.end - data.start
    fmt = "%m-%d %H:00" if bucket == "hour" else "%Y-%m-%d"
    rows = []
    at = data.start
    while at < data.end:
        result = compute(data.in_period(at, at + step), data.orders)
        before = compute(data.in_period(at - length, at - length + step), data.orders)
        rows.append({"bucket": local(at).strftime(fmt),
                     **{m: result[m] for m in SERIES_METRICS},
                     "previous_bucket": local(at - length).strftime(fmt),
                     "previous": {m: before[m] for m in SERIES_METRICS}})
        at += step
    return rows


def promotions_of(data: Dataset) -> list:
    """The promotion days of the period (targets.yml calendar): the daily chart marks them."""
    return promotions_between(local(data.start).date(), local(data.end - 1).date())


def topics_view(engine, data: Dataset) -> Dict[str, Any]:
    from analytics.topics import topic_table
    length = data.end - data.start
    now = topic_table(data.in_period(), engine)
    before = topic_table(data.in_period(data.start - length, data.start), engine,
                         cluster_uncovered=False)
    rows = []
    for name, count in now["topics"].items():
        previous = before["topics"].get(name, 0)
        rows.append({"topic": name, "kind": "lexicon", "sessions": count, "previous": previous,
                     "status": "new" if previous == 0 else
                     ("rising" if count >= 1.5 * previous else "steady")})
    for name, count in now["clusters"].items():
        rows.append({"topic": name, "kind": "cluster", "sessions": count, "previous": None,
                     "status": "cluster", "signatures": now["cluster_signatures"][name]})
    return {"topics": rows, "intent_groups": now["intent_groups"],
            "previous_intent_groups": before["intent_groups"]}


def alerts_view(engine, limit: int = 50) -> list:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(store.alerts).order_by(
            store.alerts.c.window_end.desc(), store.alerts.c.q_value).limit(limit)).mappings()
        return [{**dict(row["details"] or {}), "id": row["id"], "posted": row["posted"]}
                for row in rows]


def _sessions_csv(sessions) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["session_id", "conversation_id", "started", "channel", "queue", "agent",
                     "intent_group", "frt_s", "handoffs", "rating", "issues", "messages",
                     "first_message"])
    for s in sessions:
        row = session_summary(s)
        writer.writerow([row["session_id"], row["conversation_id"], row["started"],
                         row["channel"], row["queue"], row["agent"], row["intent_group"],
                         "" if row["frt"] is None else round(row["frt"], 1), row["handoffs"],
                         row["rating"] if row["rating"] is not None else "",
                         ";".join(f"{k}={v}" for k, v in row["issues"].items()),
                         row["messages"], row["first_message"]])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 Chinese


def blueprint(engine_factory: Callable[[], Any], auth_check: AuthCheck) -> Blueprint:
    bp = Blueprint("analytics")

    async def allowed(request: Request) -> bool:
        result = auth_check(request)
        if inspect.isawaitable(result):
            result = await result
        return bool(result)

    @bp.middleware("request")
    async def guard(request: Request) -> Optional[HTTPResponse]:
        if request.path.startswith("/api/analytics") and not await allowed(request):
            return _error(401, "unauthorized", "需要主管登录或有效的令牌")
        return None

    def with_period(handler):
        async def wrapped(request: Request, *args, **kwargs):
            engine = engine_factory()
            try:
                start, end = period(request, engine)
            except ValueError as error:
                return _error(400, "bad_period", str(error))
            return await handler(request, engine, dataset(engine, start, end), *args, **kwargs)
        wrapped.__name__ = handler.__name__
        return wrapped

    @bp.get("/api/analytics/overview")
    @with_period
    async def get_overview(request, engine, data):
        from analytics.orders import presale_customers, refresh_orders
        customers = presale_customers(data.in_period())
        if customers and await refresh_orders(engine, customers):
            data.orders = data._orders()  # new orders: conversion uses them now
        return json(overview(data))

    @bp.get("/api/analytics/series")
    @with_period
    async def get_series(request, engine, data):
        bucket = request.args.get("bucket", "day")
        if bucket not in ("day", "hour"):
            return _error(400, "bad_bucket", "bucket 只能是 day 或 hour")
        return json({"bucket": bucket, "series": series(data, bucket),
                     "promotions": promotions_of(data)})

    @bp.get("/api/analytics/breakdown")
    @with_period
    async def get_breakdown(request, engine, data):
        dimension = request.args.get("dim", "channel")
        if dimension not in DIMENSIONS:
            return _error(400, "bad_dimension", f"dim 可选: {', '.join(DIMENSIONS)}")
        return json({"dim": dimension, "rows": breakdown(data, dimension, compare=True)})

    @bp.get("/api/analytics/heatmap")
    @with_period
    async def get_heatmap(request, engine, data):
        return json({"cells": heatmap(data)})

    @bp.get("/api/analytics/topics")
    @with_period
    async def get_topics(request, engine, data):
        return json(topics_view(engine, data))

    @bp.post("/api/analytics/topics/clusters")
    async def rename_cluster(request):
        from analytics.topics import set_cluster_name
        try:
            body = request.json if isinstance(request.json, dict) else {}
        except Exception:  # malformed JSON: the same clear 400 as a missing field
            body = {}
        generated = str(body.get("cluster") or "").strip()
        name = str(body.get("name") or "").strip()
        if not generated or not name or len(name) > 80:
            return _error(400, "bad_cluster_name", "需要 cluster(原名称)和 name(新名称,最长80字)")
        renamed = set_cluster_name(engine_factory(), generated, name)
        _cache.clear()
        return json({"cluster": generated, "name": name, "signatures": renamed})

    @bp.get("/api/analytics/alerts")
    async def get_alerts(request):
        return json({"alerts": alerts_view(engine_factory())})

    @bp.get("/api/analytics/conversations")
    @with_period
    async def get_conversations(request, engine, data):
        from analytics.topics import topic_members
        drill = request.args.get("drill", "all")
        if drill not in DRILLS:
            return _error(400, "bad_drill", f"drill 可选: {', '.join(DRILLS)}")
        dim, value = request.args.get("dim"), request.args.get("value")
        if dim and dim not in DIMENSIONS:
            return _error(400, "bad_dimension", f"dim 可选: {', '.join(DIMENSIONS)}")
        topic = request.args.get("topic")
        period_sessions = data.in_period()
        # A topic is a tag (lexicon topic or cluster, as the topics view counts them), not
        # a word to look for in the messages.
        members = topic_members(period_sessions, topic, engine) if topic else None
        sessions = [s for s in period_sessions if DRILLS[drill](s)
                    and (not dim or DIMENSIONS[dim](s) == value)
                    and (members is None or s.session_id in members)]
        try:
            limit = min(max(int(request.args.get("limit", 100)), 1), 1000)
        except ValueError:
            return _error(400, "bad_limit", "limit 应为 1-1000 的整数")
        return json({"count": len(sessions),
                     "conversations": [session_summary(s) for s in sessions[-limit:][::-1]]})

    @bp.get("/api/analytics/conversations/<session_id:str>")
    @with_period
    async def get_transcript(request, engine, data, session_id):
        session_id = unquote(session_id)  # ids hold ":" (conversation:start)
        found = next((s for s in data.sessions if s.session_id == session_id), None)
        if found is None:
            return _error(404, "not_found", "没有找到这个会话(可能不在所选时间范围内)")
        return json({**session_summary(found), "transcript": transcript(found)})

    @bp.get("/api/analytics/export.csv")
    @with_period
    async def export_csv(request, engine, data):
        kind = request.args.get("kind", "sessions")
        if kind == "daily":
            rows = [{**{k: v for k, v in row.items() if k != "previous"},
                     **{f"previous_{k}": v for k, v in row["previous"].items()}}
                    for row in series(data, "day")]
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=list(rows[0].keys()) if rows else ["bucket"])
            writer.writeheader()
            writer.writerows(rows)
            body = ("\ufeff" + out.getvalue()).encode("utf-8")
        elif kind == "sessions":
            body = _sessions_csv(data.in_period())
        else:
            return _error(400, "bad_kind", "kind 可选: sessions, daily")
        return raw(body, content_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="analytics-{kind}.csv"'})

    @bp.get("/dashboard/")
    async def dashboard(request):
        return await _static("index.html")

    @bp.get("/dashboard/<path:path>")
    async def dashboard_asset(request, path: str):
        return await _static(path or "index.html")

    async def _static(path: str) -> HTTPResponse:
        target = (WEB_DIST / path).resolve()
        if WEB_DIST.resolve() not in target.parents or not target.is_file():
            if path == "index.html":
                return _error(503, "not_built", "看板页面尚未构建:cd analytics/web && npm ci "
                                                "&& npm run build")
            return _error(404, "not_found", "没有这个文件")
        return await file(str(target))

    return bp


def register(app: Sanic, auth_check: AuthCheck, engine: Any = None) -> None:
    """Mounts the API and the dashboard into `app` (e.g. the desk's, with its supervisor
    check). The store is ANALYTICS_DB_URL unless an engine is given."""
    holder: Dict[str, Any] = {"engine": engine}

    def engine_factory():
        if holder["engine"] is None:
            holder["engine"] = store.engine_for()
        return holder["engine"]

    app.blueprint(blueprint(engine_factory, auth_check))


def bearer_check(token: str) -> AuthCheck:
    expected = token.encode()

    def check(request: Request) -> bool:
        scheme, _, given = (request.headers.get("authorization") or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                                  expected)
    return check


def create_app(token: str, engine: Any = None, name: str = "analytics") -> Sanic:
    if not token:
        raise ValueError("ANALYTICS_API_TOKEN must be set (no default secret)")
    app = Sanic(name, configure_logging=False)

    @app.get("/health")
    async def health(request):
        return json({"status": "ok"})

    register(app, bearer_check(token), engine)
    return app
