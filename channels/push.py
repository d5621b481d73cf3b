"""What every channel's `/push` endpoint shares: the desk's token, the request's shape, and
recording an agent's message in the conversation's Rasa tracker (so the transcript and
analytics see it) under the conversation's lock.

Body: {"conversation_id": str, "kind": "agent_message" | "agent_joined" | "agent_left" |
"queue" | "typing", "agent": {"id": str, "name": str}, "text": str, ...}.
"""

from __future__ import annotations

import hmac
from typing import Any, Dict, Optional, Tuple

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

KINDS = ("agent_message", "agent_joined", "agent_left", "queue", "typing")
MAX_TEXT = 4000


def read_push(request: Request, token: str) -> Tuple[Optional[Dict[str, Any]],
                                                     Optional[HTTPResponse]]:
    """(body, None) for an authorised, well-formed push, else (None, the error response)."""
    given = (request.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
    if not token or not hmac.compare_digest(given.encode(), token.encode()):
        return None, response.json({"error": "unauthorized"}, status=401)
    try:
        body = request.json
    except Exception:  # noqa: BLE001 - Sanic raises its own error class for bad JSON
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("conversation_id"), str) \
            or not body["conversation_id"]:
        return None, response.json(
            {"error": "a JSON object with a conversation_id is required"}, status=400)
    if body.get("kind") not in KINDS:
        return None, response.json({"error": f"kind must be one of {', '.join(KINDS)}"},
                                   status=400)
    agent = body.get("agent")
    body["agent"] = agent if isinstance(agent, dict) else {}
    if body["kind"] == "agent_joined":
        body["text"] = f"人工客服 {body['agent'].get('name') or ''} 已接入,请问有什么可以帮您?"
    if body["kind"] in ("agent_message", "agent_joined"):
        text = body.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            return None, response.json({"error": f"text must be 1-{MAX_TEXT} characters"},
                                       status=400)
    return body, None


async def record_agent_message(app: Any, conversation_id: str, text: str,
                               agent: Dict[str, Any]) -> bool:
    """Append the agent's message to the tracker as a bot event with metadata.source=desk."""
    from rasa.shared.core.events import BotUttered

    rasa_agent = getattr(getattr(app, "ctx", None), "agent", None)
    processor = getattr(rasa_agent, "processor", None)
    if processor is None:
        return False
    async with processor.lock_store.lock(conversation_id):
        tracker = await processor.get_tracker(conversation_id)
        tracker.update(BotUttered(text, metadata={
            "source": "desk", "agent_id": agent.get("id"), "agent_name": agent.get("name")}))
        await processor.save_tracker(tracker)
    return True
