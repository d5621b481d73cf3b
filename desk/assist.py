"""What helps the agent write: canned replies with order variables, the suggested reply and
the empathic lines (brand), the compliance check of every text, the playbook actions."""

from __future__ import annotations

import asyncio
import logging
import re
from functools import cache
from pathlib import Path
from typing import Any, Dict, List, Optional

from pydantic import conlist

from service_common.config import Model, Text, load_yaml
from service_common.errors import ApiError
from service_common.settings import env_str

logger = logging.getLogger("desk.assist")

CANNED_PATH = Path(__file__).with_name("canned.yml")
ACCESS_PATH = Path(__file__).with_name("playbook_access.yml")
VARIABLE = re.compile(r"\{([^{}]{1,16})\}")
UPSET = ("angry", "anxious")
RECENT_MOODS = 5


class CannedReply(Model):
    key: Text
    title: Text
    text: Text


class CannedFile(Model):
    """desk/canned.yml: the agents' canned replies"""

    replies: conlist(CannedReply, min_items=1)  # type: ignore[valid-type]


class AccessFile(Model):
    """desk/playbook_access.yml: the plays each desk role may run"""

    roles: Dict[Text, List[Text]]


@cache
def canned(path: Path = CANNED_PATH) -> list[dict[str, str]]:
    return [{k: v.strip() for k, v in reply.dict().items()}
            for reply in load_yaml(path, CannedFile).replies]


@cache
def access(path: Path = ACCESS_PATH) -> dict[str, list[str]]:
    return {role: list(plays) for role, plays in load_yaml(path, AccessFile).roles.items()}


def verified_order(packet: dict[str, Any]) -> Optional[str]:
    """The order the customer proved is theirs in the conversation (the packet names its id;
    the shop's proof itself stays with the assistant)."""
    verified = packet.get("verified_order")
    return verified if isinstance(verified, str) and verified else None


def main_order(packet: dict[str, Any]) -> dict[str, Any]:
    orders = packet.get("orders") or []
    verified = verified_order(packet)
    for order in orders:
        if verified and order.get("id") == verified:
            return order
    return orders[0] if orders else {}


def customer_id(handoff: Any, packet: dict[str, Any]) -> Optional[str]:
    """Who a compensation goes to: the identified customer, else the owner of the order the
    customer verified in this conversation (the phone-tail check proved it is theirs)."""
    if handoff.customer_id:
        return handoff.customer_id
    verified = verified_order(packet)
    order = main_order(packet)
    if verified and order.get("id") == verified:
        return order.get("customer_id")
    return None


def variables(packet: dict[str, Any], agent_name: Optional[str]) -> dict[str, str]:
    order = main_order(packet)
    tracking = order.get("tracking") or {}
    name = (packet.get("customer") or {}).get("name")
    values = {
        "客户称呼": name or "亲",
        "客服名": agent_name or "",
        "订单号": order.get("id") or (packet.get("slots") or {}).get("order_id"),
        "物流单号": tracking.get("tracking_no") or order.get("tracking_no"),
        "快递公司": tracking.get("courier") or order.get("courier"),
        "预计送达": tracking.get("eta"),
        "订单状态": order.get("status_text") or order.get("status"),
    }
    return {k: str(v) for k, v in values.items() if v not in (None, "")}


def render(text: str, values: dict[str, str]) -> tuple[str, list[str]]:
    missing: list[str] = []

    def fill(match: re.Match) -> str:
        key = match.group(1)
        if key in values:
            return values[key]
        missing.append(key)
        return match.group(0)

    return VARIABLE.sub(fill, text), missing


def check(text: str) -> dict[str, Any]:
    """The compliance verdict of a text, as the desk shows it."""
    from compliance import get_checker

    verdict = get_checker().check(text)
    return {
        "allowed": verdict.allowed,
        "blocked": verdict.blocked,
        "text": verdict.text,
        "hits": [{"rule_id": h.rule_id, "category": h.category, "term": h.term,
                  "action": h.action, "replacement": h.replacement} for h in verdict.hits],
    }


def guard_outgoing(text: str, accept_rewrite: bool) -> tuple[str, dict[str, Any]]:
    """The text that may go to the customer, or an ApiError the agent sees.

    block rule hit: refused (422), the agent must rephrase. rewrite rule hit: refused (409)
    with the rewritten text, which the agent sends by confirming (accept_rewrite) - the
    banned wording itself never goes out.
    """
    verdict = check(text)
    if verdict["allowed"]:
        return text, verdict
    terms = "、".join(sorted({h["term"] for h in verdict["hits"]}))
    if verdict["blocked"]:
        raise ApiError(422, "compliance_blocked",
                       f"消息含有违反广告法的用语（{terms}），不能发送，请修改后再发",
                       hits=verdict["hits"])
    if not accept_rewrite:
        raise ApiError(409, "compliance_rewrite",
                       f"消息含有不合规用语（{terms}），建议改为下面的说法，确认后发送",
                       hits=verdict["hits"], suggestion=verdict["text"])
    return verdict["text"], verdict


def moods(packet: dict[str, Any], live: list[dict[str, Any]]) -> list[str]:
    """The customer's recent mood labels, newest first."""
    labels = [e.get("label") for e in (packet.get("emotion") or {}).get("history") or []]
    labels += [(m.get("emotion") or {}).get("label") for m in live if m.get("emotion")]
    return [label for label in reversed(labels) if label][:RECENT_MOODS]


def situation(handoff: Any, packet: dict[str, Any]) -> str:
    order = main_order(packet)
    if (order.get("tracking") or {}).get("delayed"):
        return "delay"
    rule = (handoff.rule_id or "").lower()
    for key in ("damaged", "quality", "complaint"):
        if key in rule:
            return key
    if len(packet.get("rules") or []) > 1:
        return "repeat_contact"
    return "wait"


def suggestions(handoff: Any, packet: dict[str, Any], live: list[dict[str, Any]],
                agent_name: Optional[str]) -> dict[str, Any]:
    from brand import empathy

    recent = moods(packet, live)
    mood = next((m for m in UPSET if m in recent[:3]), "calm")
    where = situation(handoff, packet)
    seed = handoff.conversation_id
    lines: list[dict[str, Any]] = []
    for emotion in dict.fromkeys([mood, "calm"]):
        text = empathy.line(where, emotion, seed=seed)
        lines.append({"emotion": emotion, "text": text, "compliance": check(text)})
    values = variables(packet, agent_name)
    fact = None
    if where == "delay":
        fact = "wl"
    elif values.get("订单号"):
        fact = "dd"
    first = lines[0]["text"]
    if fact:
        template = next(r for r in canned() if r["key"] == fact)
        rendered, _ = render(template["text"], values)
        first = f"{first}{rendered}"
    replies = []
    for reply in canned():
        text, missing = render(reply["text"], values)
        replies.append({**reply, "rendered": text, "missing": missing})
    return {
        "situation": where, "mood": mood,
        "suggested": {"text": first, "compliance": check(first)},
        "empathy": lines,
        "canned": replies,
    }


# ---------------------------------------------------------------- playbook


def _plays() -> list[Any]:
    from actions.playbook import load_plays

    return load_plays()


def playbook_options(role: str, packet: dict[str, Any], live: list[dict[str, Any]],
                     customer_id: Optional[str]) -> list[dict[str, Any]]:
    allowed = set(access().get(role, []))
    recent = set(moods(packet, live))
    order = main_order(packet)
    result = []
    for play in _plays():
        if play.id not in allowed:
            continue
        reasons = []
        if play.situation == "delayed_parcel" and not (order.get("tracking") or {}).get("delayed"):
            reasons.append("没有延误的包裹")
        if not recent & set(play.emotions):
            reasons.append("客户情绪未达到触发条件")
        if not customer_id:
            reasons.append("客户身份未确认")
        result.append({"id": play.id, "label": f"发放{play.amount:g}元延误补偿券",
                       "amount": play.amount, "valid_days": play.valid_days,
                       "limits": {"per_customer_days": play.per_customer_days,
                                  "daily_budget": play.daily_budget},
                       "eligible": not reasons, "reasons": reasons})
    return result


_shop: Any = None


def shop_backend() -> Any:
    """The shop as the desk reads it: as the shop's back office (SHOP_ADMIN_KEY). Agents are
    the shop's signed-in staff acting on a handed-over conversation, so the desk needs no
    customer's ownership proof; without an admin key it falls back to SHOP_API_KEY, and
    the shop then refuses order reads (the play reports the shop as unavailable)."""
    global _shop
    if _shop is None:
        from actions.backend.http import HttpShopBackend

        _shop = HttpShopBackend.from_env(
            "SHOP_ADMIN_KEY" if env_str("SHOP_ADMIN_KEY") else "SHOP_API_KEY")
    return _shop


async def run_play(play_id: str, role: str, handoff: Any, packet: dict[str, Any],
                   live: list[dict[str, Any]]) -> dict[str, Any]:
    """Run one play within the shop's limits. Returns {ok, message, coupon, say}."""
    from actions.backend import BackendError
    from actions.playbook import ledger

    customer = customer_id(handoff, packet)
    options = {o["id"]: o for o in playbook_options(role, packet, live, customer)}
    option = options.get(play_id)
    if option is None:
        raise ApiError(403, "play_not_allowed", f"您的角色无权执行操作 {play_id}")
    if not option["eligible"] or customer is None:  # no customer: never eligible
        raise ApiError(422, "play_not_applicable",
                       "当前情况不满足该操作的条件：" + "；".join(option["reasons"]))
    play = next(p for p in _plays() if p.id == play_id)
    order = main_order(packet)
    backend = shop_backend()
    # The packet is a snapshot: the parcel may have arrived since. Ask the shop again.
    try:
        tracking = await backend.tracking(order["id"], None)
    except BackendError as error:
        raise ApiError(502, "shop_unavailable", f"无法查询物流：{error}") from None
    if play.situation == "delayed_parcel" and not tracking.get("delayed"):
        raise ApiError(422, "play_not_applicable", "最新物流显示包裹没有延误，无需补偿")
    reason = f"playbook:{play.id} order {order.get('id')} desk"
    use_id = await asyncio.to_thread(ledger().reserve, play, customer,
                                     handoff.conversation_id, reason)
    if use_id is None:
        return {"ok": False, "play_id": play.id,
                "message": f"超出店铺限额：该客户{play.per_customer_days}天内已领取过此补偿，"
                           f"或今日预算（{play.daily_budget:g}元）已用完，未发券"}
    coupon_id = None
    try:
        coupon = await backend.issue_coupon(customer, play.amount, reason, play.valid_days)
        coupon_id = str(coupon.get("id"))
    except BackendError as error:
        logger.warning("desk playbook %s: coupon not issued: %s", play.id, error.code)
    finally:
        await asyncio.to_thread(ledger().settle, use_id, coupon_id)
    if not coupon_id:
        return {"ok": False, "play_id": play.id, "message": "店铺系统未能发券，请稍后重试"}
    say = play.say.format(amount=f"{play.amount:g}", valid_days=play.valid_days)
    return {"ok": True, "play_id": play.id, "coupon_id": coupon_id, "amount": play.amount,
            "message": f"已发放{play.amount:g}元优惠券（券号 {coupon_id}），"
                       f"{play.valid_days}天内有效",
            "say": say}
