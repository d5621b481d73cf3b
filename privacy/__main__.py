"""`python -m privacy export|delete|retention|log` (see privacy/__init__.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import List, Optional

from privacy import service


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m privacy", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("export", "write one customer's data to a JSON file"),
                       ("delete", "delete one customer's data everywhere")):
        command = commands.add_parser(name, help=text)
        who = command.add_mutually_exclusive_group(required=True)
        who.add_argument("--customer", help="shop customer id, e.g. C0001")
        who.add_argument("--phone", help="the customer's phone number (looked up in the shop)")
        command.add_argument("--by", help="who asks (recorded; default: the OS user)")
        command.add_argument("--reason", help="e.g. the ticket number of the request")
        if name == "export":
            command.add_argument("--out", type=Path,
                                 help="file to write (default var/privacy/<id>-<customer>.json)")
        else:
            command.add_argument("--yes", action="store_true",
                                 help="really delete (there is no undo)")
    keep = commands.add_parser("retention", help="delete conversations older than "
                                                 "RETENTION_DAYS from the tracker store")
    keep.add_argument("--days", type=float, help="overrides RETENTION_DAYS")
    keep.add_argument("--by")
    commands.add_parser("log", help="print the recorded requests")
    args = parser.parse_args(argv)
    env = service.settings()
    try:
        if args.command == "log":
            for entry in service.RequestLog(env.get("PRIVACY_DB_URL")
                                            or service.DEFAULT_DB_URL).entries():
                print(json.dumps(entry, ensure_ascii=False))
            return 0
        if args.command == "retention":
            print(json.dumps(service.retention(env, args.days, args.by), ensure_ascii=False))
            return 0
        if args.command == "delete" and not args.yes:
            print("privacy: add --yes to delete (there is no undo)", file=sys.stderr)
            return 2
        result = service.run(args.command, env, args.customer, args.phone, args.by,
                             args.reason)
    except (ValueError, RuntimeError) as error:
        print(f"privacy: {error}", file=sys.stderr)
        return 1
    if args.command == "export":
        out = args.out or Path("var/privacy") / (
            f"{result['request_id']}-{result['customer_id']}.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str),
                       encoding="utf-8")
        out.chmod(0o600)  # personal data
        print(json.dumps({"request_id": result["request_id"], "file": str(out),
                          "counts": result["counts"]}, ensure_ascii=False))
    else:
        print(json.dumps({key: result[key] for key in ("request_id", "customer_id", "counts")},
                         ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
