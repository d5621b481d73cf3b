"""Where the documents and the index live: KNOWLEDGE_DOCS / KNOWLEDGE_DB or the defaults.

Defaults are inside the project (not the working folder), so the action server, the CLI
and the tests find the same index wherever they are started from.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import List

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# var/ is gitignored and already holds the shop's and the tracker's SQLite files.
DEFAULT_DB = PROJECT_ROOT / "var" / "knowledge.sqlite"
DEFAULT_DOCS = PROJECT_ROOT / "knowledge" / "docs"


def default_db_path() -> Path:
    value = os.environ.get("KNOWLEDGE_DB", "").strip()
    return Path(value) if value else DEFAULT_DB


def default_doc_folders() -> List[Path]:
    """KNOWLEDGE_DOCS may list several folders, separated like PATH (":" on Linux)."""
    value = os.environ.get("KNOWLEDGE_DOCS", "").strip()
    if not value:
        return [DEFAULT_DOCS]
    return [Path(part) for part in value.split(os.pathsep) if part.strip()]
