"""Turns that customers wrote in probe sessions and the bot once got wrong, over REST."""

from __future__ import annotations

import json
import urllib.request

from scenarios import identity_metadata, post_message, reply_text

WANG_UNPAID = "361204587712340004"  # 王伟, unpaid: can be cancelled
WANG_DELIVERED = "361204587712340003"
WANG_SHIPPED = "361204587712340001"  # no test files an invoice for it


def say(stack, sender: str, text: str) -> str:
    return reply_text(post_message(stack.rasa_url, sender, text))


def test_a_reason_for_cancelling_is_the_yes_not_an_address_change(stack) -> None:
    sender = "e2e-probe-cancel"
    say(stack, sender, "我要取消订单")
    say(stack, sender, WANG_UNPAID)
    assert "确认取消订单" in say(stack, sender, "5678")
    answer = say(stack, sender, "拍错了")
    assert f"订单{WANG_UNPAID}已取消" in answer and "收货信息" not in answer


def test_changing_ones_mind_about_cancelling_stops_the_request(stack) -> None:
    sender = "e2e-probe-not-cancelling"
    assert "订单号" in say(stack, sender, "我要取消订单")
    answer = say(stack, sender, "算了不取消了")
    assert "订单号" not in answer and "手机号" not in answer
    assert "订单号" not in say(stack, sender, "谢谢")


def test_a_question_after_an_invoice_gets_its_state(stack) -> None:
    sender = "e2e-probe-invoice"
    for text in ("我要开发票", WANG_DELIVERED, "5678", "电子普通发票", "个人"):
        say(stack, sender, text)
    assert "开票申请已提交" in say(stack, sender, "wangwei@163.com")
    later = "e2e-probe-invoice-later"
    first = say(stack, later, "发票开好了吗")
    assert "订单号" in first and "可以开的" not in first
    say(stack, later, WANG_DELIVERED)
    answer = say(stack, later, "5678")
    assert "查到这个订单的开票记录" in answer and "开具中" in answer
    assert "哪种发票" not in answer
    # An order without any invoice: said so, then the new request's first question, with
    # a button per invoice type (their titles rendered from the domain's responses).
    none = "e2e-probe-invoice-none"
    say(stack, none, "发票开好了吗")
    say(stack, none, WANG_SHIPPED)
    replies = post_message(stack.rasa_url, none, "5678")
    assert "还没有申请过发票" in reply_text(replies) and "哪种发票" in reply_text(replies)
    buttons = [button for reply in replies for button in reply.get("buttons") or []]
    assert [button["title"] for button in buttons] == ["电子普通发票", "增值税专用发票"]
    assert "抬头" in say(stack, none, buttons[0]["payload"])  # the next question
    # A 专票's title question offers no 「个人」 (a company only).
    special = "e2e-probe-invoice-special"
    say(stack, special, "发票开好了吗")
    say(stack, special, WANG_SHIPPED)
    say(stack, special, "5678")
    replies = post_message(stack.rasa_url, special, buttons[1]["payload"])
    assert "单位的全称" in reply_text(replies) and "个人" not in reply_text(replies)
    assert not [button for reply in replies for button in reply.get("buttons") or []]


def test_goods_the_shop_does_not_sell(stack) -> None:
    assert "没有在卖「手机」" in say(stack, "e2e-probe-not-sold", "你们卖手机吗")


def test_a_gift_question_hears_there_is_none(stack) -> None:
    answer = say(stack, "e2e-probe-gift", "多买几件能送个小礼品吗")
    assert "没有买赠" in answer and "满199减20" in answer


def test_shop_questions_without_an_order_get_their_own_answers(stack) -> None:
    assert "没有线下实体店" in say(stack, "e2e-probe-store", "你们家有实体店吗")
    answer = say(stack, "e2e-probe-account", "手机号换了 收不到验证码")
    assert "平台" in answer and "质量问题" not in answer
    answer = say(stack, "e2e-probe-usage", "这个咖啡豆保质期多久")
    assert "12个月" in answer
    assert "密封避光保存" in say(stack, "e2e-probe-usage", "那怎么保存")


def signed_say(stack, customer_id: str, sender: str):
    identity = identity_metadata(customer_id, stack.env["CHANNEL_IDENTITY_SECRET"])
    return lambda text: reply_text(post_message(stack.rasa_url, sender, text,
                                                metadata=identity))


def slots_of(stack, sender: str) -> dict:
    url = f"{stack.rasa_url}/conversations/{sender}/tracker?token={stack.env['RASA_API_TOKEN']}"
    with urllib.request.urlopen(url, timeout=30) as reply:
        return json.loads(reply.read())["slots"]


def test_another_item_is_set_aside_not_taken_for_this_after_sale(stack) -> None:
    sender = "e2e-probe-other-item"
    wang = signed_say(stack, "C0001", sender)
    # Her one air fryer order: taken at once, said which, and the photo asked.
    answer = wang("空气炸锅有问题 想退货")
    assert "5L空气炸锅" in answer and "照片" in answer and "是这个" not in answer, answer
    answer = wang("另外那个键盘也想退了")
    assert "「K87机械键盘」不在这个订单里" in answer and "照片" in answer, answer
    assert "后4位" not in answer  # a logged-in customer is never asked for the phone tail
    slots = slots_of(stack, sender)
    assert (slots["order_id"], slots["order_task"], slots["aftersale_reason"]) == (
        WANG_DELIVERED, "return", "quality")


def test_another_order_by_its_last_digits(stack) -> None:
    li = signed_say(stack, "C0002", "e2e-probe-last-digits")
    assert "破壁料理机" in li("0013的退款到哪了")
    li("对")
    answer = li("那另一个单0012的退款呢")
    assert "361204587712340012" in answer and "已于" in answer, answer
