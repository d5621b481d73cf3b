"""`python -m shop [--host H] [--port P] [--db-url URL] [--upload-dir DIR] [--promotions FILE]
[--policy FILE] [--reseed]` starts the demo shop."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date
from pathlib import Path
from typing import Optional

from service_common.config import ConfigError
from service_common.settings import env_int, env_setting, env_str
from shop.db import make_engine, make_session_factory, prepare_database


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m shop", description=__doc__)
    parser.add_argument("--host", default=env_setting("SHOP_HOST"))
    parser.add_argument("--port", type=int, default=env_int("SHOP_PORT", minimum=0))
    parser.add_argument("--db-url", default=env_setting("SHOP_DB_URL"),
                        help="SQLAlchemy URL (default: sqlite:///var/shop.sqlite)")
    parser.add_argument("--upload-dir", type=Path, default=env_str("SHOP_UPLOAD_DIR"),
                        help="where uploaded photos are stored (default: next to the SQLite "
                             "file, e.g. var/shop_uploads; ./var/uploads for other databases)")
    parser.add_argument("--promotions", type=Path,
                        default=env_str("SHOP_PROMOTIONS_FILE"),
                        help="promotion rules (default: shop/promotions.yml); re-read when "
                             "the file changes")
    parser.add_argument("--policy", type=Path, default=env_str("SHOP_POLICY_FILE"),
                        help="after-sales windows (default: policy/aftersales.yml)")
    parser.add_argument("--reseed", action="store_true",
                        help="drop all shop tables and seed fresh demo data")
    parser.add_argument("--seed-only", action="store_true",
                        help="create/seed the database, then exit without serving")
    parser.add_argument("--seed-date", type=date.fromisoformat, default=None,
                        help="anchor a fresh seed at this day (YYYY-MM-DD) instead of today")
    parser.add_argument("--log-level", default=env_setting("SHOP_LOG_LEVEL"))
    return parser.parse_args(argv)


def main(argv: Optional[list[str]] = None) -> int:
    try:
        args = parse_args(argv)
    except ConfigError as error:
        print(f"shop: invalid configuration: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stdout,
    )
    if not args.seed_only:
        # Checked before touching the database: a typo in the rules or the settings should
        # not cost a seed, and should stop the start with the file and rule named.
        from service_common.settings import check_environment
        from shop import policy
        from shop.promotions import DEFAULT_PATH, load_rules

        try:
            check_environment()
            load_rules(args.promotions or DEFAULT_PATH)
            policy.load(args.policy or policy.DEFAULT_PATH)
        except ConfigError as error:
            print(f"shop: invalid configuration: {error}", file=sys.stderr)
            return 2
    from shop.security import Settings

    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(f"shop: invalid configuration: {error}", file=sys.stderr)
        return 2
    problem = settings.problem()
    if problem and not args.seed_only:
        print(f"shop: refusing to start: {problem}", file=sys.stderr)
        return 2
    if settings.demo_mode and not settings.api_key and not args.seed_only:
        logging.getLogger("shop").warning(
            "DEMO_MODE=1 without SHOP_API_KEY: the shop API is open to anyone on this "
            "network; never run it like this outside a laptop demo")
    engine = make_engine(args.db_url)
    # --seed-only leaves dates as seeded, so a later start can be seen rebasing them.
    prepare_database(engine, reseed=args.reseed, seed_date=args.seed_date,
                     rebase=not args.seed_only)
    if args.seed_only:
        engine.dispose()
        return 0

    from shop.app import create_app  # imported late: Sanic start-up is not needed for seeding
    from shop.images import default_upload_dir

    upload_dir = Path(args.upload_dir) if args.upload_dir else default_upload_dir(args.db_url)
    app = create_app(make_session_factory(engine), upload_dir=upload_dir,
                     promotions_path=args.promotions, settings=settings,
                     policy_path=args.policy)

    @app.after_server_stop
    async def close_pool(_app, _loop) -> None:
        engine.dispose()

    app.run(host=args.host, port=args.port, workers=1, access_log=False, debug=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
