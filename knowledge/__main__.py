"""Command line: `python -m knowledge ingest [folder ...]`, `python -m knowledge search QUERY`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import List, Optional, TextIO

from knowledge.config import default_db_path, default_doc_folders
from knowledge.index import MIN_COVERAGE, MIN_SCORE, Hit, KnowledgeIndex
from knowledge.ingest import ingest
from knowledge.store import Store, StoreError

DB_HELP = "index database (default: KNOWLEDGE_DB or var/knowledge.sqlite)"


def main(argv: Optional[List[str]] = None, out: TextIO = sys.stdout,
         err: TextIO = sys.stderr) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m knowledge",
        description="Ingest shop documents (HTML/Markdown) and search them.")
    commands = parser.add_subparsers(dest="command", required=True)
    ingest_parser = commands.add_parser(
        "ingest", help="add new, replace changed and drop deleted documents",
        description="Exit status: 0 all fine, 1 some files or folders failed (the others "
                    "were ingested), 2 the database cannot be used.")
    ingest_parser.add_argument(
        "folders", nargs="*", type=Path,
        help="document folders (default: KNOWLEDGE_DOCS or knowledge/docs)")
    ingest_parser.add_argument("--db", type=Path, help=DB_HELP)
    search_parser = commands.add_parser(
        "search", help="answer a question from the index",
        description="Exit status: 0 answered, 1 nothing good enough, 2 no usable index.")
    search_parser.add_argument("query")
    search_parser.add_argument("--product", help="catalogue product in context, e.g. P5001")
    search_parser.add_argument("--top", type=int, default=3, help="candidates to list (3)")
    search_parser.add_argument("--db", type=Path, help=DB_HELP)
    search_parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)

    import jieba

    jieba.setLogLevel(logging.WARNING)  # "Building prefix dict ..." is noise here
    if args.command == "ingest":
        return _ingest(args.folders or default_doc_folders(), args.db or default_db_path(),
                       out, err)
    return _search(args.query, args.product, args.top, args.db or default_db_path(),
                   args.json, out, err)


def _ingest(folders: List[Path], db: Path, out: TextIO, err: TextIO) -> int:
    try:
        report = ingest(folders, db)
        store = Store.open(db)
        documents, passages = store.counts()
        store.close()
    except StoreError as error:
        print(f"knowledge ingest: {error}", file=err)
        return 2
    for problem in report.problems:
        print(f"knowledge ingest: {problem}", file=err)
    print(f"{report.summary()}; index: {documents} documents, {passages} passages in {db} "
          f"({report.seconds:.2f} s)", file=out)
    return 1 if report.problems else 0


def _search(query: str, product_id: Optional[str], top: int, db: Path, as_json: bool,
            out: TextIO, err: TextIO) -> int:
    try:
        index = KnowledgeIndex.open(db)
    except StoreError as error:
        print(f"knowledge search: {error}", file=err)
        return 2
    started = time.perf_counter()
    hits = index.search(query, product_id, top)
    answer = index.answer(query, product_id)
    elapsed_ms = (time.perf_counter() - started) * 1000
    if as_json:
        print(json.dumps({"query": query, "product_id": product_id, "terms": index.terms(query),
                          "answer": asdict(answer) if answer else None,
                          "hits": [asdict(hit) for hit in hits]}, ensure_ascii=False, indent=2),
              file=out)
        return 0 if answer else 1
    print(f"terms: {' '.join(index.terms(query)) or '(none: only stop words)'}", file=out)
    if answer:
        print(f"answer: {answer.title}\n{answer.text}\nsource: {answer.source}", file=out)
    else:
        print(f"no answer: no passage reaches coverage {MIN_COVERAGE} and score {MIN_SCORE}; "
              "the bot says it does not know and offers a human agent", file=out)
    for hit in hits:
        print(_candidate(hit), file=out)
    print(f"({len(index)} passages, opened in {index.open_seconds * 1000:.1f} ms, "
          f"searched in {elapsed_ms:.1f} ms)", file=out)
    return 0 if answer else 1


def _candidate(hit: Hit) -> str:
    mark = "*" if hit.good_enough else " "
    return f"{mark} score {hit.score:.2f} coverage {hit.coverage:.2f}  {hit.source}"


if __name__ == "__main__":
    sys.exit(main())
