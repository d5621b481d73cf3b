"""The FAQ selector's rewrite: a price-protection question naming an order is a request
about that order (docs/labelling.md), so the order gets checked instead of the policy
being repeated; a restock question about a product gets that product's stock."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.faq_selector import FaqCountVectorsFeaturizer, _as_request
from components.tokenizers import ShopJiebaTokenizer


def message(topic: str, entities: List[Dict[str, Any]],
            metadata: Optional[Dict[str, Any]] = None) -> Message:
    parsed = Message(data={"text": "x", "metadata": metadata or {}})
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
    _as_request(parsed, "faq")
    assert parsed.get("intent") == {"name": "request_refund", "confidence": 0.8}
    assert [item["name"] for item in parsed.get("intent_ranking")] == ["request_refund", "faq"]


def test_the_policy_question_alone_and_other_topics_stay_faq() -> None:
    for parsed in (message("faq/price_protection", []),
                   message("faq/shipping_fee", ORDER),
                   message("faq/price_protection", [{"entity": "phone_tail", "value": "9966"}])):
        _as_request(parsed, "faq")
        assert parsed.get("intent")["name"] == "faq"


def test_a_restock_question_about_a_product_is_a_product_question() -> None:
    named = message("faq/restock_notice", [{"entity": "product", "value": "显示器"}])
    on_its_page = message("faq/restock_notice", [], {"product_id": "P2008"})
    for parsed in (named, on_its_page):
        _as_request(parsed, "faq")
        assert parsed.get("intent")["name"] == "product_question"
    alone = message("faq/restock_notice", [])
    _as_request(alone, "faq")
    assert alone.get("intent")["name"] == "faq"


def test_the_faq_featurizer_works_at_inference_only_for_faq_messages(
        trained_component: Callable[..., Any]) -> None:
    """Its features are read by the FAQ selector alone: other messages are not featurised
    at inference (docs/scale.md), every training example is."""
    tokenizer = trained_component(ShopJiebaTokenizer)
    featurizer = trained_component(FaqCountVectorsFeaturizer)

    def parsed(text: str, intent: str) -> Message:
        message = Message(data={"text": text})
        tokenizer.process([message])
        message.set("intent", {"name": intent, "confidence": 0.9})
        return message

    faq, order = parsed("你们发什么快递", "faq"), parsed("我的快递到哪了", "track_logistics")
    featurizer.process([faq, order])
    assert faq.features_present("text", None)
    assert not order.features_present("text", None)

    examples = [Message(data={"text": "你们发什么快递", "intent": "faq"}),
                Message(data={"text": "我的快递到哪了", "intent": "track_logistics"})]
    tokenizer.process(examples)
    featurizer.process_training_data(TrainingData(examples))
    assert all(example.features_present("text", None) for example in examples)
