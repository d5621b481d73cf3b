"""Real parts for the fault tests: a private redis-server, a cuttable TCP path to RabbitMQ."""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple


class RedisServer:
    """Our own redis-server on a free port (restarting the shared one would hit others)."""

    def __init__(self, port: int, folder: Path) -> None:
        self.port, self.folder = port, folder
        self.process: Optional[subprocess.Popen] = None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=open(self.folder / "redis.log", "ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while subprocess.call(["redis-cli", "-p", str(self.port), "ping"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) != 0:
            if time.monotonic() > deadline:
                raise TimeoutError("redis-server did not start")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


class TcpProxy:
    """A plain TCP forwarder on its own thread; `cut()` drops the listener and every open
    connection (the broker is unreachable), `restore()` listens again on the same port."""

    def __init__(self, listen_port: int, target: Tuple[str, int]) -> None:
        self.port, self.target = listen_port, target
        self.loop = asyncio.new_event_loop()
        self.server: Optional[asyncio.AbstractServer] = None
        self.writers: Set[asyncio.StreamWriter] = set()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        self.writers -= {writer, up_writer}

    async def _start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port,
                                                 reuse_address=True)

    async def _cut(self) -> None:
        if self.server:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()

    def restore(self) -> None:
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)

    def cut(self) -> None:
        asyncio.run_coroutine_threadsafe(self._cut(), self.loop).result(10)

    def close(self) -> None:
        self.cut()
        self.loop.call_soon_threadsafe(self.loop.stop)


def post(url: str, sender: str, text: str, secret: str = "", customer: str = "",
         timeout: float = 90) -> Tuple[int, Any, Dict[str, str]]:
    """(status, body, headers) of one REST webhook message; never raises on HTTP errors."""
    payload: Dict[str, Any] = {"sender": sender, "message": text}
    if customer:
        import sys

        sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
        from scenarios import identity_metadata

        payload["metadata"] = identity_metadata(customer, secret)
    request = urllib.request.Request(f"{url}/webhooks/rest/webhook",
                                     json.dumps(payload).encode(),
                                     {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace"), dict(error.headers or {})


def text_of(body: Any) -> str:
    if not isinstance(body, list):
        return str(body)
    return "\n".join(str(reply.get("text") or "") for reply in body)


def tracker(url: str, sender: str, token: str) -> Dict[str, Any]:
    with urllib.request.urlopen(f"{url}/conversations/{sender}/tracker?token={token}",
                                timeout=30) as response:
        return json.loads(response.read())


def user_texts(events: List[Dict[str, Any]]) -> List[str]:
    return [event.get("text") for event in events if event.get("event") == "user"]
