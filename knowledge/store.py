"""SQLite storage of the index: documents, their passages and the passages' tokens."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

from knowledge.passages import Passage

SCHEMA_VERSION = "1"
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY,
    root TEXT NOT NULL,          -- absolute path of the ingested folder
    path TEXT NOT NULL,          -- path inside root, '/'-separated
    sha256 TEXT NOT NULL,
    mtime REAL NOT NULL,
    size INTEGER NOT NULL,
    ingested_at TEXT NOT NULL,   -- ISO 8601, UTC
    title TEXT NOT NULL,
    product_id TEXT,
    UNIQUE (root, path)
);
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    title TEXT NOT NULL,
    source TEXT NOT NULL,
    text TEXT NOT NULL,
    tokens TEXT NOT NULL         -- index tokens, space-separated (tokens hold no spaces)
);
CREATE INDEX IF NOT EXISTS passages_document ON passages (document_id);
"""


class StoreError(Exception):
    """The index database cannot be opened or is not a knowledge index."""


@dataclass(frozen=True)
class StoredDocument:
    id: int
    root: str
    path: str
    sha256: str
    mtime: float


@dataclass(frozen=True)
class StoredPassage:
    id: int
    title: str
    source: str
    text: str
    tokens: List[str]
    product_id: Optional[str]
    document_title: str


class Store:
    """One connection; ingest writes inside ``transaction()`` so readers see all or nothing."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self.connection = connection
        self.path = path

    @classmethod
    def open(cls, path: Path, create: bool = False) -> Store:
        path = Path(path)
        if not create and not path.is_file():
            raise StoreError(f"no knowledge index at {path}; run `python -m knowledge ingest`")
        try:
            if create:
                path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(str(path), isolation_level=None,
                                         check_same_thread=False)
            connection.execute("PRAGMA foreign_keys = ON")
            if create:
                # WAL: the action server keeps reading while an ingest writes.
                connection.execute("PRAGMA journal_mode = WAL")
                connection.executescript(SCHEMA)
                connection.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                                   (SCHEMA_VERSION,))
            version = connection.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except (sqlite3.Error, OSError) as error:
            raise StoreError(f"{path}: cannot open the knowledge index: {error}") from error
        if not version or version[0] != SCHEMA_VERSION:
            connection.close()
            raise StoreError(f"{path}: not a knowledge index of schema {SCHEMA_VERSION}")
        return cls(connection, path)

    def close(self) -> None:
        self.connection.close()

    def transaction(self) -> _Transaction:
        return _Transaction(self.connection)

    # ------------------------------------------------------------------ meta

    def meta(self, key: str) -> Optional[str]:
        row = self.connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.connection.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def generation(self) -> int:
        """Bumped by every ingest that changed something; readers compare to reload."""
        return int(self.meta("generation") or 0)

    def bump_generation(self) -> None:
        self.set_meta("generation", str(self.generation() + 1))

    # ------------------------------------------------------------------ documents

    def documents(self, root: str) -> List[StoredDocument]:
        rows = self.connection.execute(
            "SELECT id, root, path, sha256, mtime FROM documents WHERE root = ? ORDER BY path",
            (root,))
        return [StoredDocument(*row) for row in rows]

    def touch(self, document_id: int, mtime: float) -> None:
        self.connection.execute("UPDATE documents SET mtime = ? WHERE id = ?",
                                (mtime, document_id))

    def delete(self, document_id: int) -> None:
        self.connection.execute("DELETE FROM documents WHERE id = ?", (document_id,))

    def insert(self, root: str, path: str, sha256: str, mtime: float, size: int,
               ingested_at: str, title: str, product_id: Optional[str],
               passages: List[Tuple[Passage, List[str]]]) -> None:
        cursor = self.connection.execute(
            "INSERT INTO documents (root, path, sha256, mtime, size, ingested_at, title,"
            " product_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (root, path, sha256, mtime, size, ingested_at, title, product_id))
        self.connection.executemany(
            "INSERT INTO passages (document_id, ordinal, title, source, text, tokens)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(cursor.lastrowid, passage.ordinal, passage.title, passage.source, passage.text,
              " ".join(tokens)) for passage, tokens in passages])

    # ------------------------------------------------------------------ passages

    def passages(self) -> Iterator[StoredPassage]:
        rows = self.connection.execute(
            "SELECT p.id, p.title, p.source, p.text, p.tokens, d.product_id, d.title"
            " FROM passages p JOIN documents d ON d.id = p.document_id"
            " ORDER BY d.root, d.path, p.ordinal")
        for pid, title, source, text, tokens, product_id, document_title in rows:
            yield StoredPassage(pid, title, source, text, tokens.split(), product_id,
                                document_title)

    def set_tokens(self, passage_id: int, tokens: List[str]) -> None:
        self.connection.execute("UPDATE passages SET tokens = ? WHERE id = ?",
                                (" ".join(tokens), passage_id))

    def counts(self) -> Tuple[int, int]:
        """(documents, passages)."""
        documents = self.connection.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        passages = self.connection.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
        return documents, passages


class _Transaction:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def __enter__(self) -> None:
        # IMMEDIATE: a second ingest waits here instead of failing half-way.
        self.connection.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        self.connection.execute("COMMIT" if kind is None else "ROLLBACK")
