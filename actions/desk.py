"""Client of the handoff queue service (desk/): where escalated conversations go."""

from __future__ import annotations

import logging
from typing import Any, Dict, Optional

from actions import turn
from service_common.http import HttpClient, HttpError
from service_common.settings import env_optional, env_str

logger = logging.getLogger(__name__)


class DeskUnavailable(Exception):
    """The handoff queue could not take the packet (down, slow, or refused it)."""


def _unavailable(error: HttpError) -> Exception:
    logger.warning("desk unreachable: %s", error)
    return DeskUnavailable(str(error))


class DeskClient:
    def __init__(self, base_url: str, token: str, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = HttpClient(self.base_url, name="desk", timeout=timeout,
                               headers={"Authorization": f"Bearer {token}"},
                               errors=_unavailable)

    @classmethod
    def from_env(cls) -> DeskClient:
        return cls(env_optional("DESK_URL") or "", env_str("DESK_API_TOKEN") or "")

    async def create_handoff(self, packet: Dict[str, Any]) -> Dict[str, Any]:
        """The desk's placement. Within a turn the POST carries the turn's key: a retry (ours
        or Rasa's for the same message) gets the first answer, never a second update."""
        current = turn.current()
        # The path names the operation: the packet's transcript and times may differ
        # between two runs of the same turn.
        key = current.key("POST", "/api/handoffs") if current else None
        reply = await self.http.request_json("POST", "/api/handoffs", json=packet,
                                             idempotency_key=key)
        if reply.status >= 400:
            logger.warning("desk refused the handoff: %s %s", reply.status, reply.data)
            raise DeskUnavailable(f"desk answered {reply.status}")
        return reply.data

    async def close(self) -> None:
        await self.http.close()


_client: Optional[DeskClient] = None


def get_desk() -> DeskClient:
    global _client
    if _client is None:
        _client = DeskClient.from_env()
    return _client
