"""`python -m analytics report --week 2026-W48 --out reports/weekly.html`: the weekly report.

One self-contained HTML file: the figures against last week, the dashboard's charts (the
ECharts bundle from analytics/web, inlined, so it opens offline and prints), top
questions, complaints, rising and new topics, and the emerging issues the detector found
during the week with their statistics and masked examples.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any, Dict, List

from sqlalchemy.engine import Engine

from analytics.config import local, tz
from analytics.metrics import Dataset, breakdown, compute, heatmap, rated_negative, tiles

BUNDLE = Path(__file__).resolve().parent / "web" / "dist" / "report" / "report.js"
INTENT_NAMES = {
    "query_order_status": "查订单", "track_logistics": "查物流", "ask_shipping_time": "问发货时间",
    "urge_delivery": "催发货", "change_address": "改地址", "cancel_order": "取消订单",
    "request_return": "退货", "request_refund": "退款", "request_exchange": "换货",
    "query_refund_progress": "退款进度", "report_quality_issue": "质量问题", "ask_size": "尺码",
    "product_question": "商品咨询", "ask_usage": "使用方法", "ask_promotion": "优惠活动",
    "ask_invoice": "发票", "wholesale_inquiry": "批发", "request_human": "转人工",
    "complain": "投诉", "rate_service": "评价", "out_of_scope": "无关问题",
    "nlu_fallback": "未识别",
}
PERCENT = {"fcr", "ai_resolution", "handoff_rate", "csat", "rating_response", "conversion",
           "compliance", "reply_2min", "reply_3min", "angry_share"}
SECONDS = {"frt", "handoff_wait", "aht"}
STATUS = {"ok": "达标", "warn": "未达目标", "alert": "预警", "none": "—"}
TREND = {"new": "新出现", "rising": "上升", "steady": "平稳", "cluster": "—"}
NO_ALERTS = "<p class='muted'>本周没有异常上升的词或话题。</p>"


def week_bounds(week: str) -> tuple:
    year, _, number = week.upper().partition("-W")
    monday = date.fromisocalendar(int(year), int(number), 1)
    return monday, monday + timedelta(days=7)


def fmt(metric: str, value: Any) -> str:
    if value is None:
        return "—"
    if metric in PERCENT:
        return f"{value * 100:.1f}%"
    if metric in SECONDS:
        return f"{value:.1f} 秒" if value < 120 else f"{value / 60:.1f} 分钟"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def fmt_delta(metric: str, delta: Any) -> str:
    if delta is None:
        return "—"
    sign = "+" if delta > 0 else ""
    if metric in PERCENT:
        return f"{sign}{delta * 100:.1f} 个百分点"
    if metric in SECONDS:
        return f"{sign}{delta:.1f} 秒"
    return f"{sign}{delta:.0f}" if float(delta).is_integer() else f"{sign}{delta:.1f}"


def _examples(sessions, limit: int = 3) -> List[str]:
    found = []
    for session in sessions:
        text = next((m.get("text") for m in session.customer_msgs if m.get("text")), "")
        if text and text not in found:
            found.append(text)
        if len(found) >= limit:
            break
    return found


def build(engine: Engine, week: str) -> Dict[str, Any]:
    from analytics.detector import run as run_detector
    from analytics.http import promotions_of, series, topics_view

    monday, next_monday = week_bounds(week)
    start = datetime.combine(monday, dtime(), tz()).timestamp()
    end = datetime.combine(next_monday, dtime(), tz()).timestamp()
    data = Dataset(engine, start - 7 * 86400, end)
    data.start, data.end = start, end
    import asyncio

    from analytics.orders import presale_customers, refresh_orders
    customers = presale_customers(data.sessions)
    if customers and asyncio.run(refresh_orders(engine, customers)) > 0:
        data.orders = data._orders()
    current = compute(data.in_period(), data.orders)
    previous = compute(data.in_period(start - 7 * 86400, start), data.orders)
    sessions = data.in_period()
    intents: Counter = Counter()
    intents_before: Counter = Counter()
    examples: Dict[str, list] = {}
    for group, counter in ((sessions, intents),
                           (data.in_period(start - 7 * 86400, start), intents_before)):
        for session in group:
            names = {m["intent"] for m in session.customer_msgs if m.get("intent")}
            for name in names:
                key = name.split("/")[0] if not name.startswith("faq/") else name
                counter[key] += 1
                if counter is intents:
                    examples.setdefault(key, []).append(session)
    complaints = [s for s in sessions if any(m.get("intent") == "complain"
                                             or m.get("emotion") == "angry"
                                             for m in s.customer_msgs)
                  or rated_negative(s)]
    alerts: Dict[str, Any] = {}
    for offset in range(7):
        for alert in run_detector(engine, monday + timedelta(days=offset)):
            if alert.term not in alerts or alert.q_value < alerts[alert.term].q_value:
                alerts[alert.term] = alert
    topics = topics_view(engine, data)
    return {
        "week": week, "monday": monday, "sunday": next_monday - timedelta(days=1),
        "tiles": tiles(current, previous), "current": current, "previous": previous,
        "intents": intents.most_common(12), "intents_before": intents_before,
        "examples": {k: _examples(v) for k, v in examples.items()},
        "complaints": {"count": len(complaints), "examples": _examples(complaints, 6),
                       "low_ratings": sum(1 for s in sessions if rated_negative(s))},
        "topics": topics,
        "alerts": sorted(alerts.values(), key=lambda a: a.q_value),
        "charts": {"series": series(data, "day"), "promotions": promotions_of(data),
                   "hourly": breakdown(data, "hour"),
                   "heatmap": heatmap(data), "handoff_reasons": current["handoff_reasons"],
                   "emotions": current["emotions"], "topics": topics["topics"]},
    }


CSS = """
body{font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;
margin:24px;color:#222}
h1{margin-bottom:0}h2{border-bottom:2px solid #1f2d3d;padding-bottom:4px;margin-top:28px}
.muted{color:#666}table{border-collapse:collapse;width:100%;font-size:13px}
td,th{border-bottom:1px solid #ddd;padding:5px 8px;text-align:left}
.ok{color:#27ae60}.warn{color:#d68910}.alert{color:#c0392b;font-weight:600}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:12px}
.chart{height:300px;border:1px solid #eee}
.card{border-left:4px solid #e74c3c;background:#fff5f5;padding:6px 12px;margin:8px 0}
@media print{body{margin:0}.chart{break-inside:avoid}h2{break-after:avoid}
section{break-inside:avoid-page}}
"""


def _example_items(examples: List[Dict[str, Any]]) -> str:
    return "".join(f"<li>{html.escape(x['time'][5:16])} {html.escape(x['text'] or '')}</li>"
                   for x in examples)


def render(report: Dict[str, Any]) -> str:
    e = html.escape
    if not BUNDLE.is_file():
        raise FileNotFoundError(f"{BUNDLE} is missing: run `make web` (npm ci && npm run build)")
    rows = "".join(
        f"<tr><td>{e(t['label'])}</td><td>{fmt(t['metric'], t['value'])}</td>"
        f"<td>{fmt(t['metric'], t['previous'])}</td><td>{fmt_delta(t['metric'], t['delta'])}</td>"
        f"<td>{fmt(t['metric'], t['target'])}</td><td class='{t['status']}'>"
        f"{STATUS[t['status']]}</td></tr>" for t in report["tiles"])
    intents = "".join(
        f"<tr><td>{e(INTENT_NAMES.get(name, name))}</td><td>{count}</td>"
        f"<td>{report['intents_before'].get(name, 0)}</td>"
        f"<td>{e(' / '.join(report['examples'].get(name, [])))}</td></tr>"
        for name, count in report["intents"])
    topic_rows = "".join(
        f"<tr><td>{e(t['topic'])}</td><td>{'词表' if t['kind'] == 'lexicon' else '聚类'}</td>"
        f"<td>{t['sessions']}</td><td>{'' if t['previous'] is None else t['previous']}</td>"
        f"<td>{TREND[t['status']]}</td></tr>" for t in report["topics"]["topics"][:20])
    alerts = "".join(
        f"<div class='card'><b>「{e(a.term)}」</b>{'(话题)' if a.kind == 'topic' else ''} "
        f"{a.window_start:%m-%d}~{a.window_end:%m-%d}:会话 {a.observed},预期 {a.expected:.1f}"
        f"(×{a.ratio}),p = {a.p_value:.2e},BH q = {a.q_value:.2e},基线 {a.baseline_count}/"
        f"{a.baseline_sessions} 会话{',大促期间' if a.promotion else ''}"
        f"{'<br>相关词:' + e('、'.join(a.related[:10])) if a.related else ''}"
        f"<ul>{_example_items(a.examples)}"
        f"</ul></div>" for a in report["alerts"]) or NO_ALERTS
    complaints = report["complaints"]
    current = report["current"]
    data = json.dumps(report["charts"], ensure_ascii=False).replace("</", "<\\/")
    bundle = BUNDLE.read_text(encoding="utf-8").replace("</script", "<\\/script")
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>客服周报 {e(report['week'])}</title>
<style>{CSS}</style></head><body>
<h1>客服数据周报 · {e(report['week'])}</h1>
<p class="muted">{report['monday']:%Y-%m-%d} 至 {report['sunday']:%Y-%m-%d}(与上周对比);
会话 {current['sessions']} 个,顾客消息 {current['customer_messages']} 条。
号码、地址、姓名已脱敏。</p>
<section><h2>关键指标</h2><table><tr><th>指标</th><th>本周</th><th>上周</th><th>变化</th>
<th>目标</th><th>状态</th></tr>{rows}</table></section>
<section><h2>图表</h2><div class="charts">
<div class="chart" id="chart-daily"></div><div class="chart" id="chart-hourly"></div>
<div class="chart" id="chart-heatmap"></div><div class="chart" id="chart-reasons"></div>
<div class="chart" id="chart-emotions"></div><div class="chart" id="chart-topics"></div>
</div></section>
<section><h2>热门问题</h2><table><tr><th>问题</th><th>本周会话</th><th>上周</th><th>示例</th></tr>
{intents}</table></section>
<section><h2>投诉与不满</h2><p>投诉、愤怒情绪或差评(≤2分)的会话 {complaints['count']} 个,
其中差评 {complaints['low_ratings']} 个;情绪拐点 {current['turning_point_count']} 次;
转人工未服务 {current['unserved_handoffs']} 次。</p>
<ul>{''.join(f'<li>{e(x)}</li>' for x in complaints['examples'])}</ul></section>
<section><h2>话题:上升与新出现</h2><table><tr><th>话题</th><th>来源</th><th>本周</th>
<th>上周</th><th>趋势</th></tr>{topic_rows}</table></section>
<section><h2>异常预警(新兴问题)</h2>
<p class="muted">检验:每个词/话题在近3天的会话数,对比其前28天(不含大促日)占比的
伽马-泊松(负二项)预测分布,
上尾检验,Benjamini-Hochberg 校正(q ≤ 0.002),且至少 ×2、8 个会话。</p>{alerts}</section>
<script>{bundle}</script>
<script id="report-data" type="application/json">{data}</script>
<script>AnalyticsReport.render(JSON.parse(document.getElementById('report-data').textContent));</script>
</body></html>"""


def write_report(engine: Engine, week: str, out: str) -> Path:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(build(engine, week)), encoding="utf-8")
    return path


def generated_at() -> str:
    return local(datetime.now().timestamp()).isoformat()
