"""Answers from the shop's ingested documents (`make knowledge`, i.e.
`python -m knowledge ingest`).

The index is opened on first use and re-opened when a later ingest changed it (checked
at most every REFRESH_SECONDS), so re-ingesting while the action server runs takes
effect without a restart. Without an index the bot has no document answers and says
so instead of guessing.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import List, Optional

from knowledge import Hit, KnowledgeIndex, StoreError

logger = logging.getLogger(__name__)

REFRESH_SECONDS = 30.0
_lock = threading.Lock()
_index: Optional[KnowledgeIndex] = None
_checked_at = 0.0


def index() -> Optional[KnowledgeIndex]:
    global _index, _checked_at
    with _lock:
        if _index is not None and time.monotonic() - _checked_at < REFRESH_SECONDS:
            return _index
        _checked_at = time.monotonic()
        try:
            _index = _index.refreshed() if _index is not None else KnowledgeIndex.open()
        except StoreError as error:
            logger.warning("no document answers: %s (run `make knowledge`)", error)
            _index = None
        return _index


def answer(question: str, product_id: Optional[str]) -> Optional[Hit]:
    """The passage that answers the question well enough, or None; a broken index means
    no answer rather than an error for the customer."""
    try:
        found = index()
        return found.answer(question, product_id=product_id) if found else None
    except Exception:  # noqa: BLE001 - the conversation must go on without documents
        logger.exception("knowledge search failed")
        return None


def topics(product_id: str) -> List[str]:
    """Section titles of the product's own pages (安装步骤, 使用注意事项 ...)."""
    try:
        found = index()
        return found.topics(product_id) if found else []
    except Exception:  # noqa: BLE001
        logger.exception("knowledge topics failed")
        return []
