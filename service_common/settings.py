"""Typed reads of environment variables; a bad value names the variable."""

from __future__ import annotations

import os
from typing import Optional

from service_common.config import ConfigError

ENVIRONMENT = "environment"  # ConfigError's source for a variable


def _bad(name: str, problem: str) -> ConfigError:
    return ConfigError(ENVIRONMENT, problem, name)


def env_str(name: str, default: Optional[str] = None) -> Optional[str]:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_int(name: str, default: int) -> int:
    value = env_str(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise _bad(name, f"must be an integer, got {value!r}") from None


def env_float(name: str, default: float) -> float:
    value = env_str(name)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError:
        raise _bad(name, f"must be a number, got {value!r}") from None


def env_bool(name: str, default: bool = False) -> bool:
    value = env_str(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise _bad(name, f"must be true or false, got {value!r}")
