"""Client of the handoff queue service (desk/): where escalated conversations go."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any, Dict, Optional

import aiohttp

logger = logging.getLogger(__name__)


class DeskUnavailable(Exception):
    """The handoff queue could not take the packet (down, slow, or refused it)."""


class DeskClient:
    def __init__(self, base_url: str, token: str, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"}
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: Optional[aiohttp.ClientSession] = None

    @classmethod
    def from_env(cls) -> DeskClient:
        return cls(os.environ.get("DESK_URL", "http://127.0.0.1:5070"),
                   os.environ.get("DESK_API_TOKEN", ""))

    async def create_handoff(self, packet: Dict[str, Any]) -> Dict[str, Any]:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers=self.headers, timeout=self.timeout)
        try:
            async with self._session.post(f"{self.base_url}/api/handoffs", json=packet) as reply:
                body = await reply.json(content_type=None)
                if reply.status >= 400:
                    logger.warning("desk refused the handoff: %s %s", reply.status, body)
                    raise DeskUnavailable(f"desk answered {reply.status}")
                return body
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            logger.warning("desk unreachable: %r", error)
            raise DeskUnavailable(str(error)) from error


_client: Optional[DeskClient] = None


def get_desk() -> DeskClient:
    global _client
    if _client is None:
        _client = DeskClient.from_env()
    return _client
