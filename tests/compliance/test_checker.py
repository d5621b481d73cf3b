"""ComplianceChecker against the shipped compliance/rules.yml, plus rules-file validation."""

from __future__ import annotations

import copy
import logging
import time
from pathlib import Path
from typing import Any, Dict, Optional

import pytest
import yaml

from compliance import (
    ALL_CATEGORIES,
    DEFAULT_RULES_PATH,
    ComplianceChecker,
    get_checker,
)
from service_common.config import ConfigError


@pytest.fixture(scope="module")
def checker() -> ComplianceChecker:
    return ComplianceChecker.from_file()


# What a customer-service bot legitimately says: must pass unchanged.
ALLOWED = [
    ("最近发货的订单比较多,请您耐心等待", None),
    ("现货最晚明天发货", None),
    ("身高超出尺码表范围,最接近的是S码", None),
    ("最迟周三送达", None),
    ("最早明天就能到", None),
    ("江浙沪最快明天到", None),
    ("最快3天送达", None),
    ("最快当天发货", None),
    ("最多可退3件", None),
    ("最少2件起购", None),
    ("请发送下单手机号的最后4位", None),
    ("退款最长需要7个工作日", None),
    ("具体以最终页面显示的价格为准", None),
    ("有进展会第一时间通知您", None),
    ("第一时间为您处理", None),
    ("这是您在本店的第一个订单", None),
    ("第一次购买可以领新人券", None),
    ("分期的第一期在下个月还款", None),
    ("物流最新动态:已到达杭州转运中心", None),
    ("这是最新的物流信息", None),
    ("请把耳机固件升级到最新版本", None),
    ("我们会尽最大努力为您处理", None),
    ("会以最快速度为您处理", None),
    ("给您致以最诚挚的歉意", None),
    ("建议您最好先拍照再签收", None),
    ("最好在签收时当面验货哦", None),
    ("最大输出22.5W,兼容PD快充", "electronics"),
    ("单口最大65W", "家电/电子"),
    ("主动降噪最高42dB", "electronics"),
    ("续航约60分钟(最低档)", "home_appliance"),
    ("满300最高可减50元", None),
    ("这件T恤是100%纯棉的", "clothing"),
    ("面料:100%锦纶;填充物:90%白鸭绒", "clothing"),
    ("成分:棉100%", None),
    ("100%新疆长绒棉,克重260g", None),
    ("配料:100%阿拉比卡咖啡豆", "food"),
    ("价格比去年上涨了1100%", None),
    ("这款很显瘦,修身版型", "clothing"),
    ("首单立减5元", None),
    ("正品保障,支持专柜验货", None),
    ("最佳食用期为开封后7天", "食品"),
    ("拒收后全额退款", None),
    ("除螨刷、缝隙吸嘴各一个", "home_appliance"),
    ("清爽防晒霜SPF50", "cosmetics"),
    ("亲,您好!有什么可以帮您?", None),
    ("", None),
]


@pytest.mark.parametrize("text,category", ALLOWED)
def test_customer_service_phrases_pass_unchanged(
    checker: ComplianceChecker, text: str, category: Optional[str]
) -> None:
    verdict = checker.check(text, category)
    assert verdict.hits == (), [(h.rule_id, h.term) for h in verdict.hits]
    assert verdict.allowed and not verdict.blocked and verdict.text == text


# Banned claims: (text, product category, first rule id, matched term).
BLOCKED = [
    ("全网第一的销量", None, "abs.ranking_first", "全网第一"),
    ("销量第一", None, "abs.ranking_first", "销量第一"),
    ("行业NO.1", None, "abs.ranking_first", "NO.1"),
    ("ＴＯＰ１爆款", None, "abs.ranking_first", "ＴＯＰ１"),
    ("我们是第一", None, "abs.first", "第一"),
    ("全网最低价", None, "abs.most", "最"),
    ("最便宜的一款", None, "abs.most", "最"),
    ("这是最快的充电宝", None, "abs.most", "最"),
    ("最佳效果", None, "abs.most", "最"),
    ("最高品质", None, "abs.most", "最"),
    ("唯一指定品牌", None, "abs.only_first_of_kind", "唯一"),
    ("国内首个获得认证", None, "abs.only_first_of_kind", "首个"),
    ("国家级品质", None, "abs.national_world_level", "国家级"),
    ("世界级工艺", None, "abs.national_world_level", "世界级"),
    ("驰名商标", None, "abs.state_endorsement", "驰名商标"),
    ("100%有效", None, "abs.hundred_percent", "100%"),
    ("１００％满意", None, "abs.hundred_percent", "１００％"),
    ("百分百满意", None, "abs.hundred_percent", "百分百"),
    ("永久保修", None, "abs.permanent", "永久"),
    ("终身质保", None, "abs.permanent", "终身质保"),
    ("这款能治疗失眠", None, "med.treatment", "治疗"),
    ("减肥茶", None, "med.weight_loss", "减肥"),
    ("减肥茶", "食品", "med.weight_loss", "减肥"),
    ("减肥茶", "保健品", "med.weight_loss", "减肥"),
    ("瘦身霜", "cosmetics", "med.weight_loss", "瘦身"),
    ("治愈率高", None, "med.treatment", "治愈"),
    ("药效显著", None, "med.drug_effect", "药效"),
    ("消炎止痛", None, "med.disease_claims", "消炎"),
    ("长期喝能抗癌", None, "med.disease_claims", "抗癌"),
    ("可以降血压", None, "med.disease_claims", "降血压"),
    ("祛斑效果好", None, "med.disease_claims", "祛斑"),
    ("能改善失眠", None, "med.disease_claims", "改善失眠"),
    ("医用级材质", None, "med.medical_grade", "医用级"),
    ("保证有效", None, "promise.guaranteed_effect", "保证有效"),
    ("保证瘦10斤", None, "promise.guaranteed_effect", "保证瘦"),
    ("无效退款", None, "promise.refund_if_ineffective", "无效退款"),
    ("没效果全额退款", None, "promise.refund_if_ineffective", "没效果全额退款"),
    ("稳赚不赔", None, "promise.no_risk", "稳赚不赔"),
    ("零风险试用", None, "promise.no_risk", "零风险"),
    ("7天见效", None, "promise.instant_effect", "7天见效"),
    ("一次见效", None, "promise.instant_effect", "一次见效"),
    ("无副作用", None, "promise.instant_effect", "无副作用"),
]


@pytest.mark.parametrize("text,category,rule_id,term", BLOCKED)
def test_banned_claims_are_blocked(
    checker: ComplianceChecker, text: str, category: Optional[str], rule_id: str, term: str
) -> None:
    verdict = checker.check(text, category)
    assert verdict.blocked and not verdict.allowed
    first = verdict.hits[0]
    assert (first.rule_id, first.term) == (rule_id, term)
    assert text[first.start:first.end] == term


REWRITES = [
    ("这是最好的面霜", "这是很受欢迎的面霜", "abs.best_rewrite"),
    ("最受欢迎的款式", "很受欢迎的款式", "abs.most_popular"),
    ("这是最佳选择", "这是不错的选择", "abs.best_choice"),
    ("最划算的套餐", "很划算的套餐", "abs.best_value"),
    ("最热销的一款", "热销的一款", "abs.best_seller"),
    ("这是最新款", "这是新款", "abs.newest_model"),
    ("最新到货的外套", "新到货的外套", "abs.newest_arrival"),
    ("绝对正品", "正品", "abs.absolutely"),
    ("我们绝对不会泄露您的信息", "我们不会泄露您的信息", "abs.absolutely"),
    ("顶级面料", "优质面料", "abs.top_grade"),
    ("极品红茶", "精选红茶", "abs.premium_grade"),
    ("万能充电器", "多功能充电器", "abs.universal"),
    ("100%正品保证", "正品保障", "abs.genuine_guarantee"),
    ("本店100%正品", "本店正品保障", "abs.genuine_guarantee"),
]


@pytest.mark.parametrize("text,expected,rule_id", REWRITES)
def test_rewrites(checker: ComplianceChecker, text: str, expected: str, rule_id: str) -> None:
    verdict = checker.check(text)
    assert [h.rule_id for h in verdict.hits] == [rule_id]
    assert verdict.text == expected
    assert not verdict.blocked and not verdict.allowed and verdict.rewritten
    assert checker.guard(text) == expected


def test_several_rewrites_keep_order_and_spans(checker: ComplianceChecker) -> None:
    text = "亲,这款顶级面料的外套是最好的,也是最新款"
    verdict = checker.check(text)
    assert [h.rule_id for h in verdict.hits] == [
        "abs.top_grade", "abs.best_rewrite", "abs.newest_model"]
    assert [text[h.start:h.end] for h in verdict.hits] == ["顶级", "最好的", "最新款"]
    assert verdict.text == "亲,这款优质面料的外套是很受欢迎的,也是新款"


def test_block_wins_over_rewrite_but_rewrites_are_applied(checker: ComplianceChecker) -> None:
    verdict = checker.check("最好的面霜,能治疗痘痘")
    assert verdict.blocked
    assert verdict.text == "很受欢迎的面霜,能治疗痘痘"
    assert checker.guard("最好的面霜,能治疗痘痘") == checker.fallback


# Product-category lists: (text, category, expected first rule id or None for allowed).
PER_CATEGORY = [
    ("这款面霜能美白", None, None),
    ("这款面霜能美白", "化妆品", "cosmetics.special_use"),
    ("这款面霜能美白", "cosmetics", "cosmetics.special_use"),
    ("这款面霜能美白", "美妆护肤", "cosmetics.special_use"),
    ("这款面霜能美白", "COSMETICS", "cosmetics.special_use"),
    ("美白丸", "食品", "food.health_claims"),
    ("纯天然成分", None, None),
    ("纯天然成分", "化妆品", "cosmetics.unprovable"),
    ("纯天然成分", "food", "food.unprovable"),
    ("除螨洗面奶", "cosmetics", "cosmetics.medical_claims"),
    ("增强免疫力", None, None),
    ("增强免疫力", "食品", "food.health_claims"),
    ("增强免疫力", "保健品", "supplement.health_claims"),
    ("有助于增强免疫力", "保健品", None),
    ("有助于增强免疫力", "食品", "food.health_claims"),
    ("排毒养颜", "保健食品", "supplement.health_claims"),
    ("杀菌率高", None, None),
    ("杀菌率高", "家电/电子", "appliance.test_report_claims"),
    ("杀菌率高", "home_appliance", "appliance.test_report_claims"),
    ("零辐射护眼屏", "electronics", "appliance.test_report_claims"),
    ("零噪音运行", "3C", "appliance.absolute_specs"),
    ("这款面霜能美白", ALL_CATEGORIES, "cosmetics.special_use"),
    ("有助于增强免疫力", ALL_CATEGORIES, "food.health_claims"),
]


@pytest.mark.parametrize("text,category,rule_id", PER_CATEGORY)
def test_product_category_lists(
    checker: ComplianceChecker, text: str, category: Optional[str], rule_id: Optional[str]
) -> None:
    verdict = checker.check(text, category)
    if rule_id is None:
        assert verdict.allowed, [(h.rule_id, h.term) for h in verdict.hits]
    else:
        assert verdict.blocked and verdict.hits[0].rule_id == rule_id


def test_unknown_product_category_uses_general_rules_and_warns_once(
    checker: ComplianceChecker, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="compliance"):
        assert checker.check("这款面霜能美白", "玩具").allowed
        assert checker.check("最好的玩具", "玩具").hits[0].rule_id == "abs.best_rewrite"
    warnings = [r for r in caplog.records if "unknown product category" in r.getMessage()]
    assert len(warnings) == 1


def test_resolve_category(checker: ComplianceChecker) -> None:
    assert checker.resolve_category("cosmetics") == "化妆品"
    assert checker.resolve_category(" Food ") == "食品"
    assert checker.resolve_category(None) is None
    assert checker.resolve_category("*") == ALL_CATEGORIES


def test_hit_fields(checker: ComplianceChecker) -> None:
    hit = checker.check("亲,这是全网第一").hits[0]
    assert hit.category == "广告法极限词"
    assert hit.action == "block" and hit.replacement is None
    assert hit.span == (4, 8)


def test_case_and_full_width_forms(checker: ComplianceChecker) -> None:
    for text in ("top1", "Top 1", "ＮＯ．１", "no.1"):
        assert checker.check(text).hits[0].rule_id == "abs.ranking_first", text
    assert checker.check("TOP10榜单").allowed


# ---------------------------------------------------------------------- guard


def test_guard_passes_clean_text_without_logging(
    checker: ComplianceChecker, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="compliance"):
        assert checker.guard("现货最晚明天发货") == "现货最晚明天发货"
    assert not caplog.records


def test_guard_blocks_with_fallback_and_logs_no_message(
    checker: ComplianceChecker, caplog: pytest.LogCaptureFixture
) -> None:
    text = "王先生 13800001234,这款能治疗失眠,全网第一"
    with caplog.at_level(logging.INFO, logger="compliance"):
        sent = checker.guard(text, "保健品")
    assert sent == checker.fallback
    assert checker.check(sent, ALL_CATEGORIES).allowed
    [record] = caplog.records
    assert record.name == "compliance" and record.levelno == logging.WARNING
    event = record.compliance  # type: ignore[attr-defined]
    assert event["action"] == "block" and event["product_category"] == "保健品"
    assert [(h["rule_id"], h["term"], h["action"]) for h in event["hits"]] == [
        ("med.treatment", "治疗", "block"), ("abs.ranking_first", "全网第一", "block")]
    # Personal data in the message never reaches the log.
    assert "13800001234" not in caplog.text and "王先生" not in caplog.text


def test_guard_rewrite_logs_info(
    checker: ComplianceChecker, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="compliance"):
        assert checker.guard("这是最好的面霜") == "这是很受欢迎的面霜"
    [record] = caplog.records
    assert record.levelno == logging.INFO
    assert record.compliance["action"] == "rewrite"  # type: ignore[attr-defined]
    assert "abs.best_rewrite(最好的)" in record.getMessage()


def test_get_checker_is_cached() -> None:
    assert get_checker() is get_checker()
    assert get_checker().source == str(DEFAULT_RULES_PATH)


def test_check_is_fast(checker: ComplianceChecker) -> None:
    text = ("亲,您的订单已发货,物流最新动态:快件已到达杭州转运中心,预计明天送达。"
            "有任何问题第一时间联系我们,最晚明天会有更新哦~") * 2
    rounds = 500
    started = time.perf_counter()
    for _ in range(rounds):
        checker.check(text, "cosmetics")
    per_message = (time.perf_counter() - started) / rounds
    assert per_message < 0.002  # ~0.05 ms measured; generous for shared CI cores


# ---------------------------------------------------------------------- rules-file validation


def minimal_rules() -> Dict[str, Any]:
    return {
        "version": 1,
        "fallback": "请稍等,人工客服为您解答。",
        "rule_categories": ["广告法极限词"],
        "allow": [{"id": "allow.recent", "terms": ["最近"]}],
        "rules": [
            {"id": "abs.most", "category": "广告法极限词", "terms": ["最"], "action": "block"},
            {"id": "abs.best", "category": "广告法极限词", "terms": ["最好的"],
             "action": "rewrite", "replacement": "很好的"},
        ],
        "product_categories": {"化妆品": {"aliases": ["cosmetics"], "rules": [
            {"id": "cos.white", "category": "广告法极限词", "terms": ["美白"],
             "action": "block"}]}},
    }


def write_rules(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_minimal_rules_load_from_file(tmp_path: Path) -> None:
    checker = ComplianceChecker.from_file(write_rules(tmp_path, minimal_rules()))
    assert checker.check("最近").allowed
    assert checker.check("最好的").text == "很好的"
    assert checker.check("美白", "cosmetics").blocked
    assert checker.check("美白").allowed


def broken(change) -> Dict[str, Any]:
    data = copy.deepcopy(minimal_rules())
    change(data)
    return data


INVALID = [
    ("unknown action", lambda d: d["rules"][0].update(action="delete"),
     "rules[0].action: unexpected value; permitted: 'block', 'rewrite'"),
    ("empty term", lambda d: d["rules"][0].update(terms=["最", " "]),
     "rules[0].terms[1]: empty term"),
    ("bad regex", lambda d: d["rules"][0].update(patterns=["最(好"]),
     "rules[0].patterns[0]: bad regex '最(好'"),
    ("regex matching nothing", lambda d: d["rules"][0].update(patterns=["a*"]),
     "matches empty text"),
    ("backreference", lambda d: d["rules"][0].update(patterns=[r"(好)\1"]),
     "backreference"),
    ("rewrite without replacement", lambda d: d["rules"][1].pop("replacement"),
     "rules[1].replacement: action 'rewrite' needs a 'replacement'"),
    ("replacement on block", lambda d: d["rules"][0].update(replacement="x"),
     "rules[0].replacement: 'replacement' is only used with action 'rewrite'"),
    ("banned replacement", lambda d: d["rules"][1].update(replacement="最棒的"),
     "rule 'abs.best': replacement '最棒的' breaks rule 'abs.most'"),
    ("unknown category", lambda d: d["rules"][0].update(category="极限"),
     "rules[0].category: category '极限' is not one of"),
    ("no terms", lambda d: d["rules"][0].pop("terms"),
     "rules[0]: needs at least one term or pattern"),
    ("number term", lambda d: d["rules"][0].update(terms=[100]),
     "rules[0].terms[0]: must be text (quote numbers"),
    ("typo key", lambda d: d["rules"][0].update(term=["x"]), "rules[0].term: unknown key"),
    ("bad id", lambda d: d["rules"][0].update(id="Abs Most"), "rules[0].id: string does not"),
    ("duplicate id", lambda d: d["rules"][1].update(id="abs.most"),
     "rules[1].id: rule id 'abs.most' is used twice (rules[0] and rules[1])"),
    ("duplicate term", lambda d: d["rules"][1].update(terms=["最"]),
     "term '最' is in both 'abs.most' and 'abs.best'"),
    ("allow equals rule", lambda d: d["allow"][0].update(terms=["最"]),
     "term '最' is in both 'allow.recent' and 'abs.most'"),
    ("fallback breaks a rule", lambda d: d.update(fallback="我们是最棒的"),
     "fallback: fallback text breaks rule 'abs.most'"),
    ("empty fallback", lambda d: d.update(fallback=""), "fallback: ensure this value has at"),
    ("wrong version", lambda d: d.update(version=2), "version: unexpected value; permitted: 1"),
    ("unknown top-level key", lambda d: d.update(rulez=[]), "rulez: unknown key"),
    ("product category typo", lambda d: d["product_categories"]["化妆品"].update(rule=[]),
     "product_categories.化妆品.rule: unknown key"),
    ("alias collision", lambda d: d["product_categories"].update(
        {"食品": {"aliases": ["cosmetics"]}}), "alias 'cosmetics' is used by both"),
    ("product rule error names it", lambda d: d["product_categories"]["化妆品"]["rules"][0]
     .update(action="warn"), "product_categories.化妆品.rules[0].action: unexpected value"),
]


@pytest.mark.parametrize("name,change,message", INVALID, ids=[case[0] for case in INVALID])
def test_invalid_rules_name_the_file_and_path(
    tmp_path: Path, name: str, change, message: str
) -> None:
    path = write_rules(tmp_path, broken(change))
    with pytest.raises(ConfigError) as error:
        ComplianceChecker.from_file(path)
    assert str(error.value).startswith(str(path) + ":"), str(error.value)
    assert message in str(error.value)


def test_a_mistake_names_its_line(tmp_path: Path) -> None:
    path = write_rules(tmp_path, broken(lambda d: d["rules"][1].update(action="delete")))
    line = next(number for number, text in enumerate(path.read_text().splitlines(), 1)
                if "delete" in text)
    with pytest.raises(ConfigError, match=f"^{path}:{line}: rules\\[1\\].action: "):
        ComplianceChecker.from_file(path)


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("rules: [\n  - id: x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid YAML"):
        ComplianceChecker.from_file(bad)
    with pytest.raises(ConfigError, match="cannot read the file"):
        ComplianceChecker.from_file(tmp_path / "missing.yml")


def test_shipped_rules_file_is_valid() -> None:
    data = yaml.safe_load(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))
    checker = ComplianceChecker.from_dict(data)
    ids = [e.id for e in checker.entries]
    assert len(ids) == len(set(ids))
    assert set(checker.categories) == {"化妆品", "食品", "保健品", "家电/电子", "服装"}
    # The catalogue's category codes resolve without a warning.
    for code in ("clothing", "electronics", "cosmetics", "food", "home_appliance"):
        assert checker.resolve_category(code) in checker.categories
