"""`python -m desk [--host H] [--port P] [--db-url URL] [--rasa-url URL]` starts the handoff desk.

Environment fallbacks: DESK_HOST, DESK_PORT, DESK_DB_URL, RASA_URL, DESK_QUEUES,
DESK_API_TOKEN (bearer token of the /api routes), RASA_API_TOKEN, DESK_RASA_TIMEOUT,
DESK_LOG_LEVEL.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Optional

from desk.config import DEFAULT_QUEUES_PATH, QueueConfigError, load_queues

DEFAULT_DB_URL = "sqlite:///var/desk.sqlite"
logger = logging.getLogger("desk")


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m desk", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default=env("DESK_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env("DESK_PORT", "5070")))
    parser.add_argument("--db-url", default=env("DESK_DB_URL", DEFAULT_DB_URL),
                        help=f"SQLAlchemy URL (default: {DEFAULT_DB_URL})")
    parser.add_argument("--rasa-url", default=env("RASA_URL", "http://127.0.0.1:5005"),
                        help="Rasa server started with --enable-api")
    parser.add_argument("--queues", default=env("DESK_QUEUES", str(DEFAULT_QUEUES_PATH)),
                        help="queue file (default: desk/queues.yml)")
    parser.add_argument("--rasa-timeout", type=float,
                        default=float(env("DESK_RASA_TIMEOUT", "10")),
                        help="seconds per Rasa call when resolving")
    parser.add_argument("--log-level", default=env("DESK_LOG_LEVEL", "INFO"))
    return parser.parse_args(argv)


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    # Checked before anything else starts: a broken queue file must stop the service at once.
    try:
        queues = load_queues(args.queues)
    except QueueConfigError as error:
        print(f"desk: queue configuration error: {error}", file=sys.stderr)
        return 2

    from desk.logs import setup_logging  # late imports: a config error should fail fast

    setup_logging(args.log_level)

    from sqlalchemy.exc import SQLAlchemyError

    from desk.app import DEV_TOKEN, create_app
    from desk.models import Base
    from desk.rasa import RasaClient
    from shop.db import make_engine, make_session_factory

    engine = make_engine(args.db_url)
    # Error messages would otherwise quote SQL parameters: transcripts, phones, addresses.
    engine.hide_parameters = True
    try:
        Base.metadata.create_all(engine)
    except SQLAlchemyError as error:
        print(f"desk: cannot prepare the database: {type(error).__name__}: "
              f"{getattr(error, 'orig', error)}", file=sys.stderr)
        return 1

    api_token = os.environ.get("DESK_API_TOKEN") or DEV_TOKEN
    if api_token == DEV_TOKEN:
        logger.warning("the /api routes accept the development token %r: set DESK_API_TOKEN "
                       "to a secret of your own outside local runs", DEV_TOKEN)
    rasa = RasaClient(args.rasa_url, os.environ.get("RASA_API_TOKEN"), args.rasa_timeout)
    app = create_app(make_session_factory(engine), queues, rasa, api_token)

    @app.after_server_stop
    async def close_pool(_app: object, _loop: object) -> None:
        engine.dispose()

    logger.info("queues: %s; Rasa at %s", ", ".join(
        f"{q.name} ({q.avg_handling_minutes:g} min)" for q in queues.values()), args.rasa_url)
    app.run(host=args.host, port=args.port, workers=1, access_log=False, debug=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
