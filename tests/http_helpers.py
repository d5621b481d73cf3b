"""A local HTTP server in front of a test: every request goes to one handler."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Awaitable, Callable

from aiohttp import web


@asynccontextmanager
async def local_server(handle: Callable[[web.Request], Awaitable[Any]]) -> AsyncIterator[str]:
    """The base URL of an aiohttp server on a free loopback port that answers every
    method and path with `handle`; stopped on exit."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
