"""WeChat Official Account (公众号) as a Rasa input channel.

WeChat posts each user message as XML and waits 5 seconds for a passive reply (it retries
three times otherwise). The channel answers within `passive_seconds` with what the bot said
(one passive reply: the texts joined, buttons listed as 「回复…」 lines); when the bot is slower it
answers `success` at once and delivers the reply through the customer-service message API
(`message/custom/send`, allowed within 48 h of the user's last message).

Settings (environment): WECHAT_OA_APPID, WECHAT_OA_SECRET, WECHAT_OA_TOKEN, WECHAT_OA_AES_KEY
(safe mode; empty = plain mode), WECHAT_OA_API_BASE (default https://api.weixin.qq.com),
WECHAT_OA_PASSIVE_SECONDS (4.5), WECHAT_OA_CUSTOM_SENDS (20: customer-service messages
allowed per user message), WECHAT_OA_RETRY_SECONDS (2,5,15,60,300: the delays before each new
attempt at a message WeChat did not take; empty = none), CHANNEL_PUSH_TOKEN (desk replies).

A passive reply is one message of at most 2048 bytes: a longer answer's first piece is the
passive reply and the rest follows through the customer-service API. That API is allowed
within 48 h of the user's last message and for a limited number of messages after it: the
channel counts them (per user, in this process) and takes WeChat's 45015 / 45047 as "stop
until the user writes again", logged, never as a failed turn. A message WeChat did not take
for a passing reason (the API down, a 5xx, a network error) waits in the channel's Outbox and
is sent again, in order, with backoff and whenever the user writes (in memory: see Outbox).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import time
import uuid
from collections import OrderedDict, deque
from typing import (
    Any,
    AsyncIterator,
    Awaitable,
    Callable,
    Deque,
    Dict,
    List,
    Optional,
    Sequence,
    Text,
    Tuple,
)
from xml.sax.saxutils import escape

from rasa.core.channels.channel import (
    CollectingOutputChannel,
    InputChannel,
    OutputChannel,
    UserMessage,
)
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.push import read_push, record_agent_message
from channels.wecom import (
    MAX_CALLBACK_BYTES,
    MAX_IMAGE_BYTES,
    TOKEN_ERRORS,
    WeComApiError,
    _xml_fields,
    api_error,
    credential,
    split_text,
)
from channels.wecom_crypto import WeComCrypto, WeComCryptoError
from service_common.http import HttpClient, HttpError

logger = logging.getLogger(__name__)

MAX_SKEW_SECONDS = 300
SEND_WINDOW_SECONDS = 48 * 3600
SEND_LIMIT_ERRORS = {45015, 45047}  # past the 48 h window / past the quota
SENT, REFUSED, FAILED = "sent", "refused", "failed"
RETRY_SECONDS = "2,5,15,60,300"
MAX_WAITING_PER_USER = 50


def parse_delays(setting: str) -> Tuple[float, ...]:
    """WECHAT_OA_RETRY_SECONDS: comma-separated seconds, e.g. `2,5,15,60,300`."""
    delays = tuple(float(part) for part in setting.split(",") if part.strip())
    if any(delay < 0 for delay in delays):
        raise ValueError(f"WECHAT_OA_RETRY_SECONDS: {setting!r}: delays must not be negative")
    return delays


DEFAULT_DELAYS = parse_delays(RETRY_SECONDS)


class SendQuota:
    """When each user last wrote and how many customer-service messages went out since."""

    def __init__(self, per_message: int, clock: Callable[[], float] = time.time) -> None:
        self.per_message = per_message
        self.clock = clock
        self._users: OrderedDict[str, List[float]] = OrderedDict()  # openid -> [at, sent]

    def user_wrote(self, openid: str) -> None:
        self._users[openid] = [self.clock(), 0]
        self._users.move_to_end(openid)
        while len(self._users) > 100_000:
            self._users.popitem(last=False)

    def may_send(self, openid: str) -> bool:
        entry = self._users.get(openid)
        return entry is not None and self.clock() - entry[0] <= SEND_WINDOW_SECONDS \
            and entry[1] < self.per_message

    def count(self, openid: str) -> None:
        if openid in self._users:
            self._users[openid][1] += 1

    def block(self, openid: str) -> None:
        if openid in self._users:
            self._users[openid][1] = self.per_message


def plain_signature(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


class OfficialAccountApi:
    """access_token (cached) and the customer-service message and media APIs, through
    service_common.http (reads retried, sends not; errors as in channels.wecom)."""

    def __init__(self, base_url: str, appid: str, secret: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.appid = appid
        self.secret = secret
        self.http = HttpClient(self.base_url, name="wechat_oa", timeout=5, errors=api_error)
        self._token: Optional[str] = None
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def access_token(self, refresh: bool = False) -> str:
        async with self._lock:
            if refresh or not self._token or time.time() >= self._expires:
                answer = await self.http.request_json("GET", "/cgi-bin/token", params={
                    "grant_type": "client_credential", "appid": self.appid,
                    "secret": self.secret})
                data = answer.data if isinstance(answer.data, dict) else {}
                if data.get("errcode") or "access_token" not in data:
                    raise WeComApiError(int(data.get("errcode") or -1), str(data.get("errmsg")))
                self._token = str(data["access_token"])
                self._expires = time.time() + max(int(data.get("expires_in", 7200)) - 300, 30)
            return self._token

    async def send(self, openid: str, message: Dict[str, Any]) -> None:
        for attempt in (0, 1):
            token = await self.access_token(refresh=attempt > 0)
            answer = await self.http.request_json("POST", "/cgi-bin/message/custom/send",
                                                  params={"access_token": token},
                                                  json={"touser": openid, **message})
            data = answer.data if isinstance(answer.data, dict) else {}
            errcode = int(data.get("errcode") or 0)
            if errcode in TOKEN_ERRORS and attempt == 0:
                continue
            if errcode:
                raise WeComApiError(errcode, str(data.get("errmsg")))
            return

    async def media(self, media_id: str) -> Optional[tuple[bytes, str]]:
        token = await self.access_token()
        answer = await self.http.request("GET", "/cgi-bin/media/get",
                                         params={"access_token": token, "media_id": media_id},
                                         max_bytes=MAX_IMAGE_BYTES)
        if answer.content_type.startswith("image/"):
            return answer.body, answer.content_type
        return None

    async def close(self) -> None:
        await self.http.close()


class Outbox:
    """Customer-service messages WeChat did not take for a passing reason (FAILED: the API
    down, a 5xx, a network error), kept per user in order and sent again after each of
    `delays` (WECHAT_OA_RETRY_SECONDS) and whenever the user writes. While messages wait for a
    user, later ones wait behind them. A message WeChat refuses (REFUSED: the quota, the 48 h
    window, a malformed message) is logged and dropped, never repeated; after the last delay
    what still waits is dropped and logged (the openid's prefix and a count, never the text).

    In memory, in this process: a restart loses what waits. The WeCom channel's SQL outbox
    (channels/wecom_store.py) is not reused: its rows belong to an open_kfid and come with the
    WeCom cursors and msgids, and what would make a kept message sendable after a restart —
    the user's 48 h window and quota (SendQuota) — is in memory too, so the channel would
    refuse it anyway."""

    def __init__(self, deliver: Callable[[str, Dict[str, Any]], Awaitable[str]],
                 delays: Sequence[float], spawn: Callable[[Awaitable[Any]], Any]) -> None:
        self.deliver = deliver
        self.delays = tuple(delays)
        self.spawn = spawn
        self._waiting: Dict[str, Deque[Dict[str, Any]]] = {}
        self._failures: Dict[str, int] = {}  # openid -> attempts failed in a row
        self._scheduled: set = set()  # openids with a new attempt scheduled
        self._locks: Dict[str, Tuple[asyncio.Lock, int]] = {}  # openid -> (lock, users)

    def waiting(self, openid: str) -> int:
        return len(self._waiting.get(openid, ()))

    @contextlib.asynccontextmanager
    async def _one_at_a_time(self, openid: str) -> AsyncIterator[None]:
        """One send or flush per user at a time: the order of the messages is kept."""
        lock, users = self._locks.get(openid, (asyncio.Lock(), 0))
        self._locks[openid] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[openid]
            if users <= 1:
                del self._locks[openid]
            else:
                self._locks[openid] = (lock, users - 1)

    async def send(self, openid: str, message: Dict[str, Any]) -> str:
        """SENT, REFUSED, or FAILED: WeChat did not take it (yet), it waits to be sent again."""
        async with self._one_at_a_time(openid):
            if self.waiting(openid):  # behind the messages that wait: the order is kept
                self._keep(openid, message)
                return FAILED
            status = await self.deliver(openid, message)
            if status == FAILED:
                self._keep(openid, message)
                self._schedule(openid)
            return status

    async def flush(self, openid: str) -> bool:
        """Sends what waits for the user, oldest first; False when WeChat still does not
        take it (the rest keeps waiting, in order)."""
        async with self._one_at_a_time(openid):
            return await self._flush(openid)

    async def send_now(self, openid: str, messages: List[Dict[str, Any]]) -> Tuple[int, bool]:
        """Messages that must not wait (a desk reply: the desk hears about a failure): after
        what waits, each sent once. (messages sent, whether WeChat took or refused them all)"""
        async with self._one_at_a_time(openid):
            if not await self._flush(openid):
                return 0, False
            sent = 0
            for message in messages:
                status = await self.deliver(openid, message)
                if status == FAILED:
                    return sent, False
                sent += status == SENT
            return sent, True

    async def _flush(self, openid: str) -> bool:
        queue = self._waiting.get(openid)
        while queue:
            status = await self.deliver(openid, queue[0])
            if status == FAILED:
                return False
            queue.popleft()
            if status == REFUSED:
                logger.warning("wechat_oa: a message kept for %s dropped: WeChat refused it",
                               openid[:6])
        self._waiting.pop(openid, None)
        self._failures.pop(openid, None)
        return True

    def _keep(self, openid: str, message: Dict[str, Any]) -> None:
        queue = self._waiting.setdefault(openid, deque())
        if len(queue) >= MAX_WAITING_PER_USER:
            logger.error("wechat_oa: a message to %s dropped: %d already wait", openid[:6],
                         len(queue))
            return
        queue.append(message)

    def _schedule(self, openid: str) -> None:
        if openid in self._scheduled:
            return  # one new attempt scheduled is enough
        failures = self._failures.get(openid, 0)
        if failures >= len(self.delays):
            dropped = len(self._waiting.pop(openid, ()))
            self._failures.pop(openid, None)
            logger.error("wechat_oa: %d message(s) to %s dropped: WeChat did not take them in "
                         "%d attempts", dropped, openid[:6], failures + 1)
            return
        self._failures[openid] = failures + 1
        delay = self.delays[failures]
        logger.warning("wechat_oa: %d message(s) to %s wait: sending again in %.1f s",
                       self.waiting(openid), openid[:6], delay)
        self._scheduled.add(openid)
        self.spawn(self._later(openid, delay))

    async def _later(self, openid: str, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
        finally:
            self._scheduled.discard(openid)
        async with self._one_at_a_time(openid):
            try:
                flushed = await self._flush(openid)
            except Exception:  # noqa: BLE001 - a background task: log it, try again later
                logger.exception("wechat_oa: sending the messages kept for %s failed",
                                 openid[:6])
                flushed = False
            if not flushed:
                self._schedule(openid)


class OfficialAccountOutput(OutputChannel):
    """Delivers through the customer-service message API (after the passive window); with an
    outbox, a message WeChat did not take is kept and sent again (see Outbox)."""

    @classmethod
    def name(cls) -> Text:
        return "wechat_oa"

    def __init__(self, api: OfficialAccountApi, quota: Optional[SendQuota] = None,
                 outbox: Optional[Outbox] = None) -> None:
        self.api = api
        self.quota = quota
        self.outbox = outbox

    async def _send(self, openid: str, message: Dict[str, Any]) -> bool:
        if self.outbox is not None:
            return await self.outbox.send(openid, message) == SENT
        return await self.deliver(openid, message) == SENT

    async def deliver(self, openid: str, message: Dict[str, Any]) -> str:
        """SENT, REFUSED (limits or a bad message: not worth repeating) or FAILED (WeChat did
        not answer or answered with a passing error: worth repeating)."""
        if self.quota is not None and not self.quota.may_send(openid):
            logger.warning("wechat_oa: not sent to %s: 48 h since the user's last message or "
                           "the customer-service quota used", openid[:6])
            return REFUSED
        try:
            await self.api.send(openid, message)
        except WeComApiError as error:
            if error.errcode in SEND_LIMIT_ERRORS:
                logger.warning("wechat_oa: WeChat refused a message to %s (%s): not sending "
                               "until the user writes again", openid[:6], error.errcode)
                if self.quota is not None:
                    self.quota.block(openid)
                return REFUSED
            logger.error("wechat_oa: custom/send failed: %s", error)
            return FAILED if error.errcode < 0 else REFUSED
        except HttpError as error:
            logger.error("wechat_oa: custom/send failed: %s", error.reason)
            return FAILED
        if self.quota is not None:
            self.quota.count(openid)
        return SENT

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        for piece in split_text(text):
            await self._send(recipient_id, {"msgtype": "text", "text": {"content": piece}})

    async def send_text_with_buttons(self, recipient_id: Text, text: Text,
                                     buttons: List[Dict[str, Any]], **kwargs: Any) -> None:
        await self.send_text_message(recipient_id, render_texts([{"text": text,
                                                                   "buttons": buttons}]))

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        await self.send_text_message(recipient_id, image)


def render_texts(messages: List[Dict[str, Any]]) -> str:
    """The bot's messages as one text: WeChat shows no buttons, so they become reply hints."""
    lines: List[str] = []
    for message in messages:
        if message.get("text"):
            lines.append(str(message["text"]))
        for button in message.get("buttons") or message.get("quick_replies") or []:
            lines.append(f"回复「{button.get('title')}」")
        if message.get("image"):
            lines.append(str(message["image"]))
    return "\n".join(lines)


class OfficialAccountInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return "wechat_oa"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        credentials = credentials or {}

        def setting(key: str, env: str, default: str = "") -> str:
            return credential(credentials, key, env, default)

        return cls(appid=setting("appid", "WECHAT_OA_APPID"),
                   secret=setting("secret", "WECHAT_OA_SECRET"),
                   token=setting("token", "WECHAT_OA_TOKEN"),
                   aes_key=setting("aes_key", "WECHAT_OA_AES_KEY"),
                   api_base=setting("api_base", "WECHAT_OA_API_BASE"),
                   passive_seconds=float(setting("passive_seconds", "WECHAT_OA_PASSIVE_SECONDS")),
                   push_token=setting("push_token", "CHANNEL_PUSH_TOKEN"),
                   custom_sends=int(setting("custom_sends", "WECHAT_OA_CUSTOM_SENDS")),
                   retry_seconds=parse_delays(setting("retry_seconds",
                                                      "WECHAT_OA_RETRY_SECONDS")))

    def __init__(self, appid: str, secret: str, token: str, aes_key: str, api_base: str,
                 passive_seconds: float = 4.5, push_token: str = "",
                 custom_sends: int = 20,
                 retry_seconds: Sequence[float] = DEFAULT_DELAYS) -> None:
        self.configured = bool(appid and secret and token)
        self.appid = appid
        self.token = token
        self.crypto = WeComCrypto(token, aes_key, appid) if (self.configured and aes_key) else None
        self.api = OfficialAccountApi(api_base, appid, secret)
        self.passive_seconds = passive_seconds
        self.push_token = push_token
        self.quota = SendQuota(custom_sends)
        self._handled: OrderedDict[str, float] = OrderedDict()  # MsgIds: WeChat retries 3 times
        self._tasks: set = set()
        self.outbox = Outbox(OfficialAccountOutput(self.api, self.quota).deliver, retry_seconds,
                             self._spawn)

    def _output(self) -> OfficialAccountOutput:
        return OfficialAccountOutput(self.api, self.quota, self.outbox)

    def url_prefix(self) -> Text:
        return "wechat_oa"

    def _check_plain(self, request: Request) -> bool:
        args = request.args
        timestamp = args.get("timestamp", "")
        try:
            fresh = abs(time.time() - int(timestamp)) <= MAX_SKEW_SECONDS
        except ValueError:
            return False
        expected = plain_signature(self.token, timestamp, args.get("nonce", ""))
        return fresh and hmac.compare_digest(expected, args.get("signature", ""))

    def _first_time(self, key: str) -> bool:
        now = time.time()
        while self._handled and next(iter(self._handled.values())) < now - 60:
            self._handled.popitem(last=False)
        if key in self._handled:
            return False
        self._handled[key] = now
        return True

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("wechat_oa_webhook", __name__)

        @bp.route("/", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            if not self.configured:
                return response.json({"error": "wechat_oa channel not configured"}, status=503)
            if not self._check_plain(request):
                return response.text("forbidden", status=403)
            return response.text(request.args.get("echostr", ""))

        @bp.route("/", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.configured:
                return response.json({"error": "wechat_oa channel not configured"}, status=503)
            body = request.body or b""
            if len(body) > MAX_CALLBACK_BYTES:
                return response.text("too large", status=413)
            if not self._check_plain(request):
                return response.text("forbidden", status=403)
            try:
                fields = _xml_fields(body)
                if self.crypto is not None:  # safe mode: the body carries <Encrypt>
                    plain = self.crypto.decrypt_callback(
                        request.args.get("msg_signature", ""), request.args.get("timestamp", ""),
                        request.args.get("nonce", ""), fields.get("Encrypt", ""))
                    fields = _xml_fields(plain)
            except WeComCryptoError as error:
                logger.warning("wechat_oa: message refused: %s", error.reason)
                return response.text("forbidden", status=403)
            except (ValueError, SyntaxError):
                return response.text("bad request", status=400)
            openid = fields.get("FromUserName", "")
            key = fields.get("MsgId") or f"{openid}:{fields.get('CreateTime')}"
            if not openid or not self._first_time(key):
                return response.text("success")  # a retry of a message being handled
            message = await self._user_message(fields)
            if message is None:
                return response.text("success")
            self.quota.user_wrote(openid)
            # The user wrote: WeChat may take what waits for them now, before the new reply.
            waits = {self._spawn(self.outbox.flush(openid))} if self.outbox.waiting(openid) \
                else set()
            text, metadata = message
            collector = CollectingOutputChannel()
            work = asyncio.ensure_future(on_new_message(UserMessage(
                text, collector, openid, input_channel="wechat_oa", metadata=metadata)))
            done, _ = await asyncio.wait({work} | waits, timeout=self.passive_seconds)
            if work in done:
                if self.outbox.waiting(openid):  # earlier replies still wait: this one too
                    self._spawn(self._output().send_text_message(
                        openid, render_texts(collector.messages)))
                    return response.text("success")
                pieces = split_text(render_texts(collector.messages))
                if len(pieces) > 1:  # one passive message: the rest through the API
                    self._spawn(self._output().send_text_message(openid,
                                                                 "\n".join(pieces[1:])))
                return self._passive(fields, pieces[0]) if pieces else response.text("success")
            # Too slow for a passive reply: answer WeChat now and send the reply later.
            self._spawn(self._deliver_later(work, collector, openid))
            return response.text("success")

        @bp.route("/push", methods=["POST"])
        async def push(request: Request) -> HTTPResponse:
            body, error = read_push(request, self.push_token)
            if error is not None:
                return error
            assert body is not None
            if body["kind"] not in ("agent_message", "agent_joined"):
                return response.json({"recorded": False, "delivered": 0})
            recorded = await record_agent_message(request.app, body["conversation_id"],
                                                  body["text"], body["agent"])
            # Behind what waits for the user, but not kept: the desk hears of a failure.
            delivered, taken = await self.outbox.send_now(body["conversation_id"], [
                {"msgtype": "text", "text": {"content": piece}}
                for piece in split_text(body["text"])])
            if not taken:  # recorded, but WeChat did not take it
                return response.json({"recorded": recorded, "delivered": delivered,
                                      "error": "WeChat did not take the message"}, status=502)
            return response.json({"recorded": recorded, "delivered": delivered})

        return bp

    def _spawn(self, work: Awaitable[Any]) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _user_message(self, fields: Dict[str, str]) -> Optional[tuple[str, Dict[str, Any]]]:
        kind = fields.get("MsgType")
        metadata: Dict[str, Any] = {}
        if kind == "text":
            return fields.get("Content", ""), metadata
        if kind == "image":
            try:
                media = await self.api.media(fields.get("MediaId", ""))
            except (WeComApiError, HttpError):
                media = None
            if media is None:
                return "[图片未能接收]", metadata
            encoded = base64.b64encode(media[0]).decode()
            metadata["attachments"] = [{"type": "image",
                                        "url": f"data:{media[1]};base64,{encoded}"}]
            return "[图片]", metadata
        if kind == "event" and fields.get("Event") == "subscribe":
            return "/greet", metadata
        return None

    def _passive(self, fields: Dict[str, str], reply: str) -> HTTPResponse:
        inner = (f"<xml><ToUserName><![CDATA[{fields.get('FromUserName', '')}]]></ToUserName>"
                 f"<FromUserName><![CDATA[{fields.get('ToUserName', '')}]]></FromUserName>"
                 f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
                 f"<Content><![CDATA[{reply.replace(']]>', ']] >')}]]></Content></xml>")
        if self.crypto is None:
            return response.text(inner, content_type="application/xml")
        timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
        encrypted, signature = self.crypto.encrypt_reply(inner.encode(), timestamp, nonce)
        return response.text(
            f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt><MsgSignature><![CDATA[{signature}]]>"
            f"</MsgSignature><TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{escape(nonce)}]]>"
            "</Nonce></xml>", content_type="application/xml")

    async def _deliver_later(self, work: asyncio.Future[Any],
                             collector: CollectingOutputChannel, openid: str) -> None:
        try:
            await work
        except Exception:  # noqa: BLE001 - Rasa already logged it; the customer gets no trace
            logger.exception("wechat_oa: the bot failed on a message")
            return
        reply = render_texts(collector.messages)
        if reply:  # what WeChat does not take waits in the outbox and is sent again
            await self._output().send_text_message(openid, reply)
