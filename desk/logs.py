"""Logging set-up: every line the desk writes goes through the phone mask.

The desk never logs packet contents (transcripts, slots, addresses); the mask is the safety
net for identifiers that may still be phone numbers (conversation ids, URLs, agent names).
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Optional

from shop.app import mask_phones

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def mask(value: Optional[Any]) -> str:
    """An identifier as it may appear in a log line: 11-digit phones become 138****5678."""
    return mask_phones(str(value)) if value is not None else "-"


class MaskingFormatter(logging.Formatter):
    """Masks phones in the whole formatted record, tracebacks included."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_phones(super().format(record))


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(MaskingFormatter(FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
