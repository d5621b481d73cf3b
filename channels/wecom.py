"""WeCom customer service (微信客服) as a Rasa input channel.

Notify-then-pull: WeCom posts an encrypted `kf_msg_or_event` callback carrying a token; the
channel answers it at once and pulls the messages with `kf/sync_msg` (cursor kept per
open_kfid, `has_more` loop, duplicates dropped by msgid), then feeds each customer message to
Rasa in order. Replies go out with `kf/send_msg` within WeCom's limits (at most 5 messages per
customer message, within 48 h of it). See docs/wecom.md for the admin-console set-up.

Settings (credentials.yml, from the environment): WECOM_CORP_ID, WECOM_SECRET (the 微信客服
secret), WECOM_TOKEN, WECOM_AES_KEY, WECOM_API_BASE (default https://qyapi.weixin.qq.com),
WECOM_DB_URL, WECOM_HANDOFF (desk | wecom, or per account: desk,wkAAA=wecom), WECOM_SERVICER
(the WeCom agent's userid for `wecom` handoff), CHANNEL_PUSH_TOKEN (desk replies).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import time
import xml.etree.ElementTree as ElementTree
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

logger = logging.getLogger(__name__)

MAX_TEXT_BYTES = 2048
MAX_CALLBACK_BYTES = 64 * 1024
MAX_IMAGE_BYTES = 10 * 1024 * 1024
TOKEN_ERRORS = {40001, 40014, 42001}  # invalid / expired access_token: refresh once and retry
SEND_LIMIT_ERRORS = {95001}  # outside the 48 h window or past 5 messages
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
                   params: Optional[Dict[str, str]] = None, raw: bool = False) -> Any:
        for attempt in (0, 1):
            query = {**(params or {}), "access_token": await self.access_token(refresh=attempt > 0)}
            method = "POST" if body is not None else "GET"
            answer = await self.http.request(method, f"/cgi-bin/{path}", params=query,
                                             json=body)
            if raw and not answer.content_type.startswith(("application/json", "text/")):
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

    async def close(self) -> None:
        await self.http.close()


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
    """Sends to one WeCom customer through kf/send_msg, within the platform's limits."""

    @classmethod
    def name(cls) -> Text:
        return "wecom"

    def __init__(self, api: WeComApi, store: WeComStore, open_kfid: str) -> None:
        self.api = api
        self.store = store
        self.open_kfid = open_kfid

    async def _send(self, recipient_id: Text, message: Dict[str, Any]) -> bool:
        if not self.store.may_send(recipient_id, self.open_kfid):
            logger.warning("wecom: not sent to %s: 5 messages or 48 h since the customer's last "
                           "message", recipient_id[:6])
            return False
        try:
            await self.api.call("kf/send_msg", {"touser": recipient_id,
                                                "open_kfid": self.open_kfid, **message})
        except WeComApiError as error:
            if error.errcode in SEND_LIMIT_ERRORS:
                logger.warning("wecom: WeCom refused a message to %s (%s)", recipient_id[:6],
                               error.errcode)
                self.store.block_until_customer_writes(recipient_id, self.open_kfid)
                return False
            raise
        except HttpError as error:
            logger.error("wecom: send_msg failed: %s", type(error).__name__)
            return False
        self.store.count_send(recipient_id, self.open_kfid)
        return True

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        for piece in split_text(text):
            await self._send(recipient_id, {"msgtype": "text", "text": {"content": piece}})

    async def send_text_with_buttons(self, recipient_id: Text, text: Text,
                                     buttons: List[Dict[str, Any]], **kwargs: Any) -> None:
        # Buttons become a menu message: a click comes back as the item's id (the payload).
        items = [{"type": "click", "click": {"id": str(button.get("payload") or "")[:128],
                                             "content": str(button.get("title") or "")[:128]}}
                 for button in buttons[:10]]
        head = split_text(text)
        for piece in head[:-1]:
            await self._send(recipient_id, {"msgtype": "text", "text": {"content": piece}})
        await self._send(recipient_id, {"msgtype": "msgmenu", "msgmenu": {
            "head_content": head[-1] if head else "", "list": items}})

    async def send_quick_replies(self, recipient_id: Text, text: Text,
                                 quick_replies: List[Dict[str, Any]], **kwargs: Any) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies, **kwargs)

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        data = _data_url_bytes(image)
        if data is None:  # an image on the web: a link card is what WeCom can show
            await self._send(recipient_id, {"msgtype": "link", "link": {
                "title": "图片", "url": image, "thumb_media_id": ""}})
            return
        media_id = await self.api.upload_image(data[0], "image", data[1])
        await self._send(recipient_id, {"msgtype": "image", "image": {"media_id": media_id}})

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any],
                               **kwargs: Any) -> None:
        card = json_message.get("card") if isinstance(json_message, dict) else None
        if isinstance(card, dict) and card.get("url"):
            await self._send(recipient_id, {"msgtype": "link", "link": {
                "title": str(card.get("title") or "")[:128],
                "desc": str(card.get("subtitle") or card.get("text") or "")[:512],
                "url": str(card["url"])}})
        elif isinstance(card, dict) and (card.get("title") or card.get("text")):
            text = "\n".join(str(card[key]) for key in ("title", "subtitle", "text")
                             if card.get(key))
            await self.send_text_message(recipient_id, text)


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
    return str(value if value not in (None, "") else os.environ.get(env, default))


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
            api_base=setting("api_base", "WECOM_API_BASE", "https://qyapi.weixin.qq.com"),
            db_url=setting("db_url", "WECOM_DB_URL", "sqlite:///var/wecom.sqlite"),
            handoff=setting("handoff", "WECOM_HANDOFF", "desk"),
            servicer=setting("servicer", "WECOM_SERVICER"),
            push_token=setting("push_token", "CHANNEL_PUSH_TOKEN"),
            welcome=setting("welcome", "WECOM_WELCOME",
                            "您好,我是店铺智能客服小蜜,查订单、查物流、售后都可以直接跟我说哦~"),
        )

    def __init__(self, corp_id: str, secret: str, token: str, aes_key: str, api_base: str,
                 db_url: str, handoff: str = "desk", servicer: str = "", push_token: str = "",
                 welcome: str = "") -> None:
        self.configured = bool(corp_id and secret and token and aes_key)
        self.crypto = WeComCrypto(token, aes_key, corp_id) if self.configured else None
        self.api = WeComApi(api_base, corp_id, secret)
        self.store = WeComStore(db_url) if self.configured else None
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
        assert self.store is not None
        lock = self._locks.setdefault(open_kfid, asyncio.Lock())
        async with lock:  # one cursor per open_kfid: never two pulls at once
            try:
                while True:
                    body = {"cursor": self.store.cursor(open_kfid), "token": token,
                            "limit": 1000, "open_kfid": open_kfid}
                    page = await self.api.call("kf/sync_msg", body)
                    for message in page.get("msg_list") or []:
                        await self._handle(app, on_new_message, open_kfid, message)
                    if page.get("next_cursor"):
                        self.store.set_cursor(open_kfid, str(page["next_cursor"])[:64])
                    if not page.get("has_more"):
                        break
            except (WeComApiError, HttpError) as error:
                # The cursor only moves after a page is handled: the next callback resumes.
                logger.error("wecom: sync_msg failed for %s: %s", open_kfid, error)

    async def _handle(self, app: Any, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                      open_kfid: str, message: Dict[str, Any]) -> None:
        assert self.store is not None
        msgid = str(message.get("msgid") or "")
        if not msgid or not self.store.first_time(msgid):
            return  # callbacks are retried and pages overlap: each message once
        kind = message.get("msgtype")
        if kind == "event":
            await self._event(app, open_kfid, message.get("event") or {})
            return
        if message.get("origin") != ORIGIN_CUSTOMER:
            return
        customer = str(message.get("external_userid") or "")
        if not customer:
            return
        metadata: Dict[str, Any] = {"wecom": {"open_kfid": open_kfid, "msgid": msgid}}
        if kind == "text":
            content = message.get("text") or {}
            # A click on a menu item carries the button's payload as menu_id.
            text = str(content.get("menu_id") or content.get("content") or "")
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
        if self.handoff_by_account.get(open_kfid, self.handoff_default) == "wecom":
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
            data, content_type = await self.api.call("media/get", None,
                                                      {"media_id": media_id}, raw=True)
        except (WeComApiError, HttpError, ValueError) as error:
            logger.warning("wecom: image download failed: %s", error)
            return None
        if not isinstance(data, bytes) or len(data) > MAX_IMAGE_BYTES:
            return None
        encoded = base64.b64encode(data).decode()
        return {"type": "image", "url": f"data:{content_type or 'image/jpeg'};base64,{encoded}"}

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
        recorded = await record_agent_message(request.app, customer, text, body["agent"])
        output = WeComOutput(self.api, self.store, open_kfid)
        sent = 0
        for piece in split_text(text):
            sent += await output._send(customer, {"msgtype": "text", "text": {"content": piece}})
        return response.json({"recorded": recorded, "delivered": sent})
