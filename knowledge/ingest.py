"""Incremental ingest: folders of documents -> passages and tokens in the SQLite store."""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence

from knowledge.config import PROJECT_ROOT, default_db_path, default_doc_folders
from knowledge.documents import SUPPORTED_SUFFIXES, DocumentError, parse_document
from knowledge.passages import passages
from knowledge.store import Store, StoredDocument, StoreError
from knowledge.tokens import Tokenizer, shared_tokenizer

logger = logging.getLogger(__name__)

SKIP_DIRS = frozenset({"__pycache__", "node_modules"})


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0  # files gone from their folder
    failed: int = 0  # unreadable or unusable files; a stored version of one is removed
    ignored: int = 0  # files of other types (images, PDFs ...), left alone
    retokenized: int = 0  # stored passages re-tokenised after a dictionary/rule change
    problems: List[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        # A failed file may have had its old passages removed: readers should reload.
        return bool(self.added or self.updated or self.removed or self.failed
                    or self.retokenized)

    def summary(self) -> str:
        text = (f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}, "
                f"removed {self.removed}, failed {self.failed}, ignored {self.ignored}")
        if self.retokenized:
            text += f", re-tokenised {self.retokenized} passages"
        return text


def display_path(path: Path, root: Path) -> str:
    """How a source is shown: project-relative when inside the project, else from root's name."""
    try:
        return path.relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return (Path(root.name) / path.relative_to(root)).as_posix()


def _files(root: Path) -> Iterator[Path]:
    for folder, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                yield Path(folder) / name


class Ingester:
    """Brings the store in line with the folders: skip same sha256, replace changed, drop gone.

    Documents are keyed by (folder, path inside it): ingesting folder A never removes the
    documents of folder B, and a folder that does not exist removes nothing (a typo must not
    empty the index).
    """

    def __init__(self, store: Store, tokenizer: Tokenizer) -> None:
        self.store = store
        self.tokenizer = tokenizer

    def run(self, folders: Sequence[Path]) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()
        with self.store.transaction():
            retokenize = self.store.meta("tokenizer") != self.tokenizer.signature
            if retokenize:
                report.retokenized = self._retokenize()
                self.store.set_meta("tokenizer", self.tokenizer.signature)
            for folder in folders:
                self._ingest_folder(Path(folder), report)
            if report.changed:
                self.store.bump_generation()
        report.seconds = time.perf_counter() - started
        return report

    def _retokenize(self) -> int:
        """Stored passages tokenised with other rules: redo them from their stored text."""
        count = 0
        for passage in list(self.store.passages()):
            self.store.set_tokens(passage.id, self._tokens(passage.title, passage.text))
            count += 1
        return count

    def _tokens(self, title: str, text: str) -> List[str]:
        # The title (product name, heading path) is searched with the text: a cleaning
        # section rarely repeats the product's name, the customer's question often has it.
        return self.tokenizer.document_tokens(title) + self.tokenizer.document_tokens(text)

    def _ingest_folder(self, folder: Path, report: IngestReport) -> None:
        if not folder.is_dir():
            report.problems.append(f"{folder}: no such folder (nothing ingested or removed)")
            return
        root = folder.resolve()
        stored: Dict[str, StoredDocument] = {
            document.path: document for document in self.store.documents(str(root))}
        seen = set()
        for path in _files(root):
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                report.ignored += 1
                continue
            relative = path.relative_to(root).as_posix()
            seen.add(relative)
            self._ingest_file(root, path, relative, stored.get(relative), report)
        for relative, document in stored.items():
            if relative not in seen:
                self.store.delete(document.id)
                report.removed += 1

    def _ingest_file(self, root: Path, path: Path, relative: str,
                     existing: Optional[StoredDocument], report: IngestReport) -> None:
        shown = display_path(path, root)
        try:
            content = path.read_bytes()
            mtime = path.stat().st_mtime
        except OSError as error:
            self._fail(report, existing, f"{shown}: cannot read: {error.strerror or error}")
            return
        sha256 = hashlib.sha256(content).hexdigest()
        if existing and existing.sha256 == sha256:
            if existing.mtime != mtime:
                self.store.touch(existing.id, mtime)
            report.unchanged += 1
            return
        try:
            document = parse_document(path, content)
        except DocumentError as error:
            self._fail(report, existing, f"{shown}: {str(error).removeprefix(path.name + ': ')}")
            return
        except Exception as error:  # a parser bug must not stop the other files
            logger.exception("knowledge: cannot parse %s", path)
            self._fail(report, existing, f"{shown}: cannot parse: {error}")
            return
        found = passages(document, shown)
        tokens = [(passage, self._tokens(passage.title, passage.text)) for passage in found]
        if existing:
            self.store.delete(existing.id)
            report.updated += 1
        else:
            report.added += 1
        self.store.insert(str(root), relative, sha256, mtime, len(content),
                          datetime.now(timezone.utc).isoformat(timespec="seconds"),
                          document.title, document.product_id, tokens)

    def _fail(self, report: IngestReport, existing: Optional[StoredDocument],
              message: str) -> None:
        report.failed += 1
        if existing:
            # Its old passages may no longer be true; the bot must not keep saying them.
            self.store.delete(existing.id)
            message += " (its previous passages were removed)"
        report.problems.append(message)


def ingest(folders: Optional[Sequence[Path]] = None, db_path: Optional[Path] = None,
           tokenizer: Optional[Tokenizer] = None) -> IngestReport:
    """Ingest ``folders`` (default KNOWLEDGE_DOCS) into ``db_path`` (default KNOWLEDGE_DB).

    Raises StoreError when the database cannot be created or opened.
    """
    path = Path(db_path or default_db_path())
    store = Store.open(path, create=True)
    try:
        return Ingester(store, tokenizer or shared_tokenizer()).run(
            list(folders) if folders else default_doc_folders())
    except sqlite3.Error as error:  # e.g. locked by another ingest for too long
        raise StoreError(f"{path}: ingest failed, nothing was changed: {error}") from error
    finally:
        store.close()
