"""python -m trainer review | label | dismiss | conversation | export-story | serve

  review                      groups of badly handled messages as a table (--json, --items)
  label --intent X --group N  label a whole group (or --key K, repeatable); --new for a new intent
  dismiss --group N           take messages off the list without labelling them
  conversation SENDER         a conversation's transcript (masked)
  export-story SENDER --name  write tests/stories/<name>.yml and validate it
  serve                       the HTTP API and page alone (bearer TRAINER_API_TOKEN)
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from datetime import datetime
from typing import Any, Dict, List, Optional, Sequence

from trainer.nlu_files import LabelError


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def cut(text: str, limit: int) -> str:
    if width(text) <= limit:
        return text
    out = ""
    for char in text:
        if width(out + char) > limit - 1:
            return out + "…"
        out += char
    return out


def table(rows: Sequence[Sequence[str]], limits: Sequence[int]) -> str:
    rows = [[cut(str(cell), limit) for cell, limit in zip(row, limits, strict=False)]
            for row in rows]
    widths = [max(width(row[i]) for row in rows) for i in range(len(limits))]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell + " " * (widths[i] - width(cell))
                               for i, cell in enumerate(row)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def print_review(review: Dict[str, Any], items: bool) -> None:
    groups = review["groups"]
    if not groups:
        print("没有待审核的消息。")
        return
    rows: List[List[str]] = [["组", "条数", "原因", "模型猜测", "示例(已脱敏)", "关键词"]]
    for found in groups:
        rows.append([
            str(found["id"]), str(found["count"]),
            ",".join(f"{r['label']}×{r['count']}" for r in found["reasons"]),
            ",".join(f"{h['intent']} {h['confidence']:.2f}" for h in found["hints"]),
            found["sample"], " ".join(found["keywords"]),
        ])
    print(table(rows, [4, 4, 30, 44, 40, 24]))
    print(f"\n{review['messages']} 条消息,{len(groups)} 组"
          f"(置信度阈值 {review['threshold']},最近 {review['window_days']:g} 天)")
    if items:
        for found in groups:
            print(f"\n组 {found['id']}:")
            rows = [["key", "时间", "会话", "消息(已脱敏)", "意图", "置信度"]]
            for item in found["items"]:
                when = datetime.fromtimestamp(item["time"]).strftime("%m-%d %H:%M")
                rows.append([item["key"], when, item["sender_id"], item["text"],
                             item["intent"] or "", f"{item['confidence']:.2f}"])
            print(table(rows, [18, 12, 24, 50, 24, 6]))


def keys_for(trainer, group_id: Optional[int], keys: List[str]) -> List[str]:
    if group_id is None:
        return keys
    groups = trainer.review()["groups"]
    found = next((g for g in groups if g["id"] == group_id), None)
    if found is None:
        raise LabelError(f"没有第 {group_id} 组(共 {len(groups)} 组)")
    return [item["key"] for item in found["items"]] + keys


def print_validation(validation: Optional[Dict[str, Any]]) -> None:
    if not validation:
        return
    print(f"{validation['command']}: {validation['summary']} ({validation['seconds']} s)")
    for line in validation["warnings"]:
        print(f"  警告: {line}")
    for line in validation["errors"]:
        print(f"  错误: {line}")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trainer", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    review = commands.add_parser("review", help="list the groups")
    review.add_argument("--json", action="store_true")
    review.add_argument("--items", action="store_true", help="also every message of each group")
    for name in ("label", "dismiss"):
        command = commands.add_parser(name)
        command.add_argument("--group", type=int)
        command.add_argument("--key", action="append", default=[])
        if name == "label":
            command.add_argument("--intent", required=True)
            command.add_argument("--new", action="store_true", help="create the intent")
            command.add_argument("--text", help="the example to write instead (one message)")
        command.add_argument("--actor", default="cli")
    conversation = commands.add_parser("conversation")
    conversation.add_argument("sender_id")
    export = commands.add_parser("export-story")
    export.add_argument("sender_id")
    export.add_argument("--name")
    export.add_argument("--message", help="export the session holding this message key")
    export.add_argument("--no-validate", action="store_true")
    serve = commands.add_parser("serve")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5080)
    args = parser.parse_args(argv)

    if args.command == "serve":
        from trainer.app import run

        run(args.host, args.port)
        return 0

    from trainer.service import Trainer

    trainer = Trainer()
    try:
        if args.command == "review":
            result = trainer.review()
            if args.json:
                print(json.dumps(result, ensure_ascii=False, indent=2))
            else:
                print_review(result, args.items)
        elif args.command == "label":
            keys = keys_for(trainer, args.group, args.key)
            texts = {keys[0]: args.text} if args.text and len(keys) == 1 else None
            result = trainer.label(keys, args.intent, new=args.new, texts=texts, actor=args.actor)
            for example in result["added"]:
                print(f"+ {result['files'][0]}: {example}")
            for skipped in result["skipped"]:
                print(f"  跳过 {skipped['example']}: {skipped['why']}")
            print_validation(result["validation"])
            print(f"已标注 {len(result['labelled'])} 条为 {result['intent']}" if result["ok"]
                  else "校验失败,YAML 已恢复原样")
            return 0 if result["ok"] else 1
        elif args.command == "dismiss":
            count = trainer.dismiss(keys_for(trainer, args.group, args.key), actor=args.actor)
            print(f"已忽略 {count} 条")
        elif args.command == "conversation":
            for line in trainer.conversation(args.sender_id):
                who = {"customer": "顾客", "bot": "小蜜", "session": "—— 新会话 ——"}[line["role"]]
                intent = f"  [{line['intent']} {line['confidence']:.2f}]" \
                    if line.get("intent") else ""
                print(f"{who}: {line['text']}{intent}")
        elif args.command == "export-story":
            result = trainer.export_story(args.sender_id, args.name, args.message,
                                          actor="cli", validate=not args.no_validate)
            print(result["story"])
            print_validation(result["validation"])
            if result["ok"]:
                print(f"已写入 {result['path']}")
            return 0 if result["ok"] else 1
    except (LabelError, ValueError) as error:
        print(f"错误: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
