"""The REST channel (`POST /webhooks/rest/webhook`), hardened.

Rasa's own `rest` channel takes the customer's identity from the `sender` string anyone can
send, lets the client set `metadata` (and so any `identity` it likes), answers 500 to a body
that is not a JSON object and silently drops a non-string message with 200 `[]`. This one:

- refuses a body that is not a JSON object, a missing/empty/non-string/over-long `sender`,
  a non-string `message`, a non-object `metadata` (400, a clear JSON error) and a message over
  MAX_MESSAGE_CHARS (413); control characters are replaced by spaces, the rest is kept;
- treats every sender as anonymous unless the message carries a signed identity
  (`metadata.identity_token`, channels.identity, secret CHANNEL_IDENTITY_SECRET): then, and
  only then, it sets `metadata["identity"] = {"customer_id": ..., "verified": True}`. Any
  client-supplied `identity` is removed, and the token itself is never stored;
- forces `input_channel` to "rest" (a client cannot pretend to be another channel);
- keeps a conversation to its owner: a conversation begun on another channel (web chat,
  WeCom, 公众号) takes no REST message, and once a message of a conversation carried a signed
  identity, only messages signed for that same customer are taken (403, nothing recorded).
  An anonymous conversation is the client's sender id's: it should be unguessable (a UUID);
- delivers with each answer what was said to the customer since the last one: a REST client
  hears only answers to its own requests, so an agent's replies (the desk records them in the
  conversation) and what the bot said on taking the conversation back (the rating question)
  come first in the answer to the customer's next message (`unseen_bot_messages`), except
  those at or before the body's `since`. While the customer waits for an agent who has not
  answered yet, each message gets WAITING_TEXT instead of nothing;
- lets a client fetch them without sending (`POST /webhooks/rest/updates`, same body without
  `message`): the same messages with their `timestamp`, those after `since` only, whether an
  agent owns the conversation, and the `cursor` to send as the next `since`.

credentials.yml: `channels.rest.SecureRestInput:` (same URL as Rasa's `rest`).
Importing this module also installs the Rasa-server guards (security.rasa_hooks): masked
logs, model replacement off, an honest answer when the action server is down.
"""

from __future__ import annotations

import json
import logging
import math
import re
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Optional, Reversible, Text, Tuple

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import (
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    Event,
    UserUttered,
)
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.identity import IdentityError, verify_identity
from escalation.rules import load_rules
from security import rasa_hooks
from service_common.settings import env_str

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 50_000
MAX_SENDER_CHARS = 128
# Photos may come inline as data: URLs in metadata.attachments (10 MB image ~ 14 MB base64).
MAX_METADATA_BYTES = 14 * 1024 * 1024
# C0/C1 control characters except tab and newline (NUL breaks PostgreSQL text columns).
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
DESK_SOURCE = "desk"  # desk.rasa.RasaClient.record_bot_message
WAITING_TEXT = ("消息已转给人工客服,客服回复后会在这里显示,请稍候~"
                "(转人工后您的 {count} 条消息都已记下)")
IDENTITY_REQUIRED_TEXT = "这段对话属于一位已登录的顾客,请登录后再发送(这条消息没有记录)"
OTHER_CHANNEL_TEXT = ("这段对话来自其他渠道(网页聊天、企业微信或公众号),"
                      "请回到原渠道继续(这条消息没有记录)")
# The other customer channels of credentials.yml, whose conversations REST must not enter.
OTHER_CHANNELS = ("webchat", "wecom", "wechat_oa")
BUSY_TEXT = ("系统有点忙,您的消息已收到,请稍后再试或拨打客服热线"
             f"{load_rules().office_hours.hotline}。")

# The channels' numeric settings are checked with the server's (defaults in defaults.env).
rasa_hooks.install(extra_ints=("WECHAT_OA_CUSTOM_SENDS",),
                   extra_numbers=("WECOM_RETRY_SECONDS",))


class BadRequest(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code)
        self.status, self.code, self.message = status, code, message


class RestCollector(CollectingOutputChannel):
    """Rasa's collector, knowing until when the client has already fetched (`since`)."""

    def __init__(self, since: Optional[float] = None) -> None:
        super().__init__()
        self.since = since


def verified_customer(metadata: Optional[Dict[str, Any]]) -> Optional[str]:
    identity = (metadata or {}).get("identity")
    if isinstance(identity, dict) and identity.get("verified") is True:
        return str(identity.get("customer_id") or "") or None
    return None


def refusal(events: Iterable[Event],
            metadata: Optional[Dict[str, Any]]) -> Optional[BadRequest]:
    """Why a REST message (with this verified metadata) may not enter the conversation of
    these events: begun on another channel, or linked to another (or a signed) customer."""
    owner = None
    for event in events:
        if isinstance(event, UserUttered):
            if event.input_channel in OTHER_CHANNELS:
                return BadRequest(403, "conversation_of_another_channel", OTHER_CHANNEL_TEXT)
            owner = verified_customer(event.metadata) or owner
    if owner is not None and verified_customer(metadata) != owner:
        return BadRequest(403, "identity_required", IDENTITY_REQUIRED_TEXT)
    return None


def unseen_bot_events(events: Reversible[Event],
                      since: Optional[float] = None) -> List[BotUttered]:
    """The bot messages recorded since the customer's last message that were not answers to
    it: an agent's (the desk records them with `metadata.source` "desk") and what the bot said
    after the conversation was handed back to it (the rating question); those after `since`
    (what the client fetched last) only."""
    after_message: List[Event] = []
    for event in reversed(events):  # a deque in Rasa's tracker
        if isinstance(event, UserUttered):
            break
        after_message.append(event)
    unseen: List[BotUttered] = []
    resumed = False
    for event in reversed(after_message):
        resumed = resumed or isinstance(event, ConversationResumed)
        if isinstance(event, BotUttered) and (
                resumed or (event.metadata or {}).get("source") == DESK_SOURCE) and \
                (since is None or event.timestamp > since):
            unseen.append(event)
    return unseen


def as_message(event: BotUttered) -> Dict[str, Any]:
    return {"text": event.text,
            **{key: value for key, value in (event.data or {}).items() if value}}


def unseen_bot_messages(events: Reversible[Event],
                        since: Optional[float] = None) -> List[Dict[str, Any]]:
    """`unseen_bot_events` as the channel sends them."""
    return [as_message(event) for event in unseen_bot_events(events, since)]


def messages_while_waiting(events: Reversible[Event]) -> int:
    """The customer's messages since the conversation was handed to a human."""
    count = 0
    for event in reversed(events):
        if isinstance(event, ConversationPaused):
            break
        count += isinstance(event, UserUttered)
    return count


_handle_message_with_tracker = MessageProcessor._handle_message_with_tracker


async def _handle_rest_message(self: MessageProcessor, message: UserMessage,
                               tracker: Any) -> None:
    collector = message.output_channel
    if message.input_channel != SecureRestInput.name() or \
            not isinstance(collector, CollectingOutputChannel):
        await _handle_message_with_tracker(self, message, tracker)
        return
    refused = refusal(tracker.events, message.metadata)
    if refused is not None:  # before anything is parsed or recorded
        raise refused
    for unseen in unseen_bot_messages(tracker.events, getattr(collector, "since", None)):
        await collector.send_response(message.sender_id, unseen)
    delivered = len(collector.messages)
    await _handle_message_with_tracker(self, message, tracker)
    if tracker.is_paused() and len(collector.messages) == delivered == 0:
        await collector.send_text_message(
            message.sender_id, WAITING_TEXT.format(count=messages_while_waiting(tracker.events)))


def error(status: int, code: str, message: str) -> HTTPResponse:
    return response.json({"error": code, "message": message}, status=status,
                         dumps=lambda body: json.dumps(body, ensure_ascii=False))


def parse_body(raw: bytes) -> Tuple[str, str, Dict[str, Any], Optional[float]]:
    """(sender, text, metadata, since) of a webhook body, or BadRequest."""
    try:
        body = json.loads(raw or b"")
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(400, "invalid_json", "请求体不是合法的 JSON") from None
    if not isinstance(body, dict):
        raise BadRequest(400, "body_not_object",
                         '请求体必须是 JSON 对象,例如 {"sender": "...", "message": "..."}')
    since = body.get("since")
    if since is not None and (isinstance(since, bool) or not isinstance(since, int | float)
                              or not math.isfinite(since)):
        raise BadRequest(400, "invalid_since", "since 必须是数字(上次取到的 cursor)")
    sender = body.get("sender")
    if not isinstance(sender, str) or not sender.strip():
        raise BadRequest(400, "invalid_sender", "缺少 sender(非空字符串,标识这段对话)")
    if len(sender) > MAX_SENDER_CHARS or CONTROL.search(sender):
        raise BadRequest(400, "invalid_sender",
                         f"sender 最长 {MAX_SENDER_CHARS} 个字符,且不能含控制字符")
    text = body.get("message", "")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise BadRequest(400, "invalid_message", "message 必须是字符串")
    if len(text) > MAX_MESSAGE_CHARS:
        raise BadRequest(413, "message_too_long",
                         f"消息太长了(最多 {MAX_MESSAGE_CHARS} 个字符),请分几条发送")
    metadata = body.get("metadata")
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise BadRequest(400, "invalid_metadata", "metadata 必须是 JSON 对象")
    if len(json.dumps(metadata, ensure_ascii=False).encode()) > MAX_METADATA_BYTES:
        raise BadRequest(413, "metadata_too_large",
                         f"metadata 太大了(最多 {MAX_METADATA_BYTES} 字节)")
    return sender, CONTROL.sub(" ", text), metadata, since


def verified_metadata(metadata: Dict[str, Any], secret: Optional[str]) -> Dict[str, Any]:
    """The metadata Rasa stores: without any client-made `identity` or the token itself; with
    the verified identity when the token checks out (an anonymous sender otherwise)."""
    clean = {key: value for key, value in metadata.items()
             if key not in ("identity", "identity_token")}
    token = metadata.get("identity_token")
    if token is not None:
        try:
            payload = verify_identity(token, secret or "")
        except IdentityError as problem:
            logger.info("identity token refused (%s); the sender stays anonymous", problem)
        else:
            clean["identity"] = {"customer_id": payload["customer_id"], "verified": True}
            if payload.get("product_id") and "product_id" not in clean:
                clean["product_id"] = payload["product_id"]
    return clean


class SecureRestInput(InputChannel):
    """See the module docstring."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        return cls((credentials or {}).get("identity_secret"))

    def __init__(self, identity_secret: Optional[str] = None) -> None:
        self.identity_secret = identity_secret or env_str("CHANNEL_IDENTITY_SECRET")

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("secure_rest_webhook", __name__)
        rasa_hooks.attach(webhook)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                sender, text, metadata, since = parse_body(request.body)
            except BadRequest as bad:
                logger.info("refused webhook body: %s", bad.code)
                return error(bad.status, bad.code, bad.message)
            collector = RestCollector(since)
            message = UserMessage(text, collector, sender, input_channel=self.name(),
                                  metadata=verified_metadata(metadata, self.identity_secret))
            try:
                await on_new_message(message)
            except BadRequest as refused:
                logger.info("message refused: %s", refused.code)
                return error(refused.status, refused.code, refused.message)
            except Exception:  # noqa: BLE001 - never a traceback to the client
                logger.exception("message of %s could not be handled", sender)
                return error(503, "temporarily_unavailable", BUSY_TEXT)
            return response.json(collector.messages,
                                 dumps=lambda body: json.dumps(body, ensure_ascii=False))

        @webhook.route("/updates", methods=["POST"])
        async def updates(request: Request) -> HTTPResponse:
            try:
                sender, _, metadata, since = parse_body(request.body)
                tracker = await request.app.ctx.agent.tracker_store.retrieve(sender)
                events = list(tracker.events) if tracker is not None else []
                refused = refusal(events, verified_metadata(metadata, self.identity_secret))
                if refused is not None:
                    raise refused
            except BadRequest as bad:
                logger.info("refused updates request: %s", bad.code)
                return error(bad.status, bad.code, bad.message)
            except Exception:  # noqa: BLE001 - the tracker store is down: say so, no trace
                logger.exception("updates of %s could not be read", sender)
                return error(503, "temporarily_unavailable", BUSY_TEXT)
            fresh = unseen_bot_events(events, since)
            cursor = max([event.timestamp for event in fresh], default=since)
            body = {"messages": [{**as_message(event), "timestamp": event.timestamp}
                                 for event in fresh],
                    "waiting_for_agent": bool(tracker is not None and tracker.is_paused()),
                    "cursor": cursor}
            return response.json(body, dumps=lambda data: json.dumps(data, ensure_ascii=False))

        return webhook


MessageProcessor._handle_message_with_tracker = _handle_rest_message
