"""The agents' desk.

  python -m desk [serve] [--host H] [--port P] [--db-url URL] [--rasa-url URL]
  python -m desk migrate                  create / upgrade the database (Alembic)
  python -m desk add-agent --name 小王 --role agent [--max-chats 5] [--queues general,senior]
        the password is read from DESK_AGENT_PASSWORD or asked for; none given: one is
        generated and printed once
  python -m desk demo-agents              the demo's agents (only with DEMO_MODE=1)

Environment: DESK_HOST, DESK_PORT, DESK_DB_URL, RASA_URL, DESK_QUEUES, DESK_API_TOKEN
(required: the bearer token of services), RASA_API_TOKEN, CHANNEL_PUSH_TOKEN, DESK_PUSH_CHANNELS
(default webchat), DESK_SESSION_HOURS (12), DESK_COOKIE_SECURE, DESK_AUTO_ASSIGN (true),
DESK_LOGIN_MAX_FAILURES (5), DESK_LOGIN_WINDOW_SECONDS (900), DESK_RASA_TIMEOUT,
DESK_LOG_LEVEL, DEMO_MODE (1: a laptop demo; the development token and demo agents).
"""

from __future__ import annotations

import argparse
import getpass
import logging
import secrets
import sys
from datetime import timedelta
from typing import Optional

from desk.config import DEFAULT_QUEUES_PATH, load_queues
from service_common import settings
from service_common.config import ConfigError
from service_common.settings import env_bool, env_float, env_int, env_list, env_setting, env_str

COMMANDS = ("serve", "migrate", "add-agent", "demo-agents")
# The demo's accounts (DEMO_MODE=1 only): name, role, password.
DEMO_AGENTS = (("小王", "agent", "xiaowang-demo"), ("小李", "agent", "xiaoli-demo"),
               ("老张", "supervisor", "laozhang-demo"))
logger = logging.getLogger("desk")


def demo_mode() -> bool:
    """The project's laptop-demo switch (DEMO_MODE=1), shared with every service."""
    return settings.demo_mode()


# Values published at some point (README, defaults.env): never a real installation's token.
PUBLISHED_TOKENS = {"desk-dev-token", "dev", "secret", "changeme", "token", "test", "demo"}
MIN_TOKEN_LENGTH = 16


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv.pop(0) if argv and argv[0] in COMMANDS else "serve"
    parser = argparse.ArgumentParser(prog=f"python -m desk {command}", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db-url", default=env_setting("DESK_DB_URL"),
                        help="SQLAlchemy URL (default: DESK_DB_URL)")
    if command == "serve":
        parser.add_argument("--host", default=env_setting("DESK_HOST"))
        parser.add_argument("--port", type=int, default=env_int("DESK_PORT", minimum=0))
        parser.add_argument("--rasa-url", default=env_setting("RASA_URL"),
                            help="Rasa server started with --enable-api")
        parser.add_argument("--queues", default=env_str("DESK_QUEUES", str(DEFAULT_QUEUES_PATH)),
                            help="queue file (default: desk/queues.yml)")
        parser.add_argument("--rasa-timeout", type=float,
                            default=env_float("DESK_RASA_TIMEOUT"),
                            help="seconds per Rasa call")
        parser.add_argument("--log-level", default=env_setting("DESK_LOG_LEVEL"))
    elif command == "add-agent":
        parser.add_argument("--name", required=True)
        parser.add_argument("--role", choices=("agent", "supervisor"), default="agent")
        parser.add_argument("--max-chats", type=int, default=5)
        parser.add_argument("--queues", default="",
                            help="comma-separated queues the agent serves (default: all)")
    args = parser.parse_args(argv)
    args.command = command
    return args


def _engine(db_url: str):  # noqa: ANN202 - sqlalchemy Engine
    from service_common.db import make_engine

    return make_engine(db_url)


def _migrate(db_url: str) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from desk import migrate

    engine = _engine(db_url)
    try:
        migrate.upgrade(engine)
    except SQLAlchemyError as error:
        print(f"desk: cannot prepare the database: {type(error).__name__}: "
              f"{getattr(error, 'orig', error)}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


def add_agent(args: argparse.Namespace) -> int:
    from desk.auth import create_agent
    from service_common.db import make_session_factory

    if _migrate(args.db_url):
        return 1
    password = env_str("DESK_AGENT_PASSWORD")
    generated = False
    if not password and sys.stdin.isatty():
        password = getpass.getpass(f"password for {args.name}: ")
    if not password:
        password, generated = secrets.token_urlsafe(12), True
    queues = [q.strip() for q in args.queues.split(",") if q.strip()] or None
    engine = _engine(args.db_url)
    with make_session_factory(engine)() as session:
        try:
            agent = create_agent(session, args.name.strip(), password, args.role,
                                 args.max_chats, queues)
        except ValueError as error:
            print(f"desk: {error}", file=sys.stderr)
            return 2
        session.commit()
        print(f"agent {agent.name} (id {agent.id}, {agent.role}) created"
              + (f"; password: {password}" if generated else ""))
    engine.dispose()
    return 0


def demo_agents(db_url: str) -> int:
    if not demo_mode():
        print("desk: demo agents are created only with DEMO_MODE=1", file=sys.stderr)
        return 2
    from sqlalchemy import select

    from desk.auth import create_agent
    from desk.models import Agent
    from service_common.db import make_session_factory

    if _migrate(db_url):
        return 1
    engine = _engine(db_url)
    with make_session_factory(engine)() as session:
        for name, role, password in DEMO_AGENTS:
            if session.execute(select(Agent.id).where(Agent.name == name)).first() is None:
                create_agent(session, name, password, role)
                print(f"demo agent {name} ({role}), password {password}")
        session.commit()
    engine.dispose()
    return 0


def serve(args: argparse.Namespace) -> int:
    # Checked before anything else starts: a broken config file must stop the service at once.
    from desk import assist

    try:
        queues = load_queues(args.queues)
        assist.canned(), assist.access()
    except ConfigError as error:
        print(f"desk: configuration error: {error}", file=sys.stderr)
        return 2
    from desk.auth import Throttle
    from service_common.settings import check_environment

    try:  # ... and so must a bad setting, before the database is migrated
        check_environment()
        session_lifetime = timedelta(seconds=env_float(
            "DESK_SESSION_SECONDS", env_float("DESK_SESSION_HOURS", 12) * 3600))
        throttle = Throttle(max_failures=env_int("DESK_LOGIN_MAX_FAILURES", 5),
                            max_client_failures=env_int("DESK_LOGIN_MAX_CLIENT_FAILURES", 20),
                            window_seconds=env_int("DESK_LOGIN_WINDOW_SECONDS", 900))
        cookie_secure, auto_assign = (env_bool("DESK_COOKIE_SECURE"),
                                      env_bool("DESK_AUTO_ASSIGN", True))
        rating_poll_seconds = env_float("DESK_RATING_POLL_SECONDS", 5)
    except ConfigError as error:
        print(f"desk: {error}", file=sys.stderr)
        return 2
    api_token = env_str("DESK_API_TOKEN") or ""
    weak = (not api_token or api_token.lower() in PUBLISHED_TOKENS
            or len(api_token) < MIN_TOKEN_LENGTH)
    if weak and not demo_mode():
        print("desk: set DESK_API_TOKEN to a secret of this installation (at least "
              f"{MIN_TOKEN_LENGTH} characters, not a published value; `make venv` generates "
              "one), or DEMO_MODE=1 for a laptop demo", file=sys.stderr)
        return 2
    from desk.logs import setup_logging  # late imports: a config error should fail fast

    setup_logging(args.log_level)
    if not api_token:
        from desk.app import DEV_TOKEN

        api_token = DEV_TOKEN
        logger.warning("demo mode: the /api routes accept the development token %r",
                       DEV_TOKEN)
    elif weak:
        logger.warning("demo mode: DESK_API_TOKEN is weak or published")
    if _migrate(args.db_url):
        return 1

    from desk.app import create_app
    from desk.rasa import RasaClient
    from service_common.db import make_session_factory

    engine = _engine(args.db_url)
    rasa = RasaClient(args.rasa_url, env_str("RASA_API_TOKEN"), args.rasa_timeout)
    channels = set(env_list("DESK_PUSH_CHANNELS"))
    app = create_app(
        make_session_factory(engine), queues, rasa, api_token,
        push_token=env_str("CHANNEL_PUSH_TOKEN"), push_channels=channels,
        session_lifetime=session_lifetime, throttle=throttle, cookie_secure=cookie_secure,
        auto_assign=auto_assign, rating_poll_seconds=rating_poll_seconds,
    )

    from desk.extensions import mount

    mount(app)  # the dashboard and the trainer review, behind the desk's login

    @app.after_server_stop
    async def close_pool(_app: object, _loop: object) -> None:
        engine.dispose()

    logger.info("queues: %s; Rasa at %s", ", ".join(
        f"{q.name} ({q.avg_handling_minutes:g} min)" for q in queues.values()), args.rasa_url)
    app.run(host=args.host, port=args.port, workers=1, access_log=False, debug=False)
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    try:
        args = parse_args(argv)
    except ConfigError as error:
        print(f"desk: {error}", file=sys.stderr)
        return 2
    if args.command == "migrate":
        return _migrate(args.db_url)
    if args.command == "add-agent":
        return add_agent(args)
    if args.command == "demo-agents":
        return demo_agents(args.db_url)
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
