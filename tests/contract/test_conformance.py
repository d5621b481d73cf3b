"""What every `ShopBackend` must do, checked on each implementation: the HTTP client against
a real demo shop, and the in-memory fake (fake_shop.py). A real shop's adapter is added to
BACKENDS with a Scenario naming its own test orders (docs/shop_contract.md).

Every answer must also parse as the contract's model: the suite checks behaviour and shape.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, Tuple

import pytest
from fake_shop import MemoryShopBackend

import contract
from actions.backend import Conflict, InvalidRequest, NotFound, OwnershipRequired
from actions.backend.http import HttpShopBackend
from contract import OrderStatus


@dataclass(frozen=True)
class Scenario:
    """Orders of the shop under test, by the role they play, and their owners' phone tails."""

    shipped: str
    paid: str
    unpaid: str  # the last test cancels it
    cancelled: str
    delivered_recently: str  # within the no-reason window
    delivered_long_ago: str  # past every after-sales window
    price_fallen: str  # delivered within the price-protection window, bought above today's price
    unknown: str
    tails: Dict[str, str]  # order id -> the owner's phone tail
    customer: str  # owns shipped, paid, unpaid
    channel_user: str  # the customer's chat user id (customer_by_channel)
    sized_product: str  # clothes with a size chart, in stock, with others of its category
    unsized_product: str  # no sizes (electronics)


DEMO = Scenario(
    shipped="361204587712340001", paid="361204587712340002", unpaid="361204587712340004",
    cancelled="361204587712340014", delivered_recently="361204587712340021",
    delivered_long_ago="361204587712340023", price_fallen="361204587712340022",
    unknown="361204587712349999",
    tails={"361204587712340001": "5678", "361204587712340002": "5678",
           "361204587712340004": "5678", "361204587712340014": "8888",
           "361204587712340021": "9966", "361204587712340022": "9966",
           "361204587712340023": "9966"},
    customer="C0001", channel_user="demo-wang", sized_product="P1001", unsized_product="P2003",
)
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de"
                    "0000000c49444154789c6360d008000000a400791f1e481e0000000049454e44ae426082")


def _demo_shop(request: pytest.FixtureRequest) -> Callable[[], Any]:
    # A shop of its own: the suite files after-sales and invoices.
    url = request.getfixturevalue("shop_factory")().url
    return lambda: HttpShopBackend(url, api_key=os.environ["SHOP_API_KEY"])


def _memory(request: pytest.FixtureRequest) -> Callable[[], Any]:
    memory = MemoryShopBackend()
    return lambda: memory


# Each implementation under test: a factory of clients (state lives as long as the module's
# shop) and the scenario naming its test orders. A real shop's adapter goes here too.
BACKENDS: Dict[str, Tuple[Callable[[pytest.FixtureRequest], Callable[[], Any]], Scenario]] = {
    "http": (_demo_shop, DEMO),
    "memory": (_memory, DEMO),
}


@pytest.fixture(scope="module", params=sorted(BACKENDS))
def backend_under_test(request) -> Tuple[Callable[[], Any], Scenario]:
    start, scenario = BACKENDS[request.param]
    return start(request), scenario


class Synchronous:
    """The backend's calls as plain calls, each on a fresh client (the HTTP client's pool
    belongs to one event loop)."""

    def __init__(self, make: Callable[[], Any], scenario: Scenario) -> None:
        self.make = make
        self.scenario = scenario

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            async def go() -> Any:
                backend = self.make()
                try:
                    return await getattr(backend, name)(*args, **kwargs)
                finally:
                    await backend.close()
            return asyncio.run(go())
        return call


@pytest.fixture
def shop(backend_under_test) -> Synchronous:
    return Synchronous(*backend_under_test)


def proven(shop, order_id: str) -> str:
    proof = shop.prove_owner(order_id, phone_tail=shop.scenario.tails[order_id])
    # The actions read which order a proof is for (actions/ownership.py).
    assert isinstance(proof, str) and proof.startswith("op1.")
    assert proof.split(".")[1] == order_id and len(proof.split(".")) == 4
    return proof


def order(shop, order_id: str) -> Dict[str, Any]:
    proof = proven(shop, order_id)
    return shop.order(order_id, proof)


def test_orders_are_read_with_the_owners_proof_only(shop) -> None:
    ids = shop.scenario
    wrong = "0000" if ids.tails[ids.paid] != "0000" else "1111"
    assert shop.prove_owner(ids.paid, phone_tail=wrong) is None
    found = order(shop, ids.paid)
    contract.Order.parse_obj(found)
    assert found["id"] == ids.paid and found["customer_id"] == ids.customer
    with pytest.raises(OwnershipRequired):
        shop.order(ids.paid, None)
    other = proven(shop, ids.shipped)
    with pytest.raises(OwnershipRequired):
        shop.order(ids.paid, other)
    assert shop.prove_owner(ids.paid, customer_id=ids.customer)


def test_an_unknown_order_is_not_found(shop) -> None:
    ids = shop.scenario
    with pytest.raises(NotFound):
        shop.prove_owner(ids.unknown, phone_tail="1234")


def test_statuses_are_the_contracts(shop) -> None:
    ids = shop.scenario
    expected = {ids.shipped: OrderStatus.SHIPPED, ids.paid: OrderStatus.PAID,
                ids.unpaid: OrderStatus.UNPAID, ids.cancelled: OrderStatus.CANCELLED,
                ids.delivered_long_ago: OrderStatus.DELIVERED}
    for order_id, status in expected.items():
        found = order(shop, order_id)
        assert found["status"] == status and found["status_text"]
        assert found["can_cancel"] is (status in (OrderStatus.UNPAID, OrderStatus.PAID))
    mine = shop.customer_orders(ids.customer, limit=20)
    assert {ids.shipped, ids.paid, ids.unpaid} <= {o["id"] for o in mine}
    assert all(o["customer_id"] == ids.customer for o in mine)
    assert all(contract.Order.parse_obj(o) for o in mine)


def test_tracking(shop) -> None:
    ids = shop.scenario
    proof = proven(shop, ids.shipped)
    shipped = shop.tracking(ids.shipped, proof)
    contract.Tracking.parse_obj(shipped)
    assert shipped["order_id"] == ids.shipped and shipped["order_status"] == "shipped"
    assert shipped["state"] in ("in_transit", "out_for_delivery") and shipped["events"]
    assert shipped["courier"] and shipped["tracking_no"] and shipped["courier_hotline"]
    assert shipped["latest_event"] == shipped["events"][0]  # newest first
    proof = proven(shop, ids.paid)
    waiting = shop.tracking(ids.paid, proof)
    assert waiting["state"] == "not_shipped" and waiting["events"] == []


def _item(found: Dict[str, Any]) -> list:
    return [found["items"][0]["product_id"]]


def test_after_sales_inside_the_window_are_filed(shop) -> None:
    ids = shop.scenario
    order_id = ids.delivered_recently
    found = order(shop, order_id)
    proof = proven(shop, order_id)
    created = shop.create_after_sale(order_id, {
        "kind": "return", "items": _item(found), "reason_code": "no_reason_7d",
        "reason": "七天无理由"}, proof)
    contract.AfterSaleCreated.parse_obj(created)
    assert created["order_id"] == order_id and created["kind"] == "return"
    assert created["status"] in ("pending", "processing")
    proof = proven(shop, order_id)
    listed = shop.after_sales(order_id, proof)
    assert created["id"] in [record["id"] for record in listed]
    assert order(shop, order_id)["status"] == OrderStatus.RETURN_REQUESTED
    # The customer's waybill of the goods sent back; not the shop's own parcel's number.
    proof = proven(shop, order_id)
    sent = shop.return_parcel(created["id"], "中通", "75300000000009", proof)
    contract.ReturnParcel.parse_obj(sent)
    assert (sent["return_courier"], sent["return_tracking_no"], sent["duplicate"]) == (
        "中通", "75300000000009", False) and sent["return_sent_at"]
    assert shop.return_parcel(created["id"], None, "75300000000009", proof)["duplicate"] is True
    outbound = shop.tracking(order_id, proof)["tracking_no"]
    with pytest.raises(InvalidRequest) as refused:
        shop.return_parcel(created["id"], None, outbound, proof)
    assert refused.value.code == "outbound_tracking_no"
    with pytest.raises(OwnershipRequired):
        shop.return_parcel(created["id"], None, "75300000000010", None)
    # Once the goods are on their way back, the return cannot be withdrawn online.
    with pytest.raises(Conflict) as refused:
        shop.withdraw_after_sale(created["id"], proof)
    assert refused.value.code == "return_parcel_sent"


def test_a_return_withdrawn_before_the_goods_are_sent(shop) -> None:
    order_id = shop.scenario.price_fallen
    found = order(shop, order_id)
    created = shop.create_after_sale(order_id, {
        "kind": "return", "items": _item(found), "reason_code": "no_reason_7d",
        "reason": "七天无理由"}, proven(shop, order_id))
    assert order(shop, order_id)["status"] == OrderStatus.RETURN_REQUESTED
    with pytest.raises(OwnershipRequired):
        shop.withdraw_after_sale(created["id"], None)
    withdrawn = shop.withdraw_after_sale(created["id"], proven(shop, order_id))
    contract.WithdrawnAfterSale.parse_obj(withdrawn)
    assert (withdrawn["status"], withdrawn["duplicate"]) == ("closed", False)
    assert order(shop, order_id)["status"] == found["status"]
    assert shop.withdraw_after_sale(created["id"], proven(shop, order_id))["duplicate"] is True


def test_after_sales_outside_the_window_are_refused(shop) -> None:
    ids = shop.scenario
    order_id = ids.delivered_long_ago
    item = _item(order(shop, order_id))
    proof = proven(shop, order_id)
    for reason in ("no_reason_7d", "quality"):
        with pytest.raises(Conflict) as refused:
            shop.create_after_sale(order_id, {
                "kind": "return", "items": item, "reason_code": reason, "reason": reason},
                proof)
        assert refused.value.code == "after_sales_expired" and refused.value.message
    item, proof = _item(order(shop, ids.shipped)), proven(shop, ids.shipped)
    with pytest.raises(Conflict) as refused:
        shop.create_after_sale(ids.shipped, {
            "kind": "return", "items": item, "reason": "不想要了"}, proof)
    assert refused.value.code == "after_sales_not_allowed"


def test_price_protection_refunds_a_fall_once(shop) -> None:
    ids = shop.scenario
    first = shop.price_protection(ids.price_fallen, "conv-pp", proven(shop, ids.price_fallen))
    contract.PriceProtection.parse_obj(first)
    assert first["outcome"] == "filed" and first["amount"] > 0
    for item in first["items"]:
        fall = max(item["paid_price"] - item["current_price"], 0) * item["quantity"]
        assert item["difference"] == pytest.approx(fall)
    assert first["amount"] == pytest.approx(sum(item["difference"] for item in first["items"]))
    claim = first["after_sale"]
    assert claim["kind"] == "price_protection" and claim["refund_amount"] == first["amount"]
    assert claim["conversation_id"] == "conv-pp"

    again = shop.price_protection(ids.price_fallen, None, proven(shop, ids.price_fallen))
    assert again["outcome"] == "duplicate" and again["after_sale"]["id"] == claim["id"]
    assert again["amount"] == first["amount"]
    listed = shop.after_sales(ids.price_fallen, proven(shop, ids.price_fallen))
    assert [r["id"] for r in listed if r["kind"] == "price_protection"] == [claim["id"]]

    steady = shop.price_protection(ids.shipped, None, proven(shop, ids.shipped))
    assert (steady["outcome"], steady["amount"], steady["after_sale"]) == ("no_drop", 0, None)
    assert steady["until"] is None  # not delivered yet: protected until the window after it
    for order_id, code in ((ids.delivered_long_ago, "price_protection_expired"),
                           (ids.cancelled, "not_price_protectable")):
        with pytest.raises(Conflict) as refused:
            shop.price_protection(order_id, None, proven(shop, order_id))
        assert refused.value.code == code and refused.value.message
    with pytest.raises(OwnershipRequired):
        shop.price_protection(ids.price_fallen, None, None)


def test_an_invoice_per_order_and_repeats_answered_with_it(shop) -> None:
    ids = shop.scenario
    body = {"type": "normal", "title": "个人", "email": "a@example.com"}
    proof = proven(shop, ids.paid)
    first = shop.request_invoice(ids.paid, body, proof)
    proof = proven(shop, ids.paid)
    again = shop.request_invoice(ids.paid, body, proof)
    contract.InvoiceCreated.parse_obj(first)
    assert (first["duplicate"], again["duplicate"]) == (False, True)
    assert first["id"] == again["id"] and first["amount"] == order(shop, ids.paid)[
        "total_amount"]
    proof = proven(shop, ids.paid)
    listed = shop.invoices(ids.paid, proof)
    assert [invoice["id"] for invoice in listed] == [first["id"]]


def test_the_shops_rules_come_with_the_policy_and_the_orders(shop) -> None:
    """What the assistant must not copy: the windows, the hotlines, the invoice refusals."""
    ids = shop.scenario
    rules = contract.Policy.parse_obj(shop.policy())
    assert 0 < rules.no_reason_days <= rules.after_sale_days
    proof = proven(shop, ids.shipped)
    tracking = shop.tracking(ids.shipped, proof)
    assert rules.courier_hotlines[tracking["courier"]] == tracking["courier_hotline"]
    delivered = order(shop, ids.delivered_long_ago)
    signed = datetime.fromisoformat(delivered["delivered_at"])
    assert datetime.fromisoformat(delivered["no_reason_until"]) - signed == \
        timedelta(days=rules.no_reason_days)
    assert datetime.fromisoformat(delivered["after_sale_until"]) - signed == \
        timedelta(days=rules.after_sale_days)
    assert order(shop, ids.paid)["no_reason_until"] is None
    assert order(shop, ids.shipped)["invoice_refusal"] is None
    for order_id in (ids.unpaid, ids.cancelled):
        refusal = order(shop, order_id)["invoice_refusal"]
        proof = proven(shop, order_id)
        with pytest.raises(Conflict) as refused:
            shop.request_invoice(order_id, {"type": "normal", "title": "个人",
                                            "email": "a@example.com"}, proof)
        assert refused.value.message == refusal  # the order said so beforehand


def test_customers(shop) -> None:
    ids = shop.scenario
    found = shop.customer_by_channel(ids.channel_user)
    assert contract.Customer.parse_obj(found).id == ids.customer
    assert ids.channel_user in found["channel_user_ids"] and "*" in found["phone"]
    assert shop.customer(ids.customer) == found
    assert shop.customer_by_channel("nobody-at-all") is None
    assert shop.customer("C9999") is None


def test_urges_are_follow_ups_asked_once(shop) -> None:
    ids = shop.scenario
    first = shop.urge(ids.shipped, "顾客催单", proven(shop, ids.shipped))
    again = shop.urge(ids.shipped, "顾客催单", proven(shop, ids.shipped))
    contract.Urge.parse_obj(first)
    assert first["followup"]["order_id"] == ids.shipped and first["followup"]["status"] == "open"
    assert (first["duplicate"], again["duplicate"]) == (False, True)
    assert again["followup"]["id"] == first["followup"]["id"]
    with pytest.raises(Conflict):
        shop.urge(ids.unpaid, "顾客催单", proven(shop, ids.unpaid))
    with pytest.raises(OwnershipRequired):
        shop.urge(ids.paid, "顾客催单", None)


def test_uploads_take_images_once(shop) -> None:
    ids = shop.scenario
    proof = proven(shop, ids.delivered_recently)
    first = shop.upload(PNG, "image/png", ids.delivered_recently, "conformance", proof)
    again = shop.upload(PNG, "image/png", ids.delivered_recently, "conformance", proof)
    contract.UploadCreated.parse_obj(first)
    assert first["content_type"] == "image/png" and first["size"] == len(PNG)
    assert first["order_id"] == ids.delivered_recently
    assert (first["duplicate"], again["duplicate"], again["id"]) == (False, True, first["id"])
    with pytest.raises(InvalidRequest):
        shop.upload(b"%PDF-1.4 not an image", "image/png", conversation_id="conformance")
    with pytest.raises(OwnershipRequired):
        shop.upload(PNG, "image/png", ids.paid, "conformance", None)


def test_todos_are_filtered(shop) -> None:
    ids = shop.scenario
    mine = shop.todos(customer_id=ids.customer)
    assert mine and all(contract.Todo.parse_obj(t).customer_id == ids.customer for t in mine)
    assert all(t["status"] == "open" for t in shop.todos(customer_id=ids.customer,
                                                         status="open"))
    assert shop.todos(conversation_id="no-such-conversation") == []


def test_coupons_are_capped_and_listed(shop) -> None:
    ids = shop.scenario
    coupon = contract.Coupon.parse_obj(shop.issue_coupon(ids.customer, 5, "物流延误补偿"))
    assert (coupon.customer_id, coupon.amount, coupon.status, coupon.usable) == \
        (ids.customer, 5.0, "available", True)
    usable = shop.coupons(ids.customer)
    assert coupon.id in [c["id"] for c in usable] and all(c["usable"] for c in usable)
    assert len(shop.coupons(ids.customer, None)) >= len(usable)
    with pytest.raises(InvalidRequest):
        shop.issue_coupon(ids.customer, 400, "太多了")
    with pytest.raises(OwnershipRequired):
        shop.issue_coupon(ids.customer, 5, "补偿", order_id=ids.shipped)


def test_promotions_and_quotes_add_up(shop) -> None:
    rules = shop.promotions()
    assert rules and all(contract.Promotion.parse_obj(rule).text for rule in rules)
    for amount in (58, 258, 1000):
        quote = contract.PromotionQuote.parse_obj(shop.promotion_quote(amount))
        assert quote.amount == amount and quote.text
        assert quote.payable == max(amount - quote.discount - quote.coupon_discount, 0)
        if quote.shipping_fee is not None:
            assert quote.total == quote.payable + quote.shipping_fee
        assert (quote.full_reduction is None) == (quote.discount == 0)


def test_size_advice_comes_from_the_chart(shop) -> None:
    ids = shop.scenario
    advice = contract.SizeAdvice.parse_obj(shop.size_advice(ids.sized_product, 175, 70))
    assert advice.product_id == ids.sized_product and advice.reason
    assert advice.size in [row["size"] for row in advice.chart]
    assert advice.size_row in advice.chart and advice.size_row["size"] == advice.size
    for height, weight in ((175, 700), (17.5, 70)):  # 斤 for kg, metres for cm
        with pytest.raises(InvalidRequest):
            shop.size_advice(ids.sized_product, height, weight)
    with pytest.raises(InvalidRequest):
        shop.size_advice(ids.unsized_product, 175, 70)
    with pytest.raises(NotFound):
        shop.size_advice("P9999", 175, 70)


def test_ship_promise(shop) -> None:
    ids = shop.scenario
    promise = contract.ShipPromise.parse_obj(shop.ship_promise(ids.sized_product))
    assert promise.product_id == ids.sized_product and promise.in_stock and promise.text
    assert promise.restock_date is None
    with pytest.raises(NotFound):
        shop.ship_promise("P9999")


def test_views_make_the_recent_items(shop) -> None:
    ids = shop.scenario
    first = shop.record_view(ids.customer, ids.unsized_product)
    again = shop.record_view(ids.customer, ids.unsized_product)
    contract.ViewRecorded.parse_obj(first)
    assert (first["duplicate"], again["duplicate"]) == (False, True)
    assert first["product"]["id"] == ids.unsized_product
    recent = contract.RecentItems.parse_obj(shop.recent_items(ids.customer))
    assert recent.last_viewed and recent.last_viewed.id == ids.unsized_product
    assert recent.recently_viewed[0] == recent.last_viewed
    assert recent.last_purchased and recent.last_purchased.order_status in (
        "paid", "shipped", "delivered")
    with pytest.raises(NotFound):
        shop.record_view("C9999", ids.unsized_product)


def test_related_products(shop) -> None:
    ids = shop.scenario
    related = shop.related_products(ids.sized_product, limit=2)
    assert 0 < len(related) <= 2
    for product in related:
        assert contract.RelatedProduct.parse_obj(product).id != ids.sized_product
        assert product["in_stock"] and product["reason"]


def test_only_orders_not_yet_shipped_are_cancelled(shop) -> None:
    """Last: the unpaid order stays cancelled."""
    ids = shop.scenario
    with pytest.raises(Conflict):
        shop.cancel(ids.shipped, "不想要了", proven(shop, ids.shipped))
    with pytest.raises(OwnershipRequired):
        shop.cancel(ids.unpaid, "不想要了", None)
    cancelled = shop.cancel(ids.unpaid, "不想要了", proven(shop, ids.unpaid))
    contract.CancelledOrder.parse_obj(cancelled)
    assert cancelled["status"] == OrderStatus.CANCELLED and cancelled["refund"] is None
    assert not cancelled["can_cancel"] and cancelled["invoice_refusal"]
    assert order(shop, ids.unpaid)["status"] == OrderStatus.CANCELLED


def test_the_fake_is_a_fast_backend_for_the_actions(monkeypatch) -> None:
    """SHOP_BACKEND picks any ShopBackend: the actions run on the fake without a shop."""
    from action_helpers import make_tracker, run_directly, texts

    from actions.orders import ActionOrderTask

    monkeypatch.setenv("SHOP_BACKEND", "fake_shop:MemoryShopBackend")
    proof = asyncio.run(MemoryShopBackend().prove_owner(DEMO.shipped, customer_id=DEMO.customer))
    tracker = make_tracker({"order_id": DEMO.shipped, "order_task": "address",
                            "verified_order_id": proof})
    messages, _ = run_directly(ActionOrderTask(), tracker)
    assert "拨打顺丰客服95338" in texts(messages)  # the hotline the (fake) shop gave
