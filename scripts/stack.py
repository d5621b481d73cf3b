"""Start and stop the demo shop, the action server and the Rasa server together.

Used by `make run`, the end-to-end tests and the benchmark, so all three start the
services the same way. `python scripts/stack.py run` runs until Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, List, Optional

import yaml

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

from security import secrets  # noqa: E402
from service_common import settings  # noqa: E402
from service_common.settings import read_env_file  # noqa: E402


def load_defaults() -> Dict[str, str]:
    """defaults.env values, then this installation's secrets (var/secrets.env), overridden
    by anything already set (non-empty) in the environment."""
    env = dict(settings.defaults())
    env.update({k: v for k, v in read_env_file(secrets.SECRETS_FILE).items() if v})
    env.update({k: v for k, v in os.environ.items() if v or k not in env})
    return env


DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def rules_with_office_days(folder: Path, all_days: bool) -> Path:
    """A copy of escalation/rules.yml whose desk is open all day, every day, or neither today
    nor tomorrow (a test that runs over midnight still finds it closed): for a stack's
    `ESCALATION_RULES`."""
    content = yaml.safe_load((ROOT / "escalation" / "rules.yml").read_text(encoding="utf-8"))
    today = datetime.now(timezone(timedelta(hours=8))).weekday()
    closed = {today, (today + 1) % 7}
    days = DAYS if all_days else [day for index, day in enumerate(DAYS) if index not in closed]
    content["office_hours"] = {**(content.get("office_hours") or {}),
                               "days": days, "open": "00:00", "close": "23:59:59"}
    path = folder / f"rules-{'open' if all_days else 'closed'}.yml"
    path.write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, timeout: float = 2.0) -> Optional[dict]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = response.read()
            return json.loads(body) if body.strip().startswith(b"{") else {}
    except (OSError, ValueError):
        return None


class Stack:
    """The three processes, their ports and their logs."""

    def __init__(self, env: Optional[Dict[str, str]] = None, log_dir: Optional[Path] = None):
        self.env = {**load_defaults(), **(env or {})}
        self.env.setdefault("PYTHONUNBUFFERED", "1")
        self.env["PYTHONPATH"] = str(ROOT)
        self.log_dir = log_dir or ROOT / "var" / "logs"
        self.processes: Dict[str, subprocess.Popen] = {}

    @classmethod
    def isolated(cls, folder: Path) -> Stack:
        """A stack on free ports with fresh databases in `folder` (tests, benchmark)."""
        shop, actions, rasa, desk = free_port(), free_port(), free_port(), free_port()
        return cls(env={
            "SHOP_PORT": str(shop), "SHOP_API_URL": f"http://127.0.0.1:{shop}",
            "SHOP_DB_URL": f"sqlite:///{folder}/shop.sqlite", "ACTIONS_PORT": str(actions),
            "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{actions}/webhook",
            "RASA_PORT": str(rasa), "TRACKER_STORE_URL": f"sqlite:///{folder}/tracker.sqlite",
            "RASA_MODEL": str(ROOT / "models" / "shop.tar.gz"),
            "RASA_URL": f"http://127.0.0.1:{rasa}", "DESK_PORT": str(desk),
            "DESK_URL": f"http://127.0.0.1:{desk}", "DESK_DB_URL": f"sqlite:///{folder}/desk.sqlite",
            "ACTIONS_DB_URL": f"sqlite:///{folder}/actions.sqlite",
            "KNOWLEDGE_DB": str(folder / "knowledge.sqlite"),
            # Fresh secrets per stack: tests never depend on the installation's.
            **secrets.generate(), "DEMO_MODE": "0",
            "EVENT_BROKER_URL": f"sqlite:///{folder}/events.sqlite",
            "ANALYTICS_DB_URL": f"sqlite:///{folder}/analytics.sqlite",
        }, log_dir=folder / "logs")

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.env['RASA_PORT']}"

    @property
    def shop_url(self) -> str:
        return self.env["SHOP_API_URL"]

    def commands(self) -> Dict[str, List[str]]:
        python = str(VENV_BIN / "python")
        return {
            "shop": [python, "-m", "shop", "--host", self.env["SHOP_HOST"],
                     "--port", self.env["SHOP_PORT"], "--db-url", self.env["SHOP_DB_URL"]],
            "actions": [python, "-m", "actions.server", "--host", self.env["ACTIONS_HOST"],
                        "--port", self.env["ACTIONS_PORT"]],
            "desk": [python, "-m", "desk", "--host", self.env["DESK_HOST"],
                     "--port", self.env["DESK_PORT"], "--db-url", self.env["DESK_DB_URL"],
                     "--rasa-url", self.env["RASA_URL"]],
            "rasa": [str(VENV_BIN / "rasa"), "run", "--enable-api", *self.cors_args(),
                     # `=`: a token_urlsafe token may begin with "-" (argparse would
                     # take it for an option: 1 stack in 64 failed to start).
                     f"--auth-token={self.env['RASA_API_TOKEN']}",
                     "-i", self.env.get("RASA_HOST", "127.0.0.1"),
                     "--port", self.env["RASA_PORT"],
                     "--model", self.env.get("RASA_MODEL", "models"),
                     "--endpoints", "endpoints.yml", "--credentials", "credentials.yml"],
            # Broker -> analytics store; no HTTP port, so no health URL (see start).
            "analytics": [python, "-m", "analytics", "consume"],
        }

    def cors_args(self) -> List[str]:
        """Browser origins allowed to call Rasa: CORS_ORIGINS (comma-separated), none by
        default (Rasa's --cors '*' let any web page drive the HTTP API)."""
        origins = [o.strip() for o in self.env.get("CORS_ORIGINS", "").split(",") if o.strip()]
        return ["--cors", *origins] if origins else []

    def health_urls(self) -> Dict[str, str]:
        return {
            "shop": f"{self.shop_url}/health",
            "actions": f"http://127.0.0.1:{self.env['ACTIONS_PORT']}/health",
            "desk": f"{self.env['DESK_URL']}/health",
            "rasa": f"{self.rasa_url}/status?token={self.env['RASA_API_TOKEN']}",
        }

    def start(self, services=("shop", "actions", "desk", "rasa"), timeout: float = 600) -> None:
        # Refuses an empty or published secret unless DEMO_MODE=1 (then warns loudly).
        secrets.require(secrets.NAMES, self.env, service="the stack")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        (ROOT / "var").mkdir(exist_ok=True)
        commands = self.commands()
        if "actions" in services:
            self.ingest_documents()
        for name in services:
            with open(self.log_dir / f"{name}.log", "ab") as log:
                self.processes[name] = subprocess.Popen(
                    commands[name], cwd=ROOT, env=self.env, stdout=log,
                    stderr=subprocess.STDOUT, start_new_session=True,
                )
        deadline = time.monotonic() + timeout
        urls = self.health_urls()
        for name in services:
            while name in urls and _get(urls[name]) is None:
                if self.processes[name].poll() is not None:
                    self.stop()
                    raise RuntimeError(f"{name} exited early; see {self.log_dir / (name + '.log')}")
                if time.monotonic() > deadline:
                    self.stop()
                    raise TimeoutError(f"{name} did not become healthy in {timeout:.0f}s")
                time.sleep(0.5)

    def ingest_documents(self) -> None:
        """Brings the document index up to date (incremental: unchanged files are skipped);
        a document that cannot be read is reported and left out, it does not stop the bot."""
        with open(self.log_dir / "knowledge.log", "ab") as log:
            code = subprocess.call([str(VENV_BIN / "python"), "-m", "knowledge", "ingest"],
                                   cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        if code == 2:
            raise RuntimeError(f"the document index is unusable; see {self.log_dir}/knowledge.log")

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self.processes.clear()

    def stop_service(self, name: str) -> None:
        """Stop one service (e.g. to prove a restart loses nothing)."""
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a busy machine: do not leave it half-stopped
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


DESK_ACCOUNTS = ROOT / "var" / "desk-accounts.txt"


def desk_agent_names(db_url: str) -> List[str]:
    """The desk's accounts (none when the database or its tables do not exist yet)."""
    import sqlalchemy as sa

    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.text("SELECT name FROM desk_agents")).scalars())
    except sa.exc.SQLAlchemyError:
        return []
    finally:
        engine.dispose()


def desk_accounts(stack: Stack, path: Path = DESK_ACCOUNTS) -> str:
    """The desk's first accounts on a new installation: a supervisor and an agent with
    generated passwords, written once to var/desk-accounts.txt (mode 600). In demo mode the
    demo agents with their published passwords instead."""
    python = [str(VENV_BIN / "python"), "-m", "desk"]
    if secrets.demo_mode(stack.env):
        subprocess.call([*python, "demo-agents", "--db-url", stack.env["DESK_DB_URL"]],
                        cwd=ROOT, env=stack.env)
        return "demo: 小王 / xiaowang-demo, 主管 老张 / laozhang-demo"
    existing = desk_agent_names(stack.env["DESK_DB_URL"])
    if not path.exists() or not existing:
        # A new installation, or a desk database that was reset: the file's accounts are gone.
        lines = []
        for name, role in (("店长", "supervisor"), ("小王", "agent")):
            if name in existing:
                continue
            password = secrets.generate(["password"])["password"][:16]
            subprocess.check_call(
                [*python, "add-agent", "--name", name, "--role", role,
                 "--db-url", stack.env["DESK_DB_URL"]],
                cwd=ROOT, env={**stack.env, "DESK_AGENT_PASSWORD": password},
                stdout=subprocess.DEVNULL)
            lines.append(f"{name} ({role}): {password}")
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write("# The desk's first accounts (python -m desk add-agent adds more).\n")
            out.write("\n".join(lines) + "\n")
    return f"accounts and passwords: {path.relative_to(ROOT) if ROOT in path.parents else path}"


def main() -> None:
    # Only `--help` and the optional word `run`: anything else is refused before a service
    # starts (`stack.py --help` used to start the whole stack).
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", nargs="?", choices=["run"],
                        help="start every service until Ctrl-C (the default)")
    parser.parse_args()
    secrets.init()  # a laptop's first `make run`: this installation's own secrets
    stack = Stack()
    print("Starting the demo shop, the action server and the Rasa server ...", flush=True)
    stack.start(services=("shop", "actions", "desk", "rasa", "analytics"))
    accounts = desk_accounts(stack)
    port = stack.env["RASA_PORT"]
    print(f"""
The assistant is up (logs in var/logs/). Chat with it:
  terminal:  make chat            (as the demo customer 王伟: make chat SENDER=demo-wang)
  REST:      curl -s -XPOST localhost:{port}/webhooks/rest/webhook \\
               -H 'Content-Type: application/json' \\
               -d '{{"sender":"guest-1","message":"快递到哪了"}}'
  web chat:  http://127.0.0.1:{port}/webhooks/webchat/   (the chat page)
  shop page: {stack.shop_url}/site/?product=P5001   (the widget on a product page)
  shop API:  {stack.shop_url}/openapi.yaml
  agents' desk: {stack.env['DESK_URL']}/   ({accounts})
  dashboard:    {stack.env['DESK_URL']}/dashboard/   (supervisors)
  trainer:      {stack.env['DESK_URL']}/trainer/     (supervisors)
  handoffs:  curl -s {stack.env['DESK_URL']}/api/handoffs \\
               -H "Authorization: Bearer $(grep DESK_API_TOKEN var/secrets.env | cut -d= -f2)"
Press Ctrl-C to stop.""", flush=True)
    try:
        while all(process.poll() is None for process in stack.processes.values()):
            time.sleep(1)
        print("A service stopped unexpectedly; see var/logs/.", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
