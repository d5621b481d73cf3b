"""Log masking for every process: `install()` at start masks each log record as it is
created, whichever logger, handler or formatter later writes it (Rasa's own logs and its
structlog JSON lines, Sanic's, the SDK's, ours), tracebacks included.

A record factory rather than a handler filter: Rasa and Sanic (re)configure handlers after
our code is imported, but every record passes through the factory.
"""

from __future__ import annotations

import json
import logging
import traceback
from typing import Any

from security.masking import mask_text

_installed = False


def _readable(message: str) -> str:
    """structlog's JSON lines escape Chinese (\\u5730); decode them so the masks see it."""
    if message.startswith("{") and "\\u" in message:
        try:
            return json.dumps(json.loads(message), ensure_ascii=False)
        except ValueError:
            return message
    return message


def install() -> None:
    """Idempotent; call it first thing in every entry point."""
    global _installed
    if _installed:
        return
    _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            record.msg = mask_text(_readable(record.getMessage()))
        except Exception as problem:  # noqa: BLE001 - a log line must never break the caller
            record.msg = f"(log message could not be masked: {type(problem).__name__})"
        record.args = None
        if record.exc_info and record.exc_info[0] is not None:
            try:
                text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
                record.exc_text = mask_text(text)
            except Exception as problem:  # noqa: BLE001
                record.exc_text = f"({record.exc_info[0].__name__}; traceback not masked: " \
                                  f"{type(problem).__name__})"
            # Formatters print exc_text when it is set; keep the (unmasked) objects out.
            record.exc_info = None
        return record

    logging.setLogRecordFactory(factory)
    # Rasa reports many problems as Python warnings (e.g. a `/`-message's unknown entities,
    # with the message text): route them through logging, hence through the masks.
    logging.captureWarnings(True)
