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


DOWN_JACKET = "P1001"  # 男士轻薄羽绒服: 修身版型，偏标准码 (true to size)
WOMENS_COAT = "P1002"  # 女士长款羽绒服: 偏大半码
JEANS = "P1006"  # 高腰牛仔裤: 26-34, chart with waist_cm and hip_cm


def chatting(product, *messages, slots=None):
    """A size-form tracker on the product's page whose session holds these customer
    messages, oldest first: text, or (text, [(entity, value, unit)]) with what the NLU read."""
    events = []
    for message in messages:
        text, found = (message, []) if isinstance(message, str) else message
        entities = [{"entity": name, "value": value, "start": text.index(value)
                     if value in text else 0, "additional_info": {"unit": unit}}
                    for name, value, unit in found]
        events.append({"event": "user", "text": text, "metadata": {"product_id": product},
                       "parse_data": {"intent": {"name": "ask_size"}, "entities": entities}})
    tracker = size_tracker({"size_product": product, **(slots or {})}, text=events[-1]["text"])
    tracker.latest_message = {**events[-1]["parse_data"], "text": events[-1]["text"]}
    tracker.events[:1] = events
    return tracker


def advice_for(run_action, product, *messages, slots=None):
    said, set_now = run_action(ActionSizeAdvice(), chatting(product, *messages, slots=slots))
    return texts(said), set_now


def test_the_usual_size_ends_the_form_without_height_and_weight(run_action) -> None:
    """「我平时穿XL 这个选什么码」 on the down jacket's page (the probe): the form needs
    only the product; without a usual size it still asks for height and weight."""
    tracker = chatting(DOWN_JACKET, ("我平时穿XL 这个选什么码", [("size", "XL", None)]))
    tracker.slots["size_product"] = None
    _, slots = run_action(ValidateSizeForm(), tracker)
    assert slots["size_product"] == DOWN_JACKET and slots["requested_slot"] is None
    # The same said for the height question: an answer, not a failed turn.
    tracker = chatting(DOWN_JACKET, "这个选什么码", ("我一般穿L", [("size", "L", None)]),
                       slots={"failed_attempts": 1.0})
    tracker.slots["requested_slot"] = "height_cm"
    tracker.latest_message["intent"] = {"name": "inform"}
    _, slots = run_action(ValidateSizeForm(), tracker)
    assert slots["requested_slot"] is None and slots["failed_attempts"] == 0.0
    tracker = chatting(DOWN_JACKET, "这个选什么码")
    tracker.slots["size_product"] = None
    _, slots = run_action(ValidateSizeForm(), tracker)
    assert slots["size_product"] == DOWN_JACKET and slots.get("requested_slot") is None
    assert "requested_slot" not in slots  # Rasa asks the next slot: height and weight


def test_advice_from_the_usual_size_with_why_and_an_offer_to_refine(run_action) -> None:
    said, _ = advice_for(run_action, DOWN_JACKET,
                         ("我平时穿XL 这个选什么码", [("size", "XL", None)]))
    assert said.startswith("「男士轻薄羽绒服」建议选XL码:您平时穿XL码,这款「修身版型")
    assert "按平时的尺码选就好" in said and "XL码适合身高175-180cm、体重72-80kg" in said
    assert "发一下身高和体重" in said and "方便告诉我您的身高" not in said
    for text, size in (("我一般穿L", "L"), ("平常都是M码", "M"), ("我是XXL", "XXL")):
        said, _ = advice_for(run_action, DOWN_JACKET, (text, [("size", size, None)]))
        assert f"建议选{size}码:您平时穿{size}码" in said, said
    # A 号型 is the row whose height range it tops.
    said, _ = advice_for(run_action, DOWN_JACKET, ("穿175/92A的", [("size", "175/92A", None)]))
    assert "建议选L码:您平时穿175/92A(这款的L码)" in said, said


def test_the_fit_note_and_the_wish_move_the_usual_size_one_size(run_action) -> None:
    said, _ = advice_for(run_action, WOMENS_COAT, ("我平时穿M", [("size", "M", None)]))
    assert "建议选S码" in said and "偏大" in said and "比平时小一码" in said
    said, slots = advice_for(run_action, DOWN_JACKET, ("我平时穿XL", [("size", "XL", None)]),
                             "里面要穿毛衣")
    assert "建议选XXL码" in said and "里面好加衣服" in said and "比平时大一码" in said
    assert slots["fit"] == "loose"  # kept for the follow-ups and the buttons
    said, _ = advice_for(run_action, DOWN_JACKET, ("我平时穿XL", [("size", "XL", None)]),
                         slots={"fit": "fitted"})
    assert "建议选L码" in said and "修身" in said
    # Runs large and a loose wish: the usual size; the largest size has none above it.
    said, _ = advice_for(run_action, WOMENS_COAT, ("我一般穿M", [("size", "M", None)]),
                         slots={"fit": "loose"})
    assert "建议选M码" in said and "按平时的尺码选就好" in said
    said, _ = advice_for(run_action, DOWN_JACKET, ("平时穿XXXL", [("size", "XXXL", None)]),
                         slots={"fit": "loose"})
    assert "建议选XXXL码" in said and "最接近的是XXXL码" in said


def test_a_size_asked_about_or_not_on_the_chart_is_no_usual_size(run_action) -> None:
    for product, message in ((DOWN_JACKET, ("穿XL会不会太大", [("size", "XL", None)])),
                             (DOWN_JACKET, ("XL码有货吗", [("size", "XL", None)])),
                             (JEANS, ("我平时穿XL", [("size", "XL", None)])),
                             (DOWN_JACKET, ("腰围2尺2", [("waist_cm", "73", "尺")]))):
        _, slots = run_action(ValidateSizeForm(), chatting(product, message))
        assert "requested_slot" not in slots, message  # height and weight asked next


def test_trousers_by_waist_and_hip(run_action) -> None:
    """「腰围2尺2 臀围90 穿什么码」 on the jeans' page (the probe): the chart's waist and hip
    columns, the larger size of the two."""
    said, _ = advice_for(run_action, JEANS,
                         ("腰围2尺2 臀围90 穿什么码", [("waist_cm", "73", "尺")]))
    assert said.startswith("「高腰牛仔裤」建议选29码:腰围73cm对应29码(裤腰73.5cm)、"
                           "臀围90cm对应27码(臀围90.5cm),按大的选穿着不勒。"), said
    assert "29码裤腰73.5cm、臀围95.5cm" in said and "发一下身高和体重" in said
    said, _ = advice_for(run_action, JEANS, ("腰围2尺2 臀围2尺9", [("waist_cm", "73", "尺")]))
    assert "建议选30码" in said and "臀围96.7cm对应30码" in said, said
    # 「腰围27」 is the trouser size (the NLU reads 27 inches, 69 cm).
    said, _ = advice_for(run_action, JEANS, ("腰围27", [("waist_cm", "69", "inch")]))
    assert said.startswith("「高腰牛仔裤」建议选27码:平时穿27码。"), said
    said, _ = advice_for(run_action, JEANS, ("我一般穿28的", [("size", "28", None)]),
                         slots={"fit": "loose"})
    assert "建议选29码" in said and "再大一码" in said
    said, _ = advice_for(run_action, JEANS, ("腰围110cm", [("waist_cm", "110", "cm")]))
    assert "建议选34码:腰围110cm超出了这款的尺码表(34码裤腰86cm)" in said and "转人工" in said


def test_height_and_weight_refine_the_usual_size_advice(run_action, actions_shop) -> None:
    said, _ = advice_for(run_action, DOWN_JACKET, ("我平时穿XL", [("size", "XL", None)]),
                         ("175 70公斤", [("height_cm", "175", None), ("weight_kg", "70", None)]),
                         slots={"height_cm": "175", "weight_kg": "70"})
    expected = chart_size(actions_shop, DOWN_JACKET, 175, 70)["size"]
    assert f"建议选{expected}码" in said and "您平时穿" not in said


def test_the_advice_names_the_charts_product_not_another_talked_about(run_action) -> None:
    """On the women's jacket's page after 「这款和男士轻薄羽绒服比哪个更暖和」 the advice said
    「「男士轻薄羽绒服」建议选S码」 with the women's chart (the seventh probe)."""
    messages, _ = run_action(ActionSizeAdvice(), size_tracker(
        {"size_product": "P1002", "product": "男士轻薄羽绒服", "height_cm": "160",
         "weight_kg": "48"}))
    said = texts(messages)
    assert said.startswith("「女士长款羽绒服」建议选") and "男士" not in said, said
