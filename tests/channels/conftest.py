"""One real stack (shop, actions, desk, Rasa with the web chat channel on Redis) plus a
second Rasa instance on the same Redis, shared by the web chat tests of this folder."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import aiohttp
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from stack import Stack, _get, free_port  # noqa: E402

# python-engineio 4.15's asyncio client builds aiohttp.ClientWSTimeout (aiohttp >= 3.10);
# Rasa pins aiohttp 3.9, whose ws_connect takes the close timeout as a plain number.
if not hasattr(aiohttp, "ClientWSTimeout"):
    aiohttp.ClientWSTimeout = lambda ws_close=None, ws_receive=None: ws_close  # type: ignore

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/5")


def redis_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


class DeskRecorder(ThreadingHTTPServer):
    """A real HTTP endpoint standing in for the desk's /api/channel-events: it records
    what the channel forwards (the desk's own handling is the desk's test)."""

    def __init__(self, token: str, port: int = 0) -> None:
        self.token = token
        self.events: List[Dict[str, Any]] = []
        self.unauthorised = 0
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Authorization") != f"Bearer {recorder.token}":
                    recorder.unauthorised += 1
                    self.send_response(401)
                elif self.path == "/api/channel-events":
                    recorder.events.append(json.loads(body))
                    self.send_response(202)
                else:
                    self.send_response(404)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", port), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def closed_rules(folder: Path) -> Path:
    """escalation/rules.yml with its time zone moved so that it is about 03:00 there now:
    the stack is outside office hours whenever the tests run (the leave-a-message path)."""
    import datetime

    hour = datetime.datetime.now(datetime.timezone.utc).hour
    offset = (3 - hour) % 24
    offset = offset - 24 if offset > 14 else offset
    text = (ROOT / "escalation" / "rules.yml").read_text(encoding="utf-8")
    lines = [f"  timezone_offset_hours: {offset}" if line.strip().startswith(
        "timezone_offset_hours:") else line for line in text.splitlines()]
    path = folder / "rules.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@contextlib.contextmanager
def webchat_stack_in(folder: Path, recorder_port: int = 0) -> Iterator[Dict[str, Any]]:
    """Starts the stack and the second instance; yields their addresses and settings.
    With a `recorder_port` the desk recorder is left to whoever listens there."""
    if not redis_available():
        pytest.fail("the web chat tests need Redis on 127.0.0.1:6379 (CI provides it)")
    stack = Stack.isolated(folder)
    channel = f"webchat-test-{secrets.token_hex(4)}"
    stack.env.update({
        "CHANNEL_IDENTITY_SECRET": secrets.token_hex(16),
        "CHANNEL_PUSH_TOKEN": secrets.token_hex(16),
        "CHANNEL_REDIS_URL": REDIS_URL, "CHANNEL_REDIS_CHANNEL": channel,
        "LOCK_STORE_TYPE": "redis", "LOCK_STORE_HOST": "127.0.0.1", "LOCK_STORE_PORT": "6379",
        "LOCK_STORE_DB": "5", "DEMO_MODE": "0",
        "ESCALATION_RULES": str(closed_rules(folder)),
    })
    stack.env["DESK_API_TOKEN"] = stack.env.get("DESK_API_TOKEN") or secrets.token_hex(16)
    recorder = None
    if recorder_port:
        stack.env["WEBCHAT_DESK_URL"] = f"http://127.0.0.1:{recorder_port}"
    else:
        recorder = DeskRecorder(stack.env["DESK_API_TOKEN"])
        stack.env["WEBCHAT_DESK_URL"] = recorder.url
        threading.Thread(target=recorder.serve_forever, daemon=True).start()
    # The second instance loads its model while the stack starts.
    second_port = free_port()
    env2 = {**stack.env, "RASA_PORT": str(second_port)}
    command = stack.commands()["rasa"]
    command[command.index("--port") + 1] = str(second_port)
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    with open(folder / "logs" / "rasa2.log", "ab") as log:
        second = subprocess.Popen(command, cwd=ROOT, env=env2, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        stack.start(timeout=900)
        url2 = f"http://127.0.0.1:{second_port}"
        deadline = time.monotonic() + 600
        while _get(f"{url2}/status?token={stack.env['RASA_API_TOKEN']}") is None:
            assert second.poll() is None, f"second Rasa exited; see {folder}/logs/rasa2.log"
            assert time.monotonic() < deadline, "second Rasa did not start"
            time.sleep(0.5)
        yield {"rasa": stack.rasa_url, "rasa2": url2, "shop": stack.shop_url,
               "env": stack.env, "recorder": recorder, "folder": str(folder)}
    finally:
        second.terminate()
        try:
            second.wait(timeout=20)
        except subprocess.TimeoutExpired:
            second.kill()
        stack.stop()
        if recorder is not None:
            recorder.shutdown()


@pytest.fixture(scope="session")
def webchat_stack(tmp_path_factory: pytest.TempPathFactory,
                  stop_after_folder: Callable[[str, Callable[[], None]], None]
                  ) -> Iterator[Dict[str, Any]]:
    # While developing, WEBCHAT_TEST_STACK names the JSON a running stack wrote
    # (scripts/webchat_dev_stack.py); the recorder then listens on its port here.
    running = os.environ.get("WEBCHAT_TEST_STACK")
    if running:
        info = json.loads(Path(running).read_text(encoding="utf-8"))
        recorder = DeskRecorder(info["env"]["DESK_API_TOKEN"], info["recorder_port"])
        threading.Thread(target=recorder.serve_forever, daemon=True).start()
        yield {**info, "recorder": recorder}
        recorder.shutdown()
        recorder.server_close()
        return
    with contextlib.ExitStack() as resources:
        info = resources.enter_context(webchat_stack_in(tmp_path_factory.mktemp("webchat")))
        stop_after_folder("channels", resources.close)
        yield info
