"""Invoices: parsing what customers type, the form's questions, and the filed request
against the running demo shop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from action_helpers import make_tracker, texts

import actions.backend as backend_module
from actions import invoices
from actions.forms import ValidateOrderForm
from actions.handoff import open_todos
from actions.orders import ActionAskInvoiceType, ActionOrderTask
from actions.text import mask_email

VALID = "91330106MALLJY1JJN"
WANG_DELIVERED = "361204587712340003"  # 王伟 (C0001), delivered
WANG_UNPAID = "361204587712340004"
WANG_PAID = "361204587712340002"
LI_CANCELLED = "361204587712340014"


@pytest.mark.parametrize("text, expected", [
    ("我要开专票", "special"), ("增值税专用发票", "special"), ("开个普票", "normal"),
    ("电子发票就行", "normal"), ("能开发票吗", None), ("电子的", "normal"),
    ("个人 电子版就行", "normal"),
])
def test_invoice_type_in_words(text: str, expected) -> None:
    assert invoices.invoice_type_in(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("个人", "个人"), ("开个人的", "个人"), ("抬头:杭州青禾服饰有限公司", "杭州青禾服饰有限公司"),
    ("发票抬头是上海云帆网络科技有限公司。", "上海云帆网络科技有限公司"),
    ("公司的 抬头是杭州某某科技有限公司", "杭州某某科技有限公司"),
    ("开公司抬头:上海云帆网络科技有限公司 税号稍后发", "上海云帆网络科技有限公司"),
    ("能开个普票吗 个人的", "个人"), ("个人工作室的抬头是星河设计工作室", "星河设计工作室"),
])
def test_titles_as_customers_write_them(text: str, expected: str) -> None:
    assert invoices.clean_title(text) == expected


def test_title_problems() -> None:
    assert invoices.title_problem("个人", "normal") is None
    # The response that explains it (utter_reject_invoice_title* in domain.yml).
    assert invoices.title_problem("个人", "special") == "utter_reject_invoice_title_personal"
    assert invoices.title_problem("青禾", "normal") == "utter_reject_invoice_title"
    assert invoices.title_problem("杭州青禾服饰有限公司", "special") is None
    assert invoices.title_problem("a@b.com 公司", "normal") == \
        "utter_reject_invoice_title_details"


def test_tax_ids_are_found_normalised_and_checked() -> None:
    assert invoices.tax_id_in(f"税号:{VALID.lower()}") == VALID
    assert invoices.tax_id_in("９１３３０１０６ＭＡＬＬＪＹ１ＪＪＮ") == VALID  # full-width
    # An e-mail after it in the same message (spaces are removed before matching).
    assert invoices.tax_id_in(f"杭州某某科技有限公司 {VALID} cw@yunfan.cn") == VALID
    assert invoices.tax_id_in("邮箱 AB12345678901234@qq.com") is None
    assert invoices.tax_id_problem(VALID) is None
    assert invoices.tax_id_problem(VALID[:-1] + "X")
    assert invoices.tax_id_problem("91330106MALLJY1J")  # too short


def test_emails_and_their_masking() -> None:
    assert invoices.email_in("发到 Cai.Wu@qinghe.com.cn 吧") == "Cai.Wu@qinghe.com.cn"
    assert invoices.email_in("caiwu at qinghe") is None
    assert mask_email("caiwu@qinghe.com") == "ca***@qinghe.com"


def test_one_message_with_every_detail_fills_all_slots(run_action) -> None:
    text = f"抬头 杭州青禾服饰有限公司 税号{VALID} 邮箱 caiwu@qinghe.com"
    tracker = make_tracker(
        {"customer_id": "C0001", "order_task": "invoice", "order_id": WANG_DELIVERED,
         "verified_order_id": WANG_DELIVERED, "invoice_type": "special"},
        sender="demo-wang", requested_slot="invoice_title",
        latest_message={"intent": {"name": "inform"}, "entities": [], "text": text})
    _, slots = run_action(ValidateOrderForm(), tracker)
    assert slots["invoice_title"] == "杭州青禾服饰有限公司"
    assert slots["tax_id"] == VALID and slots["invoice_email"] == "caiwu@qinghe.com"
    assert slots["requested_slot"] is None


def test_a_personal_title_needs_no_tax_id(run_action) -> None:
    tracker = make_tracker(
        {"customer_id": "C0001", "order_task": "invoice", "order_id": WANG_DELIVERED,
         "verified_order_id": WANG_DELIVERED, "invoice_type": "normal"},
        sender="demo-wang", requested_slot="invoice_title",
        latest_message={"intent": {"name": "inform"}, "entities": [], "text": "个人"})
    _, slots = run_action(ValidateOrderForm(), tracker)
    assert slots["invoice_title"] == "个人" and slots["requested_slot"] == "invoice_email"



def test_the_customer_may_change_the_type_and_give_the_title_with_it(run_action) -> None:
    assert invoices.invoice_type_in("个人不能开专票吗？那普票") == "normal"
    assert invoices.invoice_type_in("开个专票") == "special"
    assert invoices.invoice_type_in("普票不行 要专用发票") == "special"
    base = {"customer_id": "C0001", "order_task": "invoice", "order_id": WANG_DELIVERED,
            "verified_order_id": WANG_DELIVERED}

    def answer(text: str, asked: str, **slots) -> dict:
        tracker = make_tracker({**base, **slots}, sender="demo-wang", requested_slot=asked,
                               latest_message={"intent": {"name": "inform"}, "entities": [],
                                               "text": text})
        return run_action(ValidateOrderForm(), tracker)[1]

    # The personal title refused for a 专票; the customer switches to a 普票.
    slots = answer("个人不能开专票吗？那普票", "invoice_title", invoice_type="special")
    assert slots["invoice_type"] == "normal" and slots["invoice_title"] == "个人"
    assert slots["requested_slot"] == "invoice_email"
    # The title said with the type, when the type is asked.
    slots = answer("普票 抬头个人就行", "invoice_type")
    assert slots["invoice_type"] == "normal" and slots["invoice_title"] == "个人"
    assert slots["requested_slot"] == "invoice_email"
    # A personal title with a 专票 is not taken before it is asked (the question explains).
    slots = answer("专票 抬头个人", "invoice_type")
    assert slots["invoice_type"] == "special" and not slots.get("invoice_title")
    # 「就行」 is no 银行: the personal title with the type (the fourth probe).
    slots = answer("开个人的 普通的就行", "invoice_type")
    assert slots["invoice_type"] == "normal" and slots["invoice_title"] == "个人"
    assert slots["requested_slot"] == "invoice_email"
    # A person gets a 普票: given the title alone, the type is not asked.
    slots = answer("个人的就行", "invoice_type")
    assert slots["invoice_title"] == "个人" and slots["requested_slot"] == "invoice_email"


def test_an_email_given_when_the_title_is_asked_is_kept(run_action) -> None:
    # 「邮箱是 …」 while the title is asked: the e-mail is kept, no empty title is rejected.
    tracker = make_tracker(
        {"customer_id": "C0001", "order_task": "invoice", "order_id": WANG_DELIVERED,
         "verified_order_id": WANG_DELIVERED, "invoice_type": "normal"},
        sender="demo-wang", requested_slot="invoice_title", latest_message={
            "intent": {"name": "inform"}, "entities": [], "text": "邮箱是 wangwei@163.com"})
    messages, slots = run_action(ValidateOrderForm(), tracker)
    assert slots["invoice_email"] == "wangwei@163.com" and not slots.get("invoice_title")
    assert slots["requested_slot"] == "invoice_title" and "全称" not in texts(messages)


def test_an_invalid_tax_id_is_explained_and_asked_again(run_action) -> None:
    tracker = make_tracker(
        {"customer_id": "C0001", "order_task": "invoice", "order_id": WANG_DELIVERED,
         "verified_order_id": WANG_DELIVERED, "invoice_type": "special",
         "invoice_title": "杭州青禾服饰有限公司"},
        sender="demo-wang", requested_slot="tax_id",
        latest_message={"intent": {"name": "inform"}, "entities": [],
                        "text": VALID[:-1] + "X"})
    messages, slots = run_action(ValidateOrderForm(), tracker)
    assert "校验没通过" in texts(messages)
    assert slots["tax_id"] is None and slots["requested_slot"] == "tax_id"
    assert slots["failed_attempts"] == 1.0


def test_an_order_number_is_not_taken_for_a_tax_id(run_action) -> None:
    tracker = make_tracker(
        {"order_task": "invoice"}, requested_slot="order_id",
        latest_message={"intent": {"name": "inform"}, "entities": [],
                        "text": f"开发票 {WANG_DELIVERED}"},
        set_now={"order_id": WANG_DELIVERED})
    _, slots = run_action(ValidateOrderForm(), tracker)
    assert slots.get("tax_id") is None


def test_a_title_given_before_the_order_number_is_kept_not_called_a_wrong_number(
        run_action) -> None:
    """「我要开发票」 -> 「个人」 while the bot asks for the order (a probe, 2026-12-06)."""
    tracker = make_tracker(
        {"order_task": "invoice"}, requested_slot="order_id",
        latest_message={"intent": {"name": "inform"}, "entities": [], "text": "个人"},
        set_now={"order_id": "个人"})  # the form's from_text mapping
    messages, slots = run_action(ValidateOrderForm(), tracker)
    assert "发票抬头「个人」我记下了" in texts(messages)
    assert "格式" not in texts(messages) and "没有订单号也没关系" not in texts(messages)
    assert slots["invoice_title"] == "个人" and slots.get("order_id") is None
    assert not slots.get("failed_attempts")  # progress, not a failed turn
    assert slots["requested_slot"] == "order_id"  # the number is still needed
    # Anything else still is a wrong number.
    tracker = make_tracker(
        {"order_task": "invoice"}, requested_slot="order_id",
        latest_message={"intent": {"name": "inform"}, "entities": [], "text": "青禾"},
        set_now={"order_id": "青禾"})
    messages, slots = run_action(ValidateOrderForm(), tracker)
    assert "订单号格式好像不对" in texts(messages) and slots.get("invoice_title") is None


def test_details_given_with_the_request_are_taken_once_the_order_is_proven(run_action) -> None:
    """「我要开专票 订单… 抬头… 税号…」 from a guest, then the phone tail: the tax id was asked
    for again, and a signed-in customer's 「…公司名称:…,税号:…,邮箱…」 the title (a probe,
    2026-12-07)."""
    request = (f"我要开专票 订单{WANG_DELIVERED} 抬头杭州青禾服饰有限公司 税号{VALID} "
               "邮箱 caiwu@qinghe.com")
    # The phone tail proves the order in this very turn (the form needed no tax id before).
    tracker = make_tracker(
        {"order_task": "invoice", "order_id": WANG_DELIVERED, "invoice_type": "special"},
        requested_slot="phone_tail", set_now={"phone_tail": "5678"},
        latest_message={"intent": {"name": "inform"}, "entities": [], "text": "5678"})
    tracker.events[:] = [{"event": "user", "text": request}, {"event": "user", "text": "5678"},
                         {"event": "slot", "name": "phone_tail", "value": "5678"}]
    _, slots = run_action(ValidateOrderForm(), tracker)
    assert slots["verified_order_id"] and slots["invoice_title"] == "杭州青禾服饰有限公司"
    assert slots["tax_id"] == VALID and slots["invoice_email"] == "caiwu@qinghe.com"
    assert slots["requested_slot"] is None
    # The order number beside them is no tax id, even after 税号's message.
    assert invoices.tax_id_given(f"订单{WANG_DELIVERED} 税号{VALID}") == VALID
    assert invoices.tax_id_given(f"订单{WANG_DELIVERED} 开专票") is None
    assert invoices.clean_title(f"{WANG_DELIVERED}这个订单帮我开个增值税专用发票，公司名称："
                                f"杭州青禾服饰有限公司，税号：{VALID}") == "杭州青禾服饰有限公司"


def test_a_title_in_the_request_itself_is_kept(run_action) -> None:
    """「361204587712340003 这单帮我开个电子发票 个人的」: the form starts (nothing asked yet)
    with the title in the message; it was asked for again after the phone tail (a probe,
    2026-12-07)."""
    text = f"{WANG_DELIVERED} 这单帮我开个电子发票 个人的"
    tracker = make_tracker(
        {"order_task": "invoice"}, requested_slot=None,
        latest_message={"intent": {"name": "ask_invoice"}, "entities": [], "text": text},
        set_now={"order_id": WANG_DELIVERED})
    _, slots = run_action(ValidateOrderForm(), tracker)
    assert slots["invoice_title"] == "个人"


@pytest.mark.parametrize("text, expected", [
    ("个人", "个人"), ("开个人就行", "个人"),
    ("抬头是杭州青禾服饰有限公司", "杭州青禾服饰有限公司"),
    ("公司的 抬头是杭州青禾服饰有限公司", "杭州青禾服饰有限公司"),
    ("杭州青禾服饰有限公司", "杭州青禾服饰有限公司"), ("青禾", None), ("12345", None),
    ("我要投诉你们公司", None), ('/inform{"invoice_type": "normal"}', None),
])
def test_early_titles(text: str, expected) -> None:
    assert invoices.early_title(text) == expected


def test_an_early_personal_title_waits_for_a_special_invoice() -> None:
    assert invoices.early_title("个人", "special") is None  # asked and explained later


@pytest.mark.parametrize("order_id, customer, says", [
    (WANG_UNPAID, "C0001", "订单还没有付款,付款后才能申请发票哦。"),
    (LI_CANCELLED, "C0002", "订单已取消,没有可以开票的金额哦。"),
])
def test_orders_that_cannot_be_invoiced_are_explained(run_action, order_id: str, customer: str,
                                                      says: str) -> None:
    tracker = make_tracker({"customer_id": customer, "order_task": "invoice",
                            "order_id": order_id, "verified_order_id": order_id})
    _, slots = run_action(ValidateOrderForm(), tracker)
    assert slots["requested_slot"] is None  # nothing to ask: the task action explains
    messages, _ = run_action(ActionOrderTask(), tracker)
    assert texts(messages) == says


def test_the_request_is_filed_with_the_shop(run_action) -> None:
    slots = {"customer_id": "C0001", "order_task": "invoice", "order_id": WANG_DELIVERED,
             "verified_order_id": WANG_DELIVERED, "invoice_type": "normal",
             "invoice_title": "个人", "invoice_email": "wangwei@163.com"}
    messages, reset = run_action(ActionOrderTask(), make_tracker(slots, sender="demo-wang"))
    # The whole answer, composed from domain responses (utter_invoice_requested, _what).
    assert texts(messages) == ("开票申请已提交:电子普通发票,抬头「个人」,金额¥475.00。1-3个工作日内"
                               "会把电子发票发到wa***@163.com,请注意查收(也可能在垃圾邮件里)。"
                               "我已记在待办里,开好会通知您~")
    assert messages[0]["utter_action"] == "utter_invoice_requested"
    assert reset["invoice_title"] is None  # the next request starts afresh
    again, _ = run_action(ActionOrderTask(), make_tracker(slots, sender="demo-wang"))
    assert texts(again) == ("这个订单已经申请过同样的发票啦(电子普通发票,抬头「个人」,金额¥475.00),"
                            "开好后会发到wa***@163.com,不用重复申请哦。")

    async def packet_todos() -> list:  # what a handoff now would hand the agent
        backend_module._backend = None
        try:
            return await open_todos(make_tracker(slots, sender="demo-wang"))
        finally:
            await backend_module.get_backend().close()
            backend_module._backend = None

    todos = asyncio.run(packet_todos())
    invoice_todos = [t["text"] for t in todos if t["kind"] == "invoice"]
    assert invoice_todos == ["待开发票（电子普通发票，抬头：个人）"]


@pytest.mark.parametrize("text, asks", [
    ("发票开好了吗", True), ("怎么还没收到发票", True), ("我的发票呢", True),
    ("发票开了没有", True), ("能开发票吗", False), ("发票怎么开呢", False),
    ("我要开专票", False),
])
def test_questions_after_an_invoice_already_asked_for(text: str, asks: bool) -> None:
    assert invoices.asks_status([text]) is asks


def test_a_question_after_an_invoice_gets_its_state_not_a_new_request(run_action) -> None:
    filed = {"customer_id": "C0001", "order_task": "invoice", "order_id": WANG_DELIVERED,
             "verified_order_id": WANG_DELIVERED, "invoice_type": "normal",
             "invoice_title": "个人", "invoice_email": "wangwei@163.com"}
    run_action(ActionOrderTask(), make_tracker(filed, sender="demo-wang"))  # filed (or was)
    asking = make_tracker({"customer_id": "C0001", "order_task": "invoice",
                           "order_id": WANG_DELIVERED, "verified_order_id": WANG_DELIVERED},
                          sender="demo-wang", latest_message={
                              "intent": {"name": "ask_invoice"}, "entities": [],
                              "text": "发票开好了吗"})
    asking.events[0]["text"] = "发票开好了吗"
    _, slots = run_action(ValidateOrderForm(), asking)
    assert slots["requested_slot"] is None  # no type, title or e-mail to ask for
    messages, _ = run_action(ActionOrderTask(), asking)
    said = texts(messages)
    assert said.startswith("查到这个订单的开票记录:") and "抬头「个人」" in said
    assert "开具中" in said and "wa***@163.com" in said and "开票申请已提交" not in said


def test_a_question_after_an_invoice_never_asked_for_says_there_is_none(run_action) -> None:
    def asking(order_id: str, text: str) -> Any:
        tracker = make_tracker({"customer_id": "C0001", "order_task": "invoice",
                                "order_id": order_id, "verified_order_id": order_id},
                               sender="demo-wang", latest_message={
                                   "intent": {"name": "ask_invoice"}, "entities": [],
                                   "text": text})
        tracker.events[0]["text"] = text
        return tracker

    # The paid order has no invoice: said once, then the form's question for the type.
    messages, _ = run_action(ActionAskInvoiceType(), asking(WANG_PAID, "发票开好了吗"))
    said = texts(messages)
    assert said.startswith("这个订单还没有申请过发票") and "开哪种发票" in said
    assert [button["payload"] for button in messages[-1]["buttons"]] == [
        '/inform{"invoice_type": "normal"}', '/inform{"invoice_type": "special"}']
    # A new request says nothing about earlier invoices; nor does an order that has some.
    messages, _ = run_action(ActionAskInvoiceType(), asking(WANG_PAID, "我要开发票"))
    assert texts(messages).startswith("请问开哪种发票")
    filed = {"customer_id": "C0001", "order_task": "invoice", "order_id": WANG_DELIVERED,
             "verified_order_id": WANG_DELIVERED, "invoice_type": "normal",
             "invoice_title": "个人", "invoice_email": "wangwei@163.com"}
    run_action(ActionOrderTask(), make_tracker(filed, sender="demo-wang"))
    messages, _ = run_action(ActionAskInvoiceType(), asking(WANG_DELIVERED, "发票开好了吗"))
    assert "还没有申请过" not in texts(messages)


def test_details_given_while_the_type_is_asked_are_taken_and_said(run_action) -> None:
    """「公司的 南京…有限公司 税号…」 while the bot asks for the type (the sixth probe): the
    title and tax id taken, said so, and the type asked in other words, not 「这个问题刚才
    已经回复过了」."""
    text = f"公司的 南京云帆信息技术有限公司 税号{VALID}"
    slots = {"order_task": "invoice", "order_id": WANG_DELIVERED,
             "verified_order_id": WANG_DELIVERED}
    tracker = make_tracker(slots, sender="demo-wang", requested_slot="invoice_type",
                           latest_message={"intent": {"name": "inform"}, "entities": [],
                                           "text": text})
    tracker.events[0]["text"] = text
    _, taken = run_action(ValidateOrderForm(), tracker)
    assert taken["invoice_title"] == "南京云帆信息技术有限公司" and taken["tax_id"] == VALID
    asked_twice = [{"event": "user", "text": "开发票"},
                   {"event": "bot", "text": "请问开哪种发票呢?",
                    "metadata": {"utter_action": "utter_ask_order_form_invoice_type"}},
                   {"event": "user", "text": WANG_DELIVERED},
                   {"event": "bot", "text": "请问开哪种发票呢?",
                    "metadata": {"utter_action": "utter_ask_order_form_invoice_type"}}]
    tracker = make_tracker(slots, sender="demo-wang", requested_slot="invoice_type",
                           set_now={"invoice_title": taken["invoice_title"], "tax_id": VALID})
    tracker.events[0:0] = asked_twice
    said = texts(run_action(ActionAskInvoiceType(), tracker)[0])
    assert "好的,抬头「南京云帆信息技术有限公司」、税号都记下了~" in said, said
    assert "还差发票类型" in said and "刚才已经回复过了" not in said, said
