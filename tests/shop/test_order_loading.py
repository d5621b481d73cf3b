"""How the shop reads an order (in-process, a seeded SQLite database): each handler's order
comes in one SQL statement with what its answer shows, and the answer is the same as when
every relation is loaded lazily, one by one (items and tracking events in their order)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import sessionmaker

from shop import services
from shop.db import make_engine, make_session_factory, prepare_database
from shop.errors import ApiError
from shop.models import Order, OrderItem, Shipment
from shop.serializers import order_json, tracking_json

ANCHOR = date(2025, 3, 10)
NOW = datetime(2025, 3, 10, 15, 0)


@pytest.fixture(scope="module")
def sessions(tmp_path_factory) -> sessionmaker:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('orders') / 'shop.sqlite'}")
    prepare_database(engine, seed_date=ANCHOR, rebase=False)
    return make_session_factory(engine)


@contextmanager
def counted(sessions: sessionmaker) -> Iterator[list[str]]:
    """The SQL statements run inside the block."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    engine = sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def order_ids(sessions: sessionmaker) -> list[str]:
    """Orders with several items, with tracking events, without a shipment, and the rest."""
    with sessions() as session:
        many_items = session.scalars(
            select(OrderItem.order_id).group_by(OrderItem.order_id)
            .having(func.count() > 1).order_by(OrderItem.order_id)).all()
        shipped = session.scalars(select(Shipment.order_id).order_by(Shipment.order_id)).all()
        unshipped = session.scalars(select(Order.id).where(Order.id.notin_(shipped))
                                    .order_by(Order.id)).all()
    return sorted(set(many_items[:20] + shipped[:20] + unshipped[:10]))


def test_order_answer_in_one_statement_equal_to_lazy_loading(sessions):
    ids = order_ids(sessions)
    assert len(ids) >= 30
    for order_id in ids:
        with sessions() as session:
            expected = order_json(session.get(Order, order_id))  # every relation lazily
        with sessions() as session, counted(sessions) as statements:
            answer = order_json(services.get_order(session, order_id))
        assert answer == expected
        assert len(statements) == 1, statements


def test_tracking_answer_in_one_statement_equal_to_lazy_loading(sessions):
    ids = order_ids(sessions)
    with sessions() as session:
        with_events = [order_id for order_id in ids
                       if (order := session.get(Order, order_id)).shipment is not None
                       and len(order.shipment.events) > 1]
    assert len(with_events) >= 10
    for order_id in ids:
        with sessions() as session:
            expected = tracking_json(session.get(Order, order_id), NOW)
        with sessions() as session, counted(sessions) as statements:
            answer = tracking_json(services.get_order(session, order_id, with_events=True), NOW)
        assert answer == expected  # events newest first, as the relationship orders them
        assert len(statements) == 1, statements


def test_find_order_reads_the_order_row_only(sessions):
    order_id = order_ids(sessions)[0]
    with sessions() as session, counted(sessions) as statements:
        order = services.find_order(session, order_id)
        assert (order.id, order.status) == (order_id, session.get(Order, order_id).status)
    assert len(statements) == 1 and "order_items" not in statements[0]
    with sessions() as session:
        for find in (services.find_order, services.get_order):
            with pytest.raises(ApiError) as raised:
                find(session, "999999999999999999")
            assert (raised.value.status, raised.value.code) == (404, "order_not_found")


def test_customer_orders_are_complete(sessions):
    with sessions() as session:
        customer_id = session.scalar(select(Order.customer_id).order_by(Order.id).limit(1))
        expected = [order_json(order) for order in session.scalars(
            select(Order).where(Order.customer_id == customer_id)
            .order_by(Order.created_at.desc(), Order.id.desc()).limit(20))]
    with sessions() as session, counted(sessions) as statements:
        orders = [order_json(o) for o in services.customer_orders(session, customer_id, None, 20)]
    assert orders == expected and len(orders) >= 2
    assert len(statements) == 3, statements  # the customer, the orders, their items


def test_order_owner_in_one_statement(sessions):
    order_id = order_ids(sessions)[0]
    with sessions() as session:
        order = session.get(Order, order_id)
        expected = (order.customer_id, order.customer.phone)
    with sessions() as session, counted(sessions) as statements:
        assert services.order_owner(session, order_id) == expected
        assert services.owns_by_phone_tail(expected[1], expected[1][-4:])
        assert not services.owns_by_phone_tail(expected[1], "x" + expected[1][-3:])
    assert len(statements) == 1
    with sessions() as session, pytest.raises(ApiError) as raised:
        services.order_owner(session, "999999999999999999")
    assert (raised.value.status, raised.value.code) == (404, "order_not_found")
