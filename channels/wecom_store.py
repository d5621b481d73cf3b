"""What the WeCom channel must remember across restarts and instances (SQL, via SQLAlchemy).

- the sync_msg cursor per open_kfid (so no message is pulled twice or skipped);
- the msgids being handled or done (callbacks are retried, pages can overlap): a msgid is
  claimed before its turn and marked done after it, or released when the turn failed, so a
  failed turn is pulled and handled again instead of being skipped;
- the outbox: replies WeCom did not take (an outage, a 5xx), sent again in order later;
- button payloads longer than a menu item id may be (64 bytes), under a short id;
- per customer: the open_kfid, when they last wrote and how many messages we sent since
  (WeCom allows at most 5 within 48 h of the customer's last message), and whether the
  session was handed to WeCom's own agents.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    inspect,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError

SEND_WINDOW_SECONDS = 48 * 3600
SENDS_PER_CUSTOMER_MESSAGE = 5
SEEN_KEEP_SECONDS = 7 * 24 * 3600
# A claim older than this is a crashed instance's: the msgid may be taken again.
CLAIM_SECONDS = 300
# A turn that failed this often is given up (logged) so one bad message cannot block the rest.
MAX_ATTEMPTS = 3

metadata = MetaData()
cursors = Table("wecom_cursors", metadata,
                Column("open_kfid", String(64), primary_key=True),
                Column("cursor", String(64), nullable=False))
seen = Table("wecom_seen", metadata,
             Column("msgid", String(128), primary_key=True),
             Column("at", Float, nullable=False, index=True),
             Column("state", String(16), nullable=False, server_default="done"),
             Column("attempts", Integer, nullable=False, server_default="0"))
customers = Table("wecom_customers", metadata,
                  Column("external_userid", String(64), primary_key=True),
                  Column("open_kfid", String(64), nullable=False),
                  Column("last_customer_at", Float, nullable=False),
                  Column("sent_since", Integer, nullable=False, default=0),
                  Column("transferred", Integer, nullable=False, default=0))
outbox = Table("wecom_outbox", metadata,
               Column("id", Integer, primary_key=True, autoincrement=True),
               Column("external_userid", String(64), nullable=False, index=True),
               Column("open_kfid", String(64), nullable=False, index=True),
               Column("body", Text, nullable=False),
               Column("at", Float, nullable=False))
payloads = Table("wecom_payloads", metadata,
                 Column("id", String(64), primary_key=True),
                 Column("payload", Text, nullable=False))


class WeComStore:
    def __init__(self, url: str, clock: Callable[[], float] = time.time) -> None:
        if url.startswith("sqlite:///"):
            from pathlib import Path

            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(url, future=True)
        self.clock = clock
        metadata.create_all(self.engine)
        self._migrate()

    def _migrate(self) -> None:
        """wecom_seen from before claims had no state: every id in it was done."""
        columns = {column["name"] for column in inspect(self.engine).get_columns("wecom_seen")}
        with self.engine.begin() as connection:
            if "state" not in columns:
                connection.execute(text(
                    "ALTER TABLE wecom_seen ADD COLUMN state VARCHAR(16) NOT NULL DEFAULT 'done'"))
            if "attempts" not in columns:
                connection.execute(text(
                    "ALTER TABLE wecom_seen ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0"))

    # ----------------------------------------------------------------- cursor
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

    # ----------------------------------------------------------------- msgids
    def claim(self, msgid: str) -> bool:
        """True when this instance may handle the message now: never handled, or released
        after a failed turn, or claimed by an instance that stopped long ago. The insert is
        the check, so two instances cannot both win."""
        now = self.clock()
        try:
            with self.engine.begin() as connection:
                connection.execute(seen.insert().values(msgid=msgid, at=now,
                                                        state="processing", attempts=1))
        except IntegrityError:
            with self.engine.begin() as connection:
                retaken = connection.execute(seen.update().where(
                    (seen.c.msgid == msgid)
                    & ((seen.c.state == "failed")
                       | ((seen.c.state == "processing") & (seen.c.at < now - CLAIM_SECONDS)))
                ).values(state="processing", at=now,
                         attempts=seen.c.attempts + 1)).rowcount
            return bool(retaken)
        if int(now) % 97 == 0:  # now and then, forget very old ids
            with self.engine.begin() as connection:
                connection.execute(seen.delete().where(
                    (seen.c.at < now - SEEN_KEEP_SECONDS) & (seen.c.state == "done")))
        return True

    def done(self, msgid: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(seen.update().where(seen.c.msgid == msgid).values(
                state="done", at=self.clock()))

    def release(self, msgid: str) -> bool:
        """After a failed turn: the next pull handles the message again, up to MAX_ATTEMPTS
        times (then it is done, and False says it was given up)."""
        with self.engine.connect() as connection:
            attempts = connection.execute(
                select(seen.c.attempts).where(seen.c.msgid == msgid)).scalar() or 0
        if attempts >= MAX_ATTEMPTS:
            self.done(msgid)
            return False
        with self.engine.begin() as connection:
            connection.execute(seen.update().where(seen.c.msgid == msgid).values(
                state="failed"))
        return True

    def state_of(self, msgid: str) -> Optional[str]:
        with self.engine.connect() as connection:
            return connection.execute(
                select(seen.c.state).where(seen.c.msgid == msgid)).scalar()

    # ----------------------------------------------------------------- outbox
    def queue(self, external_userid: str, open_kfid: str, body: Dict[str, Any]) -> None:
        with self.engine.begin() as connection:
            connection.execute(outbox.insert().values(
                external_userid=external_userid, open_kfid=open_kfid,
                body=json.dumps(body, ensure_ascii=False), at=self.clock()))

    def queued(self, open_kfid: str, external_userid: Optional[str] = None
               ) -> List[Tuple[int, str, Dict[str, Any]]]:
        """(id, customer, message) waiting for this account (or customer), oldest first."""
        query = select(outbox).where(outbox.c.open_kfid == open_kfid)
        if external_userid is not None:
            query = query.where(outbox.c.external_userid == external_userid)
        with self.engine.connect() as connection:
            rows = connection.execute(query.order_by(outbox.c.id)).all()
        return [(row.id, row.external_userid, json.loads(row.body)) for row in rows]

    def has_queued(self, external_userid: str, open_kfid: str) -> bool:
        return bool(self.queued(open_kfid, external_userid))

    def unqueue(self, entry_id: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(outbox.delete().where(outbox.c.id == entry_id))

    def drop_queued(self, external_userid: str, open_kfid: str) -> int:
        with self.engine.begin() as connection:
            return connection.execute(outbox.delete().where(
                (outbox.c.external_userid == external_userid)
                & (outbox.c.open_kfid == open_kfid))).rowcount

    # --------------------------------------------------------------- payloads
    def short_id(self, payload: str) -> str:
        """A menu item id (≤ 64 bytes) for a payload that is longer."""
        short = "p:" + hashlib.sha256(payload.encode()).hexdigest()[:40]
        try:
            with self.engine.begin() as connection:
                connection.execute(payloads.insert().values(id=short, payload=payload))
        except IntegrityError:
            pass  # the same payload was seen before
        return short

    def payload_of(self, menu_id: str) -> Optional[str]:
        with self.engine.connect() as connection:
            return connection.execute(
                select(payloads.c.payload).where(payloads.c.id == menu_id)).scalar()

    # -------------------------------------------------------------- customers
    def customer_wrote(self, external_userid: str, open_kfid: str) -> None:
        values = {"open_kfid": open_kfid, "last_customer_at": self.clock(), "sent_since": 0}
        with self.engine.begin() as connection:
            updated = connection.execute(customers.update().where(
                customers.c.external_userid == external_userid).values(**values)).rowcount
            if not updated:
                connection.execute(customers.insert().values(
                    external_userid=external_userid, transferred=0, **values))

    def _row(self, external_userid: str) -> Any:
        with self.engine.connect() as connection:
            return connection.execute(select(customers).where(
                customers.c.external_userid == external_userid)).first()

    def may_send(self, external_userid: str, open_kfid: str) -> bool:
        row = self._row(external_userid)
        if row is None:
            return False  # WeCom only allows replies to a customer who wrote
        return (self.clock() - row.last_customer_at <= SEND_WINDOW_SECONDS
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
