"""Size advice against the running demo shop: product lookup, numbers, the chart's size."""

from __future__ import annotations

import json
import os
import urllib.request

from action_helpers import make_tracker, texts

from actions.sizing import ActionAskHeightCm, ActionSizeAdvice, ValidateSizeForm

TEE = "P1003"  # 纯棉圆领T恤, has a size chart
EARPHONES = "P2001"  # electronics: no size chart


def size_tracker(slots=None, set_now=None, requested=None, text=None, metadata=None):
    latest = {"intent": {"name": "ask_size"}, "entities": [], "text": text or "x"}
    tracker = make_tracker(slots, set_now=set_now, requested_slot=requested,
                           latest_message=latest, loop="size_form")
    tracker.events[0]["metadata"] = metadata or {}  # the channel's metadata of the message
    return tracker


def test_product_name_becomes_the_catalogue_id(run_action) -> None:
    _, slots = run_action(ValidateSizeForm(), size_tracker(
        set_now={"size_product": "纯棉圆领T恤"}, requested="size_product"))
    assert slots["size_product"] == TEE and slots["product"] == "纯棉圆领T恤"


def test_a_word_for_two_garments_takes_the_one_for_whom_the_customer_says(run_action) -> None:
    def product_for(text):
        tracker = size_tracker(set_now={"size_product": "羽绒服"}, requested="size_product")
        tracker.events[0]["text"] = text
        messages, slots = run_action(ValidateSizeForm(), tracker)
        return slots["size_product"], slots.get("failed_attempts"), texts(messages)

    assert product_for("我160 100斤女生 穿哪个羽绒服尺码")[0] == "P1002"  # 女士长款羽绒服
    assert product_for("给我老公买羽绒服 他180 75kg")[0] == "P1001"  # 男士轻薄羽绒服
    # Nobody said: no guess and no failed turn; the form asks which, with both as buttons.
    assert product_for("羽绒服175 70kg穿什么码")[:2] == (None, None)


def test_product_of_the_chat_page_is_taken_from_metadata(run_action) -> None:
    _, slots = run_action(ValidateSizeForm(), size_tracker(metadata={"product_id": TEE}))
    assert slots["size_product"] == TEE


def test_unknown_product_is_explained(run_action) -> None:
    messages, slots = run_action(ValidateSizeForm(), size_tracker(
        set_now={"size_product": "魔法斗篷"}, requested="size_product"))
    assert "没找到叫「魔法斗篷」的服装" in texts(messages)
    assert slots["size_product"] is None and slots["failed_attempts"] == 1.0


def test_only_missing_numbers_are_asked(run_action) -> None:
    _, slots = run_action(ValidateSizeForm(), size_tracker(
        {"size_product": TEE}, set_now={"height_cm": "175"}, requested="height_cm"))
    assert slots["height_cm"] == "175"
    messages, _ = run_action(ActionAskHeightCm(), size_tracker({"weight_kg": "70"}))
    assert "身高" in texts(messages) and "体重" not in texts(messages)
    messages, _ = run_action(ActionAskHeightCm(), size_tracker())
    assert "身高和体重" in texts(messages)


def test_implausible_numbers_are_rejected(run_action) -> None:
    messages, slots = run_action(ValidateSizeForm(), size_tracker(
        {"size_product": TEE}, set_now={"height_cm": "17.5"}, requested="height_cm"))
    assert "身高好像不太对" in texts(messages) and slots["height_cm"] is None


def chart_size(shop: str, product: str, height: int, weight: int, fit: str = "") -> dict:
    query = f"height_cm={height}&weight_kg={weight}" + (f"&fit={fit}" if fit else "")
    request = urllib.request.Request(f"{shop}/api/products/{product}/size-advice?{query}",
                                     headers={"X-Api-Key": os.environ["SHOP_ADMIN_KEY"]})
    with urllib.request.urlopen(request) as reply:
        return json.loads(reply.read())


def test_advice_is_the_size_chart_answer_with_feedback(run_action, actions_shop) -> None:
    messages, _ = run_action(ActionSizeAdvice(), size_tracker(
        {"size_product": TEE, "product": "纯棉圆领T恤", "height_cm": "175", "weight_kg": "70"}))
    expected = chart_size(actions_shop, TEE, 175, 70)
    said = texts(messages)
    assert f"建议选{expected['size']}码" in said and "「纯棉圆领T恤」" in said
    if expected["feedback"]:
        assert "的买家选了" in said
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        '/ask_size{"fit": "loose"}', '/ask_size{"fit": "fitted"}']


def test_refined_for_a_loose_fit(run_action, actions_shop) -> None:
    messages, _ = run_action(ActionSizeAdvice(), size_tracker(
        {"size_product": TEE, "height_cm": "175", "weight_kg": "70", "fit": "loose"}))
    assert f"建议选{chart_size(actions_shop, TEE, 175, 70, 'loose')['size']}码" in texts(messages)
    assert messages[0]["buttons"] == [
        {"title": "想穿修身一点", "payload": '/ask_size{"fit": "fitted"}'}]


def test_product_without_a_size_chart(run_action) -> None:
    messages, _ = run_action(ActionSizeAdvice(), size_tracker(
        {"size_product": EARPHONES, "height_cm": "175", "weight_kg": "70"}))
    assert "尺码" in texts(messages) and "建议选" not in texts(messages)


def test_a_size_named_after_the_advice_is_compared_with_it(run_action, actions_shop) -> None:
    """「那XL会不会太大」「L呢」 after the advice (the fifth probe): that size against the
    advice for the same build, whichever action the message reaches."""
    from actions.fallback import ActionClarify
    from actions.products import ActionProductQuestion

    advice = chart_size(actions_shop, TEE, 175, 70)
    sizes = ["S", "M", "L", "XL", "XXL"]  # the T-shirt's 尺码 (demo catalogue)
    recommended = advice["size"]
    slots = {"size_product": TEE, "product": "纯棉圆领T恤", "height_cm": "175",
             "weight_kg": "70"}
    bigger = sizes[sizes.index(recommended) + 2]  # two sizes up: no alternative any more
    cases = [(f"{recommended}码合适吗", ActionSizeAdvice(), "就是按您身高175cm、体重70kg建议的"),
             (f"那{bigger}会不会太大", ActionProductQuestion(), f"{bigger}码会明显偏大"),
             (f"{sizes[0]}呢", ActionClarify(), f"{sizes[0]}码会偏小")]
    for text, action, expected in cases:
        tracker = size_tracker(slots, text=text)
        tracker.latest_message["intent"] = {"name": "nlu_fallback"} \
            if isinstance(action, ActionClarify) else {"name": "ask_size"}
        tracker.active_loop = {}
        said = texts(run_action(action, tracker)[0])
        assert expected in said, (text, said)
    # A neighbouring size the chart offers says when to choose it.
    for item in advice["alternatives"]:
        tracker = size_tracker(slots, text=f"{item['size']}会不会不合适")
        said = texts(run_action(ActionSizeAdvice(), tracker)[0])
        assert f"{item['size']}码也可以:{item['reason']}" in said, said
    # A build below the chart: the nearest size, not 「合身」.
    small = {**slots, "height_cm": "150", "weight_kg": "40"}
    nearest = chart_size(actions_shop, TEE, 150, 40)
    assert not nearest["in_chart"]
    said = texts(run_action(ActionSizeAdvice(), size_tracker(
        small, text=f"{nearest['size']}会不会很宽松"))[0])
    assert "离您身材最近的尺码" in said and "合身" not in said, said
    # No size named, or no build known: the advice, as before.
    said = texts(run_action(ActionSizeAdvice(), size_tracker(slots, text="175 70公斤"))[0])
    assert "建议选" in said and "也可以" not in said
