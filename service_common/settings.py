"""Environment settings: read with defaults.env beneath them, checked once at start.

`defaults.env` (project root) is the only place a default lives: a variable that is unset
or empty in the environment takes its value from there. `check_environment()` reads every
typed setting once when a service starts, so a bad value stops it with a ConfigError naming
the variable instead of failing (or silently falling back) mid-conversation.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Dict, Mapping, Optional, Sequence, overload

from service_common.config import ConfigError

ENVIRONMENT = "environment"  # ConfigError's source for a variable
DEFAULTS_FILE = Path(__file__).resolve().parent.parent / "defaults.env"
# Per-installation secrets (security.secrets writes it; the stack and privacy read it).
SECRETS_FILE = DEFAULTS_FILE.parent / "var" / "secrets.env"


def _bad(name: str, problem: str) -> ConfigError:
    return ConfigError(ENVIRONMENT, problem, name)


def read_env_file(path: Path) -> Dict[str, str]:
    """NAME=value lines of an env file (comments and blank lines skipped; none if missing)."""
    values: Dict[str, str] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip()
    return values


@cache
def defaults() -> Dict[str, str]:
    """defaults.env, read once per process."""
    return read_env_file(DEFAULTS_FILE)


@overload
def env_str(name: str, default: str) -> str: ...
@overload
def env_str(name: str, default: None = None) -> Optional[str]: ...
def env_str(name: str, default: Optional[str] = None) -> Optional[str]:
    """The variable, else its defaults.env value, else `default` (empty counts as unset)."""
    value = os.environ.get(name)
    if value in (None, ""):
        value = defaults().get(name)
    return value if value not in (None, "") else default


def env_setting(name: str) -> str:
    """A setting defaults.env gives a value: the variable, else that value (ConfigError if
    neither, e.g. a defaults.env without it)."""
    value = env_str(name)
    if value is None:
        raise _bad(name, "must be set (it has no default)")
    return value


def env_int(name: str, default: Optional[int] = None, minimum: Optional[int] = None) -> int:
    value = env_str(name)
    if value is None:
        if default is None:
            raise _bad(name, "must be set (it has no default)")
        return default
    try:
        number = int(value)
    except ValueError:
        raise _bad(name, f"must be an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise _bad(name, f"must be at least {minimum}, got {value!r}")
    return number


def env_float(name: str, default: Optional[float] = None) -> float:
    value = env_str(name)
    if value is None:
        if default is None:
            raise _bad(name, "must be set (it has no default)")
        return default
    try:
        return float(value)
    except ValueError:
        raise _bad(name, f"must be a number, got {value!r}") from None


def env_bool(name: str, default: bool = False) -> bool:
    return _switch(name, env_str(name), default)


def _switch(name: str, value: Optional[str], default: bool) -> bool:
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise _bad(name, f"must be true or false, got {value!r}")


def demo_mode(env: Optional[Mapping[str, str]] = None) -> bool:
    """DEMO_MODE, the laptop-demo switch, read the same way by every service (1, true, yes
    or on); `env`: another environment than this process's (empty: the defaults.env value)."""
    if env is None:
        return env_bool("DEMO_MODE")
    return _switch("DEMO_MODE", env.get("DEMO_MODE") or defaults().get("DEMO_MODE") or None,
                   False)


def env_list(name: str) -> list[str]:
    """A comma-separated list (empty items dropped)."""
    return [item.strip() for item in (env_str(name) or "").split(",") if item.strip()]


def env_optional(name: str) -> Optional[str]:
    """A setting that can be switched off: its value, or None when it is off or none
    (empty takes the defaults.env value, like every setting)."""
    value = env_str(name)
    return None if value is None or value.strip().lower() in ("off", "none") else value.strip()


# Typed settings every service reads; each is checked by check_environment().
PORTS = ("SHOP_PORT", "ACTIONS_PORT", "DESK_PORT", "RASA_PORT", "LOCK_STORE_PORT")
COUNTS = ("SHOP_API_RETRIES", "LOCK_STORE_DB", "SESSION_MAX_MESSAGES",
          "ANALYTICS_RETENTION_DAYS")
SECONDS = ("SHOP_API_TIMEOUT", "WECHAT_OA_PASSIVE_SECONDS")
SWITCHES = ("DEMO_MODE", "RASA_ALLOW_MODEL_REPLACEMENT")


def check_environment(extra_ints: Sequence[str] = (), extra_numbers: Sequence[str] = (),
                      extra_switches: Sequence[str] = ()) -> None:
    """Every typed setting (and a service's own ones) read once; ConfigError names the first
    bad variable."""
    for name in PORTS:
        port = env_int(name, minimum=0)
        if port > 65535:
            raise _bad(name, f"must be a port number (0-65535), got {port}")
    for name in (*COUNTS, *extra_ints):
        env_int(name, minimum=0)
    for name in (*SECONDS, *extra_numbers):
        if env_float(name) <= 0:
            raise _bad(name, f"must be more than 0, got {env_str(name)!r}")
    for name in (*SWITCHES, *extra_switches):
        env_bool(name)
