"""Live updates to the agents' browsers (Server-Sent Events).

One hub per desk process: every change (a handoff created, claimed, moved; a customer or
agent message; typing) is published to every connected agent, whose page filters it. With
several desk instances behind a balancer, sticky sessions keep an agent on one instance and
the pages' periodic refresh (every 15 s) picks up changes made on another instance.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

MAX_QUEUED = 500  # a stuck browser tab must not grow memory without bound


class Hub:
    def __init__(self) -> None:
        self._subscribers: dict[int, tuple[int, asyncio.Queue[str]]] = {}
        self._next = 0

    def subscribe(self, agent_id: int) -> tuple[int, asyncio.Queue[str]]:
        self._next += 1
        queue: asyncio.Queue[str] = asyncio.Queue(MAX_QUEUED)
        self._subscribers[self._next] = (agent_id, queue)
        return self._next, queue

    def unsubscribe(self, key: int) -> None:
        self._subscribers.pop(key, None)

    @property
    def connected_agents(self) -> set[int]:
        return {agent for agent, _ in self._subscribers.values()}

    def publish(self, kind: str, **data: Any) -> None:
        frame = f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"
        for _agent, queue in list(self._subscribers.values()):
            try:
                queue.put_nowait(frame)
            except asyncio.QueueFull:
                pass  # the page resynchronises on its next refresh
