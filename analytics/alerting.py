"""Scheduled alerts, run by the consumer (hourly by default): the spike detector for the
shop-local day, and the metric tiles of the last 24 hours past their alert threshold
(targets.yml). New alerts go to ANALYTICS_WEBHOOK_URL when it is set; each is posted once
(a detector alert by its stored `posted` flag, a metric breach once per metric and
shop-local day, remembered in the store's cursors table)."""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Dict, List, Optional

from sqlalchemy.engine import Engine

from analytics import detector, store
from analytics.config import local, targets_config
from service_common.settings import env_float, env_optional

logger = logging.getLogger("analytics.alerting")
WEBHOOK_ENV = "ANALYTICS_WEBHOOK_URL"
INTERVAL_ENV = "ANALYTICS_ALERT_INTERVAL_SECONDS"
METRIC_WINDOW = 86400.0


def webhook_url() -> Optional[str]:
    return env_optional(WEBHOOK_ENV)


def interval() -> float:
    return env_float(INTERVAL_ENV)


@dataclass
class Checked:
    """One scheduled run: the detector's alerts and the tiles in alert status."""

    alerts: List[detector.Alert] = field(default_factory=list)
    breaches: List[Dict[str, Any]] = field(default_factory=list)
    posted_breaches: List[str] = field(default_factory=list)


def metric_breaches(engine: Engine, now: float) -> List[Dict[str, Any]]:
    """The tiles of [now - 24 h, now) in alert status; none below `alert_min_sessions`
    sessions (targets.yml), where one slow night conversation would page the team."""
    from analytics.metrics import period_report

    report = period_report(engine, now - METRIC_WINDOW, now)
    if report["current"]["sessions"] < targets_config().alert_min_sessions:
        return []
    return [tile for tile in report["tiles"] if tile["status"] == "alert"]


def _figure(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value * 100:.1f}%"
    if unit == "s":
        return f"{value:.0f}秒"
    return f"{value:g}"


def breach_message(tile: Dict[str, Any]) -> Dict[str, Any]:
    """A WeCom group-robot markdown message for a tile past its alert threshold."""
    unit = tile.get("unit") or ""
    worse = "高于" if tile.get("direction") == "lower" else "低于"
    lines = [f"**指标告警:{tile['label']}**",
             f"> 近24小时 {_figure(tile['value'], unit)},{worse}告警线 "
             f"{_figure(tile['alert'], unit)}(目标 {_figure(tile['target'], unit)})"]
    if tile.get("previous") is not None:
        lines.append(f"> 上一周期 {_figure(tile['previous'], unit)}")
    return {"msgtype": "markdown", "markdown": {"content": "\n".join(lines)}}


def post_json(url: str, message: Dict[str, Any], timeout: float = 5.0) -> None:
    body = json.dumps(message, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        response.read()


def post_breaches(engine: Engine, breaches: List[Dict[str, Any]], url: str,
                  day: date) -> List[str]:
    """Posts each breach not posted yet on this shop-local day; the metrics posted."""
    posted = []
    for tile in breaches:
        name = f"metric_alert:{tile['metric']}:{day.isoformat()}"
        with engine.connect() as connection:
            if store.get_cursor(connection, name):
                continue
        post_json(url, breach_message(tile))
        with engine.begin() as connection:
            store.set_cursor(connection, name, str(int(time.time())))
        posted.append(tile["metric"])
    return posted


def check(engine: Engine, now: Optional[float] = None, url: Optional[str] = None) -> Checked:
    """One scheduled run: detector alerts are stored (and posted), metric breaches posted."""
    now = time.time() if now is None else now
    day = local(now).date()
    result = Checked()
    result.alerts = detector.run(engine, day, post_url=url)
    result.breaches = metric_breaches(engine, now)
    if url and result.breaches:
        result.posted_breaches = post_breaches(engine, result.breaches, url, day)
    return result
