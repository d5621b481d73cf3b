"""The action server, hardened: `python -m actions.server [--host H] [--port P]`.

rasa_sdk 3.6 listens on 0.0.0.0 without authentication and its 500 answers echo the
exception text and the whole request (a tracker with the customer's messages). This
wrapper runs the same SDK app, but:
- binds to 127.0.0.1 unless ACTIONS_HOST says otherwise;
- requires the shared secret ACTIONS_TOKEN from Rasa in the `X-Actions-Token` header
  (endpoints.yml sends it) on every route but /health, compared in constant time;
- answers errors with a generic JSON body; the details go only to the (masked) log;
- masks personal data in every log line (security.logs);
- starts a turn for every action call (actions/turn.py): the shop's order and tracking reads
  are cached for that request only, and its POSTs carry idempotency keys.
"""

from __future__ import annotations

import argparse
import hmac
import json
import logging
import sys
import zlib
from typing import Optional

from rasa_sdk import utils
from rasa_sdk.endpoint import create_app
from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from actions import turn
from actions.calls import ActionCalls
from security import logs, secrets
from service_common.config import ConfigError
from service_common.settings import check_environment, env_int, env_setting, env_str

logger = logging.getLogger("actions.server")
TOKEN_HEADER = "X-Actions-Token"
OPEN_PATHS = frozenset({"/health"})


def build_app(token: str) -> Sanic:
    # No CORS: only Rasa calls this server, never a browser.
    app = create_app("actions", cors_origins="")
    calls = ActionCalls()

    async def authenticate(request: Request) -> Optional[HTTPResponse]:
        if request.path in OPEN_PATHS:
            return None
        given = request.headers.get(TOKEN_HEADER, "")
        if not hmac.compare_digest(given.encode(), token.encode()):
            logger.warning("refused %s %s from %s: missing or wrong %s", request.method,
                           request.path, request.ip, TOKEN_HEADER)
            return response.json({"error": "unauthorized"}, status=401)
        return None

    async def generic_error(request: Request, exception: Exception) -> HTTPResponse:
        if isinstance(exception, SanicException) and 400 <= exception.status_code < 500:
            logger.info("bad request %s %s: %s", request.method, request.path, exception)
            return response.json({"error": "bad request"}, status=exception.status_code)
        logger.error("action server error on %s %s", request.method, request.path,
                     exc_info=exception)
        return response.json({"error": "internal error"}, status=500)

    async def start_turn(request: Request) -> None:
        # Every request starts afresh (None for anything but an action call), so a turn's
        # cache never outlives it, even on a kept-alive connection.
        turn.begin(turn.from_action_call(_action_call(request, calls))
                   if request.path == "/webhook" else None)

    async def end_turn(_request: Request, _response: HTTPResponse) -> None:
        turn.begin(None)

    if token:
        app.register_middleware(authenticate, "request")
    else:  # only reachable in DEMO_MODE (secrets.require refuses it otherwise)
        logger.warning("DEMO MODE: the action server accepts unauthenticated calls")
    app.register_middleware(start_turn, "request")
    app.register_middleware(end_turn, "response")
    app.error_handler.add(Exception, generic_error)
    return app


def _action_call(request: Request, calls: ActionCalls) -> object:
    """The webhook's body as rasa_sdk reads it (Rasa may deflate it); None if unreadable.
    A plain body is read once, here (`calls`: without parsing a domain seen before), and
    left as the request's parsed JSON for rasa_sdk's webhook."""
    try:
        if request.headers.get("Content-Encoding") == "deflate":
            return json.loads(zlib.decompress(request.body))
        if request.parsed_json is None and request.body:
            try:
                request.parsed_json = calls.read(request.body)
            except Exception:  # noqa: BLE001 - Sanic's own parse below answers as before
                pass
        return request.json
    except (ValueError, zlib.error, SanicException):
        return None


def main(argv: Optional[list] = None) -> None:
    logs.install()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    try:
        check_environment()
    except ConfigError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        sys.exit(2)
    parser.add_argument("--host", default=env_str("ACTIONS_HOST"))
    parser.add_argument("--port", type=int, default=env_int("ACTIONS_PORT"))
    parser.add_argument("--loglevel", default=env_setting("LOG_LEVEL"))
    args = parser.parse_args(argv)
    utils.configure_colored_logging(args.loglevel)
    utils.update_sanic_log_level()
    try:
        secrets.require(["ACTIONS_TOKEN"], service="action server")
    except secrets.InsecureSecret as error:
        print(f"ERROR: {error}", file=sys.stderr)
        sys.exit(2)
    app = build_app(env_str("ACTIONS_TOKEN") or "")  # imports every action module
    from sqlalchemy.exc import SQLAlchemyError

    from actions import playbook
    try:
        # The assistant's database, migrated to the newest schema (Alembic); no connection
        # is kept for the worker processes to inherit.
        playbook.ledger().engine.dispose()
    except SQLAlchemyError as error:
        print(f"action server: cannot prepare its database (ACTIONS_DB_URL): "
              f"{type(error).__name__}: {getattr(error, 'orig', error)}", file=sys.stderr)
        sys.exit(1)
    logger.info("action server on http://%s:%s", args.host, args.port)
    app.run(args.host, args.port, workers=utils.number_of_sanic_workers(), access_log=False)


if __name__ == "__main__":
    main()
