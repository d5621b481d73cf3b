"""Emerging issues: terms and topics whose count jumps against their own baseline.

The unit is a session (a customer who writes 屏幕闪烁 three times counts once). For each
term t and a run on day D:

- window W: the `window_days` days up to D; baseline B: the `baseline_days` before W,
  without promotion days (the calendar in targets.yml); when W is a promotion window and B
  holds days of an earlier promotion (a week or more before W), B is those days.
- x = sessions in W with t, N_W = sessions in W; b = sessions in B with t, N_B.
- H0: t keeps its baseline share of sessions. Its rate gets a Gamma(b + 0.5, N_B) posterior
  (Jeffreys-like prior), so x follows the gamma-Poisson predictive: negative binomial with
  r = b + 0.5 and mean mu = N_W (b + 0.5) / N_B. Because the expectation scales with N_W,
  the traffic level and its hour-of-week profile (W holds the same hours of the week as
  any three days) are accounted for: 3-5x promotion traffic alone raises nothing.
- The day-to-day over-dispersion of the terms' shares in B (method of moments, one common
  value: the median over terms frequent enough to estimate it) widens the predictive:
  1/r_eff = 1/r + phi, same mean.
- On promotion days, terms listed in `promotion_terms` expect `promotion_factor` times
  their share when no earlier promotion days give them a baseline.
- p = P(X >= x) (upper tail); Benjamini-Hochberg over all terms tested in the run (those
  with x >= 3); an alert needs q <= fdr, x >= min_count and x / mu >= min_ratio.
"""

from __future__ import annotations

import json
import logging
import math
import time
import urllib.request
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any, Dict, Iterable, List, Optional, Set

from scipy.stats import nbinom

from analytics.config import promotion_days, targets_config, tz

logger = logging.getLogger("analytics.detector")
PRIOR = 0.5
MIN_TESTED = 3


@dataclass
class Alert:
    term: str
    kind: str  # term | topic
    window_start: date
    window_end: date  # inclusive
    observed: int
    expected: float
    ratio: float
    p_value: float
    q_value: float
    baseline_sessions: int
    baseline_count: int
    window_sessions: int
    dispersion: float
    promotion: bool
    examples: List[Dict[str, Any]] = field(default_factory=list)
    related: List[str] = field(default_factory=list)

    def as_dict(self) -> Dict[str, Any]:
        data = asdict(self)
        data["window_start"] = self.window_start.isoformat()
        data["window_end"] = self.window_end.isoformat()
        return data


def settings() -> Dict[str, Any]:
    return targets_config().detector.dict()


def benjamini_hochberg(p_values: List[float]) -> List[float]:
    """q-values (step-up, monotone)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    q = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        index = order[rank - 1]
        running = min(running, p_values[index] * m / rank)
        q[index] = running
    return q


def _dispersion(days: List[date], totals: Dict[date, int], counts: Dict[date, int],
                share: float) -> float:
    """Extra-Poisson variance of the daily counts around share x daily sessions."""
    expected = [totals.get(d, 0) * share for d in days]
    observed = [counts.get(d, 0) for d in days]
    excess = sum((o - e) ** 2 - e for o, e in zip(observed, expected, strict=False))
    scale = sum(e * e for e in expected)
    return max(0.0, excess / scale) if scale > 0 else 0.0


def common_dispersion(days: List[date], totals: Dict[date, int],
                      counts: Dict[str, Dict[date, int]], min_daily: float = 3.0) -> float:
    """One over-dispersion for all terms (as in negative-binomial GLMs with a common
    dispersion): the median of the per-term estimates of terms frequent enough to estimate
    it (>= `min_daily` sessions a day); a rare term's own estimate is mostly noise."""
    n = sum(totals.get(d, 0) for d in days)
    if not days or not n:
        return 0.0
    estimates = []
    for by_day in counts.values():
        b = sum(by_day.get(d, 0) for d in days)
        if b / len(days) >= min_daily:
            estimates.append(_dispersion(days, totals, by_day, b / n))
    if not estimates:
        return 0.0
    estimates.sort()
    return estimates[len(estimates) // 2]


def detect(totals: Dict[date, int], counts: Dict[str, Dict[date, int]], as_of: date,
           kinds: Optional[Dict[str, str]] = None, config: Optional[Dict[str, Any]] = None,
           promotions: Optional[Iterable[date]] = None) -> List[Alert]:
    """Alerts for the window ending on `as_of` (inclusive), strongest first."""
    config = config or settings()
    promos: Set[date] = set(promotions if promotions is not None else promotion_days())
    window = [as_of - timedelta(days=i) for i in range(config["window_days"])][::-1]
    before = [window[0] - timedelta(days=i + 1) for i in range(config["baseline_days"])][::-1]
    in_promo = any(d in promos for d in window)
    baseline = [d for d in before if d not in promos]
    # Earlier promotions only: this promotion's first days may already hold the spike.
    promo_baseline = [d for d in before if d in promos and d < window[0] - timedelta(days=7)]
    if in_promo and sum(totals.get(d, 0) for d in promo_baseline) >= 50:
        baseline = promo_baseline
    use_factor = in_promo and baseline is not promo_baseline
    promo_terms = set(config.get("promotion_terms") or [])
    n_window = sum(totals.get(d, 0) for d in window)
    n_base = sum(totals.get(d, 0) for d in baseline)
    if n_window == 0 or n_base == 0:
        return []
    phi = common_dispersion(baseline, totals, counts)
    candidates = []
    for term, by_day in counts.items():
        x = sum(by_day.get(d, 0) for d in window)
        if x < MIN_TESTED:
            continue
        b = sum(by_day.get(d, 0) for d in baseline)
        share = (b + PRIOR) / n_base
        factor = config["promotion_factor"] if use_factor and term in promo_terms else 1.0
        mu = n_window * share * factor
        r = 1.0 / (1.0 / (b + PRIOR) + phi)
        p_success = r / (r + mu)
        p_value = float(nbinom.sf(x - 1, r, p_success))
        candidates.append((term, x, mu, p_value, b, phi))
    if not candidates:
        return []
    q_values = benjamini_hochberg([c[3] for c in candidates])
    alerts = []
    for (term, x, mu, p_value, b, phi), q in zip(candidates, q_values, strict=False):
        if q <= config["fdr"] and x >= config["min_count"] and x / mu >= config["min_ratio"]:
            alerts.append(Alert(term, (kinds or {}).get(term, "term"), window[0], window[-1],
                                x, round(mu, 3), round(x / mu, 2), p_value, q, n_base, b,
                                n_window, round(phi, 4), in_promo))
    alerts = _drop_parts(alerts, counts, window)
    return sorted(alerts, key=lambda a: (a.q_value, -a.ratio))


def _drop_parts(alerts: List[Alert], counts: Dict[str, Dict[date, int]],
                window: List[date]) -> List[Alert]:
    """屏幕, 闪烁 and 屏幕闪烁 all jump together: keep the phrase, drop a part whose window
    count the phrase mostly explains."""
    phrases = [a for a in alerts if a.kind == "term"]
    kept = []
    for alert in alerts:
        covered = any(other.term != alert.term and alert.term in other.term
                      and other.observed >= 0.7 * alert.observed for other in phrases)
        if not covered:
            kept.append(alert)
    return kept


# ---- store adapter --------------------------------------------------------------------

def daily_counts(dataset: Any) -> tuple:
    """From an analytics.metrics.Dataset: sessions per local day, sessions with each term or
    topic per day, the kind of each key, and example sessions per key."""
    from analytics.config import local
    from analytics.topics import lexicon_topics, terms

    totals: Dict[date, int] = defaultdict(int)
    counts: Dict[str, Dict[date, int]] = defaultdict(lambda: defaultdict(int))
    kinds: Dict[str, str] = {}
    sessions_by_key: Dict[str, List[Any]] = defaultdict(list)
    for session in dataset.sessions:
        if session.first_msg_ts is None:
            continue
        day = local(session.first_msg_ts).date()
        totals[day] += 1
        text = " ".join(m.get("text") or "" for m in session.customer_msgs)
        keys = set(terms(text))
        for key in keys:
            kinds.setdefault(key, "term")
        for topic in lexicon_topics(text):
            keys.add(topic)
            kinds[topic] = "topic"
        for key in keys:
            counts[key][day] += 1
            sessions_by_key[key].append(session)
    return totals, counts, kinds, sessions_by_key


def run(engine: Any, as_of: date, save: bool = True, post_url: Optional[str] = None
        ) -> List[Alert]:
    """Runs the detector on the store for the window ending `as_of` (shop-local day)."""
    import sqlalchemy as sa

    from analytics import store
    from analytics.config import local
    from analytics.metrics import Dataset
    from analytics.topics import stable_id

    config = settings()
    days = config["window_days"] + config["baseline_days"]
    start = datetime.combine(as_of - timedelta(days=days - 1), dtime(), tz()).timestamp()
    end = datetime.combine(as_of + timedelta(days=1), dtime(), tz()).timestamp()
    data = Dataset(engine, start, end, window_hours=0)
    totals, counts, kinds, sessions_by_key = daily_counts(data)
    alerts = detect(totals, counts, as_of, kinds, config)
    window_start = as_of - timedelta(days=config["window_days"] - 1)
    alerts = group_incidents(alerts, sessions_by_key, window_start)
    for alert in alerts:
        examples = [s for s in sessions_by_key[alert.term]
                    if local(s.first_msg_ts).date() >= window_start]
        for session in examples[: config["examples"]]:
            text = next((m.get("text") for m in session.customer_msgs
                         if alert.term in (m.get("text") or "")),
                        (session.customer_msgs[0].get("text") if session.customer_msgs else ""))
            alert.examples.append({"session_id": session.session_id,
                                   "conversation_id": session.conversation_id,
                                   "time": local(session.first_msg_ts).isoformat(),
                                   "text": text})
    if save and alerts:
        rows = [{"id": stable_id(a.term, a.window_start, a.window_end), "created_ts": time.time(),
                 "term": a.term, "term_kind": a.kind,
                 "window_start": datetime.combine(a.window_start, dtime(), tz()).timestamp(),
                 "window_end": datetime.combine(a.window_end + timedelta(days=1), dtime(),
                                                tz()).timestamp(),
                 "observed": a.observed, "expected": a.expected, "p_value": a.p_value,
                 "q_value": a.q_value, "details": a.as_dict(), "posted": False}
                for a in alerts]
        with engine.begin() as connection:
            store.insert_ignore(connection, store.alerts, rows, ["id"])
    if post_url and alerts:
        with engine.begin() as connection:
            for alert in alerts:
                alert_id = stable_id(alert.term, alert.window_start, alert.window_end)
                posted = connection.execute(sa.select(store.alerts.c.posted).where(
                    store.alerts.c.id == alert_id)).scalar()
                if posted:
                    continue
                post_webhook(post_url, alert)
                connection.execute(store.alerts.update().where(store.alerts.c.id == alert_id)
                                   .values(posted=True))
    return alerts


def group_incidents(alerts: List[Alert], sessions_by_key: Dict[str, List[Any]],
                    window_start: date, overlap: float = 0.6) -> List[Alert]:
    """One incident, one alert: terms whose window sessions mostly coincide (平板, 质量问题
    beside 屏幕闪烁) are listed as related terms of the strongest one."""
    from analytics.config import local

    def window_ids(term: str) -> Set[str]:
        return {s.session_id for s in sessions_by_key.get(term, [])
                if local(s.first_msg_ts).date() >= window_start}

    from analytics.config import topics_config
    keywords = {w for words in topics_config().topics.values() for w in words}
    primaries: List[tuple] = []
    # Ties (every message with 屏幕闪烁 also says 平板) go to a lexicon keyword, then the
    # longer term, so the same incident gets the same name in every run.
    for alert in sorted(alerts, key=lambda a: (a.q_value, -a.observed, a.term not in keywords,
                                                -len(a.term), a.term)):
        ids = window_ids(alert.term)
        for primary, primary_ids in primaries:
            shared = len(ids & primary_ids)
            if ids and primary_ids and shared >= overlap * min(len(ids), len(primary_ids)):
                primary.related.append(alert.term)
                break
        else:
            primaries.append((alert, ids))
    return [primary for primary, _ in primaries]


def webhook_message(alert: Alert) -> Dict[str, Any]:
    """A WeCom group-robot markdown message."""
    lines = [f"**异常上升:「{alert.term}」**",
             f"> {alert.window_start:%m-%d}~{alert.window_end:%m-%d} 会话数 {alert.observed},"
             f"预期 {alert.expected:.1f}(×{alert.ratio:.1f}),p={alert.p_value:.2g},"
             f"q={alert.q_value:.2g}" + (",大促期间" if alert.promotion else "")]
    for example in alert.examples:
        lines.append(f"> {example['time'][5:16]} {example['text'][:60]}")
    return {"msgtype": "markdown", "markdown": {"content": "\n".join(lines)}}


def post_webhook(url: str, alert: Alert, timeout: float = 5.0) -> None:
    body = json.dumps(webhook_message(alert), ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except OSError as error:
        logger.warning("alert webhook failed: %s", error)
        raise


def expected_rate(x: int, mu: float) -> float:
    return x / mu if mu else math.inf
