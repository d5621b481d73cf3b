"""The customer's parcel back over REST with the trained model (actions/returns.py): asked
about, its waybill given in the next message, then asked about again."""

from __future__ import annotations

from test_customer_probes_e2e import say, signed_say

LI_RETURNING = "361204587712340013"  # 破壁料理机, return requested


def test_a_signed_in_customers_parcel_back_is_asked_for_recorded_and_followed(stack) -> None:
    li = signed_say(stack, "C0002", "e2e-returns-li")
    answer = li("退货寄回去了 你们收到没")
    assert "是这个退货中的订单吗" in answer, answer  # her order being returned, offered
    answer = li(f'/inform{{"order_id":"{LI_RETURNING}"}}')
    # Not the shop's delivery of the blender (signed long ago): the parcel back. Another test
    # may have recorded a waybill for it already.
    assert "寄回" in answer and "已签收" not in answer, answer
    answer = li("中通 75312345678901")
    assert "已为您登记寄回的包裹:中通 75312345678901" in answer, answer
    assert "原路退款" in answer, answer
    answer = li("我寄回的货你们收到了吗")
    assert "中通 75312345678901" in answer and "还没有签收" in answer, answer


def test_a_guest_gives_the_order_then_the_waybill(stack) -> None:
    sender = "e2e-returns-guest"
    say(stack, sender, "我退的货你们收到了吗")
    say(stack, sender, LI_RETURNING)
    answer = say(stack, sender, "8888")
    assert "寄回" in answer and "已签收" not in answer, answer
    answer = say(stack, sender, "圆通YT1234567890123")
    assert "已为您登记寄回的包裹:圆通 YT1234567890123" in answer, answer


def test_a_signed_in_tracking_question_of_the_order_being_returned_is_answered(stack) -> None:
    # The form took her one blender order; the answer sent it back to the form, which sent
    # it back to the answer, until Rasa's circuit breaker: no reply, to 「转人工」 neither.
    li = signed_say(stack, "C0002", "e2e-returns-li-track")
    answer = li("破壁机的快递到哪了")
    assert "(售后单号AS" in answer and "寄回" in answer, answer
    assert li("运费多少") and li("转人工")
