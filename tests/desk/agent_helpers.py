"""Agents and a recording web-chat push endpoint for the desk tests.

The recorder stands in for the web-chat channel's push endpoint only (the channel is
another package); everything else is the real desk server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional

import requests

ROOT = Path(__file__).resolve().parents[2]
PUSH_TOKEN = "push-test-token-91c"


class PushRecorder:
    """Answers POST /webhooks/webchat/push like the channel and records every body."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != "/webhooks/webchat/push":
                    self.send_response(404)
                    self.end_headers()
                    return
                authorized = self.headers.get("Authorization") == f"Bearer {PUSH_TOKEN}"
                if authorized:
                    recorder.calls.append(json.loads(body))
                payload = json.dumps({"recorded": authorized, "delivered": 1 if authorized
                                      else 0}).encode()
                self.send_response(200 if authorized else 401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def of(self, conversation_id: str, kind: Optional[str] = None) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["conversation_id"] == conversation_id
                and (kind is None or c["kind"] == kind)]

    def close(self) -> None:
        self.server.shutdown()


def add_agent(db_url: str, name: str, password: str, role: str = "agent",
              max_chats: int = 5) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DESK_AGENT_PASSWORD": password}
    result = subprocess.run(
        [sys.executable, "-m", "desk", "add-agent", "--db-url", db_url, "--name", name,
         "--role", role, "--max-chats", str(max_chats)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert password not in result.stdout  # a given password is never echoed


class Agent:
    """A logged-in agent: session cookie plus the CSRF header on state changes."""

    def __init__(self, base: str, name: str, password: str) -> None:
        self.base = base
        self.http = requests.Session()
        response = self.http.post(f"{base}/api/auth/login",
                                  json={"name": name, "password": password}, timeout=10)
        assert response.status_code == 200, response.text
        self.login_response = response
        self.csrf = response.json()["csrf_token"]
        self.id = response.json()["agent"]["id"]

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.base + path, timeout=10)

    def post(self, path: str, body: Any = None, csrf: bool = True) -> requests.Response:
        headers = {"X-CSRF-Token": self.csrf} if csrf else {}
        return self.http.post(self.base + path, json=body if body is not None else {},
                              headers=headers, timeout=15)
