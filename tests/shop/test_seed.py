"""The seed itself: volume, coverage, formats and determinism (in-process, SQLite)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload, sessionmaker

from shop.catalog import COURIERS
from shop.db import make_engine, make_session_factory, prepare_database, rebase_dates
from shop.models import (
    ORDER_STATUSES,
    AfterSale,
    Coupon,
    Customer,
    CustomerChannel,
    Invoice,
    Order,
    Product,
    Shipment,
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
