"""Body measurements and sizes the way customers write them, and the graph component."""

from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message

from components.quantities import (
    bare_weight_kg,
    cn_to_number,
    extract,
    normalise_height,
    normalise_size,
    normalise_weight,
)
from components.quantity_extractor import QuantityExtractor


def pairs(text):
    return [(q.entity, q.value) for q in extract(text)]


H, W = "height_cm", "weight_kg"

EXPRESSIONS = [
    # heights, every way customers write them
    ("175cm", [(H, "175")]),
    ("175厘米", [(H, "175")]),
    ("175公分", [(H, "175")]),
    ("１７５ｃｍ", [(H, "175")]),  # full-width input method
    ("1米75", [(H, "175")]),
    ("1米7", [(H, "170")]),
    ("1米8", [(H, "180")]),
    ("1米70", [(H, "170")]),
    ("一米七五", [(H, "175")]),
    ("一米七", [(H, "170")]),
    ("一米八二", [(H, "182")]),
    ("一米六八", [(H, "168")]),
    ("1.75m", [(H, "175")]),
    ("1.75米", [(H, "175")]),
    ("1.8M", [(H, "180")]),
    ("身高175", [(H, "175")]),
    ("身高：175", [(H, "175")]),
    ("身高一百七十五", [(H, "175")]),
    ("身高1.75", [(H, "175")]),
    ("175的个子", [(H, "175")]),
    ("我是1.8米的个子", [(H, "180")]),
    ("一百七十五厘米", [(H, "175")]),
    ("140cm", [(H, "140")]),
    ("身高140", [(H, "140")]),
    ("个子不高 一米五八", [(H, "158")]),
    # weights
    ("70公斤", [(W, "70")]),
    ("70kg", [(W, "70")]),
    ("70KG", [(W, "70")]),
    ("65千克", [(W, "65")]),
    ("140斤", [(W, "70")]),
    ("140 斤", [(W, "70")]),
    ("九十斤", [(W, "45")]),
    ("七十公斤", [(W, "70")]),
    ("一百四十斤", [(W, "70")]),
    ("一百二 斤", [(W, "60")]),
    ("两百斤", [(W, "100")]),
    ("八十五斤", [(W, "42.5")]),
    ("65.5kg", [(W, "65.5")]),
    ("130多斤", [(W, "65")]),
    ("体重65", [(W, "65")]),
    ("体重130", [(W, "65")]),  # bare and >= 120: 斤
    ("体重大概130斤", [(W, "65")]),
    ("体重一百二", [(W, "60")]),
    ("体重52.5", [(W, "52.5")]),
    # pairs: first height, then weight
    ("175 70", [(H, "175"), (W, "70")]),
    ("175/70", [(H, "175"), (W, "70")]),
    ("175,140斤", [(H, "175"), (W, "70")]),
    ("我175 130斤", [(H, "175"), (W, "65")]),
    ("170/65kg", [(H, "170"), (W, "65")]),
    ("175cm/65kg", [(H, "175"), (W, "65")]),
    ("175cm 130", [(H, "175"), (W, "65")]),
    ("1米75 70", [(H, "175"), (W, "70")]),
    ("1米7 一百三", [(H, "170"), (W, "65")]),
    ("130斤 175", [(W, "65"), (H, "175")]),
    ("170 60 穿啥码", [(H, "170"), (W, "60")]),
    ("一米七一百三十斤", [(H, "170"), (W, "65")]),  # no space: two numbers, not one
    ("一米六九十斤", [(H, "160"), (W, "45")]),
    ("身高一米六体重九十斤", [(H, "160"), (W, "45")]),
    ("身高175体重140斤穿什么码", [(H, "175"), (W, "70")]),
    ("这件外套,身高175,70公斤穿什么码?", [(H, "175"), (W, "70")]),
    ("身高：175cm 体重：65kg", [(H, "175"), (W, "65")]),
    ("我一米八五 两百斤", [(H, "185"), (W, "100")]),
    ("我25岁 175 65", [(H, "175"), (W, "65")]),
    ("亲，我一米七五😊体重130斤哈", [(H, "175"), (W, "65")]),
    ("亲 在吗 1米65 一百斤 穿啥码哈~", [(H, "165"), (W, "50")]),
    ("他一米七左右 150斤上下 拿哪个码", [(H, "170"), (W, "75")]),
    ("身高170 体重90", [(H, "170"), (W, "90")]),  # BMI 31 beats 15.6: kg
    ("身高160 体重90", [(H, "160"), (W, "45")]),  # BMI 17.6 beats 35: 斤
    ("身高158,体重96,胸围82", [(H, "158"), (W, "48"), ("chest_cm", "82")]),
    # chest / waist / shoulder
    ("胸围96", [("chest_cm", "96")]),
    ("胸围一百", [("chest_cm", "100")]),
    ("腰围78", [("waist_cm", "78")]),
    ("腰围72cm选哪个尺码合适", [("waist_cm", "72")]),
    ("腰围二尺二", [("waist_cm", "73")]),
    ("腰围2尺2", [("waist_cm", "73")]),
    ("腰围2尺2 穿多大的牛仔裤", [("waist_cm", "73")]),
    ("身高1.78m穿多大码", [(H, "178")]),
    ("宝宝18个月,身高85,选哪个码呀", [(H, "85")]),
    ("腰2尺3", [("waist_cm", "77")]),
    ("腰围2尺1寸", [("waist_cm", "70")]),
    ("二尺二的腰", [("waist_cm", "73")]),
    ("腰围29", [("waist_cm", "74")]),  # trouser size in inches
    ("腰围30寸", [("waist_cm", "76")]),
    ("肩宽45cm", [("shoulder_cm", "45")]),
    ("胸围96 腰围78 肩宽45", [("chest_cm", "96"), ("waist_cm", "78"), ("shoulder_cm", "45")]),
    # body shape and fit
    ("偏瘦", [("body_shape", "slim")]),
    ("我比较瘦", [("body_shape", "slim")]),
    ("身材苗条", [("body_shape", "slim")]),
    ("微胖", [("body_shape", "heavy")]),
    ("偏胖 200斤 有能穿的码吗", [("body_shape", "heavy"), (W, "100")]),
    ("肚子有点肉", [("body_shape", "heavy")]),
    ("肚子大", [("body_shape", "heavy")]),
    ("身材标准", [("body_shape", "regular")]),
    ("不胖不瘦", [("body_shape", "regular")]),
    ("身材匀称", [("body_shape", "regular")]),
    ("喜欢宽松点", [("fit", "loose")]),
    ("想要oversize的效果", [("fit", "loose")]),
    ("想穿大一点", [("fit", "loose")]),
    ("喜欢修身的", [("fit", "fitted")]),
    ("要紧身一点", [("fit", "fitted")]),
    ("合身就行", [("fit", "fitted")]),
    # sizes
    ("S", [("size", "S")]),
    ("m码", [("size", "M")]),
    ("L号", [("size", "L")]),
    ("xl码有吗", [("size", "XL")]),
    ("XXL", [("size", "XXL")]),
    ("帮我换成2XL", [("size", "XXL")]),
    ("3XL有吗", [("size", "XXXL")]),
    ("XXXL", [("size", "XXXL")]),
    ("188cm 95kg 有没有4XL", [(H, "188"), (W, "95"), ("size", "4XL")]),
    ("穿m还是l", [("size", "M"), ("size", "L")]),
    ("大码", [("size", "L")]),
    ("加大码", [("size", "XL")]),
    ("加大", [("size", "XL")]),
    ("小码", [("size", "S")]),
    ("中码", [("size", "M")]),
    ("均码", [("size", "均码")]),
    ("38码", [("size", "38")]),
    ("42码", [("size", "42")]),
    ("29码(腰)", [("size", "29")]),
    ("42号的鞋", [("size", "42")]),
    ("我平时穿29", [("size", "29")]),
    ("170/92A", [("size", "170/92A")]),
    ("我160 100斤 穿S还是M", [(H, "160"), (W, "50"), ("size", "S"), ("size", "M")]),
    ("我老公185 90公斤 穿XL够吗", [(H, "185"), (W, "90"), ("size", "XL")]),
    ("我穿衣服喜欢宽松点 一米八二 一百六十斤", [("fit", "loose"), (H, "182"), (W, "80")]),
]


@pytest.mark.parametrize("text, expected", EXPRESSIONS)
def test_expressions(text, expected):
    assert pairs(text) == expected


NOT_BODY = [
    "订单361204587712340001",
    "订单号:361204587712340001 手机尾号5678",
    "尾号5678",
    "99元",
    "这个175块能便宜点吗",
    "价格175",
    "3件",
    "我买了3件",
    "11月20号",
    "11月20号下的单",
    "下单时间2024年11月11日",
    "6.18活动",
    "满200减30",
    "满199减20 我170",
    "明天10点前发货吗",
    "充电宝20000毫安",
    "65W氮化镓充电器",
    "5L空气炸锅",
    "S8扫地机器人",
    "K87机械键盘",
    "1米8的床",
    "2米的床",
    "裤长100cm",
    "衣长70cm",
    "1.5mm",
    "这箱子重30斤",
    "这件会大一点吗",
    "尺码偏大一点吗",
    "显瘦吗",
    "显胖吗",
    "胖瘦都能穿吗",
    "不合身",
    "最大码是多少",
    "穿多大码",
    "卫衣宽松吗",
    "是修身款吗",
    "卫衣是oversize的吗",
    "175",  # alone: left to DIET's label
    "身高170-180",  # a range, not a height
]


@pytest.mark.parametrize("text", NOT_BODY)
def test_not_a_body_measurement(text):
    assert pairs(text) == []


@pytest.mark.parametrize("text, entity, raw", [
    ("亲，我一米七五😊体重130斤哈", H, "一米七五"),
    ("亲，我一米七五😊体重130斤哈", W, "130斤"),
    ("身高175体重140斤穿什么码", H, "175"),
    ("一百二 斤", W, "一百二 斤"),
    ("腰围二尺二", "waist_cm", "二尺二"),
    ("xl码有吗", "size", "xl码"),
    ("１７５ｃｍ", H, "１７５ｃｍ"),
])
def test_offsets_point_at_the_original_text(text, entity, raw):
    [quantity] = [q for q in extract(text) if q.entity == entity]
    assert text[quantity.start:quantity.end] == quantity.text == raw


def test_units_and_guesses_are_reported():
    height, weight = extract("身高175 体重130")
    assert (height.unit, height.assumed) == ("cm", True)
    assert (weight.unit, weight.assumed) == ("斤", True)
    assert extract("140斤")[0].unit == "斤" and not extract("140斤")[0].assumed


@pytest.mark.parametrize("chars, number", [
    ("一百七十五", 175), ("一百七", 170), ("一百二", 120), ("一百零五", 105), ("两百", 200),
    ("九十", 90), ("十五", 15), ("一七五", 175), ("一二十", None), ("百", None),
    ("一点七五", 1.75), ("七十点五", 70.5),
])
def test_chinese_numerals(chars, number):
    assert cn_to_number(chars) == number


@pytest.mark.parametrize("text, height, weight", [
    ("身高一点七五米", 175, None),
    ("身高一点七五 体重一百四十斤", 175, 70),
    ("一点八米 七十五公斤", 180, 75),
    ("快一点 身高175", 175, None),  # 一点 without digits is not a number
])
def test_chinese_decimal_heights(text, height, weight):
    found = {q.entity: q.value for q in extract(text)}
    assert found.get("height_cm") == (str(height) if height else None)
    assert found.get("weight_kg") == (str(weight) if weight else None)


@pytest.mark.parametrize("number, height, kg, unit", [
    (65, None, 65, "kg"), (79, None, 79, "kg"), (90, None, 90, "kg"), (100, None, 50, "斤"),
    (130, None, 65, "斤"), (120, 190, 60, "斤"), (90, 175, 90, "kg"), (90, 158, 45, "斤"),
    (100, 185, 100, "kg"), (100, 165, 50, "斤"),
])
def test_bare_weight_rule(number, height, kg, unit):
    assert bare_weight_kg(number, height) == (kg, unit)


@pytest.mark.parametrize("normalise, raw, value", [
    (normalise_height, "175", "175"), (normalise_height, "160左右", "160"),
    (normalise_height, "1米75", "175"), (normalise_height, "70", None),
    (normalise_weight, "60", "60"), (normalise_weight, "140斤", "70"),
    (normalise_weight, "130", "65"), (normalise_weight, "5", None),
    (normalise_size, "XL码", "XL"), (normalise_size, "29", "29"), (normalise_size, "加大码", "XL"),
    (normalise_size, "大一码", None),
])
def test_normalising_spans_labelled_by_diet(normalise, raw, value):
    assert normalise(raw) == value


# --- the graph component ------------------------------------------------------------------


@pytest.fixture
def component(tmp_path):
    storage = LocalModelStorage(tmp_path)
    return QuantityExtractor.create(QuantityExtractor.get_default_config(), storage,
                                    Resource("quantities"), ExecutionContext(GraphSchema({}), "t"))


def diet(entity, value, start, end):
    return {"entity": entity, "value": value, "start": start, "end": end,
            "extractor": "DIETClassifier", "confidence_entity": 0.9}


def run(component, text, entities):
    message = Message.build(text=text)
    message.set("entities", entities)
    component.process([message])
    return message.get("entities")


def test_component_replaces_overlapping_diet_entities(component):
    text = "身高175体重140斤穿什么码"
    entities = run(component, text, [diet("height", "175", 2, 5), diet("weight", "140斤", 7, 11)])
    assert [(e["entity"], e["value"], e["start"], e["end"], e["extractor"]) for e in entities] == [
        ("height_cm", "175", 2, 5, "QuantityExtractor"),
        ("weight_kg", "70", 7, 11, "QuantityExtractor"),
    ]
    assert entities[1]["additional_info"] == {"unit": "斤", "assumed": False}


def test_component_keeps_other_entities_and_normalises_sizes(component):
    text = "开衫是均码吗 我一米六五 订单361204587712340001"
    entities = run(component, text, [
        diet("product", "女士针织开衫", 0, 2), diet("size", "均码", 3, 5),
        diet("height", "一米六五", 8, 12), diet("order_id", "361204587712340001", 15, 33),
    ])
    assert [(e["entity"], e["value"], e["start"], e["end"]) for e in entities] == [
        ("product", "女士针织开衫", 0, 2), ("size", "均码", 3, 5), ("height_cm", "165", 8, 12),
        ("order_id", "361204587712340001", 15, 33),
    ]
    assert entities[0]["extractor"] == "DIETClassifier"
    assert entities[1]["extractor"] == entities[2]["extractor"] == "QuantityExtractor"


def test_component_replaces_a_diet_span_that_only_partly_overlaps(component):
    entities = run(component, "想换XL码", [diet("size", "XL", 2, 4)])
    assert [(e["entity"], e["value"], e["start"], e["end"]) for e in entities] == [
        ("size", "XL", 2, 5)]


def test_component_reads_bare_numbers_diet_labelled(component):
    # Alone, "160" could be anything; DIET's label (answer to "身高多少") decides the type.
    entities = run(component, "160左右", [diet("height", "160", 0, 3)])
    assert [(e["entity"], e["value"], e["extractor"]) for e in entities] == [
        ("height_cm", "160", "QuantityExtractor")]
    # ... and DIET's height tells whether its bare weight is kg or 斤 (here 90斤 = 45 kg).
    entities = run(component, "我160 体重大约是差不多那个90吧",
                   [diet("weight", "90", 15, 17), diet("height", "160", 1, 4)])
    assert [(e["entity"], e["value"]) for e in entities] == [("height_cm", "160"),
                                                             ("weight_kg", "45")]


def test_component_keeps_unreadable_diet_entities_raw(component):
    entities = run(component, "换大一码", [diet("size", "大一码", 1, 4)])
    assert entities == [diet("size", "大一码", 1, 4)]


def test_component_adds_nothing_to_unrelated_messages(component):
    text = "订单361204587712340001 尾号5678 还没发货"
    entities = [diet("order_id", "361204587712340001", 2, 20), diet("phone_tail", "5678", 23, 27)]
    assert run(component, text, list(entities)) == entities


def test_height_and_weight_together_ask_for_a_size(component, tmp_path):
    from components.measures import MeasuresAskSize

    asks = MeasuresAskSize.create(MeasuresAskSize.get_default_config(),
                                  LocalModelStorage(tmp_path), Resource("measures"),
                                  ExecutionContext(GraphSchema({}), "t"))

    def intent_of(text, intent):
        message = Message.build(text=text)
        message.set("entities", [])
        message.set("intent", {"name": intent, "confidence": 0.4})
        message.set("intent_ranking", [{"name": intent, "confidence": 0.4},
                                       {"name": "ask_size", "confidence": 0.39}])
        component.process([message])
        asks.process([message])
        return message.get("intent")["name"], message.get("intent_ranking")[0]["name"]

    # Too close to call, or read as a product fact: the measures say it is a size question.
    assert intent_of("一米七五 一百三十斤 羽绒服m还是l", "nlu_fallback") == ("ask_size", "ask_size")
    assert intent_of("卫衣有没有xl的 我180 75kg", "product_question")[0] == "ask_size"
    # An answer that also names the garment or a size, or asks: a size question.
    assert intent_of("一米七五 一百三十斤 羽绒服m还是l", "inform")[0] == "ask_size"
    assert intent_of("175 70kg 穿什么码", "inform")[0] == "ask_size"
    # One measure alone, a bare answer inside a form, an exchange: left as they are.
    assert intent_of("我180 有xl的吗", "product_question")[0] == "product_question"
    assert intent_of("175 70kg", "inform")[0] == "inform"
    assert intent_of("身高175 140斤 买的羽绒服小了 换大一码", "request_exchange")[0] == \
        "request_exchange"
