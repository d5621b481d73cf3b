"""Command line: `python -m compliance lint [paths...]` and `python -m compliance check TEXT`."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from compliance.checker import ALL_CATEGORIES, ComplianceChecker
from compliance.lint import main as lint_main
from service_common.config import ConfigError


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m compliance",
        description="Advertising-law (广告法) compliance lint and checker.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    lint = commands.add_parser(
        "lint", help="check every shipped text; exit 1 when something is found",
        description="Without paths: domain.yml, data/ responses, knowledge/, "
                    "actions/*.py and actions/templates/ of the project.",
    )
    lint.add_argument("paths", nargs="*", help="files or folders (default: the project)")
    lint.add_argument("--rules", help="rules file (default: compliance/rules.yml)")
    lint.add_argument("--category", default=ALL_CATEGORIES,
                      help="product category whose lists apply (default: all)")
    check = commands.add_parser("check", help="check one sentence and show the verdict")
    check.add_argument("text")
    check.add_argument("--rules", help="rules file (default: compliance/rules.yml)")
    check.add_argument("--category", default=None, help="product category, e.g. 化妆品")
    args = parser.parse_args(argv)

    if args.command == "lint":
        return lint_main(args.paths, rules=args.rules, product_category=args.category)
    try:
        checker = ComplianceChecker.from_file(args.rules)
    except ConfigError as error:
        print(f"compliance: {error}", file=sys.stderr)
        return 2
    verdict = checker.check(args.text, args.category)
    for hit in verdict.hits:
        print(f"[{hit.rule_id}] {hit.term} ({hit.category}, {hit.action}) at {hit.start}-{hit.end}")
    status = "blocked" if verdict.blocked else ("rewritten" if verdict.hits else "ok")
    print(f"{status}: {checker.fallback if verdict.blocked else verdict.text}")
    return 1 if verdict.blocked else 0


if __name__ == "__main__":
    sys.exit(main())
