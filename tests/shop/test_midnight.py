"""A shop left running over midnight keeps its demo world current: the first request of a
new day shifts the stored dates, exactly once (in-process app on a real socket, SQLite)."""

from __future__ import annotations

import asyncio
import socket
import uuid
from datetime import timedelta

import requests
from shop_api_helpers import SHIPPED, day_of, today

from shop.app import create_app
from shop.db import make_engine, make_session_factory, prepare_database, rebase_dates, world_day
from shop.security import Settings

ADMIN = "midnight-admin-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_running_shop_rebases_at_the_first_request_of_a_new_day(tmp_path) -> None:
    # Seeded two days ago and never restarted since: the state a shop running over midnight
    # is in at its first request of the new day (the day it has in memory is the seed day).
    engine = make_engine(f"sqlite:///{tmp_path / 'shop.sqlite'}")
    prepare_database(engine, seed_date=today() - timedelta(days=2), rebase=False)
    sessions = make_session_factory(engine)
    app = create_app(sessions, name=f"midnight_{uuid.uuid4().hex[:8]}",
                     settings=Settings(api_key="midnight-key", admin_key=ADMIN),
                     upload_dir=tmp_path / "uploads")

    async def fetch_tracking() -> dict:
        port = free_port()
        server = await app.create_server(host="127.0.0.1", port=port,
                                         return_asyncio_server=True)
        await server.startup()
        try:
            response = await asyncio.to_thread(
                requests.get, f"http://127.0.0.1:{port}/api/orders/{SHIPPED}/tracking",
                headers={"X-Api-Key": ADMIN}, timeout=30)
            assert response.status_code == 200, response.text
            return response.json()
        finally:
            server.close()
            await server.wait_closed()

    with sessions() as session:
        assert world_day(session) == today() - timedelta(days=2)
    tracking = asyncio.run(fetch_tracking())
    # Seeded as "in transit, last scan today, due tomorrow" — and still so today.
    assert day_of(tracking["latest_event"]["time"]) == today()
    assert tracking["eta"] == (today() + timedelta(days=1)).isoformat()
    with sessions() as session:
        assert world_day(session) == today()
        assert rebase_dates(session, today()) == 0  # another process would shift nothing
    engine.dispose()
