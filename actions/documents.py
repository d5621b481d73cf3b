"""Answers from the shop's ingested documents (`python -m knowledge ingest`).

The index is opened once and re-opened when the file changes, so re-ingesting while the
action server runs takes effect on the next question. Without an index the bot simply
has no document answers (and says so instead of guessing).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any, Optional, Tuple

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_opened: Tuple[Optional[float], Any] = (None, None)


def _index() -> Any:
    global _opened
    from knowledge import KnowledgeIndex, default_db_path

    path = Path(os.environ.get("KNOWLEDGE_DB") or default_db_path())
    try:
        mtime = path.stat().st_mtime
    except OSError:
        if _opened[1] is None:
            logger.warning("no knowledge index at %s: run `make ingest`", path)
        _opened = (None, None)
        return None
    with _lock:
        if _opened[0] != mtime:
            _opened = (mtime, KnowledgeIndex.open(path))
        return _opened[1]


def answer(question: str, product_id: Optional[str]) -> Any:
    """The passage that answers the question well enough (with `.text` and `.title`), or
    None; any failure of the index means no answer rather than an error for the customer."""
    try:
        index = _index()
        return index.answer(question, product_id=product_id) if index is not None else None
    except Exception:  # noqa: BLE001 - a broken index must not break the conversation
        logger.exception("knowledge search failed")
        return None
