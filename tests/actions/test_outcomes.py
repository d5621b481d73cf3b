"""The outcome event (slot `outcome`, actions/outcomes.py) of each branch of the product,
order-task and shipping-time actions, run against the real demo shop over HTTP."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest
from action_helpers import make_tracker, run_directly, texts
from rasa_sdk import Tracker

from actions.forms import LOCKED_ATTEMPTS
from actions.orders import ActionAskShippingTime, ActionOrderTask
from actions.products import ActionAskUsage, ActionProductQuestion

SHIPPED = "361204587712340001"
PAID = "361204587712340002"  # 王伟's (demo-wang), paid, not shipped
FORGED_PROOF = f"op1.{SHIPPED}.99999999999.forged"


pytestmark = pytest.mark.usefixtures("document_index")


@pytest.fixture
def shop_down(monkeypatch) -> None:
    monkeypatch.setenv("SHOP_API_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("SHOP_API_RETRIES", "0")


def chat(text: str, *, page: Optional[str] = None, slots: Optional[Dict[str, Any]] = None,
         entities: Optional[List[Dict[str, Any]]] = None, intent: str = "product_question",
         sender: str = "guest-outcomes") -> Tracker:
    latest = {"intent": {"name": intent}, "entities": entities or [], "text": text}
    tracker = make_tracker(slots, sender=sender, latest_message=latest, loop=None)
    metadata = {**tracker.events[0].get("metadata", {}), **({"product_id": page} if page else {})}
    tracker.events = [{"event": "user", "text": text, "parse_data": latest, "metadata": metadata}]
    tracker.active_loop = {}
    return tracker


def outcome_of(events: List[dict]) -> Optional[Dict[str, Any]]:
    found = [e["value"] for e in events if e.get("event") == "slot" and e["name"] == "outcome"]
    assert len(found) <= 1, found
    return found[0] if found else None


def run(action, tracker) -> tuple[str, Optional[Dict[str, Any]]]:
    messages, events = run_directly(action, tracker)
    return texts(messages), outcome_of(events)


def brief(value: Optional[Dict[str, Any]]) -> Optional[tuple]:
    return None if value is None else (value["status"], value["key"], value["reason"],
                                       value["operation"])


# --- product questions -------------------------------------------------------------------

def test_a_catalogue_answer_is_resolved(run_action) -> None:
    said, result = run(ActionProductQuestion(), chat("这个涂层耐刮吗", page="P5001"))
    assert "不粘涂层" in said
    assert brief(result) == ("resolved", "product:P5001", "action_product_question", "product")
    assert result["intent"] == "product_question"


def test_a_document_answer_is_resolved(run_action) -> None:
    said, result = run(ActionProductQuestion(), chat("第一次用要注意什么", page="P5001"))
    assert "资料来源" in said
    assert brief(result) == ("resolved", "product:P5001", "action_product_question", "product")


def test_no_information_is_unresolved(run_action) -> None:
    said, result = run(ActionProductQuestion(), chat("它支持无线充电吗", page="P5001"))
    assert "没有查到准确的资料" in said
    assert brief(result) == ("unresolved", "product:P5001", "no_info", "product")


def test_a_bare_product_name_gets_an_overview_and_no_outcome(run_action) -> None:
    said, result = run(ActionProductQuestion(), chat(
        "P5001", entities=[{"entity": "product", "value": "P5001"}]))
    assert "想了解材质、参数、用法或尺码" in said
    assert result is None


def test_asking_which_product_records_nothing(run_action) -> None:
    said, result = run(ActionProductQuestion(), chat("这个防水吗"))
    assert "您问的是哪款商品呢" in said
    assert result is None


def test_a_clarifying_usage_question_records_nothing(run_action) -> None:
    said, result = run(ActionAskUsage(), chat("这个怎么用", page="P5002", intent="ask_usage"))
    assert "您想了解哪方面呢" in said
    assert result is None


def test_a_usage_answer_from_documents_is_resolved(run_action) -> None:
    said, result = run(ActionAskUsage(), chat(
        '/ask_usage{"usage_topic": "install"}', page="P5002", intent="ask_usage",
        entities=[{"entity": "usage_topic", "value": "install"}]))
    assert "资料来源" in said
    assert brief(result) == ("resolved", "product:P5002", "action_ask_usage", "product")


def test_a_usage_answer_from_the_catalogue_is_resolved(run_action) -> None:
    _, result = run(ActionAskUsage(), chat("面膜怎么用", page="P3001", intent="ask_usage"))
    assert brief(result) == ("resolved", "product:P3001", "action_ask_usage", "product")


def test_no_usage_information_is_unresolved(run_action) -> None:
    said, result = run(ActionAskUsage(), chat("这个怎么用", page="P5006", intent="ask_usage"))
    assert "使用资料我这边还没有" in said
    assert brief(result) == ("unresolved", "product:P5006", "no_info", "product")


def test_a_backend_failure_in_a_product_question_is_unresolved(shop_down) -> None:
    said, result = run(ActionProductQuestion(), chat("这个涂层耐刮吗", page="P5001"))
    assert "请稍后再问我一次" in said
    assert result is not None and result["status"] == "unresolved"
    assert result["key"] == "product" and result["reason"] not in ("", "action_product_question")


# --- order tasks -------------------------------------------------------------------------

def verified(order_id: str, **slots: Any) -> Tracker:
    return make_tracker({"order_id": order_id, "verified_order_id": order_id, **slots})


def test_a_done_order_task_is_resolved(run_action) -> None:
    said, result = run(ActionOrderTask(), verified(SHIPPED, order_task="track"))
    assert "顺丰" in said
    assert brief(result) == ("resolved", SHIPPED, "track", "track")


def test_failed_verification_is_unresolved(run_action) -> None:
    said, result = run(ActionOrderTask(), make_tracker({"order_id": SHIPPED,
                                                        "order_task": "status"}))
    assert "保护订单隐私" in said
    assert brief(result) == ("unresolved", SHIPPED, "verification_failed", "verify")


def test_a_locked_order_goes_to_the_handoff_which_records_the_outcome(run_action) -> None:
    _, events = run_directly(ActionOrderTask(), make_tracker(
        {"order_id": SHIPPED, "order_task": "status", "failed_attempts": LOCKED_ATTEMPTS}))
    assert outcome_of(events) is None
    assert {"event": "followup", "name": "action_escalate"} in [
        {k: e.get(k) for k in ("event", "name")} for e in events]


def test_a_refused_proof_is_forgotten_and_still_unresolved(run_action) -> None:
    tracker = make_tracker({"order_id": SHIPPED, "order_task": "status"})
    tracker.slots["verified_order_id"] = FORGED_PROOF  # shaped like a proof, never issued
    _, events = run_directly(ActionOrderTask(), tracker)
    forgotten = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert forgotten["verified_order_id"] is None and forgotten["order_id"] is None
    result = outcome_of(events)
    assert result is not None and result["status"] == "unresolved"
    assert result["key"] == SHIPPED and result["reason"].startswith("proof_")
    assert result["operation"] == "status"


def test_a_refused_proof_in_an_after_sales_task_is_unresolved(run_action) -> None:
    tracker = make_tracker({"order_id": SHIPPED, "order_task": "return"})
    tracker.slots["verified_order_id"] = FORGED_PROOF
    _, events = run_directly(ActionOrderTask(), tracker)
    result = outcome_of(events)
    assert result is not None and (result["status"], result["key"], result["operation"]) == (
        "unresolved", SHIPPED, "order")
    assert result["reason"].startswith("proof_")


def test_a_backend_failure_in_an_order_task_is_unresolved(shop_down) -> None:
    tracker = make_tracker({"order_id": SHIPPED, "order_task": "track",
                            "verified_order_id": f"op1.{SHIPPED}.9999999999.unchecked"})
    said, result = run(ActionOrderTask(), tracker)
    assert "请稍后再试一次" in said
    assert result is not None and (result["status"], result["key"], result["operation"]) == (
        "unresolved", SHIPPED, "track")


# --- shipping time -----------------------------------------------------------------------

def test_shipping_time_of_a_verified_order(run_action) -> None:
    said, result = run(ActionAskShippingTime(), verified(PAID))
    assert PAID in said and "前发货" in said
    assert brief(result) == ("resolved", f"shipping_time:{PAID}", "shipping_time", "order")


def test_shipping_time_of_a_linked_customers_order(run_action) -> None:
    said, result = run(ActionAskShippingTime(), make_tracker(sender="demo-wang"))
    assert "前发货" in said
    assert result is not None and result["status"] == "resolved"
    assert result["key"].startswith("shipping_time:36") and result["key"][14:] in said
    assert result["operation"] == "customer_orders"


def test_shipping_time_of_a_product(run_action) -> None:
    said, result = run(ActionAskShippingTime(), make_tracker({"product": "5L空气炸锅"},
                                                             sender="stranger-outcomes"))
    assert said.startswith("5L空气炸锅:")
    assert brief(result) == ("resolved", "shipping_time:promise", "shipping_time",
                             "ship_promise")


def test_the_general_shipping_promise(run_action) -> None:
    said, result = run(ActionAskShippingTime(), make_tracker(sender="stranger-outcomes"))
    assert "16点前付款当天发货" in said
    assert brief(result) == ("resolved", "shipping_time:promise", "shipping_time", "none")


def test_asking_when_it_arrives_also_gets_the_days_on_the_road(run_action) -> None:
    # 「要多久能到」 is about arrival: the dispatch promise alone left the question open.
    def asked(text: str, tracker: Optional[Tracker] = None) -> str:
        tracker = tracker or make_tracker(sender="stranger-outcomes")
        tracker.latest_message = {"intent": {"name": "ask_shipping_time"}, "entities": [],
                                  "text": text}
        return run(ActionAskShippingTime(), tracker)[0]

    for text in ("要多久能到", "下单后几天能收到", "发货后多长时间送达", "广州几天到货"):
        said = asked(text)
        assert "16点前付款当天发货" in said and "其他地区大约2-4天" in said, text
    assert "前发货" in asked("我这单什么时候能到", verified(PAID)) and "2-4天" in \
        asked("我这单什么时候能到", verified(PAID))
    assert "2-4天" not in asked("什么时候发货")
    # A parcel on its way: its tracking says when it arrives.
    assert "2-4天" not in asked("什么时候能到", verified(SHIPPED))


def test_a_backend_failure_in_shipping_time_is_unresolved(shop_down) -> None:
    tracker = make_tracker({"order_id": PAID,
                            "verified_order_id": f"op1.{PAID}.9999999999.unchecked"})
    said, result = run(ActionAskShippingTime(), tracker)
    assert "16点前付款当天发货" in said  # the general promise still answers
    assert result is not None and (result["status"], result["key"]) == (
        "unresolved", "shipping_time:promise")
