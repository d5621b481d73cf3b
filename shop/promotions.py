"""Store-wide promotion rules (shop/promotions.yml) and the 满减 / coupon / shipping quote.

The rules live in a YAML file the shop's operators edit; the server re-reads it when it
changes, so a new 满减 tier needs no restart. Customer-facing texts are generated from
the numbers (one source of truth), never typed in by hand.

Pure Python and PyYAML (no Sanic, no database), so the rules can be loaded and quoted
anywhere::

    book = PromotionBook(DEFAULT_PATH)
    quote(book.rules(), today, [Line(Decimal("258"), "clothing")])
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from threading import Lock
from typing import Any, List, Literal, Optional, Union

from pydantic import Field, StrictBool, StrictInt, conint, conlist, validator
from typing_extensions import Annotated

from service_common.config import At, ConfigError, Model, Text, parse, read_yaml, unique_ids
from shop.catalog import CATEGORY_TEXT

logger = logging.getLogger("shop.promotions")

DEFAULT_PATH = Path(__file__).with_name("promotions.yml")
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("1000000")


def yuan(value: Decimal) -> str:
    """258.00 -> "258", 69.90 -> "69.9": how amounts read in Chinese shop texts."""
    text = format(value.quantize(CENT), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _money(value: Decimal) -> float:
    return float(value.quantize(CENT))


# ---------------------------------------------------------------- rules


@dataclass(frozen=True)
class Tier:
    threshold: Decimal
    discount: Decimal

    @property
    def text(self) -> str:
        return f"满{yuan(self.threshold)}减{yuan(self.discount)}"


@dataclass(frozen=True)
class Rule:
    """One rule of the file. ``valid_from`` / ``valid_until``: a date, or whole days
    relative to today (so a demo promotion stays current), or None (open-ended)."""

    id: str
    kind: str
    title: str
    valid_from: Union[date, int, None] = None
    valid_until: Union[date, int, None] = None
    tiers: tuple[Tier, ...] = ()
    excluded_categories: tuple[str, ...] = ()
    amount: Decimal = Decimal("0")
    threshold: Decimal = Decimal("0")
    fee: Decimal = Decimal("0")
    valid_days: int = 0
    excluded_regions: tuple[str, ...] = ()
    coupon_with_full_reduction: bool = True
    multiple_coupons: bool = False

    def window(self, today: date) -> tuple[Optional[date], Optional[date]]:
        return _day(self.valid_from, today), _day(self.valid_until, today)

    def active(self, today: date) -> bool:
        start, end = self.window(today)
        return (start is None or start <= today) and (end is None or today <= end)

    def text(self, today: date) -> str:
        """The rule in one customer-facing sentence."""
        if self.kind == "full_reduction":
            excluded = "、".join(CATEGORY_TEXT[c] for c in self.excluded_categories)
            text = "全店" + "、".join(t.text for t in self.tiers)
            if excluded:
                text += f"（{excluded}类商品除外）"
            text += "，按商品金额计算，不含运费"
            end = self.window(today)[1]
            if end is not None:
                text += f"，活动截至{end.month}月{end.day}日"
            return text
        if self.kind == "new_customer_coupon":
            kind = (f"满{yuan(self.threshold)}减{yuan(self.amount)}券" if self.threshold
                    else f"{yuan(self.amount)}元无门槛券")
            return f"新客户首次下单前可领{kind}，领取后{self.valid_days}天内有效"
        if self.kind == "free_shipping":
            text = (f"单笔订单实付满{yuan(self.threshold)}元包邮，"
                    f"不满{yuan(self.threshold)}元收{yuan(self.fee)}元运费")
            if self.excluded_regions:
                text += f"；{'、'.join(self.excluded_regions)}等偏远地区不参与包邮"
            return text
        coupon = "店铺券与满减可叠加" if self.coupon_with_full_reduction else "店铺券与满减不可叠加"
        several = "多张店铺券可叠加" if self.multiple_coupons else "多张店铺券不可叠加"
        return f"{coupon}，{several}"

    def to_json(self, today: date) -> dict[str, Any]:
        start, end = self.window(today)
        data: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "text": self.text(today),
            "starts_on": start.isoformat() if start else None,
            "ends_on": end.isoformat() if end else None,
        }
        if self.kind == "full_reduction":
            data["tiers"] = [{"threshold": _money(t.threshold), "discount": _money(t.discount),
                              "text": t.text} for t in self.tiers]
            data["excluded_categories"] = list(self.excluded_categories)
            data["excluded_categories_text"] = [CATEGORY_TEXT[c]
                                                for c in self.excluded_categories]
        elif self.kind == "new_customer_coupon":
            data.update(amount=_money(self.amount), threshold=_money(self.threshold),
                        valid_days=self.valid_days)
        elif self.kind == "free_shipping":
            data.update(threshold=_money(self.threshold), fee=_money(self.fee),
                        excluded_regions=list(self.excluded_regions))
        else:
            data.update(coupon_with_full_reduction=self.coupon_with_full_reduction,
                        multiple_coupons=self.multiple_coupons)
        return data


def _day(value: Union[date, int, None], today: date) -> Optional[date]:
    if value is None or isinstance(value, date):
        return value
    return today + timedelta(days=value)


class Yuan(Decimal):
    """An amount of yuan: a number (not a text) >= 0 with at most 2 decimals."""

    @classmethod
    def __get_validators__(cls) -> Any:
        yield cls._amount

    @classmethod
    def __modify_schema__(cls, schema: dict[str, Any]) -> None:
        schema.update(type="number", minimum=0, maximum=float(MAX_AMOUNT), multipleOf=0.01)

    @staticmethod
    def _amount(value: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError("must be a number of yuan")
        amount = Decimal(str(value))
        if not amount.is_finite() or not 0 <= amount <= MAX_AMOUNT \
                or amount != amount.quantize(CENT):
            raise ValueError("must be an amount with at most 2 decimals")
        return amount


def _positive(amount: Decimal) -> Decimal:
    if amount <= 0:
        raise ValueError("must be more than 0")
    return amount


def _window(value: Any) -> Union[date, int, None]:
    """A date (YAML reads 2025-11-01 as one), or whole days relative to today (-3)."""
    if value is None or isinstance(value, date) or type(value) is int:
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError("must be a date (YYYY-MM-DD) or whole days relative to today "
                         "(e.g. -3)") from None


class TierSpec(Model):
    threshold: Yuan
    discount: Yuan

    _positive = validator("*", allow_reuse=True)(_positive)

    @validator("discount")
    def _below(cls, discount: Decimal, values: dict[str, Any]) -> Decimal:
        if "threshold" in values and discount >= values["threshold"]:
            raise ValueError("discount must be below threshold")
        return discount


class RuleSpec(Model):
    id: Text
    title: Text
    # StrictInt first: pydantic would read -3 as a Unix time stamp.
    valid_from: Union[StrictInt, date, None] = None
    valid_until: Union[StrictInt, date, None] = None

    _window = validator("valid_from", "valid_until", pre=True, allow_reuse=True)(_window)

    @validator("valid_until")
    def _ordered(cls, end: Any, values: dict[str, Any]) -> Any:
        start = values.get("valid_from")
        if type(start) is type(end) and start is not None and start > end:
            raise ValueError("valid_from is after valid_until")
        return end


class FullReduction(RuleSpec):
    kind: Literal["full_reduction"]
    tiers: conlist(TierSpec, min_items=1)  # type: ignore[valid-type]
    excluded_categories: List[Literal[tuple(CATEGORY_TEXT)]] = []  # type: ignore

    @validator("tiers")
    def _rising(cls, tiers: List[TierSpec]) -> List[TierSpec]:
        for index, (lower, higher) in enumerate(zip(tiers, tiers[1:], strict=False)):
            # A higher tier that saves less would never be the better choice: a typo.
            if not (higher.threshold > lower.threshold and higher.discount > lower.discount):
                raise At((index + 1,), "tiers must rise in threshold and discount")
        return tiers


class NewCustomerCoupon(RuleSpec):
    kind: Literal["new_customer_coupon"]
    amount: Yuan
    threshold: Yuan = Yuan(0)  # 0: no threshold
    valid_days: conint(strict=True, ge=1, le=365)  # type: ignore[valid-type]

    _positive = validator("amount", allow_reuse=True)(_positive)

    @validator("threshold")
    def _above_amount(cls, threshold: Decimal, values: dict[str, Any]) -> Decimal:
        if threshold and "amount" in values and threshold <= values["amount"]:
            raise ValueError("threshold must exceed amount (0 = no threshold)")
        return threshold


class FreeShipping(RuleSpec):
    kind: Literal["free_shipping"]
    threshold: Yuan
    fee: Yuan
    excluded_regions: List[Text] = []

    _positive = validator("threshold", "fee", allow_reuse=True)(_positive)


class Stacking(RuleSpec):
    kind: Literal["stacking"]
    coupon_with_full_reduction: StrictBool
    multiple_coupons: StrictBool

    @validator("multiple_coupons")
    def _one_coupon(cls, several: bool) -> bool:
        if several:
            # The quote applies one coupon; promising more than it computes would mislead.
            raise ValueError("true is not supported (a quote applies at most one shop coupon)")
        return several


class PromotionsFile(Model):
    """shop/promotions.yml"""

    promotions: List[Annotated[Union[FullReduction, NewCustomerCoupon, FreeShipping, Stacking],
                               Field(discriminator="kind")]]

    @validator("promotions")
    def _unique_ids(cls, rules: List[RuleSpec]) -> List[RuleSpec]:
        unique_ids(rules)
        return rules


def parse_rules(data: Any, source: str = "<promotions>", text: Optional[str] = None
                ) -> list[Rule]:
    """Validated rules from the parsed YAML; ConfigError says what is wrong where."""
    rules = []
    for spec in parse(data, PromotionsFile, source, text).promotions:
        fields = {**spec.dict(), "title": spec.title.strip()}
        for key in ("excluded_categories", "excluded_regions"):
            if key in fields:
                fields[key] = tuple(fields[key])
        if "tiers" in fields:
            fields["tiers"] = tuple(Tier(**tier) for tier in fields["tiers"])
        rules.append(Rule(**fields))
    return rules


def load_rules(path: Union[str, Path]) -> list[Rule]:
    data, text = read_yaml(path)
    return parse_rules(data, str(path), text)


class PromotionBook:
    """The rules of one file, re-read when the file changes.

    A broken edit is logged and the previous rules stay in force (customers keep getting
    answers); only the very first load raises, so a bad file stops the server at start-up.
    """

    def __init__(self, path: Union[str, Path]) -> None:
        self.path = Path(path)
        self._lock = Lock()
        self._stamp: Optional[tuple[int, int]] = None
        self._rules: list[Rule] = []
        self._load(initial=True)

    def rules(self) -> list[Rule]:
        self._load(initial=False)
        return self._rules

    def _load(self, initial: bool) -> None:
        try:
            stat = os.stat(self.path)
            stamp = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            stamp = None
        if stamp is not None and stamp == self._stamp:
            return
        with self._lock:
            if stamp is not None and stamp == self._stamp:
                return
            try:
                rules = load_rules(self.path)
            except ConfigError as error:
                if initial:
                    raise
                logger.error("promotion rules not reloaded, keeping the previous ones: %s",
                             error)
                self._stamp = stamp  # do not log the same broken file on every request
                return
            self._rules, self._stamp = rules, stamp
            if not initial:
                logger.info("promotion rules reloaded from %s (%d rules)", self.path,
                            len(rules))


def active_rules(rules: list[Rule], today: date) -> list[Rule]:
    return [rule for rule in rules if rule.active(today)]


# ---------------------------------------------------------------- quote


@dataclass(frozen=True)
class Line:
    """Goods of one category worth ``amount`` (category None: unknown, counts for 满减)."""

    amount: Decimal
    category: Optional[str] = None


@dataclass(frozen=True)
class CouponOffer:
    """An available coupon of the customer (already filtered: unused, not expired)."""

    amount: Decimal
    threshold: Decimal
    data: dict[str, Any] = field(default_factory=dict)  # the coupon's API JSON


def quote(
    rules: list[Rule],
    today: date,
    lines: list[Line],
    coupons: Optional[list[CouponOffer]] = None,
    province: Optional[str] = None,
) -> dict[str, Any]:
    """Best 满减 (and coupon, when the customer's coupons are given), what is missing to the
    next tier, shipping and the amount to pay, with a Chinese summary.

    Thresholds (满减 and coupons) are checked against the goods amount without shipping;
    free shipping against what is paid after every discount ("实付满49元包邮").
    """
    active = active_rules(rules, today)
    goods = sum((line.amount for line in lines), Decimal("0")).quantize(CENT)
    stacking = next((r for r in active if r.kind == "stacking"), None)
    reduction = _best_reduction([r for r in active if r.kind == "full_reduction"], lines)
    discount = reduction["discount"] if reduction else Decimal("0")

    coupon: Optional[CouponOffer] = None
    coupon_discount = Decimal("0")
    usable = [c for c in coupons or [] if c.threshold <= goods]
    if usable:
        coupon = max(usable, key=lambda c: (c.amount, -c.threshold))
        coupon_discount = min(coupon.amount, goods - discount)
        if discount and reduction and stacking is not None \
                and not stacking.coupon_with_full_reduction:
            # Not stackable: keep whichever saves more.
            if coupon.amount > discount:
                discount = Decimal("0")
                reduction = {**reduction, "tier": None, "discount": discount}
                coupon_discount = min(coupon.amount, goods)
            else:
                coupon, coupon_discount = None, Decimal("0")
    payable = max(goods - discount - coupon_discount, Decimal("0"))
    shipping = _shipping(next((r for r in active if r.kind == "free_shipping"), None),
                         payable, province)
    total = payable + shipping["fee"] if shipping["fee"] is not None else None

    tier = reduction["tier"] if reduction else None
    next_tier = reduction["next"] if reduction else None
    next_text = None
    if reduction and next_tier:
        next_text = (f"再买{yuan(reduction['missing'])}元"
                     f"{_excluded_hint(reduction['rule'], reduction['excluded'])}"
                     f"可减{yuan(next_tier.discount)}元")
    summary = [f"商品金额{yuan(goods)}元"]
    if tier:
        summary.append(f"满{yuan(tier.threshold)}元可减{yuan(discount)}元")
    if coupon:
        title = coupon.data.get("title") or "店铺券"
        summary.append(f"用「{title}」券再减{yuan(coupon_discount)}元")
    text = "，".join(summary) + f"，实付{yuan(payable)}元"
    if shipping["free"]:
        text += "，包邮"
    elif shipping["fee"] is not None:
        text += f"，另加运费{yuan(shipping['fee'])}元（再买{yuan(shipping['missing'])}元即可包邮）"
    text += "。" + (f"{next_text}。" if next_text else "")
    return {
        "date": today.isoformat(),
        "amount": _money(goods),
        # What counts toward 满减 (excluded categories taken out).
        "eligible_amount": _money(reduction["eligible"]) if reduction else 0.0,
        "excluded_amount": _money(reduction["excluded"]) if reduction else 0.0,
        "full_reduction": {
            "promotion_id": reduction["rule"].id, "threshold": _money(tier.threshold),
            "discount": _money(tier.discount), "text": tier.text,
        } if reduction and tier else None,
        "discount": _money(discount),
        "next_tier": {
            "threshold": _money(next_tier.threshold), "discount": _money(next_tier.discount),
            "missing": _money(reduction["missing"]), "text": next_text,
        } if reduction and next_tier else None,
        # Flat copies of the two texts a reply usually needs.
        "applied_text": tier.text if tier else None,
        "next_text": next_text,
        "coupon": coupon.data if coupon else None,
        "coupon_discount": _money(coupon_discount),
        "payable": _money(payable),
        "shipping_fee": _money(shipping["fee"]) if shipping["fee"] is not None else None,
        "free_shipping": shipping["free"],
        "free_shipping_missing": _money(shipping["missing"]),
        "total": _money(total) if total is not None else None,
        "notes": _notes(active, today, reduction, shipping, lines, coupons is not None, coupon),
        "text": text,
    }


def _best_reduction(rules: list[Rule], lines: list[Line]) -> Optional[dict[str, Any]]:
    """The full-reduction rule saving the most (ties: the one closest to its next tier)."""
    best: Optional[dict[str, Any]] = None
    for rule in rules:
        eligible = sum((line.amount for line in lines
                        if line.category not in rule.excluded_categories), Decimal("0"))
        excluded = sum((line.amount for line in lines), Decimal("0")) - eligible
        reached = [t for t in rule.tiers if t.threshold <= eligible]
        higher = [t for t in rule.tiers if t.threshold > eligible]
        tier = reached[-1] if reached else None
        nxt = higher[0] if higher else None
        candidate: dict[str, Any] = {
            "rule": rule, "tier": tier, "next": nxt, "eligible": eligible,
            "excluded": excluded,
            "discount": tier.discount if tier else Decimal("0"),
            "missing": (nxt.threshold - eligible) if nxt else Decimal("0"),
        }
        key = (candidate["discount"], -candidate["missing"] if nxt else Decimal("0"))
        if best is None or key > (best["discount"],
                                  -best["missing"] if best["next"] else Decimal("0")):
            best = candidate
    return best


def _shipping(rule: Optional[Rule], payable: Decimal,
              province: Optional[str]) -> dict[str, Any]:
    if rule is None:
        return {"fee": None, "free": False, "missing": Decimal("0"), "remote": False}
    remote = bool(province and any(province.startswith(r) for r in rule.excluded_regions))
    if remote:
        # The FAQ: remote regions pay by region, shown at checkout; no fixed number here.
        return {"fee": None, "free": False, "missing": Decimal("0"), "remote": True}
    if payable >= rule.threshold:
        return {"fee": Decimal("0"), "free": True, "missing": Decimal("0"), "remote": False}
    return {"fee": rule.fee, "free": False, "missing": rule.threshold - payable,
            "remote": False}


def _excluded_hint(rule: Rule, excluded: Decimal) -> str:
    if not excluded or not rule.excluded_categories:
        return ""
    names = "、".join(CATEGORY_TEXT[c] for c in rule.excluded_categories)
    return f"（{names}类除外）"


def _notes(active: list[Rule], today: date, reduction: Optional[dict[str, Any]],
           shipping: dict[str, Any], lines: list[Line], coupons_given: bool,
           coupon: Optional[CouponOffer]) -> list[str]:
    notes = []
    if not any(r.kind == "full_reduction" for r in active):
        notes.append("当前没有进行中的店铺满减活动")
    elif reduction and reduction["excluded"]:
        excluded = sorted({line.category for line in lines if line.category is not None
                           and line.category in reduction["rule"].excluded_categories})
        names = "、".join(CATEGORY_TEXT[c] for c in excluded)
        notes.append(f"{names}类商品不参与满减")
    if shipping["remote"]:
        notes.append("新疆、西藏等偏远地区不参与包邮，运费下单时按地区显示")
    if coupons_given and coupon is None:
        notes.append("暂无满足使用门槛的店铺券")
    stacking = next((r for r in active if r.kind == "stacking"), None)
    if stacking is not None and coupon is not None:
        notes.append(stacking.text(today))
    return notes


def parse_amount(value: Any) -> Decimal:
    """A yuan amount from a query string or JSON number; ValueError when it is not one."""
    if isinstance(value, bool):
        raise ValueError("not an amount")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("not an amount") from None
    # Below one fen is not an amount (it used to round down to 0.00 and be quoted).
    if not amount.is_finite() or amount < CENT or amount > MAX_AMOUNT:
        raise ValueError("out of range")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)
