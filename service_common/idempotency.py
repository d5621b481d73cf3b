"""The `Idempotency-Key` request header, honoured by a Sanic service (the shop, the desk).

A POST or PATCH with the header is done once: a repeat with the same key (from the same
caller, to the same method and path, with the same body) gets the first answer again, with
`Idempotent-Replayed: true`, and changes nothing. So a client may retry such a request after
a timeout without creating a second follow-up, after-sale, invoice, coupon or handoff.
- The same key with another body: 422 `idempotency_key_reused`.
- The first request still running: 409 `idempotency_in_progress` (try again shortly).
- A first attempt that failed with a 5xx is forgotten, so the retry runs for real.
- Keys are kept for `ttl` (24 h by default); the stored answers go with them.
Requests without the header behave as before. Streamed uploads are not covered (their body
is not read before the handler runs).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from datetime import datetime, timedelta, timezone
from typing import Callable, Optional

from sanic import Sanic
from sanic.request import Request
from sanic.response import BaseHTTPResponse, HTTPResponse, raw
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from service_common.errors import error_response

logger = logging.getLogger("service_common.idempotency")

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,200}")  # visible ASCII
METHODS = frozenset({"POST", "PATCH"})
PURGE_EVERY_SECONDS = 600.0


def make_table(metadata: MetaData, name: str) -> Table:
    """The service's key table (named per service: the shop and the desk may share a
    database)."""
    return Table(
        name, metadata,
        # sha256 of caller, method, path and key: the raw key is never stored.
        Column("scope", String(64), primary_key=True),
        Column("fingerprint", String(64), nullable=False),  # sha256 of the body
        Column("status", Integer),  # None while the first request runs
        Column("content_type", String(128)),
        Column("body", LargeBinary),
        Column("created_at", DateTime, nullable=False, index=True),
    )


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _sha(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


class Idempotency:
    """Install with `Idempotency(table, sessions, caller).install(app)` after the app's
    authentication middleware (only authenticated requests reach it). `caller(request)`
    names who is calling (e.g. "assistant", "admin", "agent:7"): keys are per caller; None
    leaves the request uncovered (e.g. a public login). `invalid_status`: the service's
    status for a malformed request (the shop answers 422, the desk 400)."""

    def __init__(self, table: Table, sessions: sessionmaker,
                 caller: Callable[[Request], Optional[str]], ttl: timedelta = timedelta(hours=24),
                 prefix: str = "/api/", invalid_status: int = 400) -> None:
        self.invalid_status = invalid_status
        self.table = table
        self.sessions = sessions
        self.caller = caller
        self.ttl = ttl
        self.prefix = prefix
        self._purged = 0.0
        # Built once: every covered request runs two of them (SQLAlchemy then reuses their
        # compiled form without building and keying a new statement each time).
        scope = table.c.scope == bindparam("key")
        self._claim = insert(table)
        self._read = select(table).where(scope)
        self._restart = update(table).where(scope).values(
            fingerprint=bindparam("new_fingerprint"), status=None, content_type=None,
            body=None, created_at=bindparam("now"))
        self._answer = update(table).where(scope).values(
            status=bindparam("new_status"), content_type=bindparam("new_content_type"),
            body=bindparam("new_body"))
        self._forget = delete(table).where(scope)

    def install(self, app: Sanic) -> None:
        app.register_middleware(self.before, "request")
        app.register_middleware(self.after, "response")

    def _applies(self, request: Request) -> bool:
        if request.method not in METHODS or not request.path.startswith(self.prefix):
            return False
        route = getattr(request, "route", None)
        # A streamed body is not read yet: it cannot be compared with the first one.
        return route is not None and not hasattr(route.handler, "is_stream")

    async def before(self, request: Request) -> Optional[HTTPResponse]:
        request.ctx.idempotency_scope = None
        key = request.headers.get(HEADER)
        if key is None or not self._applies(request):
            return None
        caller = self.caller(request)
        if caller is None:
            return None
        if not KEY_PATTERN.fullmatch(key):
            return error_response(self.invalid_status, "invalid_idempotency_key",
                                  "Idempotency-Key 应为1-200个可见ASCII字符")
        target = request.path + (f"?{request.query_string}" if request.query_string else "")
        scope = _sha(caller.encode(), request.method.encode(),
                     target.encode(), key.encode())
        fingerprint = _sha(request.body or b"")
        now = _now()
        self._purge(now)
        with self.sessions() as session:
            try:
                session.execute(self._claim, {"scope": scope, "fingerprint": fingerprint,
                                              "status": None, "created_at": now})
                session.commit()
                request.ctx.idempotency_scope = scope
                return None
            except IntegrityError:
                session.rollback()
            row = session.execute(self._read, {"key": scope}).first()
            if row is not None and row.created_at < now - self.ttl:
                # Expired but not purged yet: this request starts afresh.
                session.execute(self._restart, {"key": scope, "new_fingerprint": fingerprint,
                                                "now": now})
                session.commit()
                request.ctx.idempotency_scope = scope
                return None
        if row is None:  # gone between the insert and the read: a purge or a 5xx
            return error_response(409, "idempotency_in_progress",
                                  "相同的请求正在处理，请稍后重试")
        if row.fingerprint != fingerprint:
            return error_response(422, "idempotency_key_reused",
                                  "该 Idempotency-Key 已用于另一个不同的请求")
        if row.status is None:
            response = error_response(409, "idempotency_in_progress",
                                      "相同的请求正在处理，请稍后重试")
            response.headers["Retry-After"] = "1"
            return response
        replay = raw(row.body or b"", status=row.status,
                     content_type=row.content_type or "application/json")
        replay.headers[REPLAYED_HEADER] = "true"
        return replay

    async def after(self, request: Request, response: BaseHTTPResponse) -> None:
        scope = getattr(request.ctx, "idempotency_scope", None)
        if scope is None:
            return
        request.ctx.idempotency_scope = None
        with self.sessions() as session:
            if response.status >= 500:
                # Nothing (or not all) was done: the client's retry must run for real.
                session.execute(self._forget, {"key": scope})
            else:
                session.execute(self._answer, {
                    "key": scope, "new_status": response.status,
                    "new_content_type": response.content_type,
                    "new_body": bytes(response.body or b"")})
            session.commit()

    def _purge(self, now: datetime) -> None:
        if time.monotonic() - self._purged < PURGE_EVERY_SECONDS:
            return
        self._purged = time.monotonic()
        with self.sessions() as session:
            removed = session.execute(delete(self.table).where(
                self.table.c.created_at < now - self.ttl)).rowcount
            session.commit()
        if removed:
            logger.info("forgot %d expired idempotency keys", removed)
