"""python -m analytics consume | detect | retention | report | simulate | topics | privacy |
migrate"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date


def check() -> None:
    """Every setting and config file analytics reads, once at start (ConfigError)."""
    from analytics import alerting
    from analytics.config import recontact_hours, targets_config, topics_config, tz
    from service_common.settings import check_environment

    check_environment(extra_numbers=(alerting.INTERVAL_ENV,),
                      extra_switches=("ANALYTICS_PRUNE_BROKER",))
    topics_config.cache_clear()
    targets_config.cache_clear()
    topics_config(), targets_config(), tz(), recontact_hours()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analytics")
    commands = parser.add_subparsers(dest="command", required=True)
    consume = commands.add_parser("consume", help="broker and desk feed -> analytics store")
    consume.add_argument("--once", action="store_true", help="catch up, then exit")
    detect = commands.add_parser("detect", help="run the spike detector for a day")
    detect.add_argument("--day", help="shop-local day YYYY-MM-DD (default: today)")
    detect.add_argument("--post", action="store_true", help="post new alerts to the webhook")
    commands.add_parser("retention", help="delete facts older than ANALYTICS_RETENTION_DAYS")
    report = commands.add_parser("report", help="the weekly HTML report")
    report.add_argument("--week", required=True, help="ISO week, e.g. 2026-W48")
    report.add_argument("--out", help="output file (default reports/weekly-<week>.html)")
    simulate = commands.add_parser("simulate", help="traffic simulator (make demo-data)")
    simulate.add_argument("--scale", type=float, default=1.0)
    simulate.add_argument("--templates", type=int, default=0,
                          help="distinct conversations to drive through the bot (0: all)")
    simulate.add_argument("--end", default="2026-11-29",
                          help="last day of the promotion week (default 2026-11-29, in the "
                               "promotion calendar of targets.yml)")
    simulate.add_argument("--only", default="", help="comma-separated template names")
    simulate.add_argument("--normal-weeks", type=int, default=2)
    simulate.add_argument("--rasa-url")
    serve = commands.add_parser("serve", help="the API and dashboard alone (bearer token)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5080)
    topics_command = commands.add_parser("topics", help="check topics.yml and targets.yml")
    topics_command.add_argument("--check", action="store_true")
    privacy_command = commands.add_parser("privacy",
                                          help="export or delete one customer's data")
    privacy_command.add_argument("action", choices=["export", "delete"])
    privacy_command.add_argument("customer_id")
    commands.add_parser("migrate", help="create or upgrade the store (Alembic); every command "
                                        "that opens the store does it too")
    args = parser.parse_args(argv)
    from service_common.config import ConfigError
    try:
        check()
    except ConfigError as error:
        print(f"analytics: {error}", file=sys.stderr)
        return 2

    if args.command == "consume":
        from analytics.consumer import main as consume_main
        consume_main(once=args.once)
        return 0
    if args.command == "serve":
        from analytics.http import create_app
        from service_common.settings import env_str
        token = env_str("ANALYTICS_API_TOKEN") or ""
        if not token:
            print("ANALYTICS_API_TOKEN is not set: the analytics API needs a token "
                  "(or mount it into the desk app with its supervisor login).", file=sys.stderr)
            return 2
        create_app(token).run(host=args.host, port=args.port, access_log=False)
        return 0
    from analytics import store
    engine = store.engine_for()  # runs the migrations
    if args.command == "migrate":
        print(f"analytics store at the newest schema: {engine.url.render_as_string()}")
        return 0
    if args.command == "detect":
        from analytics import alerting
        from analytics.detector import run
        day = date.fromisoformat(args.day) if args.day else date.today()
        url = alerting.webhook_url() if args.post else None
        for alert in run(engine, day, post_url=url):
            print(json.dumps(alert.as_dict(), ensure_ascii=False))
        return 0
    if args.command == "retention":
        from analytics.retention import apply
        print(f"{apply(engine)} facts deleted")
        return 0
    if args.command == "report":
        from analytics.report import write_report
        out = args.out or f"reports/weekly-{args.week}.html"
        write_report(engine, args.week, out)
        print(out)
        return 0
    if args.command == "simulate":
        from analytics.simulator import Plan
        from analytics.simulator import main as simulate_main
        return simulate_main(engine, date.fromisoformat(args.end), scale=args.scale,
                             templates=args.templates, rasa_url=args.rasa_url,
                             plan=Plan(normal_weeks=args.normal_weeks),
                             only=tuple(n for n in args.only.split(",") if n))
    if args.command == "topics":
        from analytics.config import targets_config, topics_config
        topics, targets = topics_config(), targets_config()
        print(f"topics.yml: {len(topics.topics)} topics, "
              f"{len(topics.intent_groups)} intent groups; targets.yml: "
              f"{len(targets.metrics)} metrics")
        return 0
    if args.command == "privacy":
        from analytics import privacy
        if args.action == "export":
            print(json.dumps(privacy.export_customer(args.customer_id, engine),
                             ensure_ascii=False, indent=1))
        else:
            print(json.dumps(privacy.delete_customer(args.customer_id, engine)))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
