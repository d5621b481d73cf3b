"""The FAQ selector's rewrite: a price-protection question naming an order is a request
about that order (docs/labelling.md), so the order gets checked instead of the policy
being repeated."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa.shared.nlu.training_data.message import Message

from components.faq_selector import _as_order_request


def message(topic: str, entities: List[Dict[str, Any]]) -> Message:
    parsed = Message(data={"text": "x"})
    parsed.set("intent", {"name": "faq", "confidence": 0.8}, add_to_output=True)
    parsed.set("intent_ranking", [{"name": "faq", "confidence": 0.8},
                                  {"name": "request_refund", "confidence": 0.1}],
               add_to_output=True)
    parsed.set("entities", entities, add_to_output=True)
    parsed.set("response_selector", {"faq": {"response": {
        "intent_response_key": topic, "confidence": 0.9}}}, add_to_output=True)
    return parsed


ORDER = [{"entity": "order_id", "value": "361204587712340022", "start": 0, "end": 18}]


def test_price_protection_with_an_order_number_is_a_refund_request() -> None:
    parsed = message("faq/price_protection", ORDER)
    _as_order_request(parsed, "faq")
    assert parsed.get("intent") == {"name": "request_refund", "confidence": 0.8}
    assert [item["name"] for item in parsed.get("intent_ranking")] == ["request_refund", "faq"]


def test_the_policy_question_alone_and_other_topics_stay_faq() -> None:
    for parsed in (message("faq/price_protection", []),
                   message("faq/shipping_fee", ORDER),
                   message("faq/price_protection", [{"entity": "phone_tail", "value": "9966"}])):
        _as_order_request(parsed, "faq")
        assert parsed.get("intent")["name"] == "faq"
