"""Push-capable customer web chat: a Rasa input channel on python-socketio.

Unlike Rasa's built-in socket.io channel, this one
- shares its client manager through Redis (``CHANNEL_REDIS_URL``) so any instance can reach
  a customer whose socket lives on another instance (rooms are named after conversations);
- keeps the conversation id in a signed conversation token the page stores, so reloads and
  reconnects continue the same conversation (never the socket id);
- verifies the shop's signed customer identity (channels.identity) and drops whatever
  identity a client claims;
- offers the desk a push endpoint (agent messages recorded in the tracker) and forwards
  what customers write in human-owned conversations to the desk.
See docs/webchat.md for the interfaces.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
import uuid
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Optional, Set, Text

import socketio
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.core.events import BotUttered
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.identity import IdentityError, verify_identity
from service_common.http import HttpClient, HttpError
from service_common.settings import env_bool, env_optional, env_str

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "webchat" / "dist"
MAX_TEXT = 2000
MAX_PUSH_TEXT = 5000
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 9
# A message with nine 10 MB photos would be 120 MB; the socket carries at most ~2 photos
# at once, the page sends more in several messages.
MAX_SOCKET_MESSAGE = 28 * 1024 * 1024
TOKEN_TTL = 30 * 24 * 3600
HISTORY_LIMIT = 60
DESK_TIMEOUT = 2.0
TYPING_FORWARD_INTERVAL = 3.0
PRESENCE_TTL = 60
# Per-conversation state kept in memory (paused flags, typing throttles) is bounded.
MAX_REMEMBERED = 50_000
PUSH_KINDS = ("agent_message", "agent_joined", "agent_left", "queue", "typing")
IMAGE_DATA_URL = re.compile(r"data:(image/(?:png|jpeg|gif|webp));base64,([A-Za-z0-9+/=\s]+)\Z")
IMAGE_MAGIC = {"image/png": (b"\x89PNG\r\n\x1a\n",), "image/jpeg": (b"\xff\xd8\xff",),
               "image/gif": (b"GIF87a", b"GIF89a"), "image/webp": (b"RIFF",)}
PRODUCT_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
# C0/C1 control characters except tab and newline: they break terminals, logs and some
# databases (PostgreSQL refuses NUL) and carry no meaning in a chat message.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
CONVERSATION_ID = re.compile(r"wc-[0-9a-f]{32}")

ERR_TOO_LONG = f"消息太长啦,一次最多{MAX_TEXT}个字,请分几次发送哦。"
ERR_EMPTY = "消息是空的哦,请输入内容或选择图片再发送。"
ERR_IMAGE = "图片发送失败:只支持JPG、PNG、GIF、WebP格式的图片,每张不超过10MB。"
ERR_TOO_MANY = f"一次最多发送{MAX_ATTACHMENTS}张图片哦。"
ERR_NO_SESSION = "连接已过期,请刷新页面后再试。"
ERR_BUSY = "抱歉,系统开小差了😥 请稍后再发一次,您的消息我们已经收到。"
ERR_FORM = "留言信息不完整:请填写称呼、手机号和留言内容(手机号为11位数字)。"


# --------------------------------------------------------------------------- tokens

def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def token_secret() -> str:
    """All instances must agree on it: explicit, else derived from the identity secret (so
    one shared secret suffices), else a laptop demo secret, else a per-process one."""
    explicit = env_str("WEBCHAT_TOKEN_SECRET")
    if explicit:
        return explicit
    identity = env_str("CHANNEL_IDENTITY_SECRET")
    if identity:
        label = b"webchat-conversation-token"
        return hmac.new(identity.encode(), label, hashlib.sha256).hexdigest()
    if env_bool("DEMO_MODE"):
        return "webchat-demo-only-secret"
    logger.warning("neither WEBCHAT_TOKEN_SECRET nor CHANNEL_IDENTITY_SECRET is set: web chat "
                   "conversations will not survive a restart or span several instances")
    return secrets.token_hex(32)


def issue_conversation_token(conversation_id: str, subject: Optional[str], secret: str,
                             now: Optional[float] = None) -> str:
    body = {"cid": conversation_id, "sub": subject,
            "exp": int((now or time.time()) + TOKEN_TTL)}
    head = _b64e(json.dumps(body, separators=(",", ":")).encode())
    mac = hmac.new(secret.encode(), b"wc1." + head.encode(), hashlib.sha256).digest()
    return f"{head}.{_b64e(mac)}"


def read_conversation_token(token: Any, secret: str,
                            now: Optional[float] = None) -> Optional[Dict[str, Any]]:
    """The token's payload, or None when it is missing, malformed, forged or expired."""
    if not isinstance(token, str) or token.count(".") != 1 or len(token) > 1024:
        return None
    head, mac = token.split(".")
    try:
        given = _b64d(mac)
        body = json.loads(_b64d(head))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    expected = hmac.new(secret.encode(), b"wc1." + head.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(given, expected) or not isinstance(body, dict):
        return None
    if not isinstance(body.get("cid"), str) or not CONVERSATION_ID.fullmatch(body["cid"]):
        return None
    if not isinstance(body.get("exp"), int) or body["exp"] < (now or time.time()):
        return None
    return body


# --------------------------------------------------------------------------- input checks

def clean_text(text: Any) -> str:
    if not isinstance(text, str):
        return ""
    return CONTROL_CHARS.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


def image_size(url: str) -> Optional[int]:
    """Decoded size of an image data URL whose bytes really are the declared image type."""
    found = IMAGE_DATA_URL.match(url)
    if not found:
        return None
    data = re.sub(r"\s", "", found.group(2))
    if len(data) * 3 // 4 > MAX_IMAGE_BYTES + 3:
        return -1
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw.startswith(IMAGE_MAGIC[found.group(1)]):
        return None
    if found.group(1) == "image/webp" and raw[8:12] != b"WEBP":
        return None
    return len(raw)


def check_attachments(value: Any) -> tuple[List[Dict[str, str]], Optional[str]]:
    """(attachments, error): images as data URLs only, each at most 10 MB."""
    if value in (None, []):
        return [], None
    if not isinstance(value, list):
        return [], ERR_IMAGE
    if len(value) > MAX_ATTACHMENTS:
        return [], ERR_TOO_MANY
    accepted = []
    for item in value:
        if not isinstance(item, dict) or item.get("type") != "image" or \
                not isinstance(item.get("url"), str):
            return [], ERR_IMAGE
        size = image_size(item["url"])
        if size is None or size < 0 or size > MAX_IMAGE_BYTES:
            return [], ERR_IMAGE
        accepted.append({"type": "image", "url": item["url"]})
    return accepted, None


def check_leave_message(value: Any) -> tuple[Optional[Dict[str, str]], Optional[str]]:
    if value is None:
        return None, None
    if not isinstance(value, dict):
        return None, ERR_FORM
    name = clean_text(value.get("name"))[:32]
    phone = clean_text(value.get("phone")).replace(" ", "")
    content = clean_text(value.get("content"))[:MAX_TEXT]
    if not name or not content or not re.fullmatch(r"1\d{10}", phone):
        return None, ERR_FORM
    return {"name": name, "phone": phone, "content": content}, None


def mask(value: str) -> str:
    return value[:6] + "…" if len(value) > 8 else value


# --------------------------------------------------------------------------- presence

class Presence:
    """Which live sockets belong to a conversation, across instances (Redis) or in this
    process; the push endpoint reports how many sockets a message was sent to."""

    def __init__(self, redis_url: Optional[str], prefix: str) -> None:
        self.prefix = prefix
        self.instance = uuid.uuid4().hex[:12]
        self.local: Dict[str, Set[str]] = {}
        self.redis = None
        if redis_url:
            from redis import asyncio as aioredis

            self.redis = aioredis.Redis.from_url(redis_url)

    def _key(self, room: str) -> str:
        return f"{self.prefix}:presence:{room}"

    async def join(self, room: str, sid: str) -> None:
        self.local.setdefault(room, set()).add(sid)
        if self.redis is not None:
            key = self._key(room)
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.zadd(key, {f"{self.instance}:{sid}": time.time()})
                pipe.expire(key, PRESENCE_TTL * 2)
                await pipe.execute()

    async def leave(self, room: str, sid: str) -> None:
        members = self.local.get(room)
        if members is not None:
            members.discard(sid)
            if not members:
                del self.local[room]
        if self.redis is not None:
            await self.redis.zrem(self._key(room), f"{self.instance}:{sid}")

    async def count(self, room: str) -> int:
        if self.redis is None:
            return len(self.local.get(room, ()))
        return int(await self.redis.zcount(self._key(room), time.time() - PRESENCE_TTL, "+inf"))

    async def refresh_forever(self) -> None:
        """Keeps this instance's sockets fresh; a crashed instance's entries age out."""
        while True:
            await asyncio.sleep(PRESENCE_TTL / 3)
            try:
                for room, sids in list(self.local.items()):
                    for sid in list(sids):
                        await self.join(room, sid)
            except Exception as error:  # noqa: BLE001 - Redis hiccups must not end the loop
                logger.warning("web chat presence refresh failed: %s", type(error).__name__)


# --------------------------------------------------------------------------- output

def normalise(message: Dict[str, Any]) -> Dict[str, Any]:
    """One bot response as the page draws it."""
    custom = message.get("custom")
    cards = custom.get("cards") if isinstance(custom, dict) else None
    attachment = message.get("attachment")
    image = message.get("image")
    if not image and isinstance(attachment, dict) and attachment.get("type") == "image":
        image = (attachment.get("payload") or {}).get("src")
    out = {
        "id": uuid.uuid4().hex, "time": time.time(), "source": "bot", "agent": None,
        "text": message.get("text") or "",
        "buttons": [{"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                    for b in message.get("buttons") or [] if isinstance(b, dict)],
        "quick_replies": [{"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                          for b in message.get("quick_replies") or [] if isinstance(b, dict)],
        "image": image if isinstance(image, str) else None,
        "cards": cards if isinstance(cards, list) else [],
        "custom": {k: v for k, v in custom.items() if k != "cards"}
        if isinstance(custom, dict) else None,
    }
    return out


class WebChatOutput(OutputChannel):
    """Emits through the socket.io manager: reaches the conversation's room on any instance."""

    @classmethod
    def name(cls) -> Text:
        return "webchat"

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio
        self.sent = 0

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        self.sent += 1
        await self.sio.emit("bot_message", normalise(message), room=recipient_id)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"image": image})

    async def send_text_with_buttons(self, recipient_id: Text, text: Text,
                                     buttons: List[Dict[Text, Any]], **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text, "buttons": buttons})

    async def send_quick_replies(self, recipient_id: Text, text: Text,
                                 quick_replies: List[Dict[Text, Any]], **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text, "quick_replies": quick_replies})

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any],
                               **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"custom": json_message})

    async def send_elements(self, recipient_id: Text, elements: Iterable[Dict[Text, Any]],
                            **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"custom": {"elements": list(elements)}})


# --------------------------------------------------------------------------- desk client

class DeskForwarder:
    """Fire and forget: the message is already in the tracker, a desk that is down loses
    nothing (it reads the tracker when an agent opens the conversation). Through
    service_common.http; a channel event is a POST without a key, so it is not retried."""

    def __init__(self, url: Optional[str], token: Optional[str]) -> None:
        self.url = (url or "").rstrip("/")
        self.token = token or ""
        self.http = HttpClient(self.url, name="desk", timeout=DESK_TIMEOUT,
                               headers={"Authorization": f"Bearer {self.token}"})
        self._tasks: Set[asyncio.Task] = set()
        self._last_typing: Dict[str, float] = {}

    def send(self, event: Dict[str, Any]) -> None:
        if not self.url:
            return
        if event["kind"] == "customer_typing":
            now = time.monotonic()
            if now - self._last_typing.get(event["conversation_id"], 0) < TYPING_FORWARD_INTERVAL:
                return
            if len(self._last_typing) > MAX_REMEMBERED:
                self._last_typing.clear()
            self._last_typing[event["conversation_id"]] = now
        task = asyncio.get_event_loop().create_task(self._post(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, event: Dict[str, Any]) -> None:
        try:
            reply = await self.http.request("POST", "/api/channel-events", json=event)
            if reply.status >= 300:
                logger.warning("desk refused a channel event (%s) for %s", reply.status,
                               mask(event["conversation_id"]))
        except HttpError as error:
            logger.warning("desk unreachable for a channel event of %s: %s",
                           mask(event["conversation_id"]), error.reason)


# --------------------------------------------------------------------------- the channel

class WebChatBlueprint(Blueprint):
    def __init__(self, sio: socketio.AsyncServer, path: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ctx.sio = sio
        self.ctx.path = path

    def register(self, app: Sanic, options: Dict[Text, Any]) -> None:
        self.ctx.sio.attach(app, self.ctx.path)
        # A photo (10 MB, 13.4 MB as base64) travels in one websocket frame; Sanic reads
        # this limit when the server starts, after the channels are registered.
        app.config.WEBSOCKET_MAX_SIZE = max(app.config.WEBSOCKET_MAX_SIZE, MAX_SOCKET_MESSAGE)
        super().register(app, options)


def _setting(credentials: Dict[str, Any], key: str, env: str, default: str = "") -> str:
    value = credentials.get(key)
    if value in (None, ""):
        value = env_str(env, default)
    return str(value or "")


class WebChatInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return "webchat"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        # credentials.yml may set any of these; the environment fills the rest (an unset
        # ${VAR} in credentials.yml would stop Rasa, so the defaults live here).
        given = credentials or {}
        return cls(
            redis_url=_setting(given, "redis_url", "CHANNEL_REDIS_URL"),
            redis_channel=_setting(given, "redis_channel", "CHANNEL_REDIS_CHANNEL", "webchat"),
            identity_secret=_setting(given, "identity_secret", "CHANNEL_IDENTITY_SECRET"),
            push_token=_setting(given, "push_token", "CHANNEL_PUSH_TOKEN"),
            desk_url=_setting(given, "desk_url", "WEBCHAT_DESK_URL",
                              env_optional("DESK_URL") or ""),
            desk_token=_setting(given, "desk_token", "DESK_API_TOKEN"),
            allowed_origins=_setting(given, "allowed_origins", "WEBCHAT_ALLOWED_ORIGINS", "*"),
            socketio_path=_setting(given, "socketio_path", "WEBCHAT_SOCKETIO_PATH",
                                   "/webhooks/webchat/socket.io"),
        )

    def __init__(self, redis_url: str = "", redis_channel: str = "webchat",
                 identity_secret: str = "", push_token: str = "", desk_url: str = "",
                 desk_token: str = "", allowed_origins: str = "*",
                 socketio_path: str = "/webhooks/webchat/socket.io") -> None:
        self.redis_url = redis_url or None
        self.redis_channel = redis_channel or "webchat"
        self.identity_secret = identity_secret
        self.push_token = push_token
        self.demo = env_bool("DEMO_MODE")
        self.token_secret = token_secret()
        self.socketio_path = socketio_path
        origins = [o.strip() for o in allowed_origins.split(",") if o.strip()]
        self.allowed_origins: Any = "*" if not origins or "*" in origins else origins
        manager = socketio.AsyncRedisManager(self.redis_url, channel=self.redis_channel) \
            if self.redis_url else None
        self.sio = socketio.AsyncServer(
            async_mode="sanic", client_manager=manager, transports=["websocket"],
            cors_allowed_origins=self.allowed_origins, max_http_buffer_size=MAX_SOCKET_MESSAGE,
            ping_interval=20, ping_timeout=20,
        )
        self.presence = Presence(self.redis_url, self.redis_channel)
        self.desk = DeskForwarder(desk_url, desk_token)
        # Conversations the bot does not answer (paused), as last seen by this instance.
        self.paused: Dict[str, bool] = {}
        self._background: Optional[asyncio.Task] = None
        self._app: Optional[Sanic] = None

    def get_output_channel(self) -> Optional[OutputChannel]:
        return WebChatOutput(self.sio)

    # ----------------------------------------------------------------- helpers

    def office_hours(self) -> Dict[str, Any]:
        try:
            from escalation.rules import load_rules

            hours = load_rules().office_hours
            return {"open": bool(hours.is_open()), "from": f"{hours.open:%H:%M}",
                    "to": f"{hours.close:%H:%M}"}
        except Exception as error:  # noqa: BLE001 - the chat works without the rules
            logger.warning("office hours unavailable: %s", error)
            return {"open": True, "from": None, "to": None}

    def verified_identity(self, token: Any) -> Optional[Dict[str, Any]]:
        if not token:
            return None
        try:
            return verify_identity(token, self.identity_secret)
        except IdentityError as error:
            logger.warning("web chat identity refused (%s); the visitor chats anonymously", error)
            return None

    @staticmethod
    def history(events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        """The current session's messages, for a page that reloads or reconnects."""
        lines: List[Dict[str, Any]] = []
        for event in events:
            kind = event.get("event")
            if kind == "session_started":
                lines = []
            elif kind == "user":
                meta = event.get("metadata") or {}
                text = event.get("text") or ""
                if meta.get("leave_message"):
                    text = "【留言】" + meta["leave_message"].get("content", "")
                elif text.startswith("/"):
                    text = meta.get("display") or ""
                lines.append({"role": "customer", "text": text, "time": event.get("timestamp"),
                              "images": [a.get("url") for a in meta.get("attachments") or []
                                         if isinstance(a, dict)][:MAX_ATTACHMENTS]})
            elif kind == "bot":
                meta = event.get("metadata") or {}
                data = event.get("data") or {}
                message = normalise({"text": event.get("text"), **data})
                message["time"] = event.get("timestamp")
                if meta.get("source") == "desk":
                    message["source"] = "desk"
                    message["agent"] = {"id": meta.get("agent_id"), "name": meta.get("agent_name")}
                    message["kind"] = meta.get("kind")
                lines.append({"role": "bot", **message})
        return lines[-HISTORY_LIMIT:]

    # ----------------------------------------------------------------- blueprint

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        sio = self.sio
        bp = WebChatBlueprint(sio, self.socketio_path, "webchat_webhook", __name__)

        @bp.listener("after_server_start")
        async def start_presence(app: Sanic, _: Any) -> None:
            self._background = asyncio.get_event_loop().create_task(
                self.presence.refresh_forever())

        @bp.listener("before_server_stop")
        async def stop_presence(app: Sanic, _: Any) -> None:
            if self._background:
                self._background.cancel()

        @bp.route("/health", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "redis": bool(self.redis_url)})

        @bp.route("/", methods=["GET"], strict_slashes=False)
        async def page(request: Request) -> HTTPResponse:
            if not request.path.endswith("/"):  # the page's relative asset paths need it
                return response.redirect(request.path + "/")
            return await _static("index.html")

        @bp.route("/widget.js", methods=["GET"])
        async def widget(_: Request) -> HTTPResponse:
            return await _static("widget.js")

        @bp.route("/assets/<name:str>", methods=["GET"])
        async def assets(_: Request, name: str) -> HTTPResponse:
            return await _static(f"assets/{name}")

        @bp.route("/push", methods=["POST"])
        async def push(request: Request) -> HTTPResponse:
            return await self.handle_push(request)

        @sio.on("connect")
        async def connect(sid: str, environ: Dict[str, Any], auth: Any = None) -> bool:
            await sio.save_session(sid, {})
            return True

        @sio.on("disconnect")
        async def disconnect(sid: str, *args: Any) -> None:
            session = await sio.get_session(sid)
            if session.get("conversation_id"):
                await self.presence.leave(session["conversation_id"], sid)

        @sio.on("session_request")
        async def session_request(sid: str, data: Any = None) -> None:
            data = data if isinstance(data, dict) else {}
            identity = self.verified_identity(data.get("identity"))
            subject = identity["customer_id"] if identity else None
            previous = read_conversation_token(data.get("conversation_token"), self.token_secret)
            # A conversation belongs to whoever it was issued to: another customer (or an
            # anonymous visitor who has since logged in) on the same browser starts anew.
            if previous and previous.get("sub") == subject:
                conversation_id = previous["cid"]
            else:
                conversation_id = f"wc-{uuid.uuid4().hex}"
            product = identity.get("product_id") if identity else None
            if not product:
                given = data.get("product_id")
                product = given if isinstance(given, str) and PRODUCT_ID.fullmatch(given) else None
            session = await sio.get_session(sid)
            old = session.get("conversation_id")
            if old and old != conversation_id:
                await sio.leave_room(sid, old)
                await self.presence.leave(old, sid)
            await sio.save_session(sid, {"conversation_id": conversation_id,
                                         "customer_id": subject, "product_id": product})
            await sio.enter_room(sid, conversation_id)
            await self.presence.join(conversation_id, sid)
            history: List[Dict[str, Any]] = []
            if previous and previous["cid"] == conversation_id:
                history = await self._history(self._app, conversation_id)
            await sio.emit("session_confirm", {
                "conversation_id": conversation_id,
                "conversation_token": issue_conversation_token(conversation_id, subject,
                                                               self.token_secret),
                "verified": bool(identity),
                "history": history,
                "office_hours": self.office_hours(),
                "limits": {"text": MAX_TEXT, "image_bytes": MAX_IMAGE_BYTES,
                           "images": MAX_ATTACHMENTS},
            }, to=sid)

        @sio.on("user_message")
        async def user_message(sid: str, data: Any = None) -> Dict[str, Any]:
            session = await sio.get_session(sid)
            conversation_id = session.get("conversation_id")
            if not conversation_id:
                return {"ok": False, "error": ERR_NO_SESSION}
            data = data if isinstance(data, dict) else {"text": data}
            raw_text = data.get("text")
            if isinstance(raw_text, str) and len(raw_text) > MAX_TEXT * 2:
                return {"ok": False, "error": ERR_TOO_LONG}
            text = clean_text(raw_text)
            if len(text) > MAX_TEXT:
                return {"ok": False, "error": ERR_TOO_LONG}
            attachments, error = check_attachments(data.get("attachments"))
            if error:
                return {"ok": False, "error": error}
            leave, error = check_leave_message(data.get("leave_message"))
            if error:
                return {"ok": False, "error": error}
            if leave:
                text = "/request_human"
            if not text and not attachments:
                return {"ok": False, "error": ERR_EMPTY}
            metadata: Dict[str, Any] = {}
            if session.get("customer_id"):
                metadata["identity"] = {"customer_id": session["customer_id"], "verified": True}
            if session.get("product_id"):
                metadata["product_id"] = session["product_id"]
            if attachments:
                metadata["attachments"] = attachments
            if leave:
                metadata["leave_message"] = leave
            display = clean_text(data.get("display"))[:100]
            if display and text.startswith("/"):
                metadata["display"] = display  # a button's title, for the history
            asyncio.get_event_loop().create_task(
                self._turn(on_new_message, conversation_id, text, metadata))
            return {"ok": True}

        @sio.on("typing")
        async def typing(sid: str, data: Any = None) -> None:
            session = await sio.get_session(sid)
            conversation_id = session.get("conversation_id")
            on = bool(data.get("on")) if isinstance(data, dict) else False
            if conversation_id and on and self.paused.get(conversation_id):
                self.desk.send({"conversation_id": conversation_id, "kind": "customer_typing",
                                "text": "", "time": time.time(), "attachments": []})

        @bp.listener("before_server_start")
        async def remember_app(app: Sanic, _: Any) -> None:
            self._app = app

        return bp

    async def _history(self, app: Optional[Sanic], conversation_id: str) -> List[Dict[str, Any]]:
        agent = getattr(app.ctx, "agent", None) if app else None
        if agent is None or agent.tracker_store is None:
            return []
        try:
            tracker = await agent.tracker_store.retrieve(conversation_id)
        except Exception as error:  # noqa: BLE001 - history is a courtesy, never a failure
            logger.warning("web chat history unavailable: %s", type(error).__name__)
            return []
        if tracker is None:
            return []
        return self.history([event.as_dict() for event in tracker.events])

    async def _turn(self, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                    conversation_id: str, text: str, metadata: Dict[str, Any]) -> None:
        """One customer message through Rasa, with the bot typing meanwhile; in a paused
        conversation (no bot answer) it goes on to the desk."""
        output = WebChatOutput(self.sio)
        await self.sio.emit("typing", {"who": "bot", "on": True, "agent": None},
                            room=conversation_id)
        try:
            await on_new_message(UserMessage(text, output, conversation_id,
                                             input_channel=self.name(), metadata=metadata))
        except Exception:  # noqa: BLE001 - the customer gets an answer, never a trace
            logger.exception("web chat turn failed for %s", mask(conversation_id))
            await output.send_response(conversation_id, {"text": ERR_BUSY})
        finally:
            await self.sio.emit("typing", {"who": "bot", "on": False, "agent": None},
                                room=conversation_id)
        if output.sent:
            self.paused.pop(conversation_id, None)
            return
        if await self._is_paused(conversation_id):
            self._mark_paused(conversation_id)
            self.desk.send({"conversation_id": conversation_id, "kind": "customer_message",
                            "text": metadata.get("leave_message", {}).get("content") or text,
                            "time": time.time(),
                            "attachments": metadata.get("attachments") or []})

    def _mark_paused(self, conversation_id: str) -> None:
        if len(self.paused) > MAX_REMEMBERED:  # abandoned conversations; learnt again
            self.paused.clear()
        self.paused[conversation_id] = True

    async def _is_paused(self, conversation_id: str) -> bool:
        app = self._app
        agent = getattr(app.ctx, "agent", None) if app else None
        if agent is None or agent.tracker_store is None:
            return False
        tracker = await agent.tracker_store.retrieve(conversation_id)
        return bool(tracker and tracker.is_paused())

    # ----------------------------------------------------------------- push

    def _authorised(self, request: Request) -> Optional[HTTPResponse]:
        if not self.push_token:
            if self.demo:
                return None
            return _error(503, "push_disabled", "CHANNEL_PUSH_TOKEN 未配置,推送接口已关闭")
        header = request.headers.get("authorization", "")
        given = header[7:] if header.lower().startswith("bearer ") else ""
        if not hmac.compare_digest(given.encode(), self.push_token.encode()):
            return _error(401, "unauthorized", "缺少或错误的推送令牌(Authorization: Bearer ...)")
        return None

    async def handle_push(self, request: Request) -> HTTPResponse:
        refused = self._authorised(request)
        if refused:
            return refused
        try:
            body = json.loads(request.body or b"")
        except (ValueError, UnicodeDecodeError):
            return _error(400, "bad_request", "请求体不是合法的 JSON")
        problem = validate_push(body)
        if problem:
            return _error(400, "bad_request", problem)
        conversation_id = body["conversation_id"]
        agent = getattr(request.app.ctx, "agent", None)
        if agent is None or agent.tracker_store is None:
            return _error(503, "not_ready", "Rasa 尚未加载模型")
        if not await agent.tracker_store.exists(conversation_id):
            return _error(404, "unknown_conversation", "没有这个会话")
        kind = body["kind"]
        person = body.get("agent") or {}
        who = {"id": person.get("id"), "name": person.get("name")}
        self._mark_paused(conversation_id)
        recorded = False
        if kind in ("agent_message", "agent_joined"):
            text = body.get("text") or ""
            if kind == "agent_joined":
                text = f"人工客服 {who['name']} 已接入"
            data = {"image": body["image"]} if body.get("image") else {}
            meta = {"source": "desk", "agent_id": who["id"], "agent_name": who["name"],
                    "kind": kind}
            async with agent.lock_store.lock(conversation_id):
                tracker = await agent.tracker_store.retrieve(conversation_id)
                tracker.update(BotUttered(text or None, data, metadata=meta))
                await agent.tracker_store.save(tracker)
            recorded = True
            message = normalise({"text": text, **data})
            message.update(source="desk", agent=who, kind=kind)
            await self.sio.emit("bot_message", message, room=conversation_id)
            if kind == "agent_joined":
                await self.sio.emit("agent", {"event": "joined", "agent": who},
                                    room=conversation_id)
        elif kind == "agent_left":
            await self.sio.emit("agent", {"event": "left", "agent": who}, room=conversation_id)
        elif kind == "queue":
            await self.sio.emit("queue", {"position": body["position"],
                                          "wait_minutes": body["wait_minutes"]},
                                room=conversation_id)
        else:
            await self.sio.emit("typing", {"who": "agent", "on": body.get("on", True) is not False,
                                           "agent": who}, room=conversation_id)
        delivered = await self.presence.count(conversation_id)
        return response.json({"recorded": recorded, "delivered": delivered})


def validate_push(body: Any) -> Optional[str]:
    if not isinstance(body, dict):
        return "请求体需为 JSON 对象"
    conversation_id = body.get("conversation_id")
    if not isinstance(conversation_id, str) or not 0 < len(conversation_id) <= 128:
        return "conversation_id 需为非空字符串"
    kind = body.get("kind")
    if kind not in PUSH_KINDS:
        return f"kind 需为 {' / '.join(PUSH_KINDS)} 之一"
    agent = body.get("agent")
    if kind != "queue" or agent is not None:
        if not isinstance(agent, dict) or not isinstance(agent.get("id"), str) or \
                not isinstance(agent.get("name"), str) or not agent["name"].strip() or \
                len(agent["name"]) > 32 or len(agent["id"]) > 64:
            return "agent 需为 {\"id\": 字符串, \"name\": 非空字符串(≤32字)}"
    text, image = body.get("text"), body.get("image")
    if text is not None and (not isinstance(text, str) or len(text) > MAX_PUSH_TEXT):
        return f"text 需为字符串(≤{MAX_PUSH_TEXT}字)"
    if image is not None and (not isinstance(image, str) or len(image) > 2048 or
                              not re.match(r"https?://|/", image)):
        return "image 需为图片链接(http/https)"
    if kind == "agent_message" and not (text and text.strip()) and not image:
        return "agent_message 需要 text 或 image"
    if kind == "queue":
        for field in ("position", "wait_minutes"):
            value = body.get(field)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100000:
                return f"{field} 需为非负整数"
    if "on" in body and not isinstance(body["on"], bool):
        return "on 需为布尔值"
    return None


def _error(status: int, code: str, message: str) -> HTTPResponse:
    return response.json({"error": code, "message": message}, status=status)


CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml",
                 ".png": "image/png", ".woff2": "font/woff2"}


async def _static(relative: str) -> HTTPResponse:
    path = (DIST / relative).resolve()
    if DIST.resolve() not in path.parents or not path.is_file():
        if not (DIST / "index.html").is_file():
            return _error(503, "not_built",
                          "网页聊天尚未构建:请在 webchat/ 目录运行 npm ci && npm run build")
        return _error(404, "not_found", "没有这个文件")
    headers = {"Cache-Control": "no-cache" if path.suffix == ".html" or path.name == "widget.js"
               else "public, max-age=86400"}
    return response.raw(path.read_bytes(), headers=headers,
                        content_type=CONTENT_TYPES.get(path.suffix, "application/octet-stream"))
