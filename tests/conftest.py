"""Shared fixtures: a real demo shop server (`python -m shop`) on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Optional

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The shop refuses to start without an API key (outside DEMO_MODE). Every shop, action server
# and stack the tests start gets these keys; the shop API tests call as the back office
# (admin key: no ownership proofs needed), tests/shop/test_security.py as the assistant.
os.environ.setdefault("SHOP_API_KEY", "test-assistant-key")
os.environ.setdefault("SHOP_ADMIN_KEY", "test-admin-key")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ShopProcess:
    """A running `python -m shop` subprocess; output goes to `log_path`."""

    def __init__(self, proc: subprocess.Popen, url: str, log_path: Path) -> None:
        self.proc = proc
        self.url = url
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def start_shop(
    db_url: str,
    log_path: Path,
    extra_args: tuple[str, ...] = (),
    env: Optional[dict[str, str]] = None,
    timeout: float = 30,
) -> ShopProcess:
    """Start the shop and wait until /health answers; raise with the log tail otherwise."""
    port = free_port()
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("SHOP_")}
    child_env.update({key: os.environ[key] for key in ("SHOP_API_KEY", "SHOP_ADMIN_KEY")})
    child_env.update({"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", **(env or {})})
    command = [sys.executable, "-m", "shop", "--host", "127.0.0.1", "--port", str(port),
               "--db-url", db_url, *extra_args]
    with open(log_path, "ab") as log_file:  # the child keeps its own descriptor
        proc = subprocess.Popen(command, cwd=ROOT, env=child_env, stdout=log_file,
                                stderr=subprocess.STDOUT)
    shop = ShopProcess(proc, f"http://127.0.0.1:{port}", log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"shop exited with {proc.returncode}:\n{shop.log()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{shop.url}/health", timeout=1) as response:
                if response.status == 200:
                    return shop
        except OSError:
            time.sleep(0.1)
    shop.stop()
    raise TimeoutError(f"shop not healthy within {timeout}s:\n{shop.log()[-3000:]}")


@pytest.fixture(scope="session")
def shop_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a shop seeded into a fresh SQLite file, shared by the whole session."""
    folder = tmp_path_factory.mktemp("shop")
    shop = start_shop(f"sqlite:///{folder / 'shop.sqlite'}", folder / "shop.log")
    yield shop.url
    shop.stop()


@pytest.fixture(scope="session")
def shop_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., ShopProcess]]:
    """Start extra shops (own DB, env, args); any still running stop at session end."""
    tmp_path = tmp_path_factory.mktemp("shops")
    started: list[ShopProcess] = []

    def start(
        db_url: Optional[str] = None,
        extra_args: tuple[str, ...] = (),
        env: Optional[dict[str, str]] = None,
    ) -> ShopProcess:
        index = len(started)
        url = db_url or f"sqlite:///{tmp_path / f'shop{index}.sqlite'}"
        shop = start_shop(url, tmp_path / f"shop{index}.log", extra_args, env)
        started.append(shop)
        return shop

    yield start
    for shop in started:
        shop.stop()


PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


@contextmanager
def _postgres_schema(schema: str) -> Iterator[str]:
    import psycopg2  # installed with Rasa

    try:
        connection = psycopg2.connect(PG_ADMIN_URL, connect_timeout=3)
    except psycopg2.OperationalError as error:
        # PostgreSQL is part of the test set-up; a skip would hide a broken deployment path.
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is unreachable: {error}")
    connection.autocommit = True

    def reset(create: bool) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            if create:
                cursor.execute(f"CREATE SCHEMA {schema}")

    reset(create=True)
    try:
        # libpq `options` puts the service's tables into a dedicated, disposable schema.
        yield f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    finally:
        reset(create=False)
        connection.close()


@pytest.fixture(scope="session")
def postgres_schema():
    """`with postgres_schema("name") as url:` a disposable PostgreSQL schema and its URL."""
    return _postgres_schema


def folder_of(path: Path) -> str:
    """The test folder (`e2e`), or the module's name for a test module at the top."""
    parts = path.relative_to(ROOT / "tests").parts
    return parts[0] if len(parts) > 1 else path.stem


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under `pytest -n 2 --dist loadgroup` (scripts/test.sh) each folder of tests runs on one
    worker, in collection order, so a folder's session fixtures (a shop, a whole stack) start
    once, a module's tests run in their order, and folders that share a Redis database or a
    stack never run beside themselves."""
    for item in items:
        item.add_marker(pytest.mark.xdist_group(folder_of(item.path)))


_AT_FOLDER_END: dict[str, list[Callable[[], None]]] = {}


@pytest.fixture(scope="session")
def stop_after_folder() -> Callable[[str, Callable[[], None]], None]:
    """`stop_after_folder("e2e", stack.stop)`: a session fixture's servers (a whole stack
    holds 2-5 GB) stop once the last test of its folder is done, not at the end of the run,
    so two workers never hold every stack of the suite at once. The folder's tests run one
    after the other (collection order; one xdist group); `stop` may be called again."""
    return lambda folder, stop: _AT_FOLDER_END.setdefault(folder, []).append(stop)


def pytest_runtest_teardown(item: pytest.Item, nextitem: Optional[pytest.Item]) -> None:
    folder = folder_of(item.path)
    if nextitem is None or folder_of(nextitem.path) != folder:
        for stop in _AT_FOLDER_END.pop(folder, []):
            stop()
