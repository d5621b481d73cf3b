"""The clustered deployment on one machine (`make run-cluster`, the fault tests, `bench --cluster`).

PostgreSQL (tracker store, shop, desk, action ledger, analytics), Redis (lock store and the
web chat's socket.io manager), RabbitMQ (event broker -> analytics consumer), N Rasa
instances and N action servers behind nginx (Debian's package, run in the foreground with
its own prefix). Everything is set by environment variables, the same ones a multi-machine
deployment sets (docs/scale.md); this script only fills in loopback defaults.

    python scripts/cluster.py            # runs until Ctrl-C; nginx on CLUSTER_PORT (5005)
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import ROOT, Stack, free_port, load_defaults  # noqa: E402

sys.path.insert(0, str(ROOT))
from security import secrets  # noqa: E402

TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
DATABASES = ("tracker", "shop", "desk", "actions", "analytics")


def create_database(admin_url: str, name: str, fresh: bool = False) -> str:
    """Creates database `name` on the server of `admin_url` (kept if it exists unless
    `fresh`); returns its URL."""
    import psycopg2

    parsed = urlparse(admin_url)
    connection = psycopg2.connect(host=parsed.hostname or "127.0.0.1", port=parsed.port or 5432,
                                  user=parsed.username or "postgres",
                                  password=parsed.password or None,
                                  dbname=parsed.path.lstrip("/") or "postgres")
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            if fresh:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()
    return parsed._replace(path=f"/{name}").geturl()


def drop_database(admin_url: str, name: str) -> None:
    import psycopg2

    parsed = urlparse(admin_url)
    connection = psycopg2.connect(host=parsed.hostname or "127.0.0.1", port=parsed.port or 5432,
                                  user=parsed.username or "postgres",
                                  password=parsed.password or None, dbname="postgres")
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        connection.close()


class Cluster(Stack):
    """Stack's services, with `rasa` and `actions` replicated behind nginx."""

    def __init__(self, env: Optional[Dict[str, str]] = None, log_dir: Optional[Path] = None,
                 var_dir: Optional[Path] = None) -> None:
        # The environment and `env` win over the cluster's defaults, which win over the
        # single-machine defaults.env (SQLite, in-memory locks).
        chosen = {**{k: v for k, v in os.environ.items() if v}, **(env or {})}
        base = {**load_defaults(), **(env or {})}
        name = base.get("CLUSTER_NAME", "shopbot")
        pg = base.get("CLUSTER_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
        redis = urlparse(base.get("CLUSTER_REDIS_URL", "redis://127.0.0.1:6379/0"))
        defaults = {
            # Each of these may be set to a remote host in a multi-machine deployment.
            "CLUSTER_PORT": "5005", "CLUSTER_ACTIONS_PORT": str(free_port()),
            "RASA_INSTANCES": "2", "ACTION_INSTANCES": "2", "SANIC_WORKERS": "1",
            "TRACKER_STORE_URL": f"{pg.rsplit('/', 1)[0]}/{name}_tracker",
            "SHOP_DB_URL": f"{pg.rsplit('/', 1)[0]}/{name}_shop",
            "DESK_DB_URL": f"{pg.rsplit('/', 1)[0]}/{name}_desk",
            "ACTIONS_DB_URL": f"{pg.rsplit('/', 1)[0]}/{name}_actions",
            "ANALYTICS_DB_URL": f"{pg.rsplit('/', 1)[0]}/{name}_analytics",
            "LOCK_STORE_TYPE": "redis", "LOCK_STORE_HOST": redis.hostname or "127.0.0.1",
            "LOCK_STORE_PORT": str(redis.port or 6379), "LOCK_STORE_DB": "1",
            "CHANNEL_REDIS_URL": f"redis://{redis.hostname}:{redis.port or 6379}/2",
            "CHANNEL_REDIS_CHANNEL": f"{name}-webchat",
            "EVENT_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672/",
            "EVENT_BROKER_QUEUE": f"{name}-events", "EVENT_BROKER_EXCHANGE": f"{name}-exchange",
            # A ticket of an instance that died expires after this: the conversation's next
            # message waits at most this long. It must exceed the slowest turn (else two
            # messages of one conversation could run at once).
            "TICKET_LOCK_LIFETIME": "20",
            "NGINX_READ_TIMEOUT": "60",
        }
        merged = {**base, **defaults, **chosen}
        super().__init__(env=merged, log_dir=log_dir)
        # Everything that talks to "Rasa" goes through nginx, like a browser would.
        front = f"http://127.0.0.1:{self.env['CLUSTER_PORT']}"
        self.env["RASA_URL"] = front
        self.env["ACTION_ENDPOINT_URL"] = \
            f"http://127.0.0.1:{self.env['CLUSTER_ACTIONS_PORT']}/webhook"
        self.var_dir = var_dir or ROOT / "var" / "nginx"
        self.rasa_ports = [free_port() for _ in range(int(self.env["RASA_INSTANCES"]))]
        self.action_ports = [free_port() for _ in range(int(self.env["ACTION_INSTANCES"]))]

    @classmethod
    def isolated(cls, folder: Path, name: str = "", **env: str) -> Cluster:  # type: ignore[override]
        """A cluster on free ports with fresh databases named after `name` (tests, bench)."""
        name = name or f"scale{os.getpid()}"
        folder.mkdir(parents=True, exist_ok=True)
        values = {
            "CLUSTER_NAME": name, "CLUSTER_PORT": str(free_port()),
            "SHOP_PORT": str(free_port()), "DESK_PORT": str(free_port()),
            "RASA_MODEL": str(ROOT / "models" / "shop.tar.gz"),
            "KNOWLEDGE_DB": str(folder / "knowledge.sqlite"),
            "OFFLINE_TICKETS_FILE": str(folder / "offline_tickets.jsonl"),
            **secrets.generate(), "DEMO_MODE": "0", **env,
        }
        values["SHOP_API_URL"] = f"http://127.0.0.1:{values['SHOP_PORT']}"
        values["DESK_URL"] = f"http://127.0.0.1:{values['DESK_PORT']}"
        cluster = cls(env=values, log_dir=folder / "logs", var_dir=folder / "nginx")
        cluster.fresh_databases = True
        return cluster

    fresh_databases = False

    @property
    def rasa_url(self) -> str:
        return self.env["RASA_URL"]

    def instance_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.rasa_ports[index]}"

    def database_urls(self) -> Dict[str, str]:
        keys = {"tracker": "TRACKER_STORE_URL", "shop": "SHOP_DB_URL", "desk": "DESK_DB_URL",
                "actions": "ACTIONS_DB_URL", "analytics": "ANALYTICS_DB_URL"}
        return {name: self.env[key] for name, key in keys.items()
                if self.env[key].startswith("postgresql")}

    def create_databases(self) -> None:
        for url in self.database_urls().values():
            parsed = urlparse(url)
            create_database(parsed._replace(path="/postgres").geturl(),
                            parsed.path.lstrip("/"), fresh=self.fresh_databases)

    def drop_databases(self) -> None:
        for url in self.database_urls().values():
            parsed = urlparse(url)
            drop_database(parsed._replace(path="/postgres").geturl(), parsed.path.lstrip("/"))

    def drop_broker(self) -> None:
        """Deletes this cluster's RabbitMQ queue and exchange (isolated clusters: tests, bench),
        so runs leave nothing on a shared broker."""
        import asyncio

        import aio_pika

        url = self.env["EVENT_BROKER_URL"]
        if urlparse(url).scheme not in ("amqp", "amqps"):
            return

        async def drop() -> None:
            connection = await aio_pika.connect(url)
            async with connection:
                channel = await connection.channel()
                await channel.queue_delete(self.env["EVENT_BROKER_QUEUE"])
                await channel.exchange_delete(self.env["EVENT_BROKER_EXCHANGE"])

        asyncio.run(drop())

    def nginx_config(self) -> Path:
        (self.var_dir / "tmp").mkdir(parents=True, exist_ok=True)
        servers = "\n".join(f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=10s;"
                            for port in self.rasa_ports)
        actions = "\n".join(f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=10s;"
                            for port in self.action_ports)
        text = TEMPLATE.read_text().format(
            # Started as root (a container, CI), nginx's workers would switch to `nobody`
            # and could not write the temp files under our private prefix.
            user_directive="user root;" if os.geteuid() == 0 else "",
            prefix=self.var_dir, host="127.0.0.1", front_port=self.env["CLUSTER_PORT"],
            actions_port=self.env["CLUSTER_ACTIONS_PORT"], rasa_servers=servers,
            action_servers=actions, connect_timeout=2,
            read_timeout=self.env["NGINX_READ_TIMEOUT"])
        path = self.var_dir / "nginx.conf"
        path.write_text(text)
        return path

    def commands(self) -> Dict[str, List[str]]:
        base = super().commands()
        commands = {key: base[key] for key in ("shop", "desk", "analytics")}
        for index, port in enumerate(self.rasa_ports, 1):
            rasa = list(base["rasa"])
            rasa[rasa.index("--port") + 1] = str(port)
            commands[f"rasa{index}"] = rasa
        for index, port in enumerate(self.action_ports, 1):
            actions = list(base["actions"])
            actions[actions.index("--port") + 1] = str(port)
            commands[f"actions{index}"] = actions
        commands["nginx"] = [NGINX, "-p", str(self.var_dir), "-c", str(self.var_dir / "nginx.conf"),
                             "-e", str(self.var_dir / "error.log"), "-g", "daemon off;"]
        return commands

    def health_urls(self) -> Dict[str, str]:
        urls = {"shop": f"{self.shop_url}/health", "desk": f"{self.env['DESK_URL']}/health",
                "nginx": f"{self.rasa_url}/nginx-health"}
        token = self.env["RASA_API_TOKEN"]
        for index, port in enumerate(self.rasa_ports, 1):
            urls[f"rasa{index}"] = f"http://127.0.0.1:{port}/status?token={token}"
        for index, port in enumerate(self.action_ports, 1):
            urls[f"actions{index}"] = f"http://127.0.0.1:{port}/health"
        return urls

    def service_names(self) -> List[str]:
        return ["shop", *[f"actions{i}" for i in range(1, len(self.action_ports) + 1)], "desk",
                *[f"rasa{i}" for i in range(1, len(self.rasa_ports) + 1)], "analytics", "nginx"]

    def start(self, services: Optional[Sequence[str]] = None,  # type: ignore[override]
              timeout: float = 900) -> None:
        secrets.require(secrets.NAMES, self.env, service="the cluster")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.create_databases()
        self.nginx_config()
        self.ingest_documents()
        super().start(services=tuple(services or self.service_names()), timeout=timeout)

    def restart_service(self, name: str, timeout: float = 600) -> None:
        """Start one stopped service again (after stop_service or a kill)."""
        self.processes.pop(name, None)
        Stack.start(self, services=(name,), timeout=timeout)

    def kill_service(self, name: str) -> None:
        """SIGKILL, no goodbye: what a crashed machine looks like to the others."""
        process = self.processes.pop(name)
        os.killpg(process.pid, 9)
        process.wait(timeout=30)


def main() -> None:
    secrets.init()
    cluster = Cluster(log_dir=ROOT / "var" / "logs" / "cluster")
    print("Starting the cluster (PostgreSQL, Redis, RabbitMQ must be running) ...", flush=True)
    cluster.start()
    print(f"""
The cluster is up (logs in {cluster.log_dir}, nginx in {cluster.var_dir}):
  REST + web chat (nginx):  {cluster.rasa_url}/webhooks/rest/webhook
  Rasa instances:           {', '.join(str(p) for p in cluster.rasa_ports)}
  action servers (nginx):   {cluster.env['ACTION_ENDPOINT_URL']}
  desk:                     {cluster.env['DESK_URL']}/
Press Ctrl-C to stop.""", flush=True)
    try:
        while all(process.poll() is None for process in cluster.processes.values()):
            time.sleep(1)
        print("A service stopped unexpectedly; see the logs.", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()

