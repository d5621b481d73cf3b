"""Engine/session setup, first-start seeding and the daily date rebase."""

from __future__ import annotations

import logging
import os
from datetime import date, timedelta
from typing import Any, Optional

from sqlalchemy import Date, DateTime, bindparam, create_engine, event, inspect, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from shop import clock
from shop.models import Base, Customer, FitFeedback, Meta, ProductView
from shop.security import SecurityBase

logger = logging.getLogger("shop.db")

DEFAULT_DB_URL = "sqlite:///var/shop.sqlite"
SEED_DATE_KEY = "seed_date"


def make_engine(db_url: str) -> Engine:
    url = make_url(db_url)
    kwargs: dict[str, Any] = {"future": True}
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database and database != ":memory:":
            # The default lives in ./var which may not exist on first start.
            folder = os.path.dirname(os.path.abspath(database))
            os.makedirs(folder, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 15}
        # SQLAlchemy 1.4 defaults to NullPool for SQLite files: reconnecting (and
        # re-running the PRAGMAs) on every request would dominate response times.
        kwargs.update(poolclass=QueuePool, pool_size=5, max_overflow=10)
    else:
        kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
    engine = create_engine(url, **kwargs)
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers proceed while a write is in progress.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, future=True, expire_on_commit=False)


def prepare_database(
    engine: Engine,
    reseed: bool = False,
    seed_date: Optional[date] = None,
    rebase: bool = True,
) -> None:
    """Create tables, seed when empty (or when asked) and rebase stale demo dates."""
    # local import: big catalogue
    from shop.seed import seed_database, seed_fit_feedback, seed_product_views

    if reseed:
        logger.info("dropping all shop tables for a reseed")
        Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    SecurityBase.metadata.create_all(engine)
    upgrade_schema(engine)
    factory = make_session_factory(engine)
    with factory() as session:
        empty = session.execute(select(Customer.id).limit(1)).first() is None
        if empty:
            anchor = seed_date or clock.today()
            logger.info("seeding demo data anchored at %s", anchor.isoformat())
            seed_database(session, anchor)
            _set_meta(session, SEED_DATE_KEY, anchor.isoformat())
            session.commit()
        if rebase:
            rebase_dates(session)
        if session.execute(select(FitFeedback.id).limit(1)).first() is None:
            # A database seeded before fit feedback existed: derive it from its orders.
            count = seed_fit_feedback(session, clock.now())
            session.commit()
            logger.info("backfilled %d fit feedback rows", count)
        if session.execute(select(ProductView.id).limit(1)).first() is None:
            # Seeded before product views existed: give the demo customers their last-viewed
            # items, relative to the day the stored data is current for.
            count = seed_product_views(session, world_day(session))
            session.commit()
            logger.info("backfilled %d product views", count)


def upgrade_schema(engine: Engine) -> list[str]:
    """Add columns that newer models have and an existing database lacks.

    Only additive, nullable columns are ever introduced after a release, so a plain
    ``ALTER TABLE ... ADD COLUMN`` (SQLite and PostgreSQL alike) is a complete migration.
    Returns "table.column" for every column added.
    """
    inspector = inspect(engine)
    quote = engine.dialect.identifier_preparer.quote
    added: list[str] = []
    with engine.begin() as connection:
        for table in Base.metadata.sorted_tables:
            if not inspector.has_table(table.name):
                continue
            existing = {column["name"] for column in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in existing:
                    continue
                column_type = column.type.compile(dialect=engine.dialect)
                connection.execute(text(
                    f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(column.name)} {column_type}"
                ))
                added.append(f"{table.name}.{column.name}")
    if added:
        logger.info("added missing columns: %s", ", ".join(added))
    return added


def rebase_dates(session: Session, today: Optional[date] = None) -> int:
    """Shift every stored date/time forward so the demo world stays 'current'.

    Returns the number of days shifted (0 when nothing was to do).
    """
    today = today or clock.today()
    # Locked and re-read (PostgreSQL): of two shop processes passing midnight together, the
    # second waits, then reads the new seed date and shifts nothing. SQLite has no row
    # locks; the shop on SQLite is one process (`python -m shop` runs one worker).
    stored = session.get(Meta, SEED_DATE_KEY, with_for_update=True, populate_existing=True)
    if stored is None:
        _set_meta(session, SEED_DATE_KEY, today.isoformat())
        session.commit()
        return 0
    seed_day = date.fromisoformat(stored.value)
    days = (today - seed_day).days
    if days <= 0:
        return 0
    delta = timedelta(days=days)
    connection = session.connection()
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, Date | DateTime)]
        if not columns:
            continue
        pk = list(table.primary_key.columns)[0]
        rows = connection.execute(select(pk, *columns)).all()
        if not rows:
            continue
        params = []
        for row in rows:
            values = {"_pk": row[0]}
            for index, column in enumerate(columns, start=1):
                value = row[index]
                values[f"_{column.name}"] = value + delta if value is not None else None
            params.append(values)
        statement = (
            table.update()
            .where(pk == bindparam("_pk"))
            .values({c.name: bindparam(f"_{c.name}") for c in columns})
        )
        connection.execute(statement, params)
    stored.value = today.isoformat()
    session.commit()
    logger.info("rebased demo dates forward by %d day(s) to %s", days, today.isoformat())
    return days


def world_day(session: Session) -> date:
    """The day the stored demo data is current for (the seed date; today when unset)."""
    stored = session.get(Meta, SEED_DATE_KEY)
    return date.fromisoformat(stored.value) if stored else clock.today()


def _set_meta(session: Session, key: str, value: str) -> None:
    row = session.get(Meta, key)
    if row is None:
        session.add(Meta(key=key, value=value))
    else:
        row.value = value
