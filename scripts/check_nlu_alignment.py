#!/usr/bin/env python
"""Check that NLU entity annotations line up with jieba token boundaries.

The pipeline tokenises Chinese text with jieba (custom dictionaries loaded from
``jieba_dict/``) and drops whitespace tokens.  Rasa turns entity annotations
into BILOU tags by matching an entity's ``start`` to the start of a token and
its ``end`` to the end of a token; an annotation that starts or ends inside a
token is silently dropped from training.  This script finds those annotations.

Usage:
    .venv/bin/python scripts/check_nlu_alignment.py data/nlu/*.yml
    .venv/bin/python scripts/check_nlu_alignment.py data/nlu            # a folder
    .venv/bin/python scripts/check_nlu_alignment.py --dict-dir jieba_dict data/nlu/orders.yml

It also flags ``order_id`` values that are not exactly 18 digits and
``phone_tail`` values that are not exactly 4 digits (``--no-value-checks`` to skip).

Exit status: 0 when every annotation aligns, 1 otherwise (2 on usage errors).
"""

from __future__ import annotations

import argparse
import glob
import logging
import os
import re
import sys
from typing import Dict, Iterable, List, Optional, Text, Tuple

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DICT_DIR = os.path.join(REPO_ROOT, "jieba_dict")

VALUE_PATTERNS = {
    "order_id": re.compile(r"^\d{18}$"),
    "phone_tail": re.compile(r"^\d{4}$"),
}

Token = Tuple[Text, int, int]


def load_jieba(dict_dir: Text):
    import jieba

    jieba.setLogLevel(logging.WARNING)
    dict_files = sorted(glob.glob(os.path.join(dict_dir, "*.txt")))
    if not dict_files:
        print(f"warning: no *.txt dictionaries found in {dict_dir}", file=sys.stderr)
    for path in dict_files:
        jieba.load_userdict(path)
    return jieba, dict_files


def tokenize(jieba_module, text: Text) -> List[Token]:
    """Tokenise like the pipeline: jieba.tokenize, whitespace tokens dropped."""
    return [(w, s, e) for (w, s, e) in jieba_module.tokenize(text) if w.strip()]


def expand_paths(paths: Iterable[Text]) -> List[Text]:
    files: List[Text] = []
    for path in paths:
        if os.path.isdir(path):
            for ext in ("yml", "yaml"):
                files.extend(glob.glob(os.path.join(path, "**", f"*.{ext}"), recursive=True))
        else:
            files.append(path)
    return sorted(dict.fromkeys(files))


def check_example(
    tokens: List[Token], entities: List[Dict], value_checks: bool
) -> List[Text]:
    starts = {s for _, s, _ in tokens}
    ends = {e for _, _, e in tokens}
    problems = []
    for ent in entities:
        start, end = ent.get("start"), ent.get("end")
        name = ent.get("entity")
        bad = []
        if start not in starts:
            bad.append(f"start {start} is inside a token")
        if end not in ends:
            bad.append(f"end {end} is inside a token")
        if bad:
            problems.append(f"{name} ({start}-{end}): " + ", ".join(bad))
        pattern: Optional[re.Pattern] = VALUE_PATTERNS.get(name)
        if value_checks and pattern is not None:
            literal = ent.get("_literal")
            if literal is not None and not pattern.match(literal):
                problems.append(f"{name} '{literal}' does not match {pattern.pattern}")
    return problems


def main(argv: Optional[List[Text]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", help="NLU YAML files or folders")
    parser.add_argument("--dict-dir", default=DEFAULT_DICT_DIR,
                        help="folder with jieba user dictionaries (*.txt)")
    parser.add_argument("--no-value-checks", action="store_true",
                        help="skip the order_id / phone_tail format checks")
    args = parser.parse_args(argv)

    files = expand_paths(args.paths)
    if not files:
        print("no files to check", file=sys.stderr)
        return 2

    jieba_module, dict_files = load_jieba(args.dict_dir)
    from rasa.shared.nlu.training_data.loading import load_data

    n_examples = n_entities = n_bad = 0
    for path in files:
        td = load_data(path)
        for msg in td.training_examples:
            text = msg.get("text")
            if not text:
                continue
            entities = msg.get("entities") or []
            if not entities:
                n_examples += 1
                continue
            for ent in entities:
                ent["_literal"] = text[ent["start"]:ent["end"]]
            n_examples += 1
            n_entities += len(entities)
            tokens = tokenize(jieba_module, text)
            problems = check_example(tokens, entities, not args.no_value_checks)
            for ent in entities:
                ent.pop("_literal", None)
            if problems:
                n_bad += 1
                intent = msg.get("intent")
                print(f"{path} [{intent}] {text}")
                for p in problems:
                    print(f"    - {p}")
                print("    tokens: " + " | ".join(f"{w}@{s}-{e}" for w, s, e in tokens))

    print(
        f"checked {len(files)} file(s), {n_examples} examples, {n_entities} entities, "
        f"{len(dict_files)} jieba dictionary file(s): "
        + ("OK" if n_bad == 0 else f"{n_bad} example(s) with misaligned/invalid entities")
    )
    return 1 if n_bad else 0


if __name__ == "__main__":
    sys.exit(main())
