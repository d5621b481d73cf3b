"""Promotion rules (shop/promotions.yml), the 满减 quote, coupons as a balance; the rules
agree with the assistant's FAQ texts."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from shop_api_helpers import assert_error, call, day_of, get, post, today

from compliance import ALL_CATEGORIES, get_checker
from service_common.config import ConfigError
from shop.promotions import (
    DEFAULT_PATH,
    CouponOffer,
    Line,
    PromotionBook,
    load_rules,
    parse_rules,
    quote,
)

ROOT = Path(__file__).resolve().parents[2]


def assert_compliant(text: str) -> None:
    verdict = get_checker().check(text, ALL_CATEGORIES)
    assert not verdict.hits, (text, verdict.hits)


def texts_of(value) -> Iterator[str]:
    """Every string in a JSON document (all of them may reach a customer)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from texts_of(item)
    elif isinstance(value, list):
        for item in value:
            yield from texts_of(item)


# ---------------------------------------------------------------- the shipped rules


def test_shipped_rules_agree_with_the_faq():
    """The bot's FAQ says 实付满49元包邮 / 6元运费 / remote regions excluded: the rules the
    shop computes with must say the same. Several shop coupons never stack (what the bot
    has always told customers: 多张券不能叠加使用)."""
    faq = yaml.safe_load((ROOT / "data/nlu/faq.yml").read_text(encoding="utf-8"))
    shipping_text = faq["responses"]["utter_faq/shipping_fee"][0]["text"]
    rules = {rule.kind: rule for rule in load_rules(DEFAULT_PATH)}

    shipping = rules["free_shipping"]
    threshold, fee = re.search(r"满(\d+)元包邮.*?收(\d+)元运费", shipping_text).groups()
    assert (shipping.threshold, shipping.fee) == (Decimal(threshold), Decimal(fee))
    assert "实付" in shipping_text  # free shipping is judged after discounts, as quoted
    for region in shipping.excluded_regions:
        assert region in shipping_text
    assert rules["stacking"].multiple_coupons is False
    assert rules["stacking"].coupon_with_full_reduction is True


def test_shipped_rule_texts_pass_compliance():
    for rule in load_rules(DEFAULT_PATH):
        for text in texts_of(rule.to_json(date(2025, 3, 10))):
            assert_compliant(text)


# ---------------------------------------------------------------- API


def test_promotions_lists_the_active_rules(shop_server):
    result = get(shop_server, "/api/promotions")
    assert result["date"] == today().isoformat()
    rules = {rule["kind"]: rule for rule in result["promotions"]}
    assert result["count"] == len(result["promotions"]) == 4
    reduction = rules["full_reduction"]
    assert [(t["threshold"], t["discount"], t["text"]) for t in reduction["tiers"]] == [
        (199.0, 20.0, "满199减20"), (399.0, 50.0, "满399减50")]
    assert reduction["excluded_categories"] == ["food"]
    assert reduction["excluded_categories_text"] == ["食品"]
    # A window relative to today: started three days ago, 27 days to go.
    assert reduction["starts_on"] == (today() - timedelta(days=3)).isoformat()
    assert reduction["ends_on"] == (today() + timedelta(days=27)).isoformat()
    assert "满199减20、满399减50" in reduction["text"] and "食品" in reduction["text"]
    coupon = rules["new_customer_coupon"]
    assert (coupon["amount"], coupon["threshold"], coupon["valid_days"]) == (5.0, 0.0, 30)
    shipping = rules["free_shipping"]
    assert (shipping["threshold"], shipping["fee"]) == (49.0, 6.0)
    assert "实付满49元包邮" in shipping["text"] and "新疆" in shipping["text"]
    assert rules["stacking"]["text"] == "店铺券与满减可叠加，多张店铺券不可叠加"
    for text in texts_of(result):
        assert_compliant(text)


def test_quote_reached_tier_and_next(shop_server):
    result = get(shop_server, "/api/promotions/quote?amount=258&category=clothing")
    assert (result["amount"], result["eligible_amount"], result["discount"]) == (
        258.0, 258.0, 20.0)
    assert result["full_reduction"]["text"] == "满199减20"
    assert result["next_tier"] == {"threshold": 399.0, "discount": 50.0, "missing": 141.0,
                                   "text": "再买141元可减50元"}
    assert (result["payable"], result["shipping_fee"], result["free_shipping"]) == (
        238.0, 0.0, True)
    assert result["total"] == 238.0 and result["coupon"] is None
    assert result["text"] == "商品金额258元，满199元可减20元，实付238元，包邮。再买141元可减50元。"
    assert (result["applied_text"], result["next_text"]) == ("满199减20", "再买141元可减50元")
    near = get(shop_server, "/api/promotions/quote?amount=358")
    assert near["next_tier"]["text"] == "再买41元可减50元"
    top = get(shop_server, "/api/promotions/quote?amount=450.5")
    assert (top["discount"], top["next_tier"], top["payable"]) == (50.0, None, 400.5)


def test_quote_below_tiers_excluded_category_and_shipping(shop_server):
    small = get(shop_server, "/api/promotions/quote?amount=30&category=clothing")
    assert small["full_reduction"] is None and small["discount"] == 0.0
    assert small["applied_text"] is None
    assert small["next_tier"]["missing"] == 169.0
    assert (small["shipping_fee"], small["free_shipping_missing"], small["total"]) == (
        6.0, 19.0, 36.0)
    assert "另加运费6元（再买19元即可包邮）" in small["text"]
    food = get(shop_server, "/api/promotions/quote?amount=258&category=food")
    assert (food["eligible_amount"], food["excluded_amount"], food["discount"]) == (
        0.0, 258.0, 0.0)
    assert "食品类商品不参与满减" in food["notes"]
    assert "食品类除外" in food["next_tier"]["text"]
    # Free shipping is judged on what is paid after the 满减: 200 - 20 = 180 still ships free.
    remote = get(shop_server, "/api/promotions/quote?amount=200&province=新疆维吾尔自治区")
    assert remote["shipping_fee"] is None and remote["free_shipping"] is False
    assert any("偏远地区" in note for note in remote["notes"])
    for result in (small, food, remote):
        for text in texts_of(result):
            assert_compliant(text)


def test_quote_with_the_customers_best_coupon(shop_server):
    """王先生 has a 满300减30 coupon: it stacks with 满减; one coupon at most."""
    result = get(shop_server, "/api/promotions/quote?amount=310&customer_id=C0001")
    assert result["coupon"]["title"] == "满300减30" and result["coupon_discount"] == 30.0
    assert (result["discount"], result["payable"]) == (20.0, 260.0)
    assert "店铺券与满减可叠加，多张店铺券不可叠加" in result["notes"]
    assert "用「满300减30」券再减30元" in result["text"]
    below = get(shop_server, "/api/promotions/quote?amount=258&customer_id=C0001")
    assert below["coupon"] is None and "暂无满足使用门槛的店铺券" in below["notes"]


def test_quote_for_items(shop_server):
    body = {"items": [{"product_id": "P2005", "quantity": 1},
                      {"product_id": "P4001", "quantity": 2}]}
    result = post(shop_server, "/api/promotions/quote", body)
    # 349 keyboard counts; 2 x 69.9 rice is food and does not.
    assert (result["amount"], result["eligible_amount"], result["excluded_amount"]) == (
        488.8, 349.0, 139.8)
    assert result["discount"] == 20.0 and result["next_tier"]["missing"] == 50.0
    assert result["payable"] == 468.8
    same = post(shop_server, "/api/promotions/quote", {"amount": 258, "category": "clothing"})
    assert same["discount"] == 20.0 and same["payable"] == 238.0


BAD_QUOTES = [
    ("GET", "/api/promotions/quote", None, 422, "invalid_query"),
    ("GET", "/api/promotions/quote?amount=abc", None, 422, "invalid_query"),
    ("GET", "/api/promotions/quote?amount=-5", None, 422, "invalid_query"),
    ("GET", "/api/promotions/quote?amount=0", None, 422, "invalid_query"),
    ("GET", "/api/promotions/quote?amount=NaN", None, 422, "invalid_query"),
    ("GET", "/api/promotions/quote?amount=1e9", None, 422, "invalid_query"),
    ("GET", "/api/promotions/quote?amount=100&category=toys", None, 422, "invalid_query"),
    ("GET", "/api/promotions/quote?amount=100&customer_id=C9999", None, 404,
     "customer_not_found"),
    ("POST", "/api/promotions/quote", {}, 422, "missing_field"),
    ("POST", "/api/promotions/quote", {"amount": "258"}, 422, "invalid_type"),
    ("POST", "/api/promotions/quote", {"amount": 258, "items": []}, 422, "invalid_value"),
    ("POST", "/api/promotions/quote", {"items": []}, 422, "invalid_type"),
    ("POST", "/api/promotions/quote", {"items": "P2005"}, 422, "invalid_type"),
    ("POST", "/api/promotions/quote", {"items": ["P2005"]}, 422, "invalid_type"),
    ("POST", "/api/promotions/quote", {"items": [{"quantity": 1}]}, 422, "missing_field"),
    ("POST", "/api/promotions/quote", {"items": [{"product_id": "P2005", "quantity": 0}]},
     422, "invalid_value"),
    ("POST", "/api/promotions/quote", {"items": [{"product_id": "P9999"}]}, 404,
     "product_not_found"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), BAD_QUOTES)
def test_bad_quotes_are_clear_errors(shop_server, method, path, body, status, code):
    assert_error(call(shop_server, method, path, body), status, code)


def test_malformed_quote_body_is_400(shop_server):
    response = call(shop_server, "POST", "/api/promotions/quote", data=b"{amount: 1}",
                    headers={"Content-Type": "application/json"})
    assert_error(response, 400, "invalid_json")


# ---------------------------------------------------------------- coupons as a balance


def test_coupons_balance(shop_server):
    everything = get(shop_server, "/api/customers/C0001/coupons")
    assert everything["count"] == len(everything["coupons"]) == 2
    assert everything["available_count"] == 1
    available = get(shop_server, "/api/customers/C0001/coupons?status=available")
    assert available["count"] == 1
    coupon = available["coupons"][0]
    assert (coupon["title"], coupon["amount"], coupon["threshold"]) == ("满300减30", 30.0, 300.0)
    assert coupon["used"] is False and coupon["status"] == "available" and coupon["usable"]
    assert day_of(coupon["expires_at"]) == today() + timedelta(days=10)
    assert coupon["expires_in_days"] == 10
    used = get(shop_server, "/api/customers/C0001/coupons?status=used")["coupons"]
    assert [c["status"] for c in used] == ["used"] and used[0]["expires_in_days"] is None
    assert used[0]["usable"] is False
    # 李女士: one coupon expired, one usable.
    li = get(shop_server, "/api/customers/C0002/coupons?status=expired")["coupons"]
    assert [c["title"] for c in li] == ["满200减20"]
    assert_error(call(shop_server, "GET", "/api/customers/C0001/coupons?status=gone"), 422,
                 "invalid_query")


# ---------------------------------------------------------------- the rules file


GOOD = """
promotions:
  - {id: now, kind: full_reduction, title: 满减, valid_from: -1, valid_until: 1,
     tiers: [{threshold: 100, discount: 10}]}
  - {id: over, kind: full_reduction, title: 旧活动, valid_from: 2020-01-01,
     valid_until: 2020-01-31, tiers: [{threshold: 100, discount: 90}]}
  - {id: later, kind: full_reduction, title: 双11, valid_from: 5,
     tiers: [{threshold: 100, discount: 50}]}
  - {id: ship, kind: free_shipping, title: 包邮, threshold: 49, fee: 6}
"""

BROKEN = [
    ("promotions: nope", "1: promotions: value is not a valid list"),
    ("promotions:\n  - {id: a, kind: gift, title: x}", "2: promotions[0]: No match for "
     "discriminator 'kind' and value 'gift'"),
    ("promotions:\n  - {id: a, kind: full_reduction, title: x, tiers: []}",
     "2: promotions[0].tiers: ensure this value has at least 1 items"),
    ("promotions:\n  - {id: a, kind: full_reduction, title: x, "
     "tiers: [{threshold: 100, discount: 100}]}",
     "promotions[0].tiers[0].discount: discount must be below threshold"),
    ("promotions:\n  - {id: a, kind: full_reduction, title: x, tiers: "
     "[{threshold: 200, discount: 30}, {threshold: 300, discount: 20}]}",
     "promotions[0].tiers[1]: tiers must rise"),
    ("promotions:\n  - {id: a, kind: full_reduction, title: x, excluded_categories: [toys], "
     "tiers: [{threshold: 100, discount: 10}]}",
     "promotions[0].excluded_categories[0]: unexpected value; permitted: 'clothing'"),
    ("promotions:\n  - {id: a, kind: free_shipping, title: x, threshold: 49}",
     "promotions[0].fee: field required"),
    ("promotions:\n  - {id: a, kind: free_shipping, title: x, threshold: 49, fee: 6, "
     "colour: red}", "promotions[0].colour: unknown key"),
    ("promotions:\n  - {id: a, kind: stacking, title: x, coupon_with_full_reduction: true, "
     "multiple_coupons: true}", "promotions[0].multiple_coupons: true is not supported"),
    ("promotions:\n  - {id: a, kind: free_shipping, title: x, threshold: 49, fee: 6, "
     "valid_from: soon}", "promotions[0].valid_from: must be a date"),
    ("promotions:\n  - {id: a, kind: free_shipping, title: x, threshold: 49, fee: 6.001}",
     "promotions[0].fee: must be an amount with at most 2 decimals"),
    ("promotions:\n  - {id: a, kind: free_shipping, title: x, threshold: 49, fee: 6}\n"
     "  - {id: a, kind: free_shipping, title: y, threshold: 49, fee: 6}",
     "3: promotions[1].id: duplicate id"),
    ("promotions: [", "1: invalid YAML"),
]


@pytest.mark.parametrize(("text", "message"), BROKEN)
def test_broken_rules_name_the_file_line_and_path(tmp_path, text, message):
    path = tmp_path / "promotions.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="^" + re.escape(f"{path}:") + r"(\d+: )?"
                       + re.escape(message)):
        load_rules(path)


def test_date_windows_and_quote_in_process():
    rules = parse_rules(yaml.safe_load(GOOD))
    day = date(2025, 3, 10)
    assert [r.id for r in rules if r.active(day)] == ["now", "ship"]
    # Relative windows move with the day (the demo's 满减 never runs out); dates do not.
    assert [r.id for r in rules if r.active(date(2020, 1, 15))] == ["now", "over", "ship"]
    assert rules[2].window(day)[0] == day + timedelta(days=5)
    result = quote(rules, day, [Line(Decimal("120"))])
    assert result["full_reduction"]["promotion_id"] == "now" and result["discount"] == 10.0
    # Not stackable: the better of coupon and 满减 wins.
    strict = parse_rules({"promotions": [
        *yaml.safe_load(GOOD)["promotions"],
        {"id": "s", "kind": "stacking", "title": "叠加", "coupon_with_full_reduction": False,
         "multiple_coupons": False}]})
    coupon = CouponOffer(Decimal("15"), Decimal("0"), {"title": "无门槛15元"})
    result = quote(strict, day, [Line(Decimal("120"))], [coupon])
    assert (result["discount"], result["coupon_discount"], result["payable"]) == (
        0.0, 15.0, 105.0)
    assert result["full_reduction"] is None


def test_edited_rules_file_is_reloaded_and_a_broken_edit_keeps_the_old(shop_factory,
                                                                        tmp_path):
    path = tmp_path / "promotions.yml"
    path.write_text(GOOD, encoding="utf-8")
    shop = shop_factory(extra_args=("--promotions", str(path)))
    ids = [r["id"] for r in get(shop.url, "/api/promotions")["promotions"]]
    assert ids == ["now", "ship"]  # over and not yet started are left out
    assert get(shop.url, "/api/promotions/quote?amount=120")["discount"] == 10.0

    edited = GOOD.replace("discount: 10}", "discount: 12}")
    _rewrite(path, edited)
    assert get(shop.url, "/api/promotions/quote?amount=120")["discount"] == 12.0

    _rewrite(path, "promotions: [")
    assert get(shop.url, "/api/promotions/quote?amount=120")["discount"] == 12.0
    shop.stop()
    assert "promotion rules not reloaded" in shop.log()


def _rewrite(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    # Filesystems with coarse timestamps: make the change visible by time, too.
    stamp = time.time_ns() + 1_000_000_000
    os.utime(path, ns=(stamp, stamp))


def test_broken_rules_stop_the_start(shop_factory, tmp_path):
    path = tmp_path / "promotions.yml"
    path.write_text("promotions:\n  - {id: a, kind: gift, title: x}\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="invalid configuration"):
        shop_factory(extra_args=("--promotions", str(path)))


def test_missing_rules_file_stops_the_start(shop_factory, tmp_path):
    with pytest.raises(RuntimeError, match="cannot read"):
        shop_factory(extra_args=("--promotions", str(tmp_path / "nope.yml")))


def test_rules_book_without_the_server(tmp_path):
    path = tmp_path / "promotions.yml"
    path.write_text(GOOD, encoding="utf-8")
    book = PromotionBook(path)
    assert len(book.rules()) == 4
    _rewrite(path, GOOD + "  - {id: extra, kind: free_shipping, title: x, threshold: 9, "
                          "fee: 1}\n")
    assert len(book.rules()) == 5
