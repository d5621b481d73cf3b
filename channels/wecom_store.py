"""What the WeCom channel must remember across restarts and instances (SQL, via SQLAlchemy).

- the sync_msg cursor per open_kfid (so no message is pulled twice or skipped);
- the msgids already handled (callbacks are retried, pages can overlap);
- per customer: the open_kfid, when they last wrote and how many messages we sent since
  (WeCom allows at most 5 within 48 h of the customer's last message), and whether the
  session was handed to WeCom's own agents.
"""

from __future__ import annotations

import time
from typing import Optional

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, create_engine, select
from sqlalchemy.exc import IntegrityError

SEND_WINDOW_SECONDS = 48 * 3600
SENDS_PER_CUSTOMER_MESSAGE = 5
SEEN_KEEP_SECONDS = 7 * 24 * 3600

metadata = MetaData()
cursors = Table("wecom_cursors", metadata,
                Column("open_kfid", String(64), primary_key=True),
                Column("cursor", String(64), nullable=False))
seen = Table("wecom_seen", metadata,
             Column("msgid", String(128), primary_key=True),
             Column("at", Float, nullable=False, index=True))
customers = Table("wecom_customers", metadata,
                  Column("external_userid", String(64), primary_key=True),
                  Column("open_kfid", String(64), nullable=False),
                  Column("last_customer_at", Float, nullable=False),
                  Column("sent_since", Integer, nullable=False, default=0),
                  Column("transferred", Integer, nullable=False, default=0))


class WeComStore:
    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///"):
            from pathlib import Path

            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(url, future=True)
        metadata.create_all(self.engine)

    def cursor(self, open_kfid: str) -> str:
        with self.engine.connect() as connection:
            value = connection.execute(
                select(cursors.c.cursor).where(cursors.c.open_kfid == open_kfid)).scalar()
        return value or ""

    def set_cursor(self, open_kfid: str, cursor: str) -> None:
        with self.engine.begin() as connection:
            updated = connection.execute(cursors.update().where(
                cursors.c.open_kfid == open_kfid).values(cursor=cursor)).rowcount
            if not updated:
                connection.execute(cursors.insert().values(open_kfid=open_kfid, cursor=cursor))

    def first_time(self, msgid: str) -> bool:
        """True once per msgid: the insert is the check, so two instances cannot both win."""
        now = time.time()
        try:
            with self.engine.begin() as connection:
                connection.execute(seen.insert().values(msgid=msgid, at=now))
        except IntegrityError:
            return False
        if int(now) % 97 == 0:  # now and then, forget very old ids
            with self.engine.begin() as connection:
                connection.execute(seen.delete().where(seen.c.at < now - SEEN_KEEP_SECONDS))
        return True

    def customer_wrote(self, external_userid: str, open_kfid: str) -> None:
        values = {"open_kfid": open_kfid, "last_customer_at": time.time(), "sent_since": 0}
        with self.engine.begin() as connection:
            updated = connection.execute(customers.update().where(
                customers.c.external_userid == external_userid).values(**values)).rowcount
            if not updated:
                connection.execute(customers.insert().values(
                    external_userid=external_userid, transferred=0, **values))

    def _row(self, external_userid: str):
        with self.engine.connect() as connection:
            return connection.execute(select(customers).where(
                customers.c.external_userid == external_userid)).first()

    def may_send(self, external_userid: str, open_kfid: str) -> bool:
        row = self._row(external_userid)
        if row is None:
            return False  # WeCom only allows replies to a customer who wrote
        return (time.time() - row.last_customer_at <= SEND_WINDOW_SECONDS
                and row.sent_since < SENDS_PER_CUSTOMER_MESSAGE)

    def count_send(self, external_userid: str, open_kfid: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(customers.update().where(
                customers.c.external_userid == external_userid).values(
                    sent_since=customers.c.sent_since + 1))

    def block_until_customer_writes(self, external_userid: str, open_kfid: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(customers.update().where(
                customers.c.external_userid == external_userid).values(
                    sent_since=SENDS_PER_CUSTOMER_MESSAGE))

    def open_kfid_of(self, external_userid: str) -> Optional[str]:
        row = self._row(external_userid)
        return row.open_kfid if row is not None else None

    def transferred(self, external_userid: str, open_kfid: str) -> bool:
        row = self._row(external_userid)
        return bool(row and row.transferred)

    def mark_transferred(self, external_userid: str, open_kfid: str,
                         transferred: bool = True) -> None:
        with self.engine.begin() as connection:
            connection.execute(customers.update().where(
                customers.c.external_userid == external_userid).values(
                    transferred=int(transferred)))
