"""The fifth probe's leftovers over REST with the trained model: several questions about one
product, a size named after the advice, a doubt after an answer, a basket's quote, and an
after-sale withdrawn (in a stack of its own: it changes the demo's open return)."""

from __future__ import annotations

import json
import os
import urllib.request

import pytest
from scenarios import identity_metadata, post_message, reply_text
from stack import Stack

LI_RETURNING = "361204587712340013"  # 李娜's blender, return requested (AS00000002)


def page_say(stack, sender: str, page: str):
    return lambda text: reply_text(post_message(stack.rasa_url, sender, text,
                                                metadata={"product_id": page}))


def test_several_questions_about_one_product_each_get_an_answer(stack) -> None:
    ask = page_say(stack, "e2e-probe5-product", "P2001")
    answer = ask("防水吗 续航多久 多少钱")
    assert "¥399.00" in answer and "IPX4防汗防水" in answer and "总续航32小时" in answer, answer
    answer = ask("保修多久")
    assert "全国联保1年" in answer, answer
    answer = ask("你确定吗")
    assert "按店铺系统和商品资料" in answer, answer


def test_a_size_named_after_the_advice_is_compared_with_it(stack) -> None:
    ask = page_say(stack, "e2e-probe5-size", "P1001")
    answer = ask("175 70公斤穿什么码")
    assert "建议选L码" in answer, answer
    answer = ask("那XXL会不会太大")
    assert "XXL码会明显偏大" in answer and "都有" not in answer, answer
    answer = ask("XL呢")
    assert "XL码也可以" in answer or "XL码会明显偏大" in answer, answer
    answer = ask("L会不会小")
    assert "L码就是按您身高175cm、体重70kg建议的" in answer, answer


def test_a_basket_is_quoted_together(stack) -> None:
    answer = reply_text(post_message(stack.rasa_url, "e2e-probe5-basket",
                                     "羽绒服499 再加个T恤79 能减多少"))
    assert "商品金额578元" in answer, answer


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory):
    running = Stack.isolated(tmp_path_factory.mktemp("withdraw-stack"))
    running.start(services=("shop", "actions", "rasa"),
                  timeout=float(os.environ.get("STACK_START_TIMEOUT", "600")))
    yield running
    running.stop()


def test_a_return_is_withdrawn_after_the_yes(own_stack) -> None:
    li = identity_metadata("C0002", own_stack.env["CHANNEL_IDENTITY_SECRET"])
    sender = "e2e-probe5-withdraw"

    def say(text: str) -> list:
        return post_message(own_stack.rasa_url, sender, text, metadata=li)

    def order_status() -> str:
        request = urllib.request.Request(f"{own_stack.shop_url}/api/orders/{LI_RETURNING}",
                                         headers={"X-Api-Key": own_stack.env["SHOP_ADMIN_KEY"]})
        with urllib.request.urlopen(request, timeout=10) as reply:
            return json.loads(reply.read())["status"]

    replies = say("算了不退了")
    answer = reply_text(replies)
    # Her order being returned is the one offered (not a paid one to cancel).
    payloads = [button["payload"] for reply in replies for button in reply.get("buttons") or []]
    assert payloads and LI_RETURNING in payloads[0], answer
    answer = reply_text(say(payloads[0]))
    assert f"确认撤销订单{LI_RETURNING}的退货退款申请(售后单号AS" in answer, answer
    answer = reply_text(say("再想想"))
    assert "没有撤销" in answer and order_status() == "return_requested", answer
    assert "确认撤销" in reply_text(say("还是取消退货吧"))
    answer = reply_text(say("对 不退了"))
    assert "已为您撤销退货退款申请" in answer, answer
    assert order_status() == "delivered"
