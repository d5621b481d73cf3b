"""The seed itself: volume, coverage, formats and determinism (in-process, SQLite)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import selectinload, sessionmaker

from shop.catalog import COURIERS
from shop.db import (
    make_engine,
    make_session_factory,
    prepare_database,
    rebase_dates,
    upgrade_schema,
)
from shop.models import (
    ORDER_STATUSES,
    AfterSale,
    Coupon,
    Customer,
    CustomerChannel,
    FitFeedback,
    Invoice,
    Order,
    OrderItem,
    Product,
    ProductView,
    Shipment,
    Todo,
    TrackingEvent,
)

ANCHOR = date(2025, 3, 10)


def seeded(path) -> sessionmaker:
    engine = make_engine(f"sqlite:///{path}")
    prepare_database(engine, seed_date=ANCHOR, rebase=False)
    return make_session_factory(engine)


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    return seeded(tmp_path_factory.mktemp("seed") / "a.sqlite")


def test_volume_and_status_coverage(sessions):
    with sessions() as session:
        count = lambda model: session.scalar(select(func.count()).select_from(model))  # noqa: E731
        assert count(Customer) >= 50 and count(Order) >= 200 and count(Product) == 31
        assert count(Coupon) > 10 and count(Invoice) > 5 and count(AfterSale) > 10
        statuses = set(session.scalars(select(Order.status).distinct()))
        assert statuses == set(ORDER_STATUSES)


def test_formats(sessions):
    with sessions() as session:
        for phone in session.scalars(select(Customer.phone)):
            assert re.fullmatch(r"1[3-9]\d{9}", phone)
        for order_id in session.scalars(select(Order.id)):
            assert re.fullmatch(r"36\d{16}", order_id)
        channels = list(session.scalars(select(CustomerChannel.channel_user_id)))
        assert "web_u1003" in channels and any(c.startswith("wx_o_") for c in channels)
        assert set(session.scalars(select(Shipment.courier).distinct())) <= set(COURIERS)


def test_histories_are_consistent(sessions):
    with sessions() as session:
        orders = session.scalars(
            select(Order).options(selectinload(Order.shipment).selectinload(Shipment.events))
        ).all()
        for order in orders:
            shipped = order.status in ("shipped", "delivered", "return_requested", "refunded")
            assert (order.shipment is not None) == shipped, order.id
            if order.paid_at:
                assert order.created_at <= order.paid_at
            if not shipped:
                continue
            events = order.shipment.events
            assert len(events) >= 2 and "揽收" in events[-1].description
            assert events[-1].time == order.shipment.shipped_at
            if order.status != "shipped":
                assert "已签收" in events[0].description
                assert events[0].time == order.delivered_at
                assert order.delivered_at.date() < ANCHOR


def test_deterministic(sessions, tmp_path):
    other = seeded(tmp_path / "b.sqlite")

    def fingerprint(factory):
        with factory() as session:
            return (
                list(session.scalars(select(Order.id).order_by(Order.id))),
                list(session.scalars(select(Customer.phone).order_by(Customer.id))),
                list(session.scalars(select(TrackingEvent.description).order_by(TrackingEvent.id))),
            )

    assert fingerprint(sessions) == fingerprint(other)


def test_rebase_shifts_everything_once(tmp_path):
    factory = seeded(tmp_path / "c.sqlite")
    with factory() as session:
        before = session.get(Order, "361204587712340001").created_at
        assert rebase_dates(session, today=ANCHOR + timedelta(days=4)) == 4
        assert rebase_dates(session, today=ANCHOR + timedelta(days=4)) == 0
        session.expire_all()
        assert session.get(Order, "361204587712340001").created_at == before + timedelta(days=4)
        restock = session.get(Product, "P2008").restock_date
        assert restock == ANCHOR + timedelta(days=4 + 6)


def test_fit_feedback(sessions):
    with sessions() as session:
        rows = session.scalars(select(FitFeedback)).all()
        assert 250 <= len(rows) <= 450
        charts = {p.id: p.size_chart for p in session.scalars(select(Product)) if p.size_chart}
        per_product = {pid: [r for r in rows if r.product_id == pid] for pid in charts}
        assert all(len(found) >= 30 for found in per_product.values())
        assert {r.product_id for r in rows} == set(charts)
        for row in rows:
            assert row.size in [c["size"] for c in charts[row.product_id]]
            assert 140 <= row.height_cm <= 200 and 35 <= row.weight_kg <= 110
        fits = [r.fit for r in rows]
        assert set(fits) == {"fits", "too_large", "too_small"}
        assert fits.count("fits") > len(fits) / 2
        # Part of it comes from the seeded, delivered orders (and matches their sizes).
        linked = [r for r in rows if r.order_id is not None]
        assert len(linked) >= 20
        for row in linked:
            order = session.get(Order, row.order_id)
            assert order.status in ("delivered", "return_requested", "refunded")
            assert any(i.product_id == row.product_id and f"尺码：{row.size}" in i.spec
                       for i in order.items)


def test_fit_feedback_is_deterministic(sessions, tmp_path):
    other = seeded(tmp_path / "d.sqlite")

    def fingerprint(factory):
        with factory() as session:
            return session.execute(select(
                FitFeedback.product_id, FitFeedback.order_id, FitFeedback.size,
                FitFeedback.height_cm, FitFeedback.weight_kg, FitFeedback.fit,
            ).order_by(FitFeedback.id)).all()

    assert fingerprint(sessions) == fingerprint(other)


def test_returning_customer(sessions):
    with sessions() as session:
        zhao = session.get(Customer, "C0061")
        assert (zhao.name, zhao.phone) == ("赵磊", "13705189966")
        orders = session.scalars(select(Order).where(Order.customer_id == "C0061")).all()
        assert {o.id: o.status for o in orders} == {
            "361204587712340021": "delivered", "361204587712340022": "delivered",
            "361204587712340023": "delivered"}
        jacket = session.get(Order, "361204587712340021")
        assert jacket.delivered_at.date() == ANCHOR - timedelta(days=2)
        todos = session.scalars(select(Todo).order_by(Todo.id)).all()
        assert [(t.kind, t.status, t.conversation_id) for t in todos] == [
            ("damage_photo", "open", "demo-zhao"), ("resend_tracking", "done", "demo-zhao")]


def test_old_database_is_upgraded_in_place(tmp_path):
    """A database from before uploads/to-dos/fit feedback keeps working after an update."""
    path = tmp_path / "old.sqlite"
    factory = seeded(path)
    engine = factory.kw["bind"]
    with engine.begin() as connection:
        for column in ("reason_code", "evidence", "courier", "tracking_no", "shipped_at"):
            connection.execute(text(f"ALTER TABLE after_sales DROP COLUMN {column}"))
        connection.execute(text("ALTER TABLE invoices DROP COLUMN bank_account"))
        for table in ("todos", "uploads", "fit_feedback", "product_views"):
            connection.execute(text(f"DROP TABLE {table}"))
    with factory() as session:
        old_orders = session.scalar(select(func.count()).select_from(Order))
    engine.dispose()

    engine = make_engine(f"sqlite:///{path}")
    assert set(upgrade_schema(engine)) == {
        "after_sales.reason_code", "after_sales.evidence", "after_sales.courier",
        "after_sales.tracking_no", "after_sales.shipped_at", "invoices.bank_account"}
    prepare_database(engine, rebase=False)
    with make_session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == old_orders
        assert session.scalar(select(func.count()).select_from(FitFeedback)) >= 250
        record = session.scalars(select(AfterSale).order_by(AfterSale.id)).first()
        assert record.reason_code is None and record.evidence is None
        # Product views are backfilled relative to the stored seed day.
        last = session.scalars(select(ProductView).where(ProductView.customer_id == "C0061")
                               .order_by(ProductView.viewed_at.desc())).first()
        assert last.product_id == "P2005"
        assert last.viewed_at.date() == ANCHOR - timedelta(days=1)
    assert upgrade_schema(engine) == []
    engine.dispose()


def test_product_views(sessions):
    with sessions() as session:
        def last_viewed(customer_id: str) -> ProductView:
            return session.scalars(
                select(ProductView).where(ProductView.customer_id == customer_id)
                .order_by(ProductView.viewed_at.desc(), ProductView.id.desc())).first()

        # docs/demo_data.md: the showcase customers' last-viewed items.
        expected = {"C0001": "P2008", "C0002": "P2001", "C0061": "P2005"}
        for customer_id, product_id in expected.items():
            view = last_viewed(customer_id)
            assert view.product_id == product_id
            assert view.viewed_at.date() == ANCHOR - timedelta(days=1)
        assert session.get(Product, "P2001").stock > 0 and session.get(Product, "P2005").stock > 0
        assert session.get(Product, "P2008").stock == 0
        views = session.scalars(select(ProductView)).all()
        assert len({v.customer_id for v in views}) >= 30
        assert all(v.viewed_at.date() < ANCHOR for v in views)  # nothing in the future


def test_historic_baskets(sessions):
    """Older typical baskets give the co-purchase ranking something real to find."""
    with sessions() as session:
        shared = session.scalar(
            select(func.count()).select_from(Order)
            .where(Order.id.in_(select(OrderItem.order_id).where(OrderItem.product_id == "P2005")),
                   Order.id.in_(select(OrderItem.order_id).where(OrderItem.product_id == "P2006")),
                   Order.status == "delivered"))
        assert shared >= 6
        old = session.scalars(select(Order).where(
            Order.created_at < datetime.combine(ANCHOR - timedelta(days=60), time()))).all()
        assert old and all(o.status == "delivered" for o in old)
        assert not {o.customer_id for o in old} & {"C0001", "C0002", "C0061"}


def test_product_views_are_deterministic(sessions, tmp_path):
    other = seeded(tmp_path / "e.sqlite")

    def fingerprint(factory):
        with factory() as session:
            return session.execute(select(
                ProductView.customer_id, ProductView.product_id, ProductView.viewed_at,
                ProductView.source).order_by(ProductView.id)).all()

    assert fingerprint(sessions) == fingerprint(other)
