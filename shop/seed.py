"""Deterministic demo data: showcase customers/orders plus generated ones.

Every timestamp is relative to the anchor date (the seed day); the startup rebase in
``shop.db`` keeps the world current on later days.
"""

from __future__ import annotations

import random
import re
import string
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.catalog import COURIERS, PRODUCTS
from shop.geo import BRAND_ORIGIN, CITIES, COMMUNITIES, City
from shop.models import (
    AfterSale,
    Coupon,
    Customer,
    CustomerChannel,
    FitFeedback,
    Followup,
    Invoice,
    Order,
    OrderAddress,
    OrderItem,
    Product,
    ProductView,
    Shipment,
    Todo,
    TrackingEvent,
)
from shop.sizing import advise

RNG_SEED = 20240618
GENERATED_CUSTOMERS = 58
STATUS_PLAN = {
    "unpaid": 16,
    "paid": 36,
    "shipped": 44,
    "delivered": 100,
    "cancelled": 16,
    "return_requested": 10,
    "refunded": 10,
}

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
)
MALE_GIVEN = (
    "伟", "强", "磊", "军", "洋", "勇", "杰", "涛", "明", "超", "浩", "鹏", "志强", "建华",
    "俊杰", "子轩", "宇航", "文博", "晨阳", "浩然", "国庆", "海峰", "思远", "天佑",
)
FEMALE_GIVEN = (
    "娜", "敏", "静", "丽", "艳", "芳", "婷", "雪", "琳", "倩", "欣怡", "雨涵", "梓涵", "佳怡",
    "晓燕", "丽娟", "文静", "思琪", "梦瑶", "诗雨", "玉兰", "秀英", "慧敏", "若曦",
)
LEVELS = ("normal", "silver", "gold", "diamond")
LEVEL_WEIGHTS = (50, 28, 16, 6)
PAYMENT_METHODS = ("alipay", "wechat", "card")
COURIER_SURNAMES = "刘张李王陈赵黄周吴孙"

SHOWCASE_PHONES = {"13812345678", "13966668888"}
# The returning customer for after-sales / to-do demos, numbered after the generated ones.
ZHAO_ID = f"C{GENERATED_CUSTOMERS + 3:04d}"  # C0061
ZHAO_PHONE = "13705189966"

# Fit feedback: its own RNG stream, so the order data above never changes because of it.
FEEDBACK_RNG_SEED = RNG_SEED + 1
FEEDBACK_SHARE = 0.7  # share of delivered clothing items whose buyer left fit feedback
HISTORIC_FEEDBACK_PER_PRODUCT = 36  # older sales, before the seeded order window
SIZE_IN_SPEC = re.compile(r"尺码：([^；]+)")
SIZE_SLIPS = (-1, 0, 0, 0, 0, 0, 0, 0, 1)  # how often a buyer is one size off

# Older orders (61-120 days ago) with the baskets customers typically buy together, so
# "买过这款的顾客也常买" (GET /api/products/{id}/related) has real signal: the generated
# orders above pick their items at random. Own RNG stream, seeded after the fit feedback,
# so nothing generated before them changes.
BASKET_RNG_SEED = RNG_SEED + 2
HISTORIC_BASKETS = (
    (("P2005", "P2006"), 6),  # K87 keyboard + silent mouse
    (("P2005", "P2008"), 4),  # keyboard + 4K monitor (sold out now: never recommended)
    (("P2001", "P2004"), 4),  # earphones + GaN charger
    (("P2003", "P2004"), 4),  # power bank + charger
    (("P2001", "P2003"), 4),
    (("P2002", "P2004"), 4),  # noise-cancelling headphones + charger
    (("P1001", "P1003"), 4),  # men's down jacket + cotton T-shirt
    (("P1004", "P1003"), 4),
    (("P1007", "P1008"), 4),  # three-in-one jacket + hoodie
    (("P1002", "P1005"), 4),  # women's down coat + cardigan
    (("P1006", "P1005"), 4),  # jeans + cardigan
    (("P3003", "P3004"), 4),  # face wash + sunscreen
    (("P3001", "P3002"), 4),  # sheet masks + serum
    (("P3005", "P3001"), 4),
    (("P4002", "P4003"), 4),  # nuts + coffee beans
    (("P5002", "P4001"), 6),  # rice cooker + Wuchang rice
    (("P5003", "P4004"), 4),  # blender + jujube tea
    (("P5004", "P5005"), 4),  # robot vacuum + cordless vacuum
)
HISTORIC_DAYS = (61, 120)

# Product views: the showcase customers' are fixed (the last row of each is their
# "last viewed" item, see docs/demo_data.md); generated customers get a few random ones.
VIEW_RNG_SEED = RNG_SEED + 3
SHOWCASE_VIEWS = (
    # (customer, product, days ago, hour, minute, source); never "today", so a seed made
    # early in the morning has no views in the future.
    ("C0001", "P2005", 1, 19, 58, "product_page"),  # then ordered the K87 at 20:12
    ("C0001", "P2002", 1, 21, 26, "search"),
    ("C0001", "P2008", 1, 22, 5, "product_page"),  # 27寸4K显示器: sold out, restock demo
    ("C0002", "P1005", 8, 20, 40, "product_page"),  # bought the next day (order ...0011)
    ("C0002", "P3004", 2, 12, 15, "search"),
    ("C0002", "P2001", 1, 21, 18, "product_page"),  # 蓝牙耳机Pro, in stock
    ("C0061", "P1001", 6, 21, 50, "product_page"),  # bought the next day (order ...0021)
    ("C0061", "P2006", 1, 22, 31, "recommendation"),
    ("C0061", "P2005", 1, 22, 40, "chat_page"),  # K87机械键盘, in stock
)
GENERATED_VIEW_SOURCES = ("product_page", "product_page", "product_page", "search",
                          "chat_page", "recommendation")


@dataclass
class Address:
    name: str
    phone: str
    province: str
    city: str
    district: str
    detail: str

    @property
    def city_short(self) -> str:
        return self.city[:-1] if self.city.endswith("市") else self.city


class _Clock:
    """Builds timestamps relative to the anchor day's midnight."""

    def __init__(self, anchor: date) -> None:
        self.midnight = datetime.combine(anchor, time())
        self.today = anchor

    def at(self, days_ago: int, hour: int, minute: int, second: int = 0) -> datetime:
        return self.midnight - timedelta(days=days_ago) + timedelta(
            hours=hour, minutes=minute, seconds=second
        )

    def day(self, offset: int) -> date:
        return self.today + timedelta(days=offset)


def seed_database(session: Session, anchor: date) -> None:
    rng = random.Random(RNG_SEED)
    clock = _Clock(anchor)
    products = _seed_products(session, clock)
    _seed_showcase(session, clock, products)
    customers = _seed_customers(session, rng, clock)
    _seed_orders(session, rng, clock, customers, products)
    _seed_returning_customer(session, clock, products)
    session.flush()
    seed_fit_feedback(session, clock.midnight)
    session.flush()
    _seed_historic_baskets(session, clock, products)
    seed_product_views(session, anchor)
    session.flush()


# ---------------------------------------------------------------- products


def _seed_products(session: Session, clock: _Clock) -> dict[str, Product]:
    products: dict[str, Product] = {}
    for data in PRODUCTS:
        restock = data["restock_in_days"]
        product = Product(
            id=data["id"],
            brand=data["brand"],
            name=data["name"],
            category=data["category"],
            price=Decimal(str(data["price"])),
            stock=data["stock"],
            restock_date=clock.day(restock) if restock else None,
            description=data["description"],
            options=data["options"],
            attributes=data["attributes"],
            size_chart=data["size_chart"],
        )
        session.add(product)
        products[product.id] = product
    return products


# ---------------------------------------------------------------- showcase


def _seed_showcase(session: Session, clock: _Clock, products: dict[str, Product]) -> None:
    wang = Customer(
        id="C0001", name="王伟", surname="王", title="先生", gender="male",
        phone="13812345678", level="gold", created_at=clock.at(730, 10, 12),
    )
    wang.channels = [
        CustomerChannel(channel_user_id="demo-wang", channel="web", linked_at=wang.created_at),
        CustomerChannel(
            channel_user_id="wx_o_wangwei", channel="wechat", linked_at=clock.at(400, 9, 30)
        ),
    ]
    li = Customer(
        id="C0002", name="李娜", surname="李", title="女士", gender="female",
        phone="13966668888", level="silver", created_at=clock.at(365, 15, 40),
    )
    li.channels = [
        CustomerChannel(channel_user_id="demo-li", channel="web", linked_at=li.created_at)
    ]
    session.add_all([wang, li])

    wang_addr = Address("王伟", "13812345678", "浙江省", "杭州市", "西湖区",
                        "文一西路588号西溪花园12幢2单元801室")
    li_addr = Address("李娜", "13966668888", "湖北省", "武汉市", "洪山区",
                      "珞喻路1037号光谷花园5栋1102室")

    # 0001: shipped via 顺丰 from Shenzhen, at the Hangzhou hub this morning, ETA tomorrow.
    order = _order(
        "361204587712340001", wang, "shipped", wang_addr, "wechat",
        created=clock.at(2, 21, 3), paid=clock.at(2, 21, 5),
        items=[(products["P2001"], "颜色：月光白", 1), (products["P2004"], "颜色：白色", 1)],
    )
    order.shipped_at = clock.at(1, 10, 18)
    order.shipment = Shipment(
        courier="顺丰", tracking_no="SF1428837465021", shipped_at=order.shipped_at,
        eta=clock.day(1), state="in_transit",
    )
    order.shipment.events = _events([
        (clock.at(1, 10, 18), "深圳市南山区",
         "【深圳市南山区科技园营业部】已揽收，揽收员：陈师傅（137****6612）"),
        (clock.at(1, 14, 52), "深圳转运中心", "快件已到达【深圳转运中心】"),
        (clock.at(1, 22, 7), "深圳转运中心",
         "快件已从【深圳转运中心】发出，下一站【杭州转运中心】"),
        (clock.at(0, 5, 46), "杭州转运中心", "快件已到达【杭州转运中心】"),
    ])
    session.add(order)

    # 0002: paid yesterday evening, waiting for the warehouse.
    order = _order(
        "361204587712340002", wang, "paid", wang_addr, "alipay",
        created=clock.at(1, 20, 12), paid=clock.at(1, 20, 15),
        items=[(products["P2005"], "颜色：白色；轴体：茶轴", 1)],
    )
    session.add(order)

    # 0003: delivered three days ago by 京东物流.
    order = _order(
        "361204587712340003", wang, "delivered", wang_addr, "wechat",
        created=clock.at(6, 19, 25), paid=clock.at(6, 19, 26),
        items=[(products["P5001"], "颜色：奶白", 1), (products["P4003"], "规格：454g 咖啡豆", 2)],
    )
    order.shipped_at = clock.at(5, 11, 2)
    order.delivered_at = clock.at(3, 14, 36)
    order.shipment = Shipment(
        courier="京东物流", tracking_no="JDVA20736518204", shipped_at=order.shipped_at,
        eta=clock.day(-3), state="delivered",
    )
    order.shipment.events = _events([
        (clock.at(5, 11, 2), "佛山市顺德区", "【佛山顺德营业部】已揽收，揽收员：黄师傅"),
        (clock.at(5, 16, 40), "佛山分拣中心", "快件已到达【佛山分拣中心】"),
        (clock.at(5, 23, 18), "佛山分拣中心",
         "快件已从【佛山分拣中心】发出，下一站【杭州分拣中心】"),
        (clock.at(3, 4, 55), "杭州分拣中心", "快件已到达【杭州分拣中心】"),
        (clock.at(3, 8, 30), "杭州市西湖区", "快件已到达【杭州西湖文一西路营业部】"),
        (clock.at(3, 9, 12), "杭州市西湖区",
         "派送中，配送员周师傅（135****0921）正在为您派送，请保持电话畅通"),
        (clock.at(3, 14, 36), "杭州市西湖区",
         "已签收，签收人：本人签收。感谢使用京东物流，期待再次为您服务"),
    ])
    session.add(order)

    # 0004: unpaid, placed last night.
    order = _order(
        "361204587712340004", wang, "unpaid", wang_addr, None,
        created=clock.at(1, 21, 40), paid=None,
        items=[(products["P3002"], "规格：30ml", 1), (products["P3004"], "规格：50ml", 1)],
    )
    session.add(order)

    # 0011: 中通 parcel stuck at the Wuhan hub for three days, ETA already passed.
    order = _order(
        "361204587712340011", li, "shipped", li_addr, "alipay",
        created=clock.at(7, 12, 30), paid=clock.at(7, 12, 32),
        items=[(products["P1006"], "颜色：浅蓝；尺码：27", 1),
               (products["P1005"], "颜色：米白；尺码：M", 1)],
    )
    order.shipped_at = clock.at(6, 17, 42)
    order.shipment = Shipment(
        courier="中通", tracking_no="78461203958127", shipped_at=order.shipped_at,
        eta=clock.day(-2), state="in_transit",
    )
    order.shipment.events = _events([
        (clock.at(6, 17, 42), "广州市白云区",
         "【广州市白云区】广州白云嘉禾网点 的 赵师傅（159****3307）已揽收"),
        (clock.at(6, 21, 15), "广州转运中心", "快件已到达【广州转运中心】"),
        (clock.at(5, 1, 30), "广州转运中心",
         "快件已从【广州转运中心】发出，下一站【武汉转运中心】"),
        (clock.at(3, 9, 26), "武汉转运中心", "快件已到达【武汉转运中心】"),
    ])
    session.add(order)

    # 0012: lipsticks returned and refunded.
    order = _order(
        "361204587712340012", li, "refunded", li_addr, "wechat",
        created=clock.at(25, 10, 5), paid=clock.at(25, 10, 6),
        items=[(products["P3005"], "色号：#520 豆沙色", 2)],
    )
    order.shipped_at = clock.at(24, 15, 20)
    order.delivered_at = clock.at(22, 11, 48)
    order.shipment = _delivered_shipment(
        "圆通", "YT7365129804417", clock.at(24, 15, 20), clock.at(22, 11, 48),
        ("广州", "广州市番禺区"), li_addr,
    )
    session.add(order)
    session.add(AfterSale(
        order_id=order.id, type="return", status="completed",
        reason="色号与图片色差较大，不喜欢", items=["P3005"], photos=[],
        created_at=clock.at(20, 9, 14), refund_amount=order.total_amount,
        expected_refund_date=clock.day(-15), completed_at=clock.at(16, 15, 2),
    ))

    # 0013: blender sent back, refund in progress.
    order = _order(
        "361204587712340013", li, "return_requested", li_addr, "alipay",
        created=clock.at(9, 20, 45), paid=clock.at(9, 20, 47),
        items=[(products["P5003"], "颜色：灰白", 1)],
    )
    order.shipped_at = clock.at(8, 10, 30)
    order.delivered_at = clock.at(5, 16, 20)
    order.shipment = _delivered_shipment(
        "韵达", "4312876501239", clock.at(8, 10, 30), clock.at(5, 16, 20),
        ("佛山", "佛山市顺德区"), li_addr,
    )
    session.add(order)
    session.add(AfterSale(
        order_id=order.id, type="return", status="processing",
        reason="机器运行时噪音很大，有异响", items=["P5003"], photos=[],
        created_at=clock.at(2, 10, 8), refund_amount=order.total_amount,
        expected_refund_date=clock.day(3),
    ))

    # 0014: cancelled before payment.
    order = _order(
        "361204587712340014", li, "cancelled", li_addr, None,
        created=clock.at(8, 13, 10), paid=None,
        items=[(products["P4002"], "规格：750g/30袋", 1)],
    )
    order.cancelled_at = clock.at(8, 13, 42)
    order.cancel_reason = "拍错了，重新下单"
    session.add(order)

    session.add_all([
        Coupon(customer_id="C0001", amount=Decimal("30"), threshold=Decimal("300"),
               reason="会员日专享券", issued_at=clock.at(5, 10, 0),
               expires_at=clock.at(-10, 23, 59, 59), used=False),
        Coupon(customer_id="C0001", amount=Decimal("10"), threshold=Decimal("0"),
               reason="新人无门槛券", issued_at=clock.at(700, 10, 0),
               expires_at=clock.at(670, 23, 59, 59), used=True),
        Coupon(customer_id="C0002", amount=Decimal("20"), threshold=Decimal("200"),
               reason="双11预热券", issued_at=clock.at(60, 0, 0),
               expires_at=clock.at(45, 23, 59, 59), used=False),
        Coupon(customer_id="C0002", amount=Decimal("10"), threshold=Decimal("100"),
               reason="银卡会员月度礼券", issued_at=clock.at(3, 9, 0),
               expires_at=clock.at(-27, 23, 59, 59), used=False),
    ])


def _order(
    order_id: str,
    customer: Customer,
    status: str,
    address: Address,
    payment: Optional[str],
    created: datetime,
    paid: Optional[datetime],
    items: list[tuple[Product, str, int]],
    paid_prices: Optional[dict[str, Decimal]] = None,  # bought before a price change
) -> Order:
    order_items = [
        OrderItem(product_id=p.id, product_name=p.name, spec=spec, quantity=qty,
                  price=(paid_prices or {}).get(p.id, p.price))
        for p, spec, qty in items
    ]
    total = sum((item.price * item.quantity for item in order_items), Decimal("0"))
    return Order(
        id=order_id,
        customer_id=customer.id,
        status=status,
        total_amount=total,
        payment_method=payment,
        created_at=created,
        paid_at=paid,
        # Platform rule: ship within 48 hours of payment.
        promised_ship_by=paid + timedelta(hours=48) if paid else None,
        items=order_items,
        address=OrderAddress(
            name=address.name, phone=address.phone, province=address.province,
            city=address.city, district=address.district, detail=address.detail,
        ),
    )


def _events(rows: list[tuple[datetime, str, str]]) -> list[TrackingEvent]:
    return [TrackingEvent(time=t, location=loc, description=desc) for t, loc, desc in rows]


def _hub(courier: str, city_short: str) -> str:
    return f"{city_short}分拣中心" if courier == "京东物流" else f"{city_short}转运中心"


def _delivered_shipment(
    courier: str,
    tracking_no: str,
    shipped_at: datetime,
    delivered_at: datetime,
    origin: tuple[str, str],
    address: Address,
) -> Shipment:
    """A complete pickup-to-signature history spread between the two timestamps."""
    fractions = (0.0, 0.1, 0.18, 0.7, 0.8, 0.88, 0.93, 1.0)
    span = delivered_at - shipped_at
    times = [shipped_at + span * f for f in fractions]
    times = [t.replace(microsecond=0) for t in times]
    texts = _stage_texts(courier, origin, address, "刘", "本人签收")
    shipment = Shipment(
        courier=courier, tracking_no=tracking_no, shipped_at=shipped_at,
        eta=delivered_at.date(), state="delivered",
    )
    shipment.events = _events([(times[i], texts[i][0], texts[i][1]) for i in range(8)])
    return shipment


def _stage_texts(
    courier: str,
    origin: tuple[str, str],
    address: Address,
    courier_surname: str,
    signer: str,
) -> list[tuple[str, str]]:
    """(location, description) for the 8 standard stages of a parcel's journey."""
    origin_short, origin_place = origin
    dest_short = address.city_short
    dest_place = f"{address.city}{address.district}"
    origin_hub = _hub(courier, origin_short)
    dest_hub = _hub(courier, dest_short)
    station = f"{dest_short}{address.district}营业部"
    return [
        (origin_place, f"【{origin_place}营业部】已揽收，揽收员：{courier_surname}师傅"),
        (origin_hub, f"快件已到达【{origin_hub}】"),
        (origin_hub, f"快件已从【{origin_hub}】发出，下一站【{dest_hub}】"),
        (dest_hub, f"快件已到达【{dest_hub}】"),
        (dest_hub, f"快件已从【{dest_hub}】发出，下一站【{station}】"),
        (dest_place, f"快件已到达【{station}】"),
        (dest_place, f"派送中，派件员{courier_surname}师傅正在为您派送，请保持电话畅通"),
        (dest_place, f"已签收，签收人：{signer}。感谢使用{courier}，期待再次为您服务"),
    ]


# ---------------------------------------------------------------- generated data


@dataclass
class _GenCustomer:
    customer: Customer
    address: Address


def _seed_customers(session: Session, rng: random.Random, clock: _Clock) -> list[_GenCustomer]:
    result: list[_GenCustomer] = []
    used_phones = set(SHOWCASE_PHONES)
    used_names: set[str] = {"王伟", "李娜"}
    for index in range(GENERATED_CUSTOMERS):
        number = index + 3
        male = rng.random() < 0.5
        surname = rng.choice(SURNAMES)
        while True:
            name = surname + rng.choice(MALE_GIVEN if male else FEMALE_GIVEN)
            if name not in used_names:
                break
            surname = rng.choice(SURNAMES)
        used_names.add(name)
        phone = _phone(rng, used_phones)
        created = clock.at(rng.randint(30, 1400), rng.randint(8, 22), rng.randint(0, 59))
        customer = Customer(
            id=f"C{number:04d}", name=name, surname=surname, title="先生" if male else "女士",
            gender="male" if male else "female", phone=phone,
            level=rng.choices(LEVELS, weights=LEVEL_WEIGHTS)[0], created_at=created,
        )
        channels = [CustomerChannel(
            channel_user_id=f"web_u{1000 + number}", channel="web", linked_at=created
        )]
        if rng.random() < 0.6:
            openid = "".join(rng.choices(string.ascii_letters + string.digits, k=10))
            channels.append(CustomerChannel(
                channel_user_id=f"wx_o_{openid}", channel="wechat", linked_at=created
            ))
        if rng.random() < 0.3:
            channels.append(CustomerChannel(
                channel_user_id=f"app_{rng.randint(10_000_000, 99_999_999)}", channel="app",
                linked_at=created,
            ))
        customer.channels = channels
        session.add(customer)
        city = rng.choice(CITIES)
        result.append(_GenCustomer(customer, _random_address(rng, city, name, phone)))
    return result


def _phone(rng: random.Random, used: set[str]) -> str:
    while True:
        phone = f"1{rng.choice('3456789')}{rng.randint(0, 999_999_999):09d}"
        if phone not in used:
            used.add(phone)
            return phone


def _random_address(rng: random.Random, city: City, name: str, phone: str) -> Address:
    detail = (
        f"{rng.choice(city.streets)}{rng.randint(1, 999)}号{rng.choice(COMMUNITIES)}"
        f"{rng.randint(1, 30)}栋{rng.randint(1, 4)}单元{rng.randint(1, 32)}0{rng.randint(1, 4)}室"
    )
    return Address(name, phone, city.province, city.city, rng.choice(city.districts), detail)


def _tracking_no(rng: random.Random, courier: str) -> str:
    digits = lambda n: "".join(rng.choices(string.digits, k=n))  # noqa: E731
    return {
        "顺丰": lambda: "SF" + digits(13),
        "中通": lambda: "7" + digits(13),
        "圆通": lambda: "YT" + digits(13),
        "韵达": lambda: "43" + digits(11),
        "申通": lambda: "77" + digits(13),
        "京东物流": lambda: "JDVA" + digits(11),
        "邮政EMS": lambda: "1" + digits(12),
        "极兔": lambda: "JT" + digits(13),
    }[courier]()


def demo_tracking_no(courier: str, seed: int) -> str:
    """A plausible tracking number for a demo shipment (deterministic per seed)."""
    return _tracking_no(random.Random(seed), courier)


def _order_id(rng: random.Random, used: set[str]) -> str:
    while True:
        order_id = "36" + "".join(rng.choices(string.digits, k=16))
        # Keep clear of the showcase number range.
        if order_id not in used and not order_id.startswith("3612045877"):
            used.add(order_id)
            return order_id


def _random_items(
    rng: random.Random, products: dict[str, Product]
) -> list[tuple[Product, str, int]]:
    chosen = rng.sample(sorted(products), k=rng.choice((1, 1, 1, 2, 2, 3)))
    return [_random_item(rng, products[pid]) for pid in chosen]


def _random_item(rng: random.Random, product: Product) -> tuple[Product, str, int]:
    spec = "；".join(f"{key}：{rng.choice(values)}" for key, values in product.options.items())
    max_qty = 3 if product.category in ("food", "cosmetics") else 1
    return product, spec, rng.randint(1, max_qty)


Items = list[tuple[Product, str, int]]


@dataclass
class _Gen:
    session: Session
    rng: random.Random
    clock: _Clock


@dataclass
class _Spec:
    order_id: str
    owner: _GenCustomer
    items: Items
    payment: str

    def order(self, status: str, created: datetime, paid: Optional[datetime]) -> Order:
        return _order(self.order_id, self.owner.customer, status, self.owner.address,
                      self.payment if paid else None, created, paid, self.items)


def _seed_orders(
    session: Session,
    rng: random.Random,
    clock: _Clock,
    customers: list[_GenCustomer],
    products: dict[str, Product],
) -> None:
    statuses = [status for status, count in STATUS_PLAN.items() for _ in range(count)]
    rng.shuffle(statuses)
    used_ids: set[str] = set()
    g = _Gen(session, rng, clock)
    for status in statuses:
        owner = rng.choice(customers)
        items = _random_items(rng, products)
        spec = _Spec(_order_id(rng, used_ids), owner, items, rng.choice(PAYMENT_METHODS))
        _BUILDERS[status](g, spec)
    _seed_generated_coupons(session, rng, clock, customers)


def _minutes(rng: random.Random, low: int, high: int) -> timedelta:
    return timedelta(minutes=rng.randint(low, high), seconds=rng.randint(0, 59))


def _origin(items: Items) -> tuple[str, str]:
    return BRAND_ORIGIN[items[0][0].brand]


def _build_unpaid(g: _Gen, spec: _Spec) -> None:
    created = g.clock.midnight - _minutes(g.rng, 20, 20 * 60)
    g.session.add(spec.order("unpaid", created, None))


def _build_paid(g: _Gen, spec: _Spec) -> None:
    paid = g.clock.midnight - _minutes(g.rng, 30, 40 * 60)
    created = paid - _minutes(g.rng, 1, 15)
    g.session.add(spec.order("paid", created, paid))


SHIP_GAPS = {1: (120, 300), 2: (60, 240), 3: (480, 1800), 4: (90, 300), 5: (120, 360),
             6: (30, 120)}


def _build_shipped(g: _Gen, spec: _Spec) -> None:
    """In transit: build the history backwards from the latest event."""
    rng, clock = g.rng, g.clock
    courier = rng.choice(COURIERS)
    roll = rng.random()
    if roll < 0.12:
        mode, last_stage = "delayed", rng.choice((2, 3))
        latest = clock.midnight - timedelta(days=rng.randint(3, 4)) + _minutes(rng, 360, 1200)
        eta = clock.day(-rng.randint(1, 2))
    elif roll < 0.35:
        # Early-morning events so they are already in the past for most of the day.
        mode, last_stage = "out_for_delivery", 6
        latest = clock.midnight + _minutes(rng, 360, 460)
        eta = clock.today
    else:
        mode, last_stage = "in_transit", rng.randint(1, 5)
        latest = clock.midnight + timedelta(hours=7) - _minutes(rng, 0, 30 * 60)
        eta = clock.day(1 if last_stage >= 3 else 2)
    times = [latest]
    for stage in range(last_stage, 0, -1):
        times.insert(0, times[0] - _minutes(rng, *SHIP_GAPS[stage]))
    paid = times[0] - _minutes(rng, 120, 26 * 60)
    order = spec.order("shipped", paid - _minutes(rng, 1, 10), paid)
    order.shipped_at = times[0]
    texts = _stage_texts(courier, _origin(spec.items), spec.owner.address,
                         rng.choice(COURIER_SURNAMES), "本人签收")
    order.shipment = Shipment(
        courier=courier, tracking_no=_tracking_no(rng, courier), shipped_at=times[0], eta=eta,
        state="out_for_delivery" if mode == "out_for_delivery" else "in_transit",
    )
    order.shipment.events = _events(
        [(times[i], texts[i][0], texts[i][1]) for i in range(last_stage + 1)]
    )
    g.session.add(order)


def _delivered_order(g: _Gen, spec: _Spec, status: str, min_days: int, max_days: int) -> Order:
    """Created min..max days ago; the whole journey takes at most ~4.7 days."""
    rng = g.rng
    created = g.clock.midnight - timedelta(days=rng.randint(min_days, max_days))
    created += _minutes(rng, 8 * 60, 23 * 60)
    paid = created + _minutes(rng, 1, 30)
    shipped = paid + _minutes(rng, 3 * 60, 30 * 60)
    delivered = shipped + _minutes(rng, 20 * 60, 80 * 60)
    order = spec.order(status, created, paid)
    order.shipped_at = shipped
    order.delivered_at = delivered
    courier = rng.choice(COURIERS)
    signer = rng.choice(("本人签收", "本人签收", "家门口", "快递柜", "菜鸟驿站", "物业代收"))
    order.shipment = _delivered_shipment(
        courier, _tracking_no(rng, courier), shipped, delivered, _origin(spec.items),
        spec.owner.address,
    )
    if signer != "本人签收":
        last = order.shipment.events[-1]
        last.description = last.description.replace("本人签收", signer)
    return order


def _build_delivered(g: _Gen, spec: _Spec) -> None:
    rng = g.rng
    order = _delivered_order(g, spec, "delivered", 6, 60)
    customer = spec.owner.customer
    g.session.add(order)
    roll = rng.random()
    if roll < 0.25:
        g.session.add(Invoice(
            order_id=order.id, type="normal", title=customer.name, tax_id=None,
            email=f"{customer.phone}@163.com", amount=order.total_amount, status="issued",
            created_at=order.delivered_at + timedelta(hours=2),
            issued_at=order.delivered_at + timedelta(hours=26),
        ))
    elif roll < 0.32:
        g.session.add(AfterSale(
            order_id=order.id, type="exchange", status="completed",
            reason="尺码不合适，换大一码", items=[spec.items[0][0].id], photos=[],
            created_at=order.delivered_at + timedelta(days=1),
            completed_at=order.delivered_at + timedelta(days=4),
        ))
    if rng.random() < 0.1:
        g.session.add(Followup(
            type="urge", order_id=order.id, customer_id=customer.id,
            note="客户催促发货", status="closed",
            created_at=order.paid_at + timedelta(hours=2),
            closed_at=order.shipped_at,
        ))


def _build_cancelled(g: _Gen, spec: _Spec) -> None:
    rng = g.rng
    created = g.clock.midnight - timedelta(days=rng.randint(2, 40))
    created += _minutes(rng, 8 * 60, 23 * 60)
    was_paid = rng.random() < 0.5
    paid = created + _minutes(rng, 1, 20) if was_paid else None
    order = spec.order("cancelled", created, paid)
    if paid is not None:
        order.promised_ship_by = None
        order.cancelled_at = paid + _minutes(rng, 30, 20 * 60)
        order.cancel_reason = rng.choice(
            ("不想要了", "地址填写错误", "商品价格下调，重新下单", "等待时间太长")
        )
        g.session.add(AfterSale(
            order_id=order.id, type="refund", status="completed",
            reason=f"取消订单：{order.cancel_reason}", items=[], photos=[],
            created_at=order.cancelled_at, refund_amount=order.total_amount,
            expected_refund_date=(order.cancelled_at + timedelta(days=1)).date(),
            completed_at=order.cancelled_at + _minutes(rng, 10, 20 * 60),
        ))
    else:
        order.cancelled_at = created + timedelta(hours=24)
        order.cancel_reason = "超时未支付，系统自动取消"
    g.session.add(order)


def _build_return_requested(g: _Gen, spec: _Spec) -> None:
    rng = g.rng
    # Created >= 9 days ago, so delivery is over before the request (<= 3 days ago).
    order = _delivered_order(g, spec, "return_requested", 9, 14)
    g.session.add(order)
    requested = g.clock.midnight - _minutes(rng, 6 * 60, 3 * 24 * 60)
    g.session.add(AfterSale(
        order_id=order.id, type="return", status="processing",
        reason=rng.choice(("七天无理由退货", "商品与描述不符", "收到商品有破损", "质量问题")),
        items=[p.id for p, _, _ in spec.items], photos=[], created_at=requested,
        refund_amount=order.total_amount,
        expected_refund_date=(requested + timedelta(days=rng.randint(5, 7))).date(),
    ))


def _build_refunded(g: _Gen, spec: _Spec) -> None:
    rng = g.rng
    order = _delivered_order(g, spec, "refunded", 20, 60)
    g.session.add(order)
    requested = order.delivered_at + _minutes(rng, 6 * 60, 5 * 24 * 60)
    completed = requested + _minutes(rng, 2 * 24 * 60, 6 * 24 * 60)
    g.session.add(AfterSale(
        order_id=order.id, type="return", status="completed",
        reason=rng.choice(("七天无理由退货", "尺码不合适", "商品与描述不符", "不喜欢")),
        items=[p.id for p, _, _ in spec.items], photos=[], created_at=requested,
        refund_amount=order.total_amount, expected_refund_date=completed.date(),
        completed_at=completed,
    ))


_BUILDERS = {
    "unpaid": _build_unpaid,
    "paid": _build_paid,
    "shipped": _build_shipped,
    "delivered": _build_delivered,
    "cancelled": _build_cancelled,
    "return_requested": _build_return_requested,
    "refunded": _build_refunded,
}


def _seed_generated_coupons(
    session: Session, rng: random.Random, clock: _Clock, customers: list[_GenCustomer]
) -> None:
    offers = (
        (Decimal("5"), Decimal("0"), "新人无门槛券"),
        (Decimal("20"), Decimal("199"), "店铺满减券"),
        (Decimal("30"), Decimal("300"), "会员日专享券"),
        (Decimal("50"), Decimal("500"), "大促满减券"),
        (Decimal("10"), Decimal("0"), "物流延误补偿"),
    )
    for owner in customers:
        for _ in range(rng.randint(0, 2)):
            amount, threshold, reason = rng.choice(offers)
            issued = clock.midnight - timedelta(days=rng.randint(1, 90)) + _minutes(rng, 0, 1439)
            session.add(Coupon(
                customer_id=owner.customer.id, amount=amount, threshold=threshold,
                reason=reason, issued_at=issued, expires_at=issued + timedelta(days=30),
                used=rng.random() < 0.3,
            ))


# ---------------------------------------------------------------- returning customer


def _seed_returning_customer(
    session: Session, clock: _Clock, products: dict[str, Product]
) -> None:
    """赵磊: fresh deliveries for quality / size / damage demos and his to-do list."""
    zhao = Customer(
        id=ZHAO_ID, name="赵磊", surname="赵", title="先生", gender="male",
        phone=ZHAO_PHONE, level="silver", created_at=clock.at(540, 19, 8),
    )
    zhao.channels = [
        CustomerChannel(channel_user_id="demo-zhao", channel="web", linked_at=zhao.created_at)
    ]
    session.add(zhao)
    address = Address("赵磊", ZHAO_PHONE, "江苏省", "南京市", "鼓楼区",
                      "中山北路281号虹桥新寓3栋1单元602室")

    # 0021: down jacket (L) and power bank, delivered two days ago: quality / size demos.
    order = _order(
        "361204587712340021", zhao, "delivered", address, "alipay",
        created=clock.at(5, 20, 16), paid=clock.at(5, 20, 18),
        items=[(products["P1001"], "颜色：藏青；尺码：L", 1),
               (products["P2003"], "颜色：黑色", 1)],
    )
    order.shipped_at = clock.at(4, 14, 5)
    order.delivered_at = clock.at(2, 11, 30)
    order.shipment = _delivered_shipment(
        "中通", "73518206493027", order.shipped_at, order.delivered_at,
        BRAND_ORIGIN["沐风"], address,
    )
    session.add(order)

    # 0022: rice cooker delivered yesterday in a crushed box; photos still to be recorded.
    # Bought at 449, it costs 399 now: 价保 refunds 50.
    order = _order(
        "361204587712340022", zhao, "delivered", address, "wechat",
        created=clock.at(3, 9, 40), paid=clock.at(3, 9, 41),
        items=[(products["P5002"], "颜色：白色", 1)], paid_prices={"P5002": Decimal("449")},
    )
    order.shipped_at = clock.at(2, 15, 20)
    order.delivered_at = clock.at(1, 18, 5)
    order.shipment = _delivered_shipment(
        "顺丰", "SF1460392875314", order.shipped_at, order.delivered_at,
        BRAND_ORIGIN["悦家"], address,
    )
    session.add(order)
    session.add(Todo(
        conversation_id="demo-zhao", customer_id=ZHAO_ID, order_id=order.id,
        kind="damage_photo", text="需记录破损图片（电饭煲外箱压坏，内胆有凹痕）",
        status="open", created_at=clock.at(1, 19, 2),
    ))

    # 0023: a missing item was resent three weeks ago; the to-do closed with the number.
    order = _order(
        "361204587712340023", zhao, "delivered", address, "alipay",
        created=clock.at(24, 10, 0), paid=clock.at(24, 10, 1),
        items=[(products["P1008"], "颜色：灰色；尺码：XL", 1),
               (products["P4002"], "规格：750g/30袋", 1)],
    )
    order.shipped_at = clock.at(23, 16, 0)
    order.delivered_at = clock.at(21, 12, 40)
    order.shipment = _delivered_shipment(
        "韵达", "4318806527193", order.shipped_at, order.delivered_at,
        BRAND_ORIGIN["山野"], address,
    )
    session.add(order)
    resend = AfterSale(
        order_id=order.id, type="resend", status="completed", reason="少发了每日坚果礼盒",
        reason_code="missing_item", items=["P4002"], photos=[], evidence=[],
        conversation_id="demo-zhao", created_at=clock.at(20, 9, 30),
        courier="中通", tracking_no="73150284719305", shipped_at=clock.at(19, 15, 10),
        completed_at=clock.at(19, 15, 10),
    )
    session.add(resend)
    session.flush()  # the ticket number needs the id
    session.add(Todo(
        conversation_id="demo-zhao", customer_id=ZHAO_ID, order_id=order.id,
        after_sale_id=resend.id, kind="resend_tracking", text="需跟进补发单号",
        ref=f"AS{resend.id:08d}", status="done", result_text="补发单号 中通 73150284719305",
        created_at=resend.created_at, closed_at=resend.shipped_at,
    ))


# ---------------------------------------------------------------- baskets and views


def _seed_historic_baskets(
    session: Session, clock: _Clock, products: dict[str, Product]
) -> None:
    """Delivered orders of typical baskets, owned by generated customers (see
    HISTORIC_BASKETS)."""
    rng = random.Random(BASKET_RNG_SEED)
    showcase = {"C0001", "C0002", ZHAO_ID}
    customers = [c for c in session.scalars(select(Customer).order_by(Customer.id))
                 if c.id not in showcase]
    used_ids = set(session.scalars(select(Order.id)))
    g = _Gen(session, rng, clock)
    for basket, count in HISTORIC_BASKETS:
        for _ in range(count):
            customer = rng.choice(customers)
            items = [_random_item(rng, products[pid]) for pid in basket]
            spec = _Spec(_order_id(rng, used_ids), _GenCustomer(customer, _address_of(
                session, rng, customer)), items, rng.choice(PAYMENT_METHODS))
            g.session.add(_delivered_order(g, spec, "delivered", *HISTORIC_DAYS))


def _address_of(session: Session, rng: random.Random, customer: Customer) -> Address:
    """The address of the customer's latest order (people rarely move), else a new one."""
    row = session.execute(
        select(OrderAddress).join(Order, Order.id == OrderAddress.order_id)
        .where(Order.customer_id == customer.id)
        .order_by(Order.created_at.desc(), Order.id.desc()).limit(1)
    ).scalar_one_or_none()
    if row is None:
        return _random_address(rng, rng.choice(CITIES), customer.name, customer.phone)
    return Address(row.name, row.phone, row.province, row.city, row.district, row.detail)


def seed_product_views(session: Session, anchor: date) -> int:
    """Product views relative to ``anchor``: the fixed showcase ones and a few random ones
    per generated customer. Customers missing from an older database are skipped.
    Returns the number of rows."""
    rng = random.Random(VIEW_RNG_SEED)
    clock = _Clock(anchor)
    customers = list(session.scalars(select(Customer.id).order_by(Customer.id)))
    product_ids = sorted(session.scalars(select(Product.id)))
    present = set(customers)
    rows = [
        ProductView(customer_id=customer_id, product_id=product_id,
                    viewed_at=clock.at(days_ago, hour, minute), source=source)
        for customer_id, product_id, days_ago, hour, minute, source in SHOWCASE_VIEWS
        if customer_id in present
    ]
    showcase = {row[0] for row in SHOWCASE_VIEWS}
    for customer_id in customers:
        if customer_id in showcase:
            continue
        for _ in range(rng.randint(0, 4)):
            rows.append(ProductView(
                customer_id=customer_id, product_id=rng.choice(product_ids),
                viewed_at=clock.at(rng.randint(1, 30), rng.randint(8, 23), rng.randint(0, 59)),
                source=rng.choice(GENERATED_VIEW_SOURCES),
            ))
    session.add_all(rows)
    session.flush()
    return len(rows)


# ---------------------------------------------------------------- fit feedback


def seed_fit_feedback(session: Session, now: datetime) -> int:
    """Anonymised fit feedback for every product with a size chart; returns the row count.

    Buyers of delivered clothing in the orders leave most of it; older sales add a fixed
    number per product. Each buyer's build is drawn near the size they bought, and the
    verdict (合身/偏大/偏小) follows from the size the chart would have recommended.
    Deterministic for a given set of orders (its own RNG, orders walked by id).
    """
    rng = random.Random(FEEDBACK_RNG_SEED)
    charted = {p.id: p for p in session.scalars(select(Product).order_by(Product.id))
               if p.size_chart}
    rows: list[FitFeedback] = []
    bought = session.execute(
        select(OrderItem.order_id, OrderItem.product_id, OrderItem.spec, Order.delivered_at)
        .join(Order, Order.id == OrderItem.order_id)
        .where(Order.status.in_(("delivered", "return_requested", "refunded")),
               OrderItem.product_id.in_(sorted(charted)))
        .order_by(Order.id, OrderItem.id)
    ).all()
    for order_id, product_id, spec, delivered_at in bought:
        product = charted[product_id]
        match = SIZE_IN_SPEC.search(spec)
        sizes = [row["size"] for row in product.size_chart]
        if match is None or match.group(1) not in sizes or rng.random() > FEEDBACK_SHARE:
            continue
        index = sizes.index(match.group(1))
        true_index = min(max(index + rng.choice(SIZE_SLIPS), 0), len(sizes) - 1)
        height, weight = _build_in(rng, product.size_chart[true_index])
        created = min(delivered_at + _minutes(rng, 6 * 60, 5 * 24 * 60), now)
        rows.append(_feedback(rng, product, index, height, weight, created, order_id))
    for product in charted.values():
        count = len(product.size_chart)
        weights = [1 + 2 * min(i, count - 1 - i) for i in range(count)]
        for _ in range(HISTORIC_FEEDBACK_PER_PRODUCT):
            true_index = rng.choices(range(count), weights=weights)[0]
            height, weight = _build_in(rng, product.size_chart[true_index])
            recommended = _advice(product, height, weight)["index"]
            index = min(max(recommended + rng.choice(SIZE_SLIPS), 0), count - 1)
            created = now - timedelta(days=rng.randint(30, 400)) - _minutes(rng, 0, 1439)
            rows.append(_feedback(rng, product, index, height, weight, created, None))
    session.add_all(rows)
    session.flush()
    return len(rows)


def _build_in(rng: random.Random, row: dict) -> tuple[int, int]:
    return (rng.randint(row["height_cm"][0], row["height_cm"][1]),
            rng.randint(row["weight_kg"][0], row["weight_kg"][1]))


def _advice(product: Product, height: int, weight: int) -> dict:
    return advise(product.size_chart, height, weight,
                  fit_note=(product.attributes or {}).get("fit"))


def _feedback(
    rng: random.Random,
    product: Product,
    index: int,
    height: int,
    weight: int,
    created: datetime,
    order_id: Optional[str],
) -> FitFeedback:
    advice = _advice(product, height, weight)
    size = product.size_chart[index]["size"]
    if index == advice["index"] or (size in (advice["between"] or ()) and rng.random() < 0.7):
        # Right size by the chart (or a neighbour when between sizes); a few buyers still
        # find it a little off.
        fit = rng.choices(("fits", "too_large", "too_small"), weights=(88, 7, 5))[0]
    elif index > advice["index"]:
        fit = "too_large"
    else:
        fit = "too_small"
    return FitFeedback(
        product_id=product.id, order_id=order_id, size=size,
        height_cm=height, weight_kg=weight, fit=fit, created_at=created,
    )
