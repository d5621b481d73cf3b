"""Fixtures for the handoff desk: real `python -m desk` servers on free ports.

No Rasa runs here: the desk points at a free port nobody listens on, which is exactly the
"Rasa unreachable" case. The happy path of resolve is covered by the end-to-end tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Optional

import pytest
from desk_helpers import TEST_TOKEN

ROOT = Path(__file__).resolve().parents[2]

PG_SCHEMA = "desk_pytest"


@pytest.fixture(scope="session")
def root_conftest(pytestconfig: pytest.Config) -> ModuleType:
    """tests/conftest.py as pytest loaded it (free_port, ShopProcess).

    Every conftest.py outside a package is a module named "conftest", so it cannot be
    imported by name reliably; pytest registers it under its path.
    """
    module = pytestconfig.pluginmanager.get_plugin(str(ROOT / "tests" / "conftest.py"))
    assert module is not None, "tests/conftest.py was not loaded"
    return module


def start_desk(
    tools: ModuleType,
    db_url: str,
    log_path: Path,
    extra_args: tuple[str, ...] = (),
    env: Optional[dict[str, str]] = None,
    timeout: float = 30,
) -> Any:
    """Start the desk and wait until /health answers; raise with the log tail otherwise."""
    port = tools.free_port()
    rasa_url = f"http://127.0.0.1:{tools.free_port()}"  # nothing listens there
    child_env = {k: v for k, v in os.environ.items()
                 if not k.startswith(("DESK_", "RASA_"))}
    child_env.update({"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
                      "DESK_API_TOKEN": TEST_TOKEN, **(env or {})})
    command = [sys.executable, "-m", "desk", "--host", "127.0.0.1", "--port", str(port),
               "--db-url", db_url, "--rasa-url", rasa_url, "--rasa-timeout", "3", *extra_args]
    with open(log_path, "ab") as log_file:  # the child keeps its own descriptor
        proc = subprocess.Popen(command, cwd=ROOT, env=child_env, stdout=log_file,
                                stderr=subprocess.STDOUT)
    desk = tools.ShopProcess(proc, f"http://127.0.0.1:{port}", log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"desk exited with {proc.returncode}:\n{desk.log()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{desk.url}/health", timeout=1) as response:
                if response.status == 200:
                    return desk
        except OSError:
            time.sleep(0.1)
    desk.stop()
    raise TimeoutError(f"desk not healthy within {timeout}s:\n{desk.log()[-3000:]}")


@pytest.fixture(scope="session")
def desk_factory(
    root_conftest: ModuleType, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Any]]:
    """Start desks (own DB unless given, env, args); any still running stop at session end."""
    folder = tmp_path_factory.mktemp("desks")
    started: list[Any] = []

    def start(
        db_url: Optional[str] = None,
        extra_args: tuple[str, ...] = (),
        env: Optional[dict[str, str]] = None,
    ) -> Any:
        index = len(started)
        url = db_url or f"sqlite:///{folder / f'desk{index}.sqlite'}"
        desk = start_desk(root_conftest, url, folder / f"desk{index}.log", extra_args, env)
        started.append(desk)
        return desk

    yield start
    for desk in started:
        desk.stop()


@pytest.fixture
def pg_url(postgres_schema) -> Iterator[str]:
    with postgres_schema(PG_SCHEMA) as url:
        yield url
