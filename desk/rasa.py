"""Client for Rasa's HTTP API: hand a conversation back to the bot, read what the customer wrote.

Rasa must run with `--enable-api` (and `--auth-token` = RASA_API_TOKEN when one is set).
"""

from __future__ import annotations

import time
from typing import Any, Optional
from urllib.parse import quote

from service_common.http import HttpClient, HttpError, RetryPolicy

RATING_ACTION = "action_ask_rating"


def _problem(error: HttpError, timeout: float, base_url: str) -> str:
    # Only the reason: aiohttp messages may carry the URL with the token.
    if error.reason == "timeout":
        return f"Rasa 在 {timeout:g} 秒内没有响应"
    if error.reason == "unreachable":
        return f"无法连接 Rasa 服务（{base_url}）"
    if error.reason == "server_error":
        return f"Rasa 返回错误（HTTP {error.status}）"
    return f"调用 Rasa 失败（{error.reason}）"


class RasaError(Exception):
    """Rasa could not be reached or refused a call. `message` is safe to show and to log."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(message)
        self.step = step
        self.message = message


class RasaClient:
    """service_common.http with Rasa's token scheme. The tracker read is retried (twice at
    most: an agent waits for it); the POSTs are not (Rasa knows no idempotency key, and a
    repeated `execute` would ask for the rating twice)."""

    def __init__(self, base_url: str, token: Optional[str] = None, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token or None
        self.timeout = timeout
        self.http = HttpClient(self.base_url, name="rasa", timeout=timeout,
                               retry=RetryPolicy(attempts=2),
                               headers={"Content-Type": "application/json"})

    async def start(self) -> None:
        self.http.session()

    async def close(self) -> None:
        await self.http.close()

    def _url(self, conversation_id: str, suffix: str) -> str:
        return f"{self.base_url}/conversations/{quote(conversation_id, safe='')}{suffix}"

    def _params(self, **params: str) -> dict[str, str]:
        # The token travels as a query parameter (Rasa's scheme); it is never logged.
        return {**params, "token": self.token} if self.token else params

    async def _call(
        self,
        step: str,
        method: str,
        url: str,
        params: dict[str, str],
        body: Any = None,
        timeout: Optional[float] = None,
    ) -> Any:
        limit = timeout or self.timeout
        try:
            reply = await self.http.request(method, url, params=params, json=body,
                                            timeout=limit)
        except HttpError as error:
            raise RasaError(step, _problem(error, limit, self.base_url)) from None
        if reply.status in (401, 403):
            raise RasaError(step, f"Rasa 拒绝了请求（HTTP {reply.status}），"
                                  "请检查 RASA_API_TOKEN 与 Rasa 的 --auth-token 是否一致")
        if reply.status >= 300:
            raise RasaError(step, f"Rasa 返回错误（HTTP {reply.status}）")
        try:
            return reply.json()
        except HttpError:
            raise RasaError(step, "调用 Rasa 失败（Rasa 的回答不是 JSON）") from None

    async def hand_back(self, conversation_id: str) -> list[dict[str, Any]]:
        """Resume the paused conversation, then let the bot ask for a rating.

        Returns the bot messages Rasa collected (those the channel did not deliver itself).
        """
        await self._call(
            "resume", "POST", self._url(conversation_id, "/tracker/events"),
            self._params(include_events="NONE"), [{"event": "resume"}],
        )
        result = await self._call(
            "execute", "POST", self._url(conversation_id, "/execute"),
            self._params(output_channel="latest", include_events="NONE"),
            {"name": RATING_ACTION},
        )
        messages = result.get("messages") if isinstance(result, dict) else None
        return messages if isinstance(messages, list) else []

    async def record_bot_message(self, conversation_id: str, text: str,
                                 agent: dict[str, Any], image: Optional[str] = None) -> None:
        """An agent's words as a bot event of the conversation (REST: the client reads them
        from the tracker; analytics and the transcript see them either way)."""
        event: dict[str, Any] = {
            "event": "bot", "text": text, "timestamp": time.time(),
            "metadata": {"source": "desk", "agent_id": str(agent.get("id")),
                         "agent_name": agent.get("name")},
        }
        if image:
            event["data"] = {"image": image}
        await self._call("record", "POST", self._url(conversation_id, "/tracker/events"),
                         self._params(include_events="NONE"), [event])

    async def tracker(self, conversation_id: str, timeout: float = 3.0) -> dict[str, Any]:
        result = await self._call(
            "tracker", "GET", self._url(conversation_id, "/tracker"), self._params(),
            timeout=timeout,
        )
        if not isinstance(result, dict):
            raise RasaError("tracker", "Rasa 返回的对话记录格式不正确")
        return result


def customer_messages_since(
    tracker: dict[str, Any], since: float, known: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """User messages Rasa logged after `since` (unix time) that the stored transcript lacks.

    While the bot is paused Rasa still records user events, so this is what the customer
    wrote while waiting for an agent.
    """
    seen = {(m.get("text"), round(float(m.get("time") or 0), 3))
            for m in known if m.get("role") == "customer"}
    result = []
    for event in tracker.get("events") or []:
        if not isinstance(event, dict) or event.get("event") != "user":
            continue
        timestamp = event.get("timestamp")
        if not isinstance(timestamp, int | float) or timestamp <= since:
            continue
        text = event.get("text") or ""
        if (text, round(float(timestamp), 3)) in seen:
            continue
        parse = event.get("parse_data") or {}
        intent = (parse.get("intent") or {}).get("name")
        emotion = parse.get("emotion")
        result.append({
            "text": text,
            "time": float(timestamp),
            "intent": intent,
            "emotion": {"label": emotion.get("label"), "intensity": emotion.get("intensity")}
            if isinstance(emotion, dict) else None,
        })
    return result


class ChannelPush:
    """Desk -> customer: the web-chat channel's push endpoint, or Rasa's tracker for channels
    that cannot push (REST), so the message is at least recorded in the conversation.

    POST {RASA_URL}/webhooks/webchat/push (Authorization: Bearer CHANNEL_PUSH_TOKEN) with
    {"conversation_id", "kind", "agent": {"id", "name"}, "text", "image", "position",
    "wait_minutes"} -> {"recorded": bool, "delivered": int}.
    """

    def __init__(self, rasa: RasaClient, token: Optional[str], push_channels: set[str],
                 path: str = "/webhooks/webchat/push") -> None:
        self.rasa = rasa
        self.token = token or None
        self.push_channels = push_channels
        self.url = rasa.base_url + path

    def can_push(self, channel: str) -> bool:
        return channel in self.push_channels and self.token is not None

    async def send(self, channel: str, conversation_id: str, kind: str,
                   agent: Optional[dict[str, Any]] = None, **fields: Any) -> dict[str, Any]:
        """Deliver one update. Returns {"recorded", "delivered", "via"}; raises RasaError."""
        if self.can_push(channel):
            body = {"conversation_id": conversation_id, "kind": kind,
                    **({"agent": agent} if agent else {}),
                    **{k: v for k, v in fields.items() if v is not None}}
            try:
                reply = await self.rasa.http.request(
                    "POST", self.url, json=body,
                    headers={"Authorization": f"Bearer {self.token}"})
                if reply.status >= 300:
                    raise RasaError("push", f"网页聊天通道返回错误（HTTP {reply.status}）")
                result = reply.json()
            except HttpError as error:
                if error.reason == "timeout":
                    raise RasaError("push", "网页聊天通道没有响应") from None
                if error.reason == "server_error":
                    raise RasaError("push", f"网页聊天通道返回错误（HTTP {error.status}）") \
                        from None
                raise RasaError("push", f"无法连接网页聊天通道（{error.reason}）") from None
            result = result if isinstance(result, dict) else {}
            return {"recorded": bool(result.get("recorded")),
                    "delivered": int(result.get("delivered") or 0), "via": "push"}
        if kind in ("agent_message", "agent_joined") and agent is not None:
            await self.rasa.record_bot_message(conversation_id, fields.get("text") or "",
                                               agent, fields.get("image"))
            return {"recorded": True, "delivered": 0, "via": "tracker"}
        return {"recorded": False, "delivered": 0, "via": "none"}


def rating_after(tracker: dict[str, Any], since: float) -> Optional[int]:
    """The customer's rating (slot `rating`, set by action_record_rating) after `since`."""
    for event in reversed(tracker.get("events") or []):
        if not isinstance(event, dict):
            continue
        timestamp = event.get("timestamp")
        if isinstance(timestamp, int | float) and timestamp < since:
            break
        if event.get("event") == "slot" and event.get("name") == "rating":
            value = event.get("value")
            if isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value <= 5:
                return int(value)
    return None
