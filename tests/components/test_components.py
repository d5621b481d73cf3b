"""Custom NLU components, run the way the Rasa graph runs them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
import yaml
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message

from components.entity_filters import EntityFormatFilter
from components.tokenizers import ShopJiebaTokenizer


@pytest.fixture
def context(tmp_path):
    storage = LocalModelStorage(tmp_path)
    return storage, Resource("component"), ExecutionContext(GraphSchema({}), "test")


def tokenizer(context, **config):
    storage, resource, execution_context = context
    full_config = {**ShopJiebaTokenizer.get_default_config(), "dictionary_path": "jieba_dict",
                   **config}
    return ShopJiebaTokenizer.create(full_config, storage, resource, execution_context)


def tokens_of(component, text):
    message = Message.build(text=text)
    component.process([message])
    return [token.text for token in message.get("text_tokens")]


def test_whitespace_tokens_are_dropped(context):
    tokens = tokens_of(tokenizer(context), "sf 快递  到哪了")
    assert " " not in tokens and "" not in tokens
    assert tokens[0] == "sf"


def test_shop_dictionary_words_stay_whole(context):
    tokens = tokens_of(tokenizer(context), "空气炸锅什么时候发顺丰")
    assert "顺丰" in tokens
    assert tokens_of(tokenizer(context), "140斤选什么码")[:2] == ["140", "斤"]


def test_huge_messages_are_truncated_for_nlu_only(context):
    message = Message.build(text="快递" * 10000)
    tokenizer(context, max_chars=300).process([message])
    assert message.get("text") == "快递" * 10000  # the message itself is untouched
    assert message.get("text_tokens")[-1].end <= 300


def test_fingerprint_changes_with_the_dictionary(tmp_path):
    folder = tmp_path / "dict"
    folder.mkdir()
    (folder / "a.txt").write_text("顺丰 100 n\n", encoding="utf-8")
    before = ShopJiebaTokenizer.fingerprint_addon({"dictionary_path": str(folder)})
    (folder / "a.txt").write_text("顺丰 100 n\n极兔 100 n\n", encoding="utf-8")
    assert ShopJiebaTokenizer.fingerprint_addon({"dictionary_path": str(folder)}) != before


@pytest.mark.parametrize("entity, value, kept", [
    ("phone_tail", "5678", True), ("phone_tail", "88", False), ("phone_tail", "4", False),
    ("phone_tail", "12345", False), ("order_id", "361204587712340001", True),
    ("order_id", "36120458771234000", False), ("product", "88", True),
])
def test_entity_format_filter(context, entity, value, kept):
    storage, resource, execution_context = context
    component = EntityFormatFilter.create(
        {"patterns": {"phone_tail": r"\d{4}", "order_id": r"\d{18}"}},
        storage, resource, execution_context)
    message = Message.build(text=value)
    message.set("entities", [{"entity": entity, "value": value, "start": 0, "end": len(value)}])
    component.process([message])
    assert bool(message.get("entities")) is kept


@pytest.mark.parametrize("text, found", [
    ("5678", [("phone_tail", "5678")]),
    (" 361204587712340001 ", [("order_id", "361204587712340001")]),
    ("尾号5678", []), ("12345", []), ("2020", [("phone_tail", "2020")]), ("好的", []),
])
def test_a_message_that_is_only_the_value_is_that_entity(context, text, found):
    formats = {"phone_tail": r"\d{4}", "order_id": r"\d{18}"}
    assert filtered(context, {"patterns": formats, "whole_message": formats}, text) == found


def filtered(context, config: Dict[str, Any], text: str) -> List[Tuple[str, str]]:
    """(entity, value) the format filter leaves or adds on a message without entities."""
    component = EntityFormatFilter.create(config, *context)
    message = Message.build(text=text)
    component.process([message])
    entities = message.get("entities") or []
    # The span is what was typed; the value drops the spaces or dashes between digit groups.
    assert all(re.sub(r"[\s-]", "", text[e["start"]:e["end"]]) == e["value"] for e in entities)
    return [(e["entity"], e["value"]) for e in entities]


def deployed_format_filter() -> Dict[str, Any]:
    pipeline = yaml.safe_load((Path(__file__).resolve().parents[2] / "config.yml")
                              .read_text(encoding="utf-8"))["pipeline"]
    return next(item for item in pipeline if item["name"].endswith("EntityFormatFilter"))


@pytest.mark.parametrize("text, found", [
    ("手机尾号9031", [("phone_tail", "9031")]),
    ("手机号后4位是1290", [("phone_tail", "1290")]),
    ("电话后四位：2263", [("phone_tail", "2263")]),
    ("4407 手机尾号", [("phone_tail", "4407")]),
    ("尾号是0815哈", [("phone_tail", "0815")]),
    ("尾号12345", []),  # five digits are no phone tail
    ("订单尾号是多少", []),
    ("后4位", []),  # the 4 of the cue is no value
    ("[订单编号:361204587712340001，订单金额:89.00元] 怎么还没发货",
     [("order_id", "361204587712340001")]),  # an order card pasted from the shop's app
    ("我的订单361204587712340001怎么还没发货", [("order_id", "361204587712340001")]),
    ("1361204587712340001", []),  # 19 digits are no order number
    ("身份证36120458771234001X", []),
    ("手机13812345678", []),
    # typed in groups of four: the value without the spaces
    ("3612 0458 7712 3400 03 签收了但我没收到啊", [("order_id", "361204587712340003")]),
    ("订单号3612-0458-7712-3400-01", [("order_id", "361204587712340001")]),
    ("3612 0458 7712 3400 0", []),  # 17 digits
])
def test_a_value_next_to_its_cue_is_that_entity(context, text, found):
    # The cues of config.yml; the other settings of the deployed filter play no part here.
    config = {"patterns": {"phone_tail": r"\d{4}", "order_id": r"\d{18}"},
              "cued": deployed_format_filter()["cued"]}
    assert filtered(context, config, text) == found


def test_a_cue_adds_nothing_when_the_extractor_found_the_value(context):
    storage, resource, execution_context = context
    component = EntityFormatFilter.create({"patterns": {},
                                           "cued": deployed_format_filter()["cued"]},
                                          storage, resource, execution_context)
    message = Message.build(text="尾号5678")
    message.set("entities", [{"entity": "phone_tail", "value": "5678", "start": 2, "end": 6,
                              "extractor": "CRFEntityExtractor"}])
    component.process([message])
    assert [e["extractor"] for e in message.get("entities")] == ["CRFEntityExtractor"]
