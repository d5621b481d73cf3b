"""Reading real messages: several questions in one message (the detector trained on the
project's NLU data the way the Rasa graph trains it, and the policy step that answers the
rest), unreadable messages, and a bare product name as an answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.training_data.message import Message

from components.multi_question import (
    ACTION_ANSWER_MORE,
    MultiQuestionDetector,
    next_action,
    sentences,
)

ROOT = Path(__file__).resolve().parents[2]
FORMS = {"order_form", "size_form"}


@pytest.fixture(scope="module")
def detector(trained_component: Callable[..., Any]) -> MultiQuestionDetector:
    """The detector of the trained model (data/nlu), loaded as `rasa run` does."""
    return trained_component(MultiQuestionDetector)


def extra(detector: MultiQuestionDetector, text: str, intent: str,
          faq_key: Optional[str] = None) -> List[Dict[str, Any]]:
    message = Message.build(text=text, intent=intent)
    message.set("intent", {"name": intent, "confidence": 0.9})
    if faq_key:
        message.set("response_selector", {"faq": {"response": {
            "intent_response_key": faq_key}}})
    detector.process([message])
    return message.as_dict(only_output_properties=True).get("extra_questions") or []


def test_fast_inference_matches_scikit_learn(detector: MultiQuestionDetector) -> None:
    model = detector._model
    assert model is not None
    texts = ["什么时候发货", "能开发票吗", "你们发什么快递", "这件外套175 70公斤穿什么码", "ぁぃぅ"]
    expected = model["classifier"].predict_proba(model["vectorizer"].transform(texts))
    actual = np.array([detector.probabilities(text) for text in texts])
    np.testing.assert_allclose(actual, expected, atol=1e-9)


def test_sentences_split_at_sentence_ends_not_at_commas() -> None:
    assert sentences("什么时候发货？能开发票吗?包邮吗") == ["什么时候发货", "能开发票吗", "包邮吗"]
    assert sentences("我买的耳机,什么时候到") == ["我买的耳机,什么时候到"]
    assert sentences("好的。嗯。发什么快递") == ["发什么快递"]  # too short to be a question
    # A space ends a finished question (「吗」), and a phrase that asks or requests something
    # before another that does (the sixth probe lost the second of these); not a phrase that
    # only describes, nor a word or two after it.
    assert sentences("包邮吗 几天能到") == ["包邮吗", "几天能到"]
    assert sentences("衣服什么时候发货 可以便宜点吗") == ["衣服什么时候发货", "可以便宜点吗"]
    assert sentences("175 70kg穿什么码 是纯棉的吗") == ["175 70kg穿什么码", "是纯棉的吗"]
    assert sentences("耳机到哪了 顺便帮我开个发票") == ["耳机到哪了", "顺便帮我开个发票"]
    assert sentences("空气炸锅不想要了 退货运费谁出") == ["空气炸锅不想要了", "退货运费谁出"]
    assert sentences("能不能快点 急用") == ["能不能快点 急用"]
    assert sentences("为什么还没发货 都三天了") == ["为什么还没发货 都三天了"]
    assert sentences("怎么办 我的快递还没到") == ["怎么办 我的快递还没到"]
    # A connective opens the next question; 「还有」 of 「还有货吗」 does not.
    assert sentences("你好 我想问一下 我买的衣服什么时候发货 还有能不能开发票") == [
        "我买的衣服什么时候发货", "还有能不能开发票"]  # the greeting says nothing
    assert sentences("多久能到,另外包邮吗") == ["多久能到", "另外包邮吗"]
    # A decision first, then a question of its own.
    # (the decision is no question of its own: no 「取消订单」 button beside 「先不取消」)
    assert sentences("先别取消 我问下能用券吗") == ["能用券吗"]
    assert sentences("不取消了，这个能开发票吗") == ["这个能开发票吗"]
    assert sentences("我先别取消了 等等") == ["我先别取消了 等等"]
    assert sentences("算了 先不取消 能改成发顺丰吗") == ["能改成发顺丰吗"]
    assert sentences("这个颜色 还有货吗") == ["这个颜色 还有货吗"]
    # Weibo's @mentions are no sentences, and 「怎么办」 asks nothing of its own.
    assert sentences("屏幕被锁定怎么解决？@锤子科技客服 @罗永浩") == ["屏幕被锁定怎么解决"]
    assert sentences("老是黑屏闪屏,怎么回事？怎么办？") == ["老是黑屏闪屏,怎么回事"]


def test_a_question_after_a_greeting_is_found(detector) -> None:
    found = extra(detector, "你好 我想问一下 我买的衣服什么时候发货 还有能不能开发票",
                  "ask_invoice")
    assert [item["label"] for item in found] == ["ask_shipping_time"], found


def test_each_other_question_of_a_message_is_found(detector) -> None:
    found = extra(detector, "什么时候发货?能开发票吗?包邮吗", "ask_shipping_time")
    labels = [item["label"] for item in found]
    assert labels == ["ask_invoice", "faq/shipping_fee"], found
    assert found[0]["text"] == "能开发票吗" and found[0]["confidence"] >= 0.45
    found = extra(detector, "你们发什么快递?支持七天无理由退货吗", "faq",
                  faq_key="faq/seven_day_return")
    assert [item["label"] for item in found] == ["faq/courier"], found


def test_a_space_after_a_question_separates_the_next_one(detector) -> None:
    found = extra(detector, "包邮吗 几天能到", "ask_shipping_time")
    assert [item["label"] for item in found] == ["faq/shipping_fee"], found


def test_a_second_question_after_a_space_is_found(detector) -> None:
    """The sixth probe: the second question after a space was dropped."""
    found = extra(detector, "你们发什么快递 包邮吗", "faq", faq_key="faq/courier")
    assert [item["label"] for item in found] == ["faq/shipping_fee"], found
    found = extra(detector, "175 70kg穿什么码 是纯棉的吗", "ask_size")
    assert [item["label"] for item in found] == ["product_question"], found


def test_what_the_main_answer_covers_is_not_repeated(detector) -> None:
    # The FAQ answer was for shipping fees: only the courier question is extra.
    found = extra(detector, "包邮吗?发什么快递", "faq", faq_key="faq/shipping_fee")
    assert [item["label"] for item in found] == ["faq/courier"], found
    # Two sentences about one parcel are one matter, not two tasks.
    assert extra(detector, "我的快递到哪了?怎么还没发货", "track_logistics") == []
    # A price question under the price-protection answer is the same matter (a probe).
    assert extra(detector, "这个价格能保价吗 买完就降价了", "faq",
                 faq_key="faq/price_protection") == []


def test_one_question_and_small_talk_add_nothing(detector) -> None:
    assert extra(detector, "你好,在吗?我想查一下物流", "track_logistics") == []
    assert extra(detector, "谢谢啦!好的", "thank") == []
    assert extra(detector, "这个质量太差了。包邮吗", "nlu_fallback") == []  # clarified first


def tracker(*events: Any) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("t", [ActionExecuted(ACTION_LISTEN_NAME), *events])


def user(extra_questions: Optional[list] = None) -> UserUttered:
    parse = {"intent": {"name": "ask_shipping_time", "confidence": 0.9}, "entities": []}
    if extra_questions:
        parse["extra_questions"] = extra_questions
    return UserUttered("什么时候发货?包邮吗", parse["intent"], parse_data=parse)


MORE = [{"label": "faq/shipping_fee", "text": "包邮吗", "confidence": 0.9}]


def test_the_rest_is_answered_once_after_the_main_answer() -> None:
    assert next_action(tracker(user(MORE)), FORMS) is None  # the main answer comes first
    answered = [user(MORE), ActionExecuted("action_ask_shipping_time"), BotUttered("今天发")]
    assert next_action(tracker(*answered), FORMS) == ACTION_ANSWER_MORE
    done = [*answered, ActionExecuted(ACTION_ANSWER_MORE)]
    assert next_action(tracker(*done), FORMS) == ACTION_LISTEN_NAME
    # A message with one question: the policy stays out of it.
    assert next_action(tracker(user(), ActionExecuted("action_ask_shipping_time")),
                       FORMS) is None


def test_inside_a_form_the_rest_follows_the_forms_question() -> None:
    started = [user(MORE), ActionExecuted("order_form"), ActiveLoop("order_form")]
    asked = [*started, SlotSet("requested_slot", "order_id")]
    assert next_action(tracker(*asked), FORMS) == ACTION_ANSWER_MORE
    # The form took the message but asked nothing (it is about to end): no extra yet.
    assert next_action(tracker(*started), FORMS) is None
    done = [*asked, ActionExecuted(ACTION_ANSWER_MORE)]
    assert next_action(tracker(*done), FORMS) == ACTION_LISTEN_NAME
    # A form that just ended: its task runs first.
    ended = [user(MORE), ActionExecuted("order_form"), ActiveLoop(None)]
    assert next_action(tracker(*ended), FORMS) is None


def test_actions_before_any_customer_message_are_left_alone() -> None:
    # The desk hands the conversation back and the bot asks for a rating.
    assert next_action(tracker(ActionExecuted("action_ask_rating")), FORMS) is None


def test_a_handoff_or_a_clarification_keeps_the_rest_waiting() -> None:
    assert next_action(tracker(user(MORE), ActionExecuted("action_escalate")), FORMS) is None
    assert next_action(tracker(user(MORE), ActionExecuted("action_clarify")), FORMS) is None


def test_unreadable_messages_become_fallbacks(tmp_path) -> None:
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from components.content_guard import ContentGuard

    storage = LocalModelStorage(tmp_path)
    resource, context = Resource("guard"), ExecutionContext(GraphSchema({}), "test")
    training = TrainingData([Message.build(text="ok 好的", intent="affirm"),
                             Message.build(text="👍", intent="affirm"),
                             Message.build(text="iPhone能用吗", intent="product_question")])
    ContentGuard.create({}, storage, resource, context).train(training)
    guard = ContentGuard.load({}, storage, resource, context)
    verdicts = {}
    for text in ["。。。", "？？？", "😂😂😂", "asdfghjkl;'[]", "0", "在吗", "OK", "👍",
                 "iphone 15 pro"]:
        message = Message.build(text=text)
        message.set("intent", {"name": "rate_service", "confidence": 0.99})
        guard.process([message])
        verdicts[text] = message.get("intent")["name"]
    assert verdicts == {"。。。": "nlu_fallback", "？？？": "nlu_fallback",
                        "😂😂😂": "nlu_fallback", "asdfghjkl;'[]": "nlu_fallback",
                        "0": "rate_service", "在吗": "rate_service", "OK": "rate_service",
                        "👍": "rate_service", "iphone 15 pro": "rate_service"}


def test_a_bare_product_name_is_an_answer() -> None:
    from components.bare_answer import BareAnswer

    bare = BareAnswer.create({}, None, None, None)  # type: ignore[arg-type]
    intents = {}
    for text, start, end in [("纯棉圆领T恤", 0, 6), ("就是这款纯棉圆领T恤的", 4, 10),
                             ("纯棉圆领T恤有XL吗", 0, 6), ("纯棉圆领T恤洗了会缩水", 0, 6)]:
        message = Message.build(text=text)
        message.set("intent", {"name": "product_question", "confidence": 0.99})
        message.set("entities", [{"entity": "product", "start": start, "end": end,
                                  "value": "纯棉圆领T恤"}])
        bare.process([message])
        intents[text] = message.get("intent")["name"]
    assert intents == {"纯棉圆领T恤": "inform", "就是这款纯棉圆领T恤的": "inform",
                       "纯棉圆领T恤有XL吗": "product_question",
                       "纯棉圆领T恤洗了会缩水": "product_question"}


def cue(intent: str, tmp_path: Path) -> Any:
    """The CueIntent of config.yml that sets `intent`."""
    import yaml

    from components.cue_intent import CueIntent

    [config] = [entry for entry in yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"]
                if entry["name"].endswith("CueIntent") and entry["intent"] == intent]
    return CueIntent.create({k: v for k, v in config.items() if k != "name"},
                            LocalModelStorage(tmp_path), Resource(intent),
                            ExecutionContext(GraphSchema({}), "t"))


def intent_after(component: Any, text: str, intent: str) -> str:
    message = Message.build(text=text)
    message.set("intent", {"name": intent, "confidence": 0.4})
    message.set("intent_ranking", [{"name": intent, "confidence": 0.4},
                                   {"name": "ask_invoice", "confidence": 0.3}])
    component.process([message])
    assert message.get("intent_ranking")[0] == message.get("intent")
    return str(message.get("intent")["name"])


def test_invoice_details_make_an_invoice_request(tmp_path) -> None:
    invoice = cue("ask_invoice", tmp_path)
    # The probe's messages: an order number with a title and a tax id, a clarified one.
    assert intent_after(invoice, "我要开专票 订单361204587712340003 抬头杭州青禾服饰有限公司 "
                        "税号91330106MALLJY1JJN", "query_order_status") == "ask_invoice"
    assert intent_after(invoice, "开发票 单位抬头 杭州青禾服饰有限公司 税号 91330106MALLJY1JJN "
                        "谢谢", "nlu_fallback") == "ask_invoice"
    assert intent_after(invoice, "帮我开个增值税专用发票", "nlu_fallback") == "ask_invoice"
    # An answer to the invoice form's question stays one (a test story).
    assert intent_after(invoice, "税号是91330106MALLJY1JJN", "inform") == "inform"
    # Goods going back, another request, a button payload, nothing about invoices: kept.
    assert intent_after(invoice, "退货要把发票寄回吗", "faq") == "faq"
    assert intent_after(invoice, "开发票的话快递到哪了", "track_logistics") == "track_logistics"
    assert intent_after(invoice, '/inform{"invoice_type": "special"}', "inform") == "inform"
    assert intent_after(invoice, "订单361204587712340003到哪了", "query_order_status") == \
        "query_order_status"


def test_money_arriving_is_the_refund(tmp_path) -> None:
    refund = cue("query_refund_progress", tmp_path)
    # 「多久到账」 after a refund's answer got the dispatch times (the fifth probe).
    for text in ("多久到账", "那什么时候到账", "钱还没到账"):
        assert intent_after(refund, text, "ask_shipping_time") == "query_refund_progress"
    assert intent_after(refund, "付款了怎么没到账", "nlu_fallback") == "nlu_fallback"
    assert intent_after(refund, "什么时候发货", "ask_shipping_time") == "ask_shipping_time"
    assert intent_after(refund, "多久到账", "faq") == "faq"  # not one it replaces
