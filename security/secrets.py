"""Per-installation secrets: generated once at set-up into var/secrets.env (mode 600,
git-ignored), checked at start.

No secret has a shared default. A process that finds one of its secrets empty or equal to
a published value refuses to start, unless DEMO_MODE=1 (a laptop demo), where it warns
loudly instead.

    python -m security.secrets init     # write var/secrets.env if missing (set-up does it)
    python -m security.secrets check    # exit 1 when a secret is missing or known
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional

from service_common import settings
from service_common.settings import SECRETS_FILE, read_env_file

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
NAMES = ("RASA_API_TOKEN", "ACTIONS_TOKEN", "DESK_API_TOKEN", "SHOP_API_KEY", "SHOP_ADMIN_KEY",
         "CHANNEL_IDENTITY_SECRET", "CHANNEL_PUSH_TOKEN")
# Values that were published (README, defaults.env, code) at some point: never accepted.
KNOWN_DEFAULTS = frozenset({
    "rasa-dev-token", "desk-dev-token", "shop-dev-key", "dev", "secret", "changeme",
    "token", "test", "demo", "password",
})
MIN_LENGTH = 16


class InsecureSecret(RuntimeError):
    """A secret is missing or published; the message names it (never its value)."""


def generate(names: Iterable[str] = NAMES) -> Dict[str, str]:
    return {name: secrets.token_urlsafe(32) for name in names}


def init(path: Path = SECRETS_FILE) -> Dict[str, str]:
    """Creates `path` with fresh secrets, or adds the ones it lacks; existing ones are kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    values = read_env_file(path)
    missing = [name for name in NAMES if not values.get(name)]
    if missing:
        values.update(generate(missing))
        temporary = path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("# Generated per installation by `python -m security.secrets init`.\n"
                         "# Keep private (mode 600); delete a line to rotate that secret.\n")
            handle.writelines(f"{key}={value}\n" for key, value in values.items())
        os.replace(temporary, path)
    os.chmod(path, 0o600)
    return values


def demo_mode(env: Optional[Mapping[str, str]] = None) -> bool:
    return settings.demo_mode(env)


def problems(names: Iterable[str], env: Optional[Mapping[str, str]] = None) -> List[str]:
    env = env if env is not None else os.environ
    found = []
    for name in names:
        value = env.get(name) or ""
        if not value:
            found.append(f"{name} is empty")
        elif value.lower() in KNOWN_DEFAULTS or len(value) < MIN_LENGTH:
            found.append(f"{name} is a published or too short value")
    return found


def require(names: Iterable[str], env: Optional[Mapping[str, str]] = None,
            service: str = "this service") -> None:
    """Raise InsecureSecret unless every secret in `names` is set and unpublished; in
    DEMO_MODE log a loud warning instead."""
    found = problems(names, env)
    if not found:
        return
    text = (f"{service}: " + "; ".join(found) + ". Run `python -m security.secrets init` "
            "(or `make venv`) and load var/secrets.env, or set DEMO_MODE=1 for a laptop demo.")
    if demo_mode(env):
        logger.warning("DEMO MODE - INSECURE: %s", text)
        print(f"!!! DEMO MODE - INSECURE: {text}", file=sys.stderr, flush=True)
        return
    raise InsecureSecret(text)


def main(argv: List[str]) -> int:
    command = argv[0] if argv else "init"
    if command == "init":
        init()
        print(f"secrets in {SECRETS_FILE.relative_to(ROOT)} (mode 600)")
        return 0
    if command == "check":
        env = {**read_env_file(SECRETS_FILE), **os.environ}
        found = problems(NAMES, env)
        for problem in found:
            print(problem, file=sys.stderr)
        return 1 if found else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
