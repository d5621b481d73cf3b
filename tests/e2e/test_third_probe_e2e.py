"""Turns of the third probe (about 60 order and after-sales conversations, 2026-12-07) that
the bot once got wrong, over REST (docs/dialogue.md, "A third probe")."""

from __future__ import annotations

from test_customer_probes_e2e import say


def test_an_order_number_after_the_word_order_keeps_the_invoice_task(stack) -> None:
    sender = "e2e-probe3-invoice"
    say(stack, sender, "我要开发票")
    say(stack, sender, "订单361204587712340003")
    answer = say(stack, sender, "5678")
    assert "发票" in answer and "已于" not in answer, answer  # not the delivery status


def test_an_after_sale_not_yet_named_gets_its_choices(stack) -> None:
    answer = say(stack, "e2e-probe3-aftersales", "申请售后")
    assert "遇到了什么情况" in answer and "没太理解" not in answer, answer


def test_a_question_about_the_tail_is_explained(stack) -> None:
    sender = "e2e-probe3-tail"
    say(stack, sender, "我的快递到哪了")
    say(stack, sender, "361204587712340001")
    answer = say(stack, sender, "尾号是什么意思")
    assert "最后4位数字" in answer, answer
    assert "顺丰" in say(stack, sender, "5678")


def test_a_courier_question_while_the_new_address_is_asked_is_answered(stack) -> None:
    sender = "e2e-probe3-address"
    say(stack, sender, "改地址")
    say(stack, sender, "361204587712340002")
    say(stack, sender, "5678")
    answer = say(stack, sender, "等等 你们发什么快递 能发顺丰吗")
    assert "没识别到省份" not in answer and "补12元运费" in answer, answer


def test_where_the_order_is_sent(stack) -> None:
    sender = "e2e-probe3-where"
    say(stack, sender, "这单寄到哪个地址了")
    say(stack, sender, "361204587712340002")
    answer = say(stack, sender, "5678")
    assert "这单寄往:" in answer and "请发送新的收货信息" not in answer, answer
