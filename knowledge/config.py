"""Where the documents and the index live: KNOWLEDGE_DOCS / KNOWLEDGE_DB or the defaults.

Relative paths (defaults.env's among them) are inside the project, not the working folder,
so the action server, the CLI and the tests find the same index wherever they start.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import List

from service_common.settings import env_str

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DOCS = PROJECT_ROOT / "knowledge" / "docs"  # the shop's sample documents


def _in_project(value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else PROJECT_ROOT / path


def default_db_path() -> Path:
    return _in_project(env_str("KNOWLEDGE_DB") or "")


def default_doc_folders() -> List[Path]:
    """KNOWLEDGE_DOCS may list several folders, separated like PATH (":" on Linux)."""
    value = env_str("KNOWLEDGE_DOCS") or ""
    return [_in_project(part) for part in value.split(os.pathsep) if part.strip()]
