"""WeCom customer service (微信客服) as a Rasa input channel.

Notify-then-pull: WeCom posts an encrypted `kf_msg_or_event` callback carrying a token; the
channel answers it at once and pulls the messages with `kf/sync_msg` (cursor kept per
open_kfid, `has_more` loop, duplicates dropped by msgid), then feeds each customer message to
Rasa in order. A msgid is done only after its turn; replies WeCom does not take wait in an
outbox; after any failure the channel pulls again by itself, with backoff. Replies go out with
`kf/send_msg` within WeCom's limits (at most 5 messages per customer message, within 48 h of it;
the documented sizes of text, menu and link messages). See docs/wecom.md for the set-up.

Settings (credentials.yml, from the environment): WECOM_CORP_ID, WECOM_SECRET (the 微信客服
secret), WECOM_TOKEN, WECOM_AES_KEY, WECOM_API_BASE (default https://qyapi.weixin.qq.com),
WECOM_DB_URL, WECOM_HANDOFF (desk | wecom, or per account: desk,wkAAA=wecom), WECOM_SERVICER
(the WeCom agent's userid for `wecom` handoff), WECOM_RETRY_SECONDS (first re-pull delay, 2),
CHANNEL_PUSH_TOKEN (desk replies).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import struct
import time
import xml.etree.ElementTree as ElementTree
import zlib
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.push import read_push, record_agent_message
from channels.wecom_crypto import WeComCrypto, WeComCryptoError
from channels.wecom_store import WeComStore
from service_common.http import HttpClient, HttpError
from service_common.settings import env_str

logger = logging.getLogger(__name__)

MAX_TEXT_BYTES = 2048
MAX_CALLBACK_BYTES = 64 * 1024
MAX_IMAGE_BYTES = 10 * 1024 * 1024
TOKEN_ERRORS = {40001, 40014, 42001}  # invalid / expired access_token: refresh once and retry
SEND_LIMIT_ERRORS = {95001}  # outside the 48 h window or past 5 messages
PASSING_ERRORS = {-1, 45009}  # system busy, API frequency: sending again later may work
SENT, REFUSED, FAILED = "sent", "refused", "failed"
INVALID_SYNC_TOKEN = 95007
MAX_CURSOR_BYTES = 64
MAX_MENU_ITEMS = 10
MAX_MENU_HEAD_BYTES = 1024
MAX_MENU_ID_BYTES = 64
MAX_MENU_CONTENT_BYTES = 128
MAX_LINK_TITLE_BYTES = 128
MAX_LINK_DESC_BYTES = 512
MEDIA_KEEP_SECONDS = 2.5 * 24 * 3600  # WeCom keeps uploaded media 3 days
RETRY_MAX_SECONDS = 300.0
ORIGIN_CUSTOMER = 3  # 4: system, 5: sent by a WeCom agent — not customer input
SESSION_ENDED = 3  # session_status_change: a WeCom agent ended the session
SENTENCE_ENDS = "。！？!?\n"


class WeComApiError(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeCom API error {errcode}: {errmsg}")
        self.errcode = errcode


def api_error(error: HttpError) -> Exception:
    """service_common.http's error as the channel's: a 5xx (after the retries a read gets)
    is WeCom's own error; an unreachable or slow WeCom stays an HttpError."""
    if error.reason == "server_error":
        return WeComApiError(-(error.status or 500), "WeCom server error")
    if error.reason == "bad_response":
        return WeComApiError(-1, "WeCom answered no JSON")
    return error


class WeComApi:
    """The few WeCom server APIs the channel uses, with the access_token cached until expiry.
    Through service_common.http: reads (GET) are retried, sends (POST) are not (WeCom has no
    idempotency key); an expired token is refreshed once (WeCom's errcode, not HTTP)."""

    def __init__(self, base_url: str, corp_id: str, secret: str, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.corp_id = corp_id
        self.secret = secret
        self.http = HttpClient(self.base_url, name="wecom", timeout=timeout, errors=api_error)
        self._token: Optional[str] = None
        self._expires = 0.0
        self._lock = asyncio.Lock()
        self._thumb: Optional[tuple[str, float]] = None
        self._thumb_lock = asyncio.Lock()
        self.web = HttpClient(name="wecom-image", timeout=timeout)

    async def access_token(self, refresh: bool = False) -> str:
        async with self._lock:
            if refresh or not self._token or time.time() >= self._expires:
                answer = await self.http.request_json(
                    "GET", "/cgi-bin/gettoken",
                    params={"corpid": self.corp_id, "corpsecret": self.secret})
                data = answer.data if isinstance(answer.data, dict) else {}
                if data.get("errcode") or "access_token" not in data:
                    raise WeComApiError(int(data.get("errcode") or -1), str(data.get("errmsg")))
                self._token = str(data["access_token"])
                # Refresh five minutes early: a token that expires mid-call costs a retry.
                self._expires = time.time() + max(int(data.get("expires_in", 7200)) - 300, 30)
            return self._token

    async def call(self, path: str, body: Optional[Dict[str, Any]] = None,
                   params: Optional[Dict[str, str]] = None, raw: bool = False,
                   max_bytes: Optional[int] = None) -> Any:
        for attempt in (0, 1):
            query = {**(params or {}), "access_token": await self.access_token(refresh=attempt > 0)}
            method = "POST" if body is not None else "GET"
            answer = await self.http.request(method, f"/cgi-bin/{path}", params=query,
                                             json=body, max_bytes=max_bytes)
            if raw and not answer.content_type.startswith("application/json"):
                return answer.body, answer.content_type
            data = answer.json()
            data = data if isinstance(data, dict) else {}
            errcode = int(data.get("errcode") or 0)
            if errcode in TOKEN_ERRORS and attempt == 0:
                continue
            if errcode:
                raise WeComApiError(errcode, str(data.get("errmsg")))
            return data
        raise WeComApiError(42001, "access_token expired twice")

    async def upload_image(self, data: bytes, filename: str, content_type: str) -> str:
        for attempt in (0, 1):
            form = aiohttp.FormData()  # a FormData is consumed by one request
            form.add_field("media", data, filename=filename, content_type=content_type)
            query = {"access_token": await self.access_token(refresh=attempt > 0), "type": "image"}
            answer = await self.http.request_json("POST", "/cgi-bin/media/upload",
                                                  params=query, data=form)
            result = answer.data if isinstance(answer.data, dict) else {}
            errcode = int(result.get("errcode") or 0)
            if errcode in TOKEN_ERRORS and attempt == 0:
                continue
            if errcode:
                raise WeComApiError(errcode, str(result.get("errmsg")))
            return str(result["media_id"])
        raise WeComApiError(42001, "access_token expired twice")

    async def thumb_media_id(self) -> str:
        """The link cards' thumbnail, uploaded once and reused while WeCom keeps it."""
        async with self._thumb_lock:
            if self._thumb is None or time.time() >= self._thumb[1]:
                media_id = await self.upload_image(default_thumbnail(), "thumb.png", "image/png")
                self._thumb = (media_id, time.time() + MEDIA_KEEP_SECONDS)
            return self._thumb[0]

    async def download_image(self, url: str) -> Optional[tuple[bytes, str]]:
        """A picture on the web (the bot's own, e.g. a product photo), bounded in size;
        None when the answer is not an image."""
        answer = await self.web.request("GET", url, max_bytes=MAX_IMAGE_BYTES)
        if answer.status != 200 or not answer.content_type.startswith("image/"):
            logger.warning("wecom: %s is no image (%s %s)", url[:80], answer.status,
                           answer.content_type)
            return None
        return answer.body, answer.content_type

    async def close(self) -> None:
        await self.http.close()
        await self.web.close()


def split_text(text: str, limit: int = MAX_TEXT_BYTES) -> List[str]:
    """Pieces of at most `limit` UTF-8 bytes, cut after a sentence where possible."""
    pieces: List[str] = []
    while len(text.encode()) > limit:
        cut = 0
        for index, char in enumerate(text):
            if len(text[:index + 1].encode()) > limit:
                break
            if char in SENTENCE_ENDS:
                cut = index + 1
        if cut == 0:  # no sentence end: cut at the last character that fits
            cut = len(text.encode()[:limit].decode(errors="ignore"))
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text.strip():
        pieces.append(text)
    return pieces


class WeComOutput(OutputChannel):
    """Sends to one WeCom customer through kf/send_msg, within the platform's limits.

    A message WeCom does not take for a passing reason (a 5xx, system busy, unreachable) is
    kept in the store's outbox and sent again, in order, when the channel pulls next (the
    channel schedules that pull while the outbox is not empty). A refusal for
    the 48 h / 5-message rule (95001) or a malformed message is logged and dropped: sending
    it again cannot succeed."""

    @classmethod
    def name(cls) -> Text:
        return "wecom"

    def __init__(self, api: WeComApi, store: WeComStore, open_kfid: str) -> None:
        self.api = api
        self.store = store
        self.open_kfid = open_kfid

    async def _send(self, recipient_id: Text, message: Dict[str, Any]) -> bool:
        if self.store.transferred(recipient_id, self.open_kfid):
            logger.info("wecom: not sent to %s: a WeCom agent has the session", recipient_id[:6])
            return False
        if self.store.has_queued(recipient_id, self.open_kfid):  # keep the order
            self.store.queue(recipient_id, self.open_kfid, message)
            return False
        status = await self.deliver(recipient_id, message)
        if status == FAILED:
            self.store.queue(recipient_id, self.open_kfid, message)
        return status == SENT

    async def deliver(self, recipient_id: Text, message: Dict[str, Any]) -> str:
        """SENT, REFUSED (limits or a bad message: not worth repeating) or FAILED (WeCom
        did not answer or answered with a passing error: worth repeating)."""
        if not self.store.may_send(recipient_id, self.open_kfid):
            logger.warning("wecom: not sent to %s: 5 messages or 48 h since the customer's last "
                           "message", recipient_id[:6])
            return REFUSED
        try:
            await self.api.call("kf/send_msg", {"touser": recipient_id,
                                                "open_kfid": self.open_kfid, **message})
        except WeComApiError as error:
            if error.errcode in SEND_LIMIT_ERRORS:
                logger.warning("wecom: WeCom refused a message to %s (%s): not sending until "
                               "the customer writes again", recipient_id[:6], error.errcode)
                self.store.block_until_customer_writes(recipient_id, self.open_kfid)
                return REFUSED
            if error.errcode < 0 or error.errcode in PASSING_ERRORS:
                logger.error("wecom: send_msg to %s failed: %s", recipient_id[:6], error)
                return FAILED
            logger.error("wecom: send_msg to %s refused: %s (%s)", recipient_id[:6], error,
                         message.get("msgtype"))
            return REFUSED
        except HttpError as error:
            logger.error("wecom: send_msg to %s failed: %s", recipient_id[:6], error.reason)
            return FAILED
        self.store.count_send(recipient_id, self.open_kfid)
        return SENT

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        for piece in split_text(text):
            await self._send(recipient_id, {"msgtype": "text", "text": {"content": piece}})

    async def send_text_with_buttons(self, recipient_id: Text, text: Text,
                                     buttons: List[Dict[str, Any]], **kwargs: Any) -> None:
        # Buttons become a menu message: a click comes back as the item's id (the payload,
        # or a short id for a payload over 64 bytes, looked up when the click arrives).
        items = []
        for button in buttons[:MAX_MENU_ITEMS]:
            payload = str(button.get("payload") or button.get("title") or "")
            if len(payload.encode()) > MAX_MENU_ID_BYTES:
                payload = self.store.short_id(payload)
            items.append({"type": "click", "click": {
                "id": payload,
                "content": clip_bytes(str(button.get("title") or ""), MAX_MENU_CONTENT_BYTES)}})
        pieces = split_text(text)
        last = split_text(pieces.pop(), MAX_MENU_HEAD_BYTES) if pieces else [""]
        pieces += last[:-1]
        for piece in pieces:
            await self._send(recipient_id, {"msgtype": "text", "text": {"content": piece}})
        await self._send(recipient_id, {"msgtype": "msgmenu", "msgmenu": {
            "head_content": last[-1], "list": items}})

    async def send_quick_replies(self, recipient_id: Text, text: Text,
                                 quick_replies: List[Dict[str, Any]], **kwargs: Any) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies, **kwargs)

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        """An image message (the picture uploaded with media/upload); a picture that cannot
        be fetched or uploaded goes out as a link card to it."""
        data = _data_url_bytes(image)
        try:
            if data is None and image.startswith(("https://", "http://")):
                data = await self.api.download_image(image)
            if data is not None:
                media_id = await self.api.upload_image(data[0], "image", data[1])
                await self._send(recipient_id, {"msgtype": "image",
                                                "image": {"media_id": media_id}})
                return
        except (WeComApiError, HttpError) as error:
            logger.warning("wecom: image not uploaded (%s): sending a link", error)
        if image.startswith(("https://", "http://")):
            await self._send_link(recipient_id, "图片", "", image)

    async def _send_link(self, recipient_id: str, title: str, desc: str, url: str) -> None:
        try:
            thumb = await self.api.thumb_media_id()
        except (WeComApiError, HttpError) as error:  # no card without a thumbnail: the text
            logger.warning("wecom: no thumbnail for a link (%s): sending text", error)
            await self.send_text_message(recipient_id, "\n".join(
                part for part in (title, desc, url) if part))
            return
        link = {"title": clip_bytes(title or url, MAX_LINK_TITLE_BYTES), "url": url,
                "thumb_media_id": thumb}
        if desc:
            link["desc"] = clip_bytes(desc, MAX_LINK_DESC_BYTES)
        await self._send(recipient_id, {"msgtype": "link", "link": link})

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any],
                               **kwargs: Any) -> None:
        card = json_message.get("card") if isinstance(json_message, dict) else None
        if isinstance(card, dict) and str(card.get("url") or "").startswith(("https://",
                                                                              "http://")):
            await self._send_link(recipient_id, str(card.get("title") or ""),
                                  str(card.get("subtitle") or card.get("text") or ""),
                                  str(card["url"]))
        elif isinstance(card, dict) and (card.get("title") or card.get("text")):
            text = "\n".join(str(card[key]) for key in ("title", "subtitle", "text")
                             if card.get(key))
            await self.send_text_message(recipient_id, text)


def clip_bytes(text: str, limit: int) -> str:
    """At most `limit` UTF-8 bytes, never half a character."""
    return text.encode()[:limit].decode(errors="ignore")


def default_thumbnail() -> bytes:
    """A 64×64 PNG in the shop's orange: the picture of a link card (WeCom requires one)."""
    row = b"\x00" + bytes((0xFF, 0x6A, 0x00)) * 64
    raw = zlib.compress(row * 64)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


def _data_url_bytes(url: str) -> Optional[tuple[bytes, str]]:
    if not url.startswith("data:image/") or ";base64," not in url:
        return None
    head, payload = url.split(",", 1)
    try:
        return base64.b64decode(payload, validate=True), head[5:].split(";")[0]
    except ValueError:
        return None


def _xml_fields(body: bytes) -> Dict[str, str]:
    """The top-level fields of a WeCom XML body (no DTDs or entities are allowed)."""
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise ValueError("DTDs are not allowed")
    root = ElementTree.fromstring(body)
    return {child.tag: (child.text or "") for child in root}


def credential(credentials: Dict[str, Any], key: str, env: str, default: str = "") -> str:
    """A channel setting: credentials.yml's value when given, else the environment's."""
    value = credentials.get(key)
    return str(value if value not in (None, "") else env_str(env, default))


def parse_handoff(setting: str) -> tuple[str, Dict[str, str]]:
    """`desk`, `wecom`, or per customer-service account: `desk,wkAAA=wecom` (the bare value is
    the default; a shop may let its own WeCom agents take the after-sales account only)."""
    default, by_account = "desk", {}
    for part in (piece.strip() for piece in setting.split(",") if piece.strip()):
        account, _, mode = part.rpartition("=")
        if mode not in ("desk", "wecom"):
            raise ValueError(f"WECOM_HANDOFF: {part!r}: the mode must be desk or wecom")
        if account:
            by_account[account] = mode
        else:
            default = mode
    return default, by_account


class WeComInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return "wecom"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        credentials = credentials or {}

        def setting(key: str, env: str, default: str = "") -> str:
            return credential(credentials, key, env, default)

        return cls(
            corp_id=setting("corp_id", "WECOM_CORP_ID"),
            secret=setting("secret", "WECOM_SECRET"),
            token=setting("token", "WECOM_TOKEN"),
            aes_key=setting("aes_key", "WECOM_AES_KEY"),
            api_base=setting("api_base", "WECOM_API_BASE"),
            db_url=setting("db_url", "WECOM_DB_URL"),
            handoff=setting("handoff", "WECOM_HANDOFF"),
            servicer=setting("servicer", "WECOM_SERVICER"),
            push_token=setting("push_token", "CHANNEL_PUSH_TOKEN"),
            welcome=setting("welcome", "WECOM_WELCOME",
                            "您好,我是店铺智能客服小蜜,查订单、查物流、售后都可以直接跟我说哦~"),
            retry_seconds=float(setting("retry_seconds", "WECOM_RETRY_SECONDS")),
        )

    def __init__(self, corp_id: str, secret: str, token: str, aes_key: str, api_base: str,
                 db_url: str, handoff: str = "desk", servicer: str = "", push_token: str = "",
                 welcome: str = "", retry_seconds: float = 2.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.configured = bool(corp_id and secret and token and aes_key)
        self.crypto = WeComCrypto(token, aes_key, corp_id) if self.configured else None
        self.api = WeComApi(api_base, corp_id, secret)
        self.store = WeComStore(db_url, clock=clock) if self.configured else None
        self.retry_seconds = retry_seconds
        self._failures: Dict[str, int] = {}  # open_kfid -> failed pulls in a row
        self._retrying: set = set()  # open_kfids with a re-pull scheduled
        self.handoff_default, self.handoff_by_account = parse_handoff(handoff)
        self.servicer = servicer
        self.push_token = push_token
        self.welcome = welcome
        self._locks: Dict[str, asyncio.Lock] = {}
        self._tasks: set = set()

    def url_prefix(self) -> Text:
        return "wecom"

    def get_output_channel(self) -> Optional[OutputChannel]:
        return None  # a send needs the open_kfid: the desk's replies come through /push

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("wecom_webhook", __name__)

        @bp.route("/", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            if not self.configured or self.crypto is None:
                return response.json({"error": "wecom channel not configured"}, status=503)
            args = {key: request.args.get(key, "") for key in
                    ("msg_signature", "timestamp", "nonce", "echostr")}
            try:
                return response.text(self.crypto.verify_url(**args))
            except WeComCryptoError as error:
                logger.warning("wecom: URL verification refused: %s", error.reason)
                return response.text("forbidden", status=403)

        @bp.route("/", methods=["POST"])
        async def callback(request: Request) -> HTTPResponse:
            if not self.configured or self.crypto is None:
                return response.json({"error": "wecom channel not configured"}, status=503)
            body = request.body or b""
            if len(body) > MAX_CALLBACK_BYTES:
                return response.text("too large", status=413)
            try:
                encrypted = _xml_fields(body).get("Encrypt", "")
                plain = self.crypto.decrypt_callback(
                    request.args.get("msg_signature", ""), request.args.get("timestamp", ""),
                    request.args.get("nonce", ""), encrypted)
                event = _xml_fields(plain)
            except WeComCryptoError as error:
                logger.warning("wecom: callback refused: %s", error.reason)
                return response.text("forbidden", status=403)
            except (ValueError, ElementTree.ParseError):
                logger.warning("wecom: callback body is not valid XML")
                return response.text("bad request", status=400)
            if event.get("Event") == "kf_msg_or_event" and event.get("OpenKfId"):
                # Answer within WeCom's time limit; pull and process in the background.
                task = asyncio.create_task(self._pull(
                    request.app, on_new_message, event["OpenKfId"], event.get("Token", "")))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            return response.text("success")

        @bp.route("/push", methods=["POST"])
        async def push(request: Request) -> HTTPResponse:
            return await self._push(request)

        return bp

    # ------------------------------------------------------------ pulling
    async def _pull(self, app: Any, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                    open_kfid: str, token: str) -> None:
        """Sends what waits in the outbox, then pulls and handles the new messages. Whatever
        goes wrong is logged, and a failed pull is tried again later (with backoff) without
        waiting for WeCom's next callback: no customer message is left unanswered."""
        assert self.store is not None
        lock = self._locks.setdefault(open_kfid, asyncio.Lock())
        outcome = FAILED
        async with lock:  # one cursor per open_kfid: never two pulls at once
            try:
                if await self._flush(open_kfid):
                    outcome = await self._pull_pages(app, on_new_message, open_kfid, token)
            except Exception:  # noqa: BLE001 - a background task: log it, never die silently
                logger.exception("wecom: pulling %s failed", open_kfid)
        if outcome == FAILED:
            self._pull_later(app, on_new_message, open_kfid, token)
        else:
            self._failures.pop(open_kfid, None)

    def _pull_later(self, app: Any, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                    open_kfid: str, token: str) -> None:
        failures = self._failures[open_kfid] = self._failures.get(open_kfid, 0) + 1
        if open_kfid in self._retrying:
            return  # one re-pull scheduled is enough
        delay = min(self.retry_seconds * 2 ** (failures - 1), RETRY_MAX_SECONDS)
        logger.warning("wecom: pulling %s again in %.1f s (failure %d)", open_kfid, delay,
                       failures)
        self._retrying.add(open_kfid)

        async def later() -> None:
            try:
                await asyncio.sleep(delay)
            finally:
                self._retrying.discard(open_kfid)
            await self._pull(app, on_new_message, open_kfid, token)

        task = asyncio.create_task(later())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _pull_pages(self, app: Any,
                          on_new_message: Callable[[UserMessage], Awaitable[Any]],
                          open_kfid: str, token: str) -> str:
        """SENT when every page was handled and every reply went out; FAILED when something
        should be tried again (the cursor stays before the first message not handled);
        REFUSED when WeCom's answer cannot be used (logged; trying again would not help)."""
        assert self.store is not None
        while True:
            body = {"cursor": self.store.cursor(open_kfid), "token": token,
                    "limit": 1000, "open_kfid": open_kfid}
            try:
                page = await self.api.call("kf/sync_msg", body)
            except WeComApiError as error:
                if error.errcode == INVALID_SYNC_TOKEN and token:
                    # The callback's token is valid 10 minutes: a re-pull after that (or a
                    # forged one) goes on without it (allowed, at a lower call rate).
                    logger.warning("wecom: sync_msg token of %s refused (%s): pulling without "
                                   "it", open_kfid, error.errcode)
                    token = ""
                    continue
                logger.error("wecom: sync_msg failed for %s: %s", open_kfid, error)
                return FAILED
            except HttpError as error:
                logger.error("wecom: sync_msg failed for %s: %s", open_kfid, error)
                return FAILED
            for message in page.get("msg_list") or []:
                if not await self._handle(app, on_new_message, open_kfid, message):
                    return FAILED  # later messages wait: the customer's order is kept
            next_cursor = str(page.get("next_cursor") or "")
            if len(next_cursor.encode()) > MAX_CURSOR_BYTES:
                logger.error("wecom: sync_msg for %s returned a cursor of %d bytes (at most %d):"
                             " refused, the cursor stays", open_kfid, len(next_cursor.encode()),
                             MAX_CURSOR_BYTES)
                return REFUSED
            if next_cursor:
                self.store.set_cursor(open_kfid, next_cursor)
            if not page.get("has_more"):
                break
        return FAILED if self.store.queued(open_kfid) else SENT

    async def _flush(self, open_kfid: str) -> bool:
        """Sends the replies WeCom did not take before, oldest first; False when WeCom still
        does not take them (the rest waits, in order)."""
        assert self.store is not None
        output = WeComOutput(self.api, self.store, open_kfid)
        for entry_id, customer, message in self.store.queued(open_kfid):
            if self.store.transferred(customer, open_kfid):
                logger.info("wecom: %d queued replies to %s dropped: a WeCom agent has the "
                            "session", self.store.drop_queued(customer, open_kfid), customer[:6])
                continue
            status = await output.deliver(customer, message)
            if status == FAILED:
                return False
            self.store.unqueue(entry_id)
        return True

    async def _handle(self, app: Any, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                      open_kfid: str, message: Dict[str, Any]) -> bool:
        """False when the message's turn failed and should be tried again."""
        assert self.store is not None
        msgid = str(message.get("msgid") or "")
        if not msgid or not self.store.claim(msgid):
            return True  # callbacks are retried and pages overlap: each message once
        try:
            await self._turn(app, on_new_message, open_kfid, message, msgid)
        except Exception:  # noqa: BLE001 - the message is handled again on the next pull
            logger.exception("wecom: message %s of %s failed", msgid, open_kfid)
            if self.store.release(msgid):
                return False
            logger.error("wecom: message %s given up after repeated failures", msgid)
            return True
        self.store.done(msgid)
        return True

    async def _turn(self, app: Any, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                    open_kfid: str, message: Dict[str, Any], msgid: str) -> None:
        assert self.store is not None
        kind = message.get("msgtype")
        if kind == "event":
            await self._event(app, open_kfid, message.get("event") or {})
            return
        if message.get("origin") != ORIGIN_CUSTOMER:
            logger.debug("wecom: message %s has origin %s: not customer input", msgid,
                         message.get("origin"))
            return
        customer = str(message.get("external_userid") or "")
        if not customer:
            return
        mode = self.handoff_by_account.get(open_kfid, self.handoff_default)
        metadata: Dict[str, Any] = {"wecom": {"open_kfid": open_kfid, "msgid": msgid,
                                              "handoff": mode}}
        if kind == "text":
            content = message.get("text") or {}
            # A click on a menu item carries the button's payload (or its short id) as menu_id.
            menu_id = str(content.get("menu_id") or "")
            text = (self.store.payload_of(menu_id) or menu_id) if menu_id else \
                str(content.get("content") or "")
        elif kind == "image":
            attachment = await self._image(str((message.get("image") or {}).get("media_id")))
            text = "[图片]" if attachment else "[图片未能接收]"
            if attachment:
                metadata["attachments"] = [attachment]
        else:
            text = f"[{kind}]"
        self.store.customer_wrote(customer, open_kfid)
        output = WeComOutput(self.api, self.store, open_kfid)
        await on_new_message(UserMessage(text, output, customer, input_channel="wecom",
                                         metadata=metadata))
        if mode == "wecom":
            await self._maybe_transfer(app, customer, open_kfid)

    async def _event(self, app: Any, open_kfid: str, event: Dict[str, Any]) -> None:
        if (event.get("event_type") == "session_status_change"
                and event.get("change_type") == SESSION_ENDED and event.get("external_userid")):
            # A WeCom agent ended the session: the bot takes the conversation back.
            await self._resume(app, str(event["external_userid"]), open_kfid)
            return
        if event.get("event_type") == "enter_session" and event.get("welcome_code"):
            try:
                await self.api.call("kf/send_msg_on_event", {
                    "code": event["welcome_code"], "msgtype": "text",
                    "text": {"content": self.welcome}})
            except (WeComApiError, HttpError) as error:
                logger.warning("wecom: welcome message failed: %s", error)

    async def _image(self, media_id: str) -> Optional[Dict[str, str]]:
        try:
            data, content_type = await self.api.call("media/get", None, {"media_id": media_id},
                                                      raw=True, max_bytes=MAX_IMAGE_BYTES)
        except (WeComApiError, HttpError, ValueError, TypeError) as error:
            logger.warning("wecom: image download failed: %s", error)
            return None
        if not isinstance(data, bytes) or not str(content_type).startswith("image/"):
            logger.warning("wecom: media %s is no image (%s)", media_id[:12], content_type)
            return None
        encoded = base64.b64encode(data).decode()
        return {"type": "image", "url": f"data:{content_type};base64,{encoded}"}

    async def _maybe_transfer(self, app: Any, customer: str, open_kfid: str) -> None:
        """After a handoff the session moves to WeCom's own agents (state 3: 人工接待)."""
        assert self.store is not None
        agent = getattr(getattr(app, "ctx", None), "agent", None)
        if agent is None or self.store.transferred(customer, open_kfid):
            return
        tracker = await agent.tracker_store.retrieve(customer)
        if tracker is None or not tracker.is_paused():
            return
        try:
            await self.api.call("kf/service_state/trans", {
                "open_kfid": open_kfid, "external_userid": customer, "service_state": 3,
                "servicer_userid": self.servicer})
            self.store.mark_transferred(customer, open_kfid)
        except (WeComApiError, HttpError) as error:
            logger.error("wecom: transfer to a WeCom agent failed: %s", error)

    async def _resume(self, app: Any, customer: str, open_kfid: str) -> None:
        from rasa.shared.core.constants import ACTION_LISTEN_NAME
        from rasa.shared.core.events import ActionExecuted, ConversationResumed

        assert self.store is not None
        agent = getattr(getattr(app, "ctx", None), "agent", None)
        if agent is None or agent.processor is None:
            return
        processor = agent.processor
        async with processor.lock_store.lock(customer):
            tracker = await processor.get_tracker(customer)
            if tracker.is_paused():
                # Resumed and listening: the customer's next message is a fresh turn (the
                # messages written to the WeCom agent are in the history, not questions).
                tracker.update(ConversationResumed())
                tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
                await processor.save_tracker(tracker)
        self.store.mark_transferred(customer, open_kfid, transferred=False)

    # ------------------------------------------------------- desk replies
    async def _push(self, request: Request) -> HTTPResponse:
        """A desk agent's message to a WeCom customer: recorded in the tracker, then sent."""
        body, error = read_push(request, self.push_token)
        if error is not None:
            return error
        assert body is not None
        if not self.configured or self.store is None:
            return response.json({"error": "wecom channel not configured"}, status=503)
        if body["kind"] not in ("agent_message", "agent_joined"):
            return response.json({"recorded": False, "delivered": 0})
        customer, text = body["conversation_id"], body["text"]
        open_kfid = self.store.open_kfid_of(customer)
        if open_kfid is None:
            return response.json({"error": "no WeCom conversation with this id"}, status=404)
        if self.store.transferred(customer, open_kfid):
            return response.json({"error": "a WeCom agent has this conversation"}, status=409)
        recorded = await record_agent_message(request.app, customer, text, body["agent"])
        output = WeComOutput(self.api, self.store, open_kfid)
        sent, failed = 0, False
        for piece in split_text(text):
            status = await output.deliver(customer, {"msgtype": "text",
                                                     "text": {"content": piece}})
            sent += status == SENT
            if status == FAILED:
                failed = True
                break  # the rest would arrive without its beginning
        answer = {"recorded": recorded, "delivered": sent}
        if failed:  # recorded, but WeCom did not take it: the desk may say so to its agent
            return response.json({**answer, "error": "WeCom did not take the message"},
                                 status=502)
        return response.json(answer)
