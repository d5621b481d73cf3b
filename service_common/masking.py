"""Masks for log lines: 11-digit mobile numbers become 138****5678."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any, Optional

# 11-digit mobile numbers (not parts of 18-digit order ids).
PHONE_IN_TEXT = re.compile(r"(?<!\d)(1\d{2})\d{4}(\d{4})(?!\d)")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def mask_phones(text: str) -> str:
    return PHONE_IN_TEXT.sub(r"\1****\2", text)


def mask(value: Optional[Any]) -> str:
    """An identifier as it may appear in a log line."""
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
